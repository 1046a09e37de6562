#include "image/reference.h"

#include <cctype>

#include "image/digest.h"
#include "util/error.h"

namespace hull::image {
namespace {

bool valid_path_component(std::string_view c) {
  if (c.empty()) return false;
  if (!std::isalnum(static_cast<unsigned char>(c.front())) ||
      !std::isalnum(static_cast<unsigned char>(c.back())))
    return false;
  for (char ch : c)
    if (!(std::islower(static_cast<unsigned char>(ch)) ||
          std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
      return false;
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
  for (char ch : t)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
      return false;
  return true;
}

}  // namespace

std::string Reference::full() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::familiar_name() const {
  if (domain == "docker.io") {
    if (repository.rfind("library/", 0) == 0) return repository.substr(8);
    return repository;
  }
  return name();
}

Reference parse_reference(std::string_view input) {
  auto bad = [&] { fail("invalid reference format: \"{}\"", input); };
  std::string_view rest = input;
  Reference r;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    r.digest = rest.substr(at + 1);
    if (!valid_digest(r.digest)) bad();
    rest = rest.substr(0, at);
  }
  // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = rest.substr(colon + 1);
    if (!valid_tag(r.tag)) bad();
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) bad();
  // The first component is a registry when it looks like a host: a '.', a ':' or localhost.
  auto first_slash = rest.find('/');
  std::string_view first = rest.substr(0, first_slash);
  if (first_slash != std::string_view::npos &&
      (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
       first == "localhost")) {
    r.domain = first;
    rest = rest.substr(first_slash + 1);
  } else {
    r.domain = "docker.io";
  }
  if (r.domain == "index.docker.io") r.domain = "docker.io";
  for (char ch : r.domain)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':'))
      bad();
  std::string path(rest);
  size_t start = 0;
  while (true) {
    auto end = path.find('/', start);
    std::string_view comp = std::string_view(path).substr(start, end - start);
    // docker allows '__' and '-' runs inside a component; a stricter check than the grammar
    // but nothing it refuses is a name docker would write.
    if (!valid_path_component(comp)) bad();
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (r.domain == "docker.io" && path.find('/') == std::string::npos) path = "library/" + path;
  r.repository = path;
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::string familiar(std::string_view full_name) {
  Reference r = parse_reference(full_name);
  std::string s = r.familiar_name();
  if (!r.tag.empty()) s += ":" + r.tag;
  if (!r.digest.empty()) s += "@" + r.digest;
  return s;
}

}  // namespace hull::image
