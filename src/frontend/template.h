// docker's `--format` (Go's text/template), the common part: one renderer for `inspect -f`,
// `ps --format` and `images --format`.
//
//   {{.Field.Sub}}      a field of the JSON value (`.` alone: the whole value)
//   {{json .Field}}     the value as compact JSON; also {{.Field | json}}
//   {{upper .F}} {{lower .F}} {{len .F}} {{join .List ","}} {{index .Map "key"}} {{index .List 0}}
//   {{range .List}}...{{end}}       the body once per element, `.` being the element
//   {{if .F}}...{{else}}...{{end}}  false, 0, "", null and empty arrays/objects are false
//   {{- and -}} trim the white space beside them; `\t` and `\n` written as two characters
//   become a tab and a newline (docker's rule for --format).
//
// Strings print as they are, numbers and booleans as Go prints them, null as "<no value>",
// arrays as [a b] and objects as map[k:v] (Go's %v). A field that does not exist fails,
// naming it and the fields there are; so does a template that does not parse.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hull::frontend {

struct TemplateNode {
  enum class Kind { text, action, range, cond };
  Kind kind = Kind::text;
  std::string text;                                // text; the action's source for messages
  std::vector<std::vector<std::string>> pipeline;  // action/range/if: commands joined by |
  std::vector<TemplateNode> body, else_body;
};

class Template {
 public:
  // Parses `text`; throws naming `flag` on a syntax error.
  Template(std::string flag, const std::string& text);
  std::string render(const nlohmann::ordered_json& data) const;

  // docker's "table " prefix (ps, images): the rest is each row, and header() the first line,
  // each field under the name `names` gives it (else its own name in capitals).
  bool is_table() const { return table_; }
  std::string header(const std::map<std::string, std::string>& names) const;

 private:
  std::string flag_;
  bool table_ = false;
  std::vector<TemplateNode> nodes_;
};

}  // namespace hull::frontend
