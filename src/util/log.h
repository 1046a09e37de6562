// Logging: text to stderr by default; with --log FILE to that file, and with
// --log-format json as runc's {"level","msg","time"} lines, which containerd and podman read.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace hull::log {

enum class Level { debug, info, warning, error };

struct Options {
  std::string file;    // empty: stderr
  bool json = false;   // runc's JSON lines
  bool debug = false;  // --debug: debug lines and step timings
};

void init(const Options& options);
bool debug_enabled();
void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (debug_enabled()) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
// Errors go to the log file (if any) and always to stderr as one line "hull: ...".
void error(std::string_view message);

// --debug step timings: "step NAME +1.234ms (total 5.678ms)".
void step(std::string_view name);

}  // namespace hull::log
