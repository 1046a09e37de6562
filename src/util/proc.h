// Facts about processes read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hull {

struct ProcStat {
  char state = '?';           // R, S, D, Z, T, ...
  pid_t ppid = 0;
  uint64_t start_time = 0;    // clock ticks since boot: with the pid, a process identity
};

// nullopt when the process does not exist.
std::optional<ProcStat> read_proc_stat(pid_t pid);

// True when pid is alive (not a zombie) and started at start_time: PIDs get reused.
bool process_matches(pid_t pid, uint64_t start_time);

}  // namespace hull
