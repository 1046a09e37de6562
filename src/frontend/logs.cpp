#include "frontend/logs.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "frontend/human.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

constexpr size_t kMaxLine = 16 * 1024;  // docker's json-file splits longer lines

// Appends one line; a log that cannot be written (a full disk) loses lines rather than
// stopping the container's output: the pipes keep being read.
void append(int log_fd, bool err, std::string_view text) {
  static bool broken = false;
  if (broken) return;
  nlohmann::json j = {
      {"log", std::string(text)}, {"stream", err ? "stderr" : "stdout"}, {"time", rfc3339_now()}};
  // A container may write any bytes: what is not UTF-8 becomes U+FFFD rather than an error.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  try {
    write_all(log_fd, line, "the container's log");
  } catch (const Error&) {
    broken = true;
  }
}

// Seconds in a Go-style duration: "1h30m", "42m", "10s", "1.5h", "500ms".
std::optional<double> parse_duration(const std::string& v) {
  if (v.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < v.size()) {
    char* end = nullptr;
    double n = std::strtod(v.c_str() + i, &end);
    size_t used = static_cast<size_t>(end - (v.c_str() + i));
    if (used == 0 || !std::isfinite(n) || n < 0) return std::nullopt;
    i += used;
    std::string unit;
    while (i < v.size() && std::isalpha(static_cast<unsigned char>(v[i]))) unit += v[i++];
    double scale = unit == "h"    ? 3600
                   : unit == "m"  ? 60
                   : unit == "s"  ? 1
                   : unit == "ms" ? 1e-3
                                  : -1;
    if (scale < 0) return std::nullopt;
    total += n * scale;
  }
  return total;
}

}  // namespace

void copy_to_log(int out_fd, int err_fd, int log_fd, int echo_out, int echo_err) {
  std::string pending[2];
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int echo[2] = {echo_out, echo_err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll the container's output");
    }
    for (int s = 0; s < 2; ++s) {
      if (fds[s].fd < 0 || !(fds[s].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[s].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      bool gone = n <= 0;
      if (!gone && echo[s] >= 0) {
        try {
          write_all(echo[s], std::string_view(buf, static_cast<size_t>(n)), "the terminal");
        } catch (const Error&) {
          // Whoever read our stdout is gone (`| head -1`): the container's next write to this
          // stream fails as it would have without us (EPIPE, SIGPIPE).
          gone = true;
          ::close(fds[s].fd);
        }
      }
      if (gone) {
        if (!pending[s].empty()) append(log_fd, s == 1, pending[s]);
        pending[s].clear();
        fds[s].fd = -1;
        --open_fds;
        continue;
      }
      pending[s].append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (;;) {
        size_t nl = pending[s].find('\n', start);
        if (nl == std::string::npos || nl - start >= kMaxLine) {
          if (pending[s].size() - start < kMaxLine) break;
          append(log_fd, s == 1, std::string_view(pending[s]).substr(start, kMaxLine));
          start += kMaxLine;
          continue;
        }
        append(log_fd, s == 1, std::string_view(pending[s]).substr(start, nl + 1 - start));
        start = nl + 1;
      }
      pending[s].erase(0, start);
    }
  }
}

void drain(int out_fd, int err_fd) noexcept {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  char buf[4096];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (auto& f : fds) {
      if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(f.fd, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) f.fd = -1;
    }
  }
}

std::vector<LogEntry> parse_log(const std::string& text) {
  std::vector<LogEntry> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    LogEntry e;
    if (!line.empty() && line.front() == '{') {
      try {
        auto j = nlohmann::json::parse(line);
        e.text = j.value("log", "");
        e.stderr_stream = j.value("stream", "") == "stderr";
        e.time = j.value("time", "");
        out.push_back(std::move(e));
        continue;
      } catch (const nlohmann::json::exception&) {
      }
    }
    e.text = line + (nl == std::string::npos ? "" : "\n");
    out.push_back(std::move(e));
  }
  return out;
}

std::string log_text(const std::string& path) {
  std::string out;
  for (const auto& e : parse_log(read_file_if_exists(path).value_or(""))) out += e.text;
  return out;
}

double parse_log_time(const std::string& flag, const std::string& value) {
  std::string v(trim(value));
  if (auto t = parse_rfc3339(v)) return *t;
  // A date alone, or a time without a zone: UTC, as docker reads them.
  for (const char* f : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    struct tm tm = {};
    const char* rest = ::strptime(v.c_str(), f, &tm);
    if (rest && *rest == '\0') return static_cast<double>(::timegm(&tm));
  }
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
      })) {
    char* end = nullptr;
    double t = std::strtod(v.c_str(), &end);
    if (end && *end == '\0') return t;
  }
  if (auto d = parse_duration(v)) return now_seconds() - *d;
  fail(
      "{}: {} is not a time: give RFC 3339 (2026-01-02T13:23:37Z), Unix seconds or a duration "
      "back from now (42m, 1h30m)",
      flag, quote(value));
}

}  // namespace hull::frontend
