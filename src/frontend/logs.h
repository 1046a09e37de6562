// A detached container's log, as docker's json-file driver keeps it: one JSON object a line,
// {"log":"text\n","stream":"stdout"|"stderr","time":"RFC 3339 with nanoseconds"}, so that
// `hull logs` can give stdout and stderr back apart, with their times, from any point.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frontend/store.h"

namespace hull::frontend {

struct LogEntry {
  bool stderr_stream = false;
  std::string time;  // RFC 3339, nanoseconds, Z
  std::string text;  // the line, with its newline when it had one
};

// Reads what the container writes to `out_fd` and `err_fd` (pipes) and appends it to `log_fd`
// a line at a time until both are closed by every writer. Lines longer than 16 KiB are split
// (docker's limit); a last line without a newline is kept as it is.
// With echo fds (a foreground `hull run`), each chunk is also written there as it comes.
void copy_to_log(int out_fd, int err_fd, int log_fd, int echo_out = -1, int echo_err = -1);
// Reads both pipes and throws it away until every writer has closed them (a logger that
// cannot log any more still must not block the container's writes).
void drain(int out_fd, int err_fd) noexcept;

// The entries of a log file's text; a line that is not JSON (a log of an older hull) is taken
// as stdout text.
std::vector<LogEntry> parse_log(const std::string& text);
// Everything written, both streams in order, as one text (the tour reads its boxes this way).
std::string log_text(const std::string& path);

struct LogOptions {
  bool follow = false;
  bool timestamps = false;             // -t: each line after its time
  std::optional<size_t> tail;          // --tail N: the last N lines only
  std::optional<double> since, until;  // seconds since the epoch
};

// docker's --since/--until values: RFC 3339 (2013-01-02T13:23:37Z, with or without
// fractions; a date alone), Unix seconds (1700000000[.5]), or a duration back from now (42m,
// 1h30m, 10s). Throws naming the flag and the value.
double parse_log_time(const std::string& flag, const std::string& value);

}  // namespace hull::frontend
