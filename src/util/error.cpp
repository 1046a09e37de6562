#include "util/error.h"

#include <cctype>
#include <cstring>

namespace hull {

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
