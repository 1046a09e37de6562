// A cgroup's usage, read from its files, in one shape for v1 and v2 (runc's events --stats).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hull::cgroup {

struct CpuStats {
  uint64_t usage_ns = 0, user_ns = 0, system_ns = 0;
  std::vector<uint64_t> per_cpu_ns, per_cpu_user_ns, per_cpu_system_ns;
  uint64_t periods = 0, throttled_periods = 0, throttled_ns = 0;
};

struct CpusetStats {
  std::vector<uint16_t> cpus, mems;
};

// One counter group of the memory controller, runc's MemoryEntry.
struct MemoryEntry {
  uint64_t usage = 0, max_usage = 0, limit = 0, failcnt = 0;
};

struct MemoryStats {
  MemoryEntry usage, swap, kernel, kernel_tcp;
  uint64_t cache = 0;
  uint64_t oom_kills = 0;
  std::map<std::string, uint64_t> raw;  // memory.stat
};

struct PidsStats {
  uint64_t current = 0, limit = 0;  // limit 0 = max
};

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // Read, Write, Sync, Async, Discard, Total
  uint64_t value = 0;
};

struct BlkioStats {
  std::vector<BlkioEntry> service_bytes, serviced;
};

struct HugetlbStats {
  uint64_t usage = 0, max = 0, failcnt = 0;
};

struct Stats {
  CpuStats cpu;
  CpusetStats cpuset;
  MemoryStats memory;
  PidsStats pids;
  BlkioStats blkio;
  std::map<std::string, HugetlbStats> hugetlb;  // by page size "2MB"
};

}  // namespace hull::cgroup
