// `hull stats`: docker stats' live view — CPU %, memory usage against the limit with a bar,
// PIDs, network and block I/O per container, refreshed every second — from
// cgroup::Manager::stats().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frontend/store.h"

namespace hull::frontend {

struct StatsRow {
  std::string id, name;
  double cpu_percent = 0;  // of one CPU: 200 means two CPUs busy
  uint64_t cpu_usage_ns = 0;
  uint64_t mem_usage = 0, mem_limit = 0;  // limit: the host's memory when there is none
  bool mem_limited = false;
  double mem_percent = 0;
  uint64_t pids = 0, pids_limit = 0;  // 0: no limit
  uint64_t block_read = 0, block_write = 0;
  uint64_t net_rx = 0, net_tx = 0;        // over its interfaces on hull networks
  std::optional<uint64_t> writable_size;  // its own layer's bytes on disk (run from an image)
};

// Samples the containers (all running ones when refs is empty) twice, interval_ms apart.
std::vector<StatsRow> sample_stats(const Env& env, const std::vector<std::string>& refs,
                                   int interval_ms);
std::string stats_table(const std::vector<StatsRow>& rows);
std::string stats_json(const std::vector<StatsRow>& rows);

// The live view until interrupted; one table (or JSON document) with no_stream.
void stats_view(const Env& env, const std::vector<std::string>& refs, bool no_stream, bool json);

}  // namespace hull::frontend
