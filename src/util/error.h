// Errors carry errno and the chain of what was being done. One catch in main prints them as
// "hull: create web: mount proc on /proc: operation not permitted".
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

namespace hull {

// strerror() with a lowercase first letter, as Go and runc print it: engines (podman, docker)
// match "no such file or directory" and "permission denied" in a runtime's error text.
std::string errno_text(int err);

class Error : public std::exception {
 public:
  explicit Error(std::string message, int err = 0) : message_(std::move(message)), err_(err) {
    render();
  }
  // errno of the failing call, 0 for a logical error.
  int err() const noexcept { return err_; }
  // The message without the errno text.
  const std::string& message() const noexcept { return message_; }
  const char* what() const noexcept override { return full_.c_str(); }

  // Prepends what was being done: "mount proc" + "create web" -> "create web: mount proc".
  void add_context(std::string_view context);

 private:
  void render();
  std::string message_;
  int err_;
  std::string full_;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Throws with the current errno.
template <typename... Args>
[[noreturn]] void fail_errno(fmt::format_string<Args...> format, Args&&... args) {
  int err = errno;
  throw Error(fmt::format(format, std::forward<Args>(args)...), err);
}

template <typename... Args>
[[noreturn]] void fail_err(int err, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...), err);
}

// Runs f; an Error escaping it gets `context` prepended.
template <typename F>
decltype(auto) with_context(std::string_view context, F&& f) {
  try {
    return f();
  } catch (Error& e) {
    e.add_context(context);
    throw;
  }
}

}  // namespace hull
