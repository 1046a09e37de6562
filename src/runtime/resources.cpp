// pause, resume, update, ps, events and the OOM report: the verbs that work through a
// running container's cgroup.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "cgroup/manager.h"
#include "oci/parse.h"
#include "runtime/container.h"
#include "runtime/plan.h"
#include "runtime/runtime.h"
#include "runtime/state_store.h"
#include "runtime/transitions.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

using ojson = nlohmann::ordered_json;

std::unique_ptr<cgroup::Manager> container_cgroup(const oci::State& s) {
  if (s.cgroup_path.empty()) fail("container {} has no cgroup", s.id);
  return cgroup::Manager::open(s.cgroup_path, s.cgroup_unit);
}

// Objects merge key by key; anything else (numbers, arrays) is replaced: runc's update
// keeps every field the request leaves out.
void merge(nlohmann::json& into, const nlohmann::json& from) {
  if (!into.is_object() || !from.is_object()) {
    into = from;
    return;
  }
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (it.value().is_null()) continue;
    merge(into[it.key()], it.value());
  }
}

ojson entry_json(const cgroup::MemoryEntry& e) {
  ojson j = {{"limit", e.limit}};
  if (e.usage) j["usage"] = e.usage;
  if (e.max_usage) j["max"] = e.max_usage;
  j["failcnt"] = e.failcnt;
  return j;
}

ojson blkio_json(const std::vector<cgroup::BlkioEntry>& list) {
  ojson arr = ojson::array();
  for (const auto& e : list) {
    ojson j = ojson::object();
    if (e.major) j["major"] = e.major;
    if (e.minor) j["minor"] = e.minor;
    if (!e.op.empty()) j["op"] = e.op;
    if (e.value) j["value"] = e.value;
    arr.push_back(j);
  }
  return arr;
}

// runc's types.Stats, with its omitempty rules, so tools reading runc's output read ours.
ojson stats_to_json(const cgroup::Stats& s) {
  ojson usage = ojson::object();
  if (s.cpu.usage_ns) usage["total"] = s.cpu.usage_ns;
  if (!s.cpu.per_cpu_ns.empty()) usage["percpu"] = s.cpu.per_cpu_ns;
  if (!s.cpu.per_cpu_system_ns.empty()) usage["percpu_kernel"] = s.cpu.per_cpu_system_ns;
  if (!s.cpu.per_cpu_user_ns.empty()) usage["percpu_user"] = s.cpu.per_cpu_user_ns;
  usage["kernel"] = s.cpu.system_ns;
  usage["user"] = s.cpu.user_ns;
  ojson throttling = ojson::object();
  if (s.cpu.periods) throttling["periods"] = s.cpu.periods;
  if (s.cpu.throttled_periods) throttling["throttledPeriods"] = s.cpu.throttled_periods;
  if (s.cpu.throttled_ns) throttling["throttledTime"] = s.cpu.throttled_ns;

  ojson cpuset = ojson::object();
  if (!s.cpuset.cpus.empty()) cpuset["cpus"] = s.cpuset.cpus;
  if (!s.cpuset.mems.empty()) cpuset["mems"] = s.cpuset.mems;

  ojson memory = ojson::object();
  if (s.memory.cache) memory["cache"] = s.memory.cache;
  memory["usage"] = entry_json(s.memory.usage);
  memory["swap"] = entry_json(s.memory.swap);
  memory["kernel"] = entry_json(s.memory.kernel);
  memory["kernelTCP"] = entry_json(s.memory.kernel_tcp);
  if (!s.memory.raw.empty()) memory["raw"] = s.memory.raw;

  ojson pids = ojson::object();
  if (s.pids.current) pids["current"] = s.pids.current;
  if (s.pids.limit) pids["limit"] = s.pids.limit;

  ojson blkio = ojson::object();
  if (!s.blkio.service_bytes.empty())
    blkio["ioServiceBytesRecursive"] = blkio_json(s.blkio.service_bytes);
  if (!s.blkio.serviced.empty()) blkio["ioServicedRecursive"] = blkio_json(s.blkio.serviced);

  ojson hugetlb = ojson::object();
  for (const auto& [size, h] : s.hugetlb) {
    ojson j = ojson::object();
    if (h.usage) j["usage"] = h.usage;
    if (h.max) j["max"] = h.max;
    j["failcnt"] = h.failcnt;
    hugetlb[size] = j;
  }
  return {{"cpu", {{"usage", usage}, {"throttling", throttling}}},
          {"cpuset", cpuset},
          {"memory", memory},
          {"pids", pids},
          {"blkio", blkio},
          {"hugetlb", hugetlb},
          {"intel_rdt", ojson::object()},
          {"network_interfaces", nullptr}};
}

std::string event_json(const std::string& type, const std::string& id, const ojson* data) {
  ojson j = {{"type", type}, {"id", id}};
  if (data) j["data"] = *data;
  return j.dump();
}

// "256 MiB", "1.5 GiB", "100000 bytes".
std::string human_bytes(uint64_t b) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (b < 1024 || b % 1024 != 0) return fmt::format("{} bytes", b);
  double v = static_cast<double>(b);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  if (v == static_cast<double>(static_cast<uint64_t>(v)))
    return fmt::format("{} {}", static_cast<uint64_t>(v), units[u]);
  return fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace

void pause(const Context& ctx, const std::string& id) {
  StateStore store(ctx.root);
  Fd dir = store.open_locked(id);
  oci::State s = load_state(store, dir.get(), id);
  require(Verb::pause, s);
  with_context(fmt::format("pause container {}", id), [&] { container_cgroup(s)->freeze(); });
}

void resume(const Context& ctx, const std::string& id) {
  StateStore store(ctx.root);
  Fd dir = store.open_locked(id);
  oci::State s = load_state(store, dir.get(), id);
  require(Verb::resume, s);
  with_context(fmt::format("resume container {}", id), [&] { container_cgroup(s)->thaw(); });
}

void update(const Context& ctx, const std::string& id, const std::string& resources_json) {
  StateStore store(ctx.root);
  Fd dir = store.open_locked(id);
  oci::State s = load_state(store, dir.get(), id);
  require(Verb::update, s);
  oci::Resources merged;
  std::string config = merge_resources(store.load_config(dir.get()), resources_json, &merged);
  with_context(fmt::format("update container {}", id),
               [&] { container_cgroup(s)->apply(merged, true); });
  fault_point("update.applied");
  // Kept for the next update: its absent fields mean "as now" (swap needs the limit in force).
  store.save_config(dir.get(), config);
}

std::string merge_resources(const std::string& config_json, const std::string& resources_json,
                            oci::Resources* merged) {
  // Validate the request on its own first, so its errors name what the caller sent.
  oci::parse_resources(resources_json);
  nlohmann::json config = nlohmann::json::parse(config_json);
  nlohmann::json& stored = config["linux"]["resources"];
  if (stored.is_null()) stored = nlohmann::json::object();
  merge(stored, nlohmann::json::parse(resources_json));
  oci::parse_resources(stored.dump());
  // As create gave them (runtime/plan.h cgroup_resources).
  if (merged) *merged = cgroup_resources(oci::parse_spec(config.dump()));
  return config.dump(1);
}

std::vector<pid_t> container_pids(const Context& ctx, const std::string& id) {
  StateStore store(ctx.root);
  Fd dir = store.open_unlocked(id);
  oci::State s = load_state(store, dir.get(), id);
  require(Verb::ps, s);
  // A stopped container lists what is left in its cgroup, usually nothing (runc: the header
  // alone, exit 0); its cgroup stays until delete.
  if (s.cgroup_path.empty()) {
    if (s.status == oci::Status::stopped) return {};
    fail("container {} has no cgroup", id);
  }
  return cgroup::Manager::open(s.cgroup_path)->pids();
}

std::string stats_json(const Context& ctx, const std::string& id) {
  StateStore store(ctx.root);
  Fd dir = store.open_unlocked(id);
  oci::State s = load_state(store, dir.get(), id);
  require(Verb::update, s);
  ojson data = stats_to_json(container_cgroup(s)->stats());
  return event_json("stats", id, &data);
}

void events(const Context& ctx, const std::string& id, int interval_ms,
            const std::function<void(const std::string&)>& emit) {
  StateStore store(ctx.root);
  oci::State s = [&] {
    Fd dir = store.open_unlocked(id);
    return load_state(store, dir.get(), id);
  }();
  require(Verb::update, s);
  auto cg = container_cgroup(s);
  Fd init = open_init(s);
  if (!init) fail_not_running(id);
  Fd oom = cg->oom_notify_fd();
  uint64_t seen = cg->oom_kills();
  int64_t next = monotonic_ms() + interval_ms;
  for (;;) {
    pollfd fds[2] = {{oom.get(), POLLIN, 0}, {init.get(), POLLIN, 0}};
    int wait = static_cast<int>(std::max<int64_t>(0, next - monotonic_ms()));
    int r = ::poll(fds, 2, wait);
    if (r < 0 && errno != EINTR) fail_errno("poll");
    if (r > 0 && (fds[0].revents & POLLIN)) {
      char buf[4096];
      while (::read(oom.get(), buf, sizeof buf) > 0) {
      }
    }
    // The counter, not the wakeup, decides: v1 also wakes when the cgroup goes away.
    // A delete can remove the cgroup between the wakeup and these reads (ENODEV, ENOENT):
    // once init has exited that is the end of the stream, not an error.
    try {
      uint64_t now = cg->oom_kills();
      for (; seen < now; ++seen) emit(event_json("oom", id, nullptr));
      if (r > 0 && (fds[1].revents & POLLIN)) return;
      if (monotonic_ms() >= next) {
        ojson data = stats_to_json(cg->stats());
        emit(event_json("stats", id, &data));
        next = monotonic_ms() + interval_ms;
      }
    } catch (const Error&) {
      pollfd exited = {init.get(), POLLIN, 0};
      if (::poll(&exited, 1, 0) == 1) return;
      throw;
    }
  }
}

std::string oom_report(const std::string& id, const std::string& cgroup_path) {
  if (cgroup_path.empty()) return "";
  try {
    auto cg = cgroup::Manager::open(cgroup_path);
    if (cg->oom_kills() == 0) return "";
    uint64_t limit = cg->stats().memory.usage.limit;
    // v1 reads "no limit" as a huge page-aligned number, v2 as "max".
    if (limit == 0 || limit >= (1ULL << 62))
      return fmt::format("container {}: out of memory: killed by the kernel", id);
    return fmt::format("container {}: out of memory: killed by the kernel at its {} limit", id,
                       human_bytes(limit));
  } catch (const Error& e) {
    log::debug("oom report: {}", e.what());
    return "";
  }
}

std::string ps_table(const std::vector<pid_t>& pids, const std::vector<std::string>& ps_args) {
  std::vector<std::string> args = {"ps"};
  if (ps_args.empty()) args.push_back("-ef");
  args.insert(args.end(), ps_args.begin(), ps_args.end());
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) fail_errno("pipe");
  Fd rd(out[0]), wr(out[1]);
  pid_t child = ::fork();
  if (child < 0) fail_errno("fork ps");
  if (child == 0) {
    ::dup2(wr.get(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("ps", argv.data());
    ::_exit(127);
  }
  wr.reset();
  std::string text = read_fd(rd.get());
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("ps {}: {}", join(args, " ").substr(3),
         WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "cannot run ps" : "ps failed");
  auto lines = split(text, '\n');
  if (lines.empty()) fail("ps printed nothing");
  // The PID column, found by its header, as runc does: the user's arguments decide the columns.
  auto header = split(lines[0], ' ');
  std::vector<std::string> cols;
  for (auto& h : header)
    if (!h.empty()) cols.push_back(h);
  size_t pid_col = cols.size();
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i] == "PID") pid_col = i;
  if (pid_col == cols.size()) fail("ps {}: its output has no PID column", join(ps_args, " "));
  std::string result = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f;
    for (auto& x : split(lines[i], ' '))
      if (!x.empty()) f.push_back(x);
    if (f.size() <= pid_col) continue;
    auto pid = parse_i64(f[pid_col]);
    if (pid && std::find(pids.begin(), pids.end(), static_cast<pid_t>(*pid)) != pids.end())
      result += lines[i] + "\n";
  }
  return result;
}

}  // namespace hull::runtime
