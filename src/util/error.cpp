#include "util/error.h"

#include <cctype>
#include <cstring>

namespace hull {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::other:
      return "other";
    case ErrorKind::not_found:
      return "not found";
    case ErrorKind::already_exists:
      return "already exists";
    case ErrorKind::permission:
      return "permission";
    case ErrorKind::busy:
      return "busy";
    case ErrorKind::invalid_config:
      return "invalid config";
    case ErrorKind::invalid_state:
      return "invalid state";
    case ErrorKind::no_command:
      return "no command";
    case ErrorKind::not_executable:
      return "not executable";
  }
  return "other";
}

ErrorKind kind_of_errno(int err) {
  switch (err) {
    case ENOENT:
      return ErrorKind::not_found;
    case EEXIST:
      return ErrorKind::already_exists;
    case EACCES:
    case EPERM:
      return ErrorKind::permission;
    case EBUSY:
      return ErrorKind::busy;
    case ENOEXEC:
      return ErrorKind::not_executable;
    default:
      return ErrorKind::other;
  }
}

ErrorKind kind_from_wire(int value) {
  if (value <= 0 || value >= kErrorKindCount) return ErrorKind::other;
  return static_cast<ErrorKind>(value);
}

std::string errno_text(int err) {
  char buf[128];
  // GNU strerror_r may return a static string instead of filling buf.
  std::string text = strerror_r(err, buf, sizeof buf);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

void Error::add_context(std::string_view context) {
  message_ = fmt::format("{}: {}", context, message_);
  render();
}

void Error::render() {
  full_ = err_ != 0 ? fmt::format("{}: {}", message_, errno_text(err_)) : message_;
}

}  // namespace hull
