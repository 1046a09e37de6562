// Errors carry errno, a kind, and the chain of what was being done. One catch in main prints
// them as "hull: create web: mount proc on /proc: operation not permitted".
//
// Callers that decide something by an error (an exit code, a retry, a friendlier message)
// switch on its kind(), never on the words of its message: the kind is set where the error
// starts (derived from errno by default, or named by the code that knows better) and survives
// add_context() and the runtime's sync socket (runtime/sync.h).
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

namespace hull {

// What went wrong, as far as a caller needs to tell it apart. The numbers cross processes
// (runtime/sync.h, the friendly monitor's report, the exec stub's abi.h): append only.
enum class ErrorKind : uint8_t {
  other = 0,           // nothing a caller tells apart
  not_found = 1,       // a file, container, network, image, ... is not there (ENOENT)
  already_exists = 2,  // EEXIST; a container id, network, port that is taken
  permission = 3,      // EACCES, EPERM
  busy = 4,            // EBUSY; the kernel cannot do it now (a limit below the usage)
  invalid_config = 5,  // the spec, a flag or a value is refused (by hull or by the kernel)
  invalid_state = 6,   // the verb is not allowed in the container's status
  no_command = 7,      // the process to run is not there (docker's exit code 127)
  not_executable = 8,  // the process is there but cannot be executed (docker's 126)
};
constexpr uint8_t kErrorKindCount = 9;

// "not found", "already exists", ...: for logs and tests.
std::string_view kind_name(ErrorKind kind);
// The kind an errno means when nothing more is known: ENOENT -> not_found, EEXIST ->
// already_exists, EACCES/EPERM -> permission, EBUSY -> busy, ENOEXEC -> not_executable.
ErrorKind kind_of_errno(int err);
// The kind of a number received from another process; unknown numbers are `other`.
ErrorKind kind_from_wire(int value);

// strerror() with a lowercase first letter, as Go and runc print it: engines (podman, docker)
// match "no such file or directory" and "permission denied" in a runtime's error text.
std::string errno_text(int err);

class Error : public std::exception {
 public:
  // The kind follows errno (kind_of_errno).
  explicit Error(std::string message, int err = 0)
      : Error(kind_of_errno(err), std::move(message), err) {}
  Error(ErrorKind kind, std::string message, int err = 0)
      : message_(std::move(message)), err_(err), kind_(kind) {
    render();
  }
  // errno of the failing call, 0 for a logical error.
  int err() const noexcept { return err_; }
  ErrorKind kind() const noexcept { return kind_; }
  bool is(ErrorKind k) const noexcept { return kind_ == k; }
  // The message without the errno text.
  const std::string& message() const noexcept { return message_; }
  const char* what() const noexcept override { return full_.c_str(); }
  // The config field (its JSON path, "linux.resources.memory.limit") and the value the error
  // is about, when the code that threw it knew them; empty otherwise.
  const std::string& field() const noexcept { return field_; }
  const std::string& value() const noexcept { return value_; }
  Error& about(std::string field, std::string value) {
    field_ = std::move(field);
    value_ = std::move(value);
    return *this;
  }

  // Prepends what was being done: "mount proc" + "create web" -> "create web: mount proc".
  void add_context(std::string_view context);

 private:
  void render();
  std::string message_;
  int err_;
  ErrorKind kind_;
  std::string field_, value_;
  std::string full_;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// A logical error of a kind: fail_as(ErrorKind::not_found, "container {} does not exist", id).
template <typename... Args>
[[noreturn]] void fail_as(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(kind, fmt::format(format, std::forward<Args>(args)...));
}

// Throws with the current errno (and the kind it means).
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

// Runs f; an Error of no kind escaping it gets `kind` (a parser's errors are all invalid_config).
template <typename F>
decltype(auto) with_kind(ErrorKind kind, F&& f) {
  try {
    return f();
  } catch (Error& e) {
    if (!e.is(ErrorKind::other)) throw;
    Error kinded(kind, e.message(), e.err());
    kinded.about(e.field(), e.value());
    throw kinded;
  }
}

}  // namespace hull
