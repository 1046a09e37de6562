// Facts about processes read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hull {

struct ProcStat {
  char state = '?';  // R, S, D, Z, T, ...
  pid_t ppid = 0;
  uint64_t start_time = 0;  // clock ticks since boot: with the pid, a process identity
};

// Every field of /proc/PID/stat after the comm (proc(5)), numbered as there: [3] the state,
// [4] the ppid, ... [22] the start time, ...; [0] to [2] are empty. Empty when the process
// does not exist.
std::vector<std::string> read_proc_stat_fields(pid_t pid);

// nullopt when the process does not exist.
std::optional<ProcStat> read_proc_stat(pid_t pid);

// True when pid is alive (not a zombie) and started at start_time: PIDs get reused.
bool process_matches(pid_t pid, uint64_t start_time);

}  // namespace hull
