#include "frontend/template.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "util/error.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

using ojson = nlohmann::ordered_json;
using Kind = TemplateNode::Kind;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The words of an action: fields, function names, "quoted strings", numbers and |.
std::vector<std::string> words_of(const std::string& flag, const std::string& action) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < action.size()) {
    if (is_space(action[i])) {
      ++i;
      continue;
    }
    if (action[i] == '"' || action[i] == '`') {
      char q = action[i];
      size_t end = i + 1;
      std::string w(1, '"');
      while (end < action.size() && action[end] != q) {
        if (q == '"' && action[end] == '\\' && end + 1 < action.size()) ++end;
        w += action[end++];
      }
      if (end >= action.size()) fail("{}: {{{{{}}}}}: a string that does not end", flag, action);
      out.push_back(w);
      i = end + 1;
      continue;
    }
    if (action[i] == '|') {
      out.emplace_back("|");
      ++i;
      continue;
    }
    size_t end = i;
    while (end < action.size() && !is_space(action[end]) && action[end] != '|') ++end;
    out.push_back(action.substr(i, end - i));
    i = end;
  }
  return out;
}

std::vector<std::vector<std::string>> pipeline_of(const std::string& flag,
                                                  const std::vector<std::string>& words,
                                                  const std::string& action) {
  std::vector<std::vector<std::string>> out(1);
  for (const auto& w : words) {
    if (w == "|") {
      out.emplace_back();
      continue;
    }
    out.back().push_back(w);
  }
  for (const auto& c : out)
    if (c.empty()) fail("{}: {{{{{}}}}}: an empty command", flag, action);
  return out;
}

std::string go_format(const ojson& v);

std::string go_number(const ojson& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  double d = v.get<double>();
  if (d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 1e21)
    return std::to_string(static_cast<int64_t>(d));
  return fmt::format("{}", d);
}

std::string go_format(const ojson& v) {
  if (v.is_null()) return "<no value>";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return go_number(v);
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const auto& e : v) parts.push_back(go_format(e));
    return "[" + join(parts, " ") + "]";
  }
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& [k, e] : v.items()) kv.emplace_back(k, go_format(e));
  std::sort(kv.begin(), kv.end());
  std::vector<std::string> parts;
  for (const auto& [k, e] : kv) parts.push_back(k + ":" + e);
  return "map[" + join(parts, " ") + "]";
}

bool truthy(const ojson& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
  return true;
}

class Renderer {
 public:
  explicit Renderer(const std::string& flag) : flag_(flag) {}

  void nodes(const std::vector<TemplateNode>& ns, const ojson& dot, std::string& out) const {
    for (const auto& n : ns) node(n, dot, out);
  }

 private:
  const std::string& flag_;

  void node(const TemplateNode& n, const ojson& dot, std::string& out) const {
    switch (n.kind) {
      case Kind::text:
        out += n.text;
        return;
      case Kind::action:
        out += go_format(pipeline(n, dot));
        return;
      case Kind::cond:
        nodes(truthy(pipeline(n, dot)) ? n.body : n.else_body, dot, out);
        return;
      case Kind::range: {
        ojson v = pipeline(n, dot);
        bool any = false;
        if (v.is_array()) {
          for (const auto& e : v) nodes(n.body, e, out), any = true;
        } else if (v.is_object()) {
          for (const auto& [k, e] : v.items()) nodes(n.body, e, out), any = true;
        } else if (!v.is_null()) {
          fail("{}: {{{{{}}}}}: range over {}, which is not a list", flag_, n.text, go_format(v));
        }
        if (!any) nodes(n.else_body, dot, out);
        return;
      }
    }
  }

  ojson field(const TemplateNode& n, const std::string& path, const ojson& dot) const {
    if (path == ".") return dot;
    const ojson* cur = &dot;
    std::string walked;
    for (const auto& part : split(path.substr(1), '.')) {
      if (part.empty()) fail("{}: {{{{{}}}}}: {} is not a field", flag_, n.text, quote(path));
      if (!cur->is_object()) {
        if (cur->is_null()) return nullptr;  // Go: a nil map reads as no value
        fail("{}: {{{{{}}}}}: {} is {}, which has no field {}", flag_, n.text,
             walked.empty() ? "." : walked, go_format(*cur), part);
      }
      auto it = cur->find(part);
      if (it == cur->end()) {
        std::vector<std::string> names;
        for (const auto& [k, v] : cur->items())
          if (!k.empty() && std::isupper(static_cast<unsigned char>(k[0]))) names.push_back(k);
        if (names.empty())
          for (const auto& [k, v] : cur->items()) names.push_back(k);
        fail("{}: {{{{{}}}}}: no field {} in {} (there are: {})", flag_, n.text, part,
             walked.empty() ? "." : walked, join(names, ", "));
      }
      walked += "." + part;
      cur = &*it;
    }
    return *cur;
  }

  ojson argument(const TemplateNode& n, const std::string& w, const ojson& dot) const {
    if (!w.empty() && w[0] == '.') return field(n, w, dot);
    if (!w.empty() && w[0] == '"') return w.substr(1);
    if (auto i = parse_i64(w)) return *i;
    if (w == "true" || w == "false") return w == "true";
    fail("{}: {{{{{}}}}}: {} is not a field, string or number (fields start with a dot: .{})",
         flag_, n.text, quote(w), w);
  }

  ojson call(const TemplateNode& n, const std::vector<std::string>& cmd, const ojson* piped,
             const ojson& dot) const {
    const std::string& fn = cmd[0];
    std::vector<ojson> args;
    for (size_t i = 1; i < cmd.size(); ++i) args.push_back(argument(n, cmd[i], dot));
    if (piped) args.push_back(*piped);
    if (fn[0] == '.' || fn[0] == '"' || parse_i64(fn)) {
      if (!args.empty() && !piped) fail("{}: {{{{{}}}}}: {} takes no arguments", flag_, n.text, fn);
      if (piped) fail("{}: {{{{{}}}}}: cannot pipe into {}", flag_, n.text, fn);
      return argument(n, fn, dot);
    }
    auto want = [&](size_t count) {
      if (args.size() != count)
        fail("{}: {{{{{}}}}}: {} wants {} argument{}, not {}", flag_, n.text, fn, count,
             count == 1 ? "" : "s", args.size());
    };
    if (fn == "json") {
      want(1);
      return args[0].dump();
    }
    if (fn == "upper" || fn == "lower") {
      want(1);
      std::string s = go_format(args[0]);
      for (auto& c : s)
        c = static_cast<char>(fn == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                            : std::tolower(static_cast<unsigned char>(c)));
      return s;
    }
    if (fn == "len") {
      want(1);
      if (args[0].is_string()) return args[0].get<std::string>().size();
      if (args[0].is_array() || args[0].is_object()) return args[0].size();
      fail("{}: {{{{{}}}}}: len of {}, which has no length", flag_, n.text, go_format(args[0]));
    }
    if (fn == "join") {
      want(2);
      if (!args[0].is_array())
        fail("{}: {{{{{}}}}}: join wants a list first, not {}", flag_, n.text, go_format(args[0]));
      std::vector<std::string> parts;
      for (const auto& e : args[0]) parts.push_back(go_format(e));
      return join(parts, go_format(args[1]));
    }
    if (fn == "index") {
      if (args.size() < 2) want(2);
      ojson cur = args[0];
      for (size_t i = 1; i < args.size(); ++i) {
        if (cur.is_object() && args[i].is_string()) {
          auto it = cur.find(args[i].get<std::string>());
          cur = it == cur.end() ? ojson() : *it;
        } else if (cur.is_array() && args[i].is_number_integer()) {
          auto k = args[i].get<int64_t>();
          if (k < 0 || static_cast<size_t>(k) >= cur.size())
            fail("{}: {{{{{}}}}}: index {} out of range (length {})", flag_, n.text, k, cur.size());
          cur = cur[static_cast<size_t>(k)];
        } else {
          fail("{}: {{{{{}}}}}: cannot index {} with {}", flag_, n.text, go_format(cur),
               go_format(args[i]));
        }
      }
      return cur;
    }
    fail("{}: {{{{{}}}}}: no function {} (there are: json, upper, lower, len, join, index)", flag_,
         n.text, quote(fn));
  }

  ojson pipeline(const TemplateNode& n, const ojson& dot) const {
    ojson v;
    bool first = true;
    for (const auto& cmd : n.pipeline) {
      v = call(n, cmd, first ? nullptr : &v, dot);
      first = false;
    }
    return v;
  }
};

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      out += s[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The field names of the row's actions, in order (for a table's header).
void fields_of(const std::vector<TemplateNode>& ns, std::vector<std::string>& out) {
  for (const auto& n : ns) {
    if (n.kind == Kind::action) {
      const auto& last = n.pipeline.back();
      std::string w = last.size() > 1 ? last.back() : last.front();
      if (w.size() > 1 && w[0] == '.') out.push_back(w.substr(w.rfind('.') + 1));
    }
    fields_of(n.body, out);
  }
}

}  // namespace

Template::Template(std::string flag, const std::string& source) : flag_(std::move(flag)) {
  std::string text = source;
  if (text.rfind("table", 0) == 0 && (text.size() == 5 || is_space(text[5]))) {
    table_ = true;
    text = text.substr(std::min(text.size(), size_t{6}));
  }
  text = unescape(text);
  // Frames: the node list being filled, and the node whose body it is.
  std::vector<std::pair<std::vector<TemplateNode>*, TemplateNode*>> stack = {{&nodes_, nullptr}};
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("{{", i);
    std::string lit = text.substr(i, open == std::string::npos ? std::string::npos : open - i);
    if (open == std::string::npos) {
      if (!lit.empty()) stack.back().first->push_back({Kind::text, lit, {}, {}, {}});
      break;
    }
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) fail("{}: {{{{ at {} is never closed by }}}}", flag_, open);
    std::string action = text.substr(open + 2, close - open - 2);
    i = close + 2;
    if (action.rfind("- ", 0) == 0 || action == "-") {
      while (!lit.empty() && is_space(lit.back())) lit.pop_back();
      action = action.substr(1);
    }
    if (action.size() >= 2 && action.compare(action.size() - 2, 2, " -") == 0) {
      action.resize(action.size() - 2);
      while (i < text.size() && is_space(text[i])) ++i;
    }
    if (!lit.empty()) stack.back().first->push_back({Kind::text, lit, {}, {}, {}});
    std::string shown(trim(action));
    auto words = words_of(flag_, action);
    if (words.empty()) fail("{}: {{{{}}}}: an empty action", flag_);
    const std::string& head = words[0];
    if (head == "end") {
      if (stack.size() == 1) fail("{}: {{{{end}}}} without range or if", flag_);
      stack.pop_back();
      continue;
    }
    if (head == "else") {
      if (stack.size() == 1 || stack.back().second == nullptr)
        fail("{}: {{{{else}}}} without range or if", flag_);
      TemplateNode* owner = stack.back().second;
      stack.back().first = &owner->else_body;
      continue;
    }
    TemplateNode n;
    n.text = shown;
    if (head == "range" || head == "if") {
      n.kind = head == "range" ? Kind::range : Kind::cond;
      words.erase(words.begin());
      if (words.empty()) fail("{}: {{{{{}}}}}: {} of what?", flag_, shown, head);
      n.pipeline = pipeline_of(flag_, words, shown);
      auto& list = *stack.back().first;
      list.push_back(std::move(n));
      stack.push_back({&list.back().body, &list.back()});
      continue;
    }
    n.kind = Kind::action;
    n.pipeline = pipeline_of(flag_, words, shown);
    stack.back().first->push_back(std::move(n));
  }
  if (stack.size() > 1) fail("{}: {{{{{}}}}} has no {{{{end}}}}", flag_, stack.back().second->text);
}

std::string Template::render(const nlohmann::ordered_json& data) const {
  std::string out;
  Renderer(flag_).nodes(nodes_, data, out);
  return out;
}

std::string Template::header(const std::map<std::string, std::string>& names) const {
  // Headers are literal text around the fields' names, so separators (\t) stay.
  std::string out;
  for (const auto& n : nodes_) {
    if (n.kind == Kind::text) {
      out += n.text;
      continue;
    }
    std::vector<std::string> f;
    fields_of({n}, f);
    for (const auto& name : f) {
      auto it = names.find(name);
      if (it != names.end()) {
        out += it->second;
        continue;
      }
      std::string up = name;
      for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out += up;
    }
  }
  return out;
}

}  // namespace hull::frontend
