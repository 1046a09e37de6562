#include "oci/json_reader.h"

#include "util/strings.h"

namespace hull::oci {

Node Node::operator[](const char* key) const {
  std::string child = path_.empty() ? std::string(key) : path_ + "." + key;
  if (!present()) return Node(nullptr, child);
  expect_object();
  auto it = j_->find(key);
  return Node(it == j_->end() ? nullptr : &*it, child);
}

Node Node::at(size_t index) const {
  return Node(&j_->at(index), fmt::format("{}[{}]", path_, index));
}

size_t Node::size() const {
  if (!present()) return 0;
  expect_array();
  return j_->size();
}

void Node::error(std::string_view what) const {
  if (path_.empty()) throw Error(ErrorKind::invalid_config, std::string(what));
  throw Error(ErrorKind::invalid_config, fmt::format("{}: {}", path_, what)).about(path_, "");
}

static std::string describe(const json& j) {
  std::string dump = j.dump();
  if (dump.size() > 40) dump = dump.substr(0, 37) + "...";
  return fmt::format("{} {}", j.type_name(), dump);
}

void Node::type_error(std::string_view expected) const {
  error(fmt::format("expected {}, got {}", expected, describe(*j_)));
}

void Node::range_error() const { error(fmt::format("value {} out of range", j_->dump())); }

bool Node::is_object() const { return present() && j_->is_object(); }

void Node::expect_object() const {
  if (!j_->is_object()) type_error("an object");
}

void Node::expect_array() const {
  if (!j_->is_array()) type_error("an array");
}

// A NUL byte would be cut off by every C API the string reaches (execve, mount, sethostname):
// what the caller validated would not be what runs.
static bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

std::optional<std::string> Node::opt_string() const {
  if (!present()) return std::nullopt;
  if (!j_->is_string()) type_error("a string");
  const auto& s = j_->get_ref<const std::string&>();
  if (has_nul(s)) error("contains a NUL byte");
  return s;
}

void Node::check_key(const std::string& key) const {
  if (has_nul(key)) error(fmt::format("key {} contains a NUL byte", quote(key)));
}

std::optional<bool> Node::opt_bool() const {
  if (!present()) return std::nullopt;
  if (!j_->is_boolean()) type_error("a boolean");
  return j_->get<bool>();
}

std::vector<std::string> Node::string_list() const {
  std::vector<std::string> out;
  size_t n = size();
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Node item = at(i);
    auto s = item.opt_string();
    if (!s) item.type_error("a string");
    out.push_back(std::move(*s));
  }
  return out;
}

std::map<std::string, std::string> Node::string_map() const {
  std::map<std::string, std::string> out;
  if (!present()) return out;
  expect_object();
  for (auto it = j_->begin(); it != j_->end(); ++it) {
    check_key(it.key());
    Node v(&it.value(), path_ + "." + it.key());
    auto s = v.opt_string();
    if (!s) v.type_error("a string");
    out.emplace(it.key(), std::move(*s));
  }
  return out;
}

std::vector<std::string> Node::keys() const {
  std::vector<std::string> out;
  if (!present()) return out;
  expect_object();
  for (auto it = j_->begin(); it != j_->end(); ++it) {
    check_key(it.key());
    out.push_back(it.key());
  }
  return out;
}

}  // namespace hull::oci
