#include "util/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "util/clock.h"
#include "util/log_divert.h"
#include "util/log_runc.h"
#include "util/strings.h"

namespace hull::log {
namespace {

struct State {
  int fd = 2;
  bool to_file = false;
  bool json = false;
  bool debug = false;
  bool logrus_stderr = false;
  bool diverted = false;  // divert_to: errors not to stderr either
  timespec start{};
  timespec last{};
};
State g;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "info";
}

void emit(int fd, Level level, std::string_view message, bool json, bool logrus) {
  std::string line;
  if (json) {
    line = fmt::format("{{\"level\":\"{}\",\"msg\":{},\"time\":\"{}\"}}\n", level_name(level),
                       quote(message), rfc3339_now());
  } else if (fd == 2 && !logrus) {
    // One line of valid UTF-8 whatever the message echoes (a hostile config's bytes).
    line = level == Level::error ? fmt::format("hull: {}\n", printable(message))
                                 : fmt::format("hull: {}: {}\n", level_name(level), printable(message));
  } else {
    line = fmt::format("time=\"{}\" level={} msg={}\n", rfc3339_now(), level_name(level),
                       quote(message));
  }
  // One write per line so concurrent writers (engines share a log file) do not interleave.
  [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
}

double ms_between(const timespec& a, const timespec& b) {
  return static_cast<double>(b.tv_sec - a.tv_sec) * 1e3 + static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e6;
}

}  // namespace

void init(const Options& options) {
  g.json = options.json;
  g.debug = options.debug;
  if (!options.file.empty()) {
    int fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      g.fd = fd;
      g.to_file = true;
    } else {
      std::fprintf(stderr, "hull: warning: cannot open log file %s\n", options.file.c_str());
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &g.start);
  g.last = g.start;
}

void use_runc_layout_on_stderr() {
  g.logrus_stderr = true;
}

void divert_to(int fd) {
  // The fd of an earlier --log file is not closed: the caller (the monitor) closed its fds
  // already, and the number may be another file's by now.
  g.fd = fd;
  g.to_file = true;
  g.json = false;
  g.diverted = true;
}

bool debug_enabled() { return g.debug; }

void write(Level level, std::string_view message) {
  if (level == Level::debug && !g.debug) return;
  if (level == Level::error) return error(message);
  // Without a log file, lines go to stderr: as "hull: level: ..." for people, or in runc's
  // layout (text or JSON) on the OCI face.
  emit(g.fd, level, message, g.json && (g.to_file || g.logrus_stderr), g.logrus_stderr);
}

void error(std::string_view message) {
  if (g.to_file) emit(g.fd, Level::error, message, g.json, true);
  if (g.diverted) return;
  emit(2, Level::error, message, false, false);
}

void step(std::string_view name) {
  if (!g.debug) return;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  write(Level::debug, fmt::format("step {} +{:.3f}ms (total {:.3f}ms)", name, ms_between(g.last, now),
                                  ms_between(g.start, now)));
  g.last = now;
}

}  // namespace hull::log
