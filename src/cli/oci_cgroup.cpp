// pause, resume, update, events, ps: runc's verbs that work through the cgroup.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/oci.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::cli {
namespace {

// runc's update flags, kept as text until we know which were given.
struct UpdateFlags {
  std::string id, resources;
  std::string memory, memory_swap, memory_reservation, kernel_memory, kernel_memory_tcp;
  std::string cpu_quota, cpu_period, cpu_shares, cpu_burst, cpu_rt_period, cpu_rt_runtime, cpu_idle;
  std::string cpuset_cpus, cpuset_mems, pids_limit, blkio_weight;
  std::string l3_cache_schema, mem_bw_schema;
};

int64_t bytes_flag(const std::string& flag, const std::string& v) {
  // Plain integers pass as they are, negative ones too: the memory unit says what is wrong
  // with them, naming the field.
  if (auto n = parse_i64(trim(v))) return *n;
  auto n = parse_size(v);
  if (!n)
    fail("{}: {}: not a size (bytes, or with a unit: 256m, 1g; -1 for no limit)", flag, quote(v));
  return *n;
}

int64_t int_flag(const std::string& flag, const std::string& v) {
  auto n = parse_i64(trim(v));
  if (!n) fail("{}: {}: not an integer", flag, quote(v));
  return *n;
}

uint64_t uint_flag(const std::string& flag, const std::string& v) {
  auto n = parse_u64(trim(v));
  if (!n) fail("{}: {}: not a non-negative integer", flag, quote(v));
  return *n;
}

// The flags as a linux.resources object; -r's JSON underneath, flags on top (runc's order).
std::string update_request(const UpdateFlags& f) {
  nlohmann::json r = nlohmann::json::object();
  if (!f.resources.empty()) {
    std::string text;
    if (f.resources == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      auto t = read_file_if_exists(f.resources);
      if (!t) fail_err(ENOENT, "--resources: open {}", f.resources);
      text = *t;
    }
    try {
      r = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      fail("--resources {}: invalid JSON: {}", f.resources == "-" ? "(stdin)" : f.resources,
           e.what());
    }
    if (!r.is_object()) fail("--resources: expected a JSON object (linux.resources)");
  }
  if (!f.l3_cache_schema.empty() || !f.mem_bw_schema.empty())
    fail("--l3-cache-schema, --mem-bw-schema: Intel RDT is not supported");
  auto& mem = r["memory"];
  if (!f.memory.empty()) mem["limit"] = bytes_flag("--memory", f.memory);
  if (!f.memory_swap.empty()) mem["swap"] = bytes_flag("--memory-swap", f.memory_swap);
  if (!f.memory_reservation.empty())
    mem["reservation"] = bytes_flag("--memory-reservation", f.memory_reservation);
  if (!f.kernel_memory.empty()) mem["kernel"] = bytes_flag("--kernel-memory", f.kernel_memory);
  if (!f.kernel_memory_tcp.empty())
    mem["kernelTCP"] = bytes_flag("--kernel-memory-tcp", f.kernel_memory_tcp);
  if (mem.is_null()) r.erase("memory");
  auto& cpu = r["cpu"];
  if (!f.cpu_quota.empty()) cpu["quota"] = int_flag("--cpu-quota", f.cpu_quota);
  if (!f.cpu_period.empty()) cpu["period"] = uint_flag("--cpu-period", f.cpu_period);
  if (!f.cpu_shares.empty()) cpu["shares"] = uint_flag("--cpu-share", f.cpu_shares);
  if (!f.cpu_burst.empty()) cpu["burst"] = uint_flag("--cpu-burst", f.cpu_burst);
  if (!f.cpu_rt_period.empty())
    cpu["realtimePeriod"] = uint_flag("--cpu-rt-period", f.cpu_rt_period);
  if (!f.cpu_rt_runtime.empty())
    cpu["realtimeRuntime"] = int_flag("--cpu-rt-runtime", f.cpu_rt_runtime);
  if (!f.cpu_idle.empty()) cpu["idle"] = int_flag("--cpu-idle", f.cpu_idle);
  if (!f.cpuset_cpus.empty()) cpu["cpus"] = f.cpuset_cpus;
  if (!f.cpuset_mems.empty()) cpu["mems"] = f.cpuset_mems;
  if (cpu.is_null()) r.erase("cpu");
  if (!f.pids_limit.empty()) r["pids"]["limit"] = int_flag("--pids-limit", f.pids_limit);
  if (!f.blkio_weight.empty()) r["blockIO"]["weight"] = uint_flag("--blkio-weight", f.blkio_weight);
  if (r.empty()) fail("nothing to update: give --resources or a limit flag (see update --help)");
  return r.dump();
}

// "5s", "500ms", "1m", "2" (seconds), as Go's durations that runc takes.
int parse_interval_ms(const std::string& text) {
  std::string s(trim(text));
  struct Unit {
    const char* suffix;
    double ms;
  };
  static const Unit units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  for (const auto& u : units) {
    std::string suf = u.suffix;
    if (s.size() > suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) {
      std::string num = s.substr(0, s.size() - suf.size());
      char* end = nullptr;
      double v = std::strtod(num.c_str(), &end);
      if (end && *end == 0 && v > 0) return std::max(1, static_cast<int>(v * u.ms));
      break;
    }
  }
  if (auto n = parse_u64(s); n && *n > 0) return static_cast<int>(*n * 1000);
  fail("--interval: {}: not a duration (5s, 500ms, 1m)", quote(text));
}

}  // namespace

void register_cgroup(CLI::App& app, OciEnv& env) {
  static std::string id;
  auto* pause = app.add_subcommand("pause", "suspend every process in the container");
  pause->add_option("id", id)->required();
  env.add(pause, [&env] {
    runtime::pause(env.ctx, id);
    return 0;
  });
  auto* resume = app.add_subcommand("resume", "resume every process of a paused container");
  resume->add_option("id", id)->required();
  env.add(resume, [&env] {
    runtime::resume(env.ctx, id);
    return 0;
  });

  static UpdateFlags u;
  auto* update = app.add_subcommand("update", "change a running container's resource limits");
  update->add_option("--resources,-r", u.resources, "linux.resources JSON file, - for stdin");
  update->add_option("--memory", u.memory, "memory limit (bytes, 256m, 1g; -1 for none)");
  update->add_option("--memory-swap", u.memory_swap, "memory plus swap limit");
  update->add_option("--memory-reservation", u.memory_reservation, "memory soft limit");
  update->add_option("--kernel-memory", u.kernel_memory, "kernel memory limit (v1)");
  update->add_option("--kernel-memory-tcp", u.kernel_memory_tcp, "kernel TCP buffer limit (v1)");
  update->add_option("--cpu-quota", u.cpu_quota, "CFS quota per period, microseconds");
  update->add_option("--cpu-period", u.cpu_period, "CFS period, microseconds");
  update->add_option("--cpu-share,--cpu-shares", u.cpu_shares, "CPU shares (relative weight)");
  update->add_option("--cpu-burst", u.cpu_burst, "CFS burst, microseconds");
  update->add_option("--cpu-rt-period", u.cpu_rt_period, "realtime period, microseconds");
  update->add_option("--cpu-rt-runtime", u.cpu_rt_runtime,
                     "realtime runtime per period, microseconds");
  update->add_option("--cpu-idle", u.cpu_idle, "1: SCHED_IDLE group");
  update->add_option("--cpuset-cpus", u.cpuset_cpus, "CPUs to run on (0-3,5)");
  update->add_option("--cpuset-mems", u.cpuset_mems, "memory nodes to use");
  update->add_option("--pids-limit", u.pids_limit, "maximum number of tasks (-1 for none)");
  update->add_option("--blkio-weight", u.blkio_weight, "block I/O weight, 10..1000");
  update->add_option("--l3-cache-schema", u.l3_cache_schema, "Intel RDT (not supported)");
  update->add_option("--mem-bw-schema", u.mem_bw_schema, "Intel RDT (not supported)");
  update->add_option("id", u.id)->required();
  env.add(update, [&env] {
    runtime::update(env.ctx, u.id, update_request(u));
    return 0;
  });

  static bool stats_only = false;
  static std::string interval = "5s";
  auto* events = app.add_subcommand("events", "print resource usage and OOM events as JSON lines");
  events->add_flag("--stats", stats_only, "print one stats snapshot and exit");
  events->add_option("--interval", interval, "time between stats (default 5s)");
  events->add_option("id", id)->required();
  env.add(events, [&env] {
    if (stats_only) {
      std::puts(runtime::stats_json(env.ctx, id).c_str());
      return 0;
    }
    int ms = parse_interval_ms(interval);
    runtime::events(env.ctx, id, ms, [](const std::string& line) {
      std::puts(line.c_str());
      std::fflush(stdout);
    });
    return 0;
  });

  static std::string format = "table";
  static std::vector<std::string> ps_args;
  auto* ps = app.add_subcommand("ps", "list the container's processes (ps ARGS on the host)");
  ps->add_option("--format,-f", format)->check(CLI::IsMember({"table", "json"}));
  ps->add_option("id", id)->required();
  ps->prefix_command();
  ps->fallthrough(false);  // "-o pid" is for ps, not a global flag
  env.add(ps, [&env, ps] {
    ps_args = ps->remaining();
    auto pids = runtime::container_pids(env.ctx, id);
    if (format == "json") {
      if (!ps_args.empty()) fail("ps: arguments for ps go with --format table only");
      std::puts(nlohmann::json(pids).dump().c_str());
      return 0;
    }
    std::fputs(runtime::ps_table(pids, ps_args).c_str(), stdout);
    return 0;
  });
}

}  // namespace hull::cli
