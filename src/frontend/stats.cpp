#include "frontend/stats.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "frontend/containers.h"
#include "frontend/human.h"
#include "frontend/views.h"
#include "image/store.h"
#include "runtime/inspect.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::frontend {
namespace {

struct Target {
  std::string id, name;
  std::string upper;  // the writable layer of a container run from an image
};

Target target(const Store& store, const Meta& m) {
  return {m.id, m.name, m.image_id.empty() ? "" : store.dir(m.id) + "/layer/upper"};
}

std::vector<Target> targets(const Env& env, const std::vector<std::string>& refs) {
  std::vector<Target> out;
  Store store(env);
  if (refs.empty()) {
    for (const auto& s : list(env, false))
      if (s.state == State::running || s.state == State::paused)
        out.push_back(target(store, s.meta));
    return out;
  }
  for (const auto& r : refs) out.push_back(target(store, store.load(running_id(env, r))));
  return out;
}

uint64_t host_memory() {
  long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
}

uint64_t blkio_sum(const std::vector<cgroup::BlkioEntry>& entries, const char* op) {
  uint64_t sum = 0;
  for (const auto& e : entries)
    if (e.op == op) sum += e.value;
  return sum;
}

std::string bar(double percent, int width) {
  int filled = static_cast<int>(std::clamp(percent, 0.0, 100.0) / 100.0 * width + 0.5);
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + "]";
}

}  // namespace

std::vector<StatsRow> sample_stats(const Env& env, const std::vector<std::string>& refs,
                                   int interval_ms) {
  auto ts = targets(env, refs);
  std::map<std::string, cgroup::Stats> first;
  int64_t t0 = monotonic_ns();
  for (const auto& t : ts) {
    try {
      first[t.id] = runtime::stats(env.ctx(), t.id);
    } catch (const Error& e) {
      log::debug("stats {}: {}", t.name, e.what());
    }
  }
  sleep_ms(interval_ms);
  int64_t elapsed = monotonic_ns() - t0;
  std::vector<StatsRow> rows;
  uint64_t host_mem = host_memory();
  for (const auto& t : ts) {
    if (!first.count(t.id)) continue;
    cgroup::Stats s;
    try {
      s = runtime::stats(env.ctx(), t.id);
    } catch (const Error& e) {
      continue;  // stopped while we waited
    }
    StatsRow r;
    r.id = t.id;
    r.name = t.name;
    r.cpu_usage_ns = s.cpu.usage_ns;
    uint64_t before = first[t.id].cpu.usage_ns;
    if (elapsed > 0 && s.cpu.usage_ns >= before)
      r.cpu_percent =
          static_cast<double>(s.cpu.usage_ns - before) * 100.0 / static_cast<double>(elapsed);
    r.mem_usage = s.memory.usage.usage;
    // v1 reports "no limit" as a number near 2^63: show the host's memory, as docker does.
    r.mem_limited = s.memory.usage.limit > 0 && s.memory.usage.limit < host_mem;
    r.mem_limit = r.mem_limited ? s.memory.usage.limit : host_mem;
    r.mem_percent =
        r.mem_limit ? static_cast<double>(r.mem_usage) * 100.0 / static_cast<double>(r.mem_limit)
                    : 0;
    r.pids = s.pids.current;
    r.pids_limit = s.pids.limit;
    r.block_read = blkio_sum(s.blkio.service_bytes, "Read");
    r.block_write = blkio_sum(s.blkio.service_bytes, "Write");
    try {
      oci::State st = runtime::state(env.ctx(), t.id);
      for (const auto& n : container_networks(env, t.id, st.pid, st.pid_start_time)) {
        r.net_rx += n.rx_bytes;
        r.net_tx += n.tx_bytes;
      }
    } catch (const Error& e) {
      log::debug("stats {}: network: {}", t.name, e.what());
    }
    if (!t.upper.empty()) r.writable_size = static_cast<uint64_t>(image::disk_usage(t.upper));
    rows.push_back(r);
  }
  return rows;
}

std::string stats_table(const std::vector<StatsRow>& rows) {
  std::vector<std::vector<std::string>> t = {{"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
                                              "MEM %", "", "PIDS", "NET I/O", "BLOCK I/O",
                                              "WRITABLE"}};
  for (const auto& r : rows)
    t.push_back(
        {r.id.substr(0, 12), r.name, fmt::format("{:.2f}%", r.cpu_percent),
         fmt::format("{} / {}", human_bytes(static_cast<double>(r.mem_usage)),
                     human_bytes(static_cast<double>(r.mem_limit))),
         fmt::format("{:.2f}%", r.mem_percent), bar(r.mem_percent, 20),
         r.pids_limit ? fmt::format("{} / {}", r.pids, r.pids_limit) : std::to_string(r.pids),
         fmt::format("{} / {}", human_bytes_decimal(static_cast<double>(r.net_rx)),
                     human_bytes_decimal(static_cast<double>(r.net_tx))),
         fmt::format("{} / {}", human_bytes_decimal(static_cast<double>(r.block_read)),
                     human_bytes_decimal(static_cast<double>(r.block_write))),
         r.writable_size ? human_bytes_decimal(static_cast<double>(*r.writable_size)) : "-"});
  return table(t);
}

std::string stats_json(const std::vector<StatsRow>& rows) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& r : rows)
    arr.push_back({{"id", r.id},
                   {"name", r.name},
                   {"cpuPercent", r.cpu_percent},
                   {"cpuUsageNs", r.cpu_usage_ns},
                   {"memUsage", r.mem_usage},
                   {"memLimit", r.mem_limit},
                   {"memLimited", r.mem_limited},
                   {"memPercent", r.mem_percent},
                   {"pids", r.pids},
                   {"pidsLimit", r.pids_limit},
                   {"netRx", r.net_rx},
                   {"netTx", r.net_tx},
                   {"blockRead", r.block_read},
                   {"blockWrite", r.block_write},
                   {"writableSize", r.writable_size ? nlohmann::ordered_json(*r.writable_size)
                                                    : nlohmann::ordered_json()}});
  return arr.dump() + "\n";
}

void stats_view(const Env& env, const std::vector<std::string>& refs, bool no_stream, bool json) {
  bool tty = ::isatty(1);
  for (;;) {
    auto rows = sample_stats(env, refs, 1000);
    std::string out = json ? stats_json(rows) : stats_table(rows);
    if (tty && !json && !no_stream) out = "\033[H\033[2J" + out;  // redraw in place
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    if (no_stream) return;
    if (!refs.empty() && rows.empty()) return;  // everything we were asked about stopped
  }
}

}  // namespace hull::frontend
