#include "frontend/tour.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "frontend/containers.h"
#include "frontend/logs.h"
#include "net/network.h"
#include "runtime/inspect.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

using ojson = nlohmann::ordered_json;

struct Outcome {
  bool ok = false;
  std::string command;              // the hull command, as a person would type it
  std::vector<std::string> inside;  // what the container printed
  std::vector<std::string> kernel;  // what the host's kernel shows
  std::string verdict;
  ojson evidence = ojson::object();
};

struct Step {
  const char* name;
  const char* title;
  const char* tutorial;  // what the tutorial typed
  const char* explain;
  Outcome (*run)(const Env&);
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& l : split(text, '\n'))
    if (!l.empty()) out.push_back(l);
  return out;
}

// A word as a POSIX shell reads it back: as it is when it is plain, else in single quotes.
std::string shell_word(const std::string& w) {
  bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./:=,@%+", c);
  });
  if (plain) return w;
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string shell_join(const std::vector<std::string>& words) {
  std::vector<std::string> q;
  for (const auto& w : words) q.push_back(shell_word(w));
  return join(q, " ");
}

// `hull run ...` as a person types it for these options: the flags the tour's steps use,
// then the image and the command. What the tour prints is made from what it runs.
std::string command_line(const RunOptions& o) {
  std::vector<std::string> w = {"hull", "run"};
  auto flag = [&](const char* f, const std::string& v) {
    if (!v.empty()) w.insert(w.end(), {f, v});
  };
  // --rm: pasted, the command leaves nothing behind (the tour removes its own containers).
  w.push_back(o.detach ? "-d" : "--rm");
  flag("--name", o.name);
  flag("--hostname", o.hostname);
  if (o.userns != "host") flag("--userns", o.userns);
  flag("--cpus", o.cpus);
  flag("--memory", o.memory);
  flag("--memory-swap", o.memory_swap);
  for (const auto& v : o.device_read_bps) flag("--device-read-bps", v);
  for (const auto& v : o.volumes) flag("-v", v);
  for (const auto& v : o.net.networks) flag("--network", v);
  w.push_back(o.image);
  std::vector<std::string> q;
  for (const auto& x : w) q.push_back(shell_word(x));
  return join(q, " ") + " " + shell_join(o.command);
}

// A container of one step, started detached through the same code as `hull run -d`, and
// removed with everything it made when the step ends. It runs the step's command as printed,
// then says READY and stays, for the host to look at it.
class Box {
 public:
  Box(const Env& env, RunOptions o) : env_(env) {
    o.detach = true;
    std::string shown = o.command.size() == 3 && o.command[0] == "sh" && o.command[1] == "-c"
                            ? o.command[2]
                            : shell_join(o.command);
    o.command = {"sh", "-c", shown + "\necho READY; exec sleep 600"};
    auto r = run(env, o);
    id_ = r.id;
  }
  ~Box() {
    try {
      remove(env_, id_, true);
    } catch (const Error&) {
    }
  }
  Box(const Box&) = delete;
  Box& operator=(const Box&) = delete;

  const std::string& id() const { return id_; }
  pid_t host_pid() const { return runtime::state(env_.ctx(), id_).pid; }
  runtime::ContainerInfo info() const { return runtime::describe(env_.ctx(), id_); }
  std::string log() const { return log_text(Store(env_).log_path(id_)); }

  // What the container printed before its line "READY" (it keeps running for the host to look).
  std::vector<std::string> output_until_ready(int timeout_ms) const {
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
      std::string text = log();
      auto pos = text.find("READY\n");
      if (pos != std::string::npos) return lines_of(text.substr(0, pos));
      if (monotonic_ms() > deadline || status(env_, id_).state == State::exited)
        fail("the container never got ready; it printed: {}", quote(text));
      sleep_ms(20);
    }
  }

  // Waits for the container to exit and for its exit to be recorded.
  Meta wait_exit(int timeout_ms) const {
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
      Status s = status(env_, id_);
      if (s.state == State::exited && s.meta.exit_code) return s.meta;
      if (monotonic_ms() > deadline)
        fail("the container did not exit within {} s", timeout_ms / 1000);
      sleep_ms(50);
    }
  }

 private:
  const Env& env_;
  std::string id_;
};

const runtime::NamespaceInfo* find_ns(const runtime::ContainerInfo& info, const char* kind) {
  for (const auto& n : info.namespaces)
    if (n.kind == kind) return &n;
  return nullptr;
}

std::string cgroup_file(const runtime::ContainerInfo& info, const std::string& file) {
  for (const auto& c : info.cgroups)
    for (const auto& [name, value] : c.files)
      if (name == file) return value;
  return "";
}

std::string ns_line(const runtime::NamespaceInfo* n, const char* kind) {
  if (!n) return fmt::format("{} namespace: not found", kind);
  return fmt::format("{} namespace inode {} inside, {} on the host{}", kind, n->inode,
                     n->host_inode, n->own ? "" : " (the same!)");
}

void add_ns(Outcome& out, const runtime::ContainerInfo& info, const char* kind) {
  const auto* n = find_ns(info, kind);
  out.kernel.push_back(ns_line(n, kind));
  out.evidence["namespace"] = {
      {"type", kind}, {"inode", n ? n->inode : 0}, {"hostInode", n ? n->host_inode : 0}};
}

bool own_ns(const runtime::ContainerInfo& info, const char* kind) {
  const auto* n = find_ns(info, kind);
  return n && n->own;
}

int count_host_processes() {
  int n = 0;
  for (const auto& e : split(read_file_if_exists("/proc/loadavg").value_or(""), ' '))
    if (auto slash = e.find('/'); slash != std::string::npos)
      n = static_cast<int>(parse_i64(e.substr(slash + 1)).value_or(0));
  return n;
}

Outcome step_pid(const Env& env) {
  Outcome out;
  RunOptions o;
  o.command = {"sh", "-c", "echo \"my PID: $$\"; ps -e -o pid=,comm="};
  out.command = command_line(o);
  Box box(env, o);
  out.inside = box.output_until_ready(10000);
  pid_t host = box.host_pid();
  runtime::ProcessInfo p;
  runtime::read_process(host, p);
  int inside_pid = -1;
  if (!out.inside.empty() && out.inside[0].rfind("my PID: ", 0) == 0)
    inside_pid = static_cast<int>(parse_i64(out.inside[0].substr(8)).value_or(-1));
  int inside_procs = static_cast<int>(out.inside.size()) - 1;
  int host_procs = count_host_processes();
  std::vector<std::string> ns;
  for (pid_t v : p.ns_pids) ns.push_back(std::to_string(v));
  out.kernel.push_back(fmt::format("/proc/{}/status  NSpid: {}", host, join(ns, " ")));
  out.kernel.push_back(
      fmt::format("the host has {} processes; the container sees {}", host_procs, inside_procs));
  out.evidence = {{"insidePid", inside_pid},
                  {"hostPid", host},
                  {"nsPids", p.ns_pids},
                  {"processesInside", inside_procs},
                  {"processesOnHost", host_procs}};
  out.ok = inside_pid == 1 && p.ns_pids.size() == 2 && p.ns_pids[0] == host && p.ns_pids[1] == 1 &&
           host != 1 && inside_procs > 0 && inside_procs < host_procs;
  out.verdict = fmt::format(
      "PID 1 inside is PID {} on the host; the container sees {} processes, the host {}", host,
      inside_procs, host_procs);
  return out;
}

Outcome step_mount(const Env& env) {
  Outcome out;
  std::string file = fmt::format("/etc/hull-tour-{}", ::getpid());
  RunOptions o;
  o.command = {"sh", "-c", fmt::format("echo written-inside > {0} && cat {0}", file)};
  out.command = command_line(o);
  Box box(env, o);
  out.inside = box.output_until_ready(10000);
  auto info = box.info();
  bool on_host = path_exists(file);
  std::string root_type;
  for (const auto& m : info.mounts)
    if (m.mount_point == "/") root_type = m.fstype;
  auto host_mounts = lines_of(read_file("/proc/self/mountinfo")).size();
  out.kernel.push_back(
      fmt::format("on the host, {} {}", file, on_host ? "exists (!)" : "does not exist"));
  out.kernel.push_back(fmt::format("the container's / is {}; it has {} mounts, the host {}",
                                   root_type, info.mounts.size(), host_mounts));
  add_ns(out, info, "mnt");
  bool read_back = !out.inside.empty() && out.inside[0] == "written-inside";
  out.evidence["file"] = file;
  out.evidence["readBackInside"] = read_back;
  out.evidence["existsOnHost"] = on_host;
  out.evidence["rootType"] = root_type;
  out.evidence["mountsInside"] = info.mounts.size();
  out.evidence["mountsOnHost"] = host_mounts;
  out.ok = read_back && !on_host && root_type == "overlay" && own_ns(info, "mnt");
  out.verdict =
      fmt::format("the container wrote {} into its overlay; the host's /etc never saw it", file);
  return out;
}

Outcome step_uts(const Env& env) {
  Outcome out;
  RunOptions o;
  o.hostname = "tour-box";
  o.command = {"cat", "/proc/sys/kernel/hostname"};
  out.command = command_line(o);
  Box box(env, o);
  out.inside = box.output_until_ready(10000);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto info = box.info();
  out.kernel.push_back(fmt::format("the host's name is still {}", host));
  add_ns(out, info, "uts");
  std::string inside = out.inside.empty() ? "" : out.inside[0];
  out.evidence["inside"] = inside;
  out.evidence["host"] = host;
  out.ok = inside == "tour-box" && std::string(host) != "tour-box" && own_ns(info, "uts");
  out.verdict = fmt::format("inside the name is {}, outside {}", inside, host);
  return out;
}

Outcome step_ipc(const Env& env) {
  Outcome out;
  // A shared memory segment of the host's, which the container must not see.
  int shmid = ::shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
  if (shmid < 0) fail_errno("create a SysV shared memory segment on the host");
  ScopeGuard drop([&] { ::shmctl(shmid, IPC_RMID, nullptr); });
  RunOptions o;
  // ipcs (util-linux) lists the segments of the IPC namespace it runs in, one line each.
  o.command = {"ipcs", "-m"};
  out.command = command_line(o);
  Box box(env, o);
  out.inside = box.output_until_ready(10000);
  auto info = box.info();
  int host_segments = static_cast<int>(lines_of(read_file("/proc/sysvipc/shm")).size()) - 1;
  bool listed = std::any_of(out.inside.begin(), out.inside.end(),
                            [](auto& l) { return l.find("Shared Memory Segments") != l.npos; });
  int inside = listed
                   ? static_cast<int>(std::count_if(out.inside.begin(), out.inside.end(),
                                                    [](auto& l) { return l.rfind("0x", 0) == 0; }))
                   : -1;
  auto segments = [](int n) {
    return fmt::format("{} shared memory segment{}", n, n == 1 ? "" : "s");
  };
  out.kernel.push_back(
      fmt::format("the host has {}, one of them ours (id {})", segments(host_segments), shmid));
  add_ns(out, info, "ipc");
  out.evidence["segmentsInside"] = inside;
  out.evidence["segmentsOnHost"] = host_segments;
  out.evidence["hostSegmentId"] = shmid;
  out.ok = inside == 0 && host_segments >= 1 && own_ns(info, "ipc");
  out.verdict = fmt::format("the container sees {} while the host has {}", segments(inside),
                            segments(host_segments));
  return out;
}

Outcome step_user(const Env& env) {
  Outcome out;
  RunOptions o;
  o.userns = "private";
  o.command = {"sh", "-c", "id -u; cat /proc/self/uid_map"};
  out.command = command_line(o);
  Box box(env, o);
  out.inside = box.output_until_ready(10000);
  pid_t host = box.host_pid();
  runtime::ProcessInfo p;
  runtime::read_process(host, p);
  auto info = box.info();
  out.kernel.push_back(
      fmt::format("/proc/{}/status  Uid: {} (an unprivileged user on the host)", host, p.uid));
  if (!info.uid_map.empty())
    out.kernel.push_back(fmt::format("uid_map: {} inside -> {} outside, {} ids",
                                     info.uid_map[0].inside, info.uid_map[0].outside,
                                     info.uid_map[0].count));
  add_ns(out, info, "user");
  std::string inside = out.inside.empty() ? "" : out.inside[0];
  out.evidence["uidInside"] = inside;
  out.evidence["uidOnHost"] = p.uid;
  out.evidence["uidMap"] =
      info.uid_map.empty()
          ? ojson::array()
          : ojson::array({info.uid_map[0].inside, info.uid_map[0].outside, info.uid_map[0].count});
  out.ok = inside == "0" && p.uid != 0 && !info.uid_map.empty() &&
           info.uid_map[0].outside == p.uid && own_ns(info, "user");
  out.verdict = fmt::format("root inside is uid {} on the host", p.uid);
  return out;
}

Outcome step_cpu(const Env& env) {
  Outcome out;
  RunOptions o;
  o.cpus = "0.5";
  // Two loops: on a busy host one loop alone may get less than its half CPU and never meet
  // the quota; two, spread over the CPUs, ask for far more than half of one.
  o.command = {"sh", "-c", "while :; do :; done & while :; do :; done"};
  out.command = command_line(o);
  // The loops never end: READY comes first here, the loops after it.
  o.command = {"sh", "-c", "echo READY; while :; do :; done & while :; do :; done"};
  Box box(env, o);
  box.output_until_ready(10000);
  sleep_ms(300);  // past the first period, which starts with a full quota
  // The cgroup's own counters: its CPU time (ns) and what the quota held back.
  cgroup::CpuStats c0 = runtime::stats(env.ctx(), box.id()).cpu, c1 = c0;
  // Counters only grow; min() keeps a reset cgroup from wrapping around.
  auto delta = [](uint64_t a, uint64_t b) { return b - std::min(a, b); };
  int64_t w0 = monotonic_ns();
  double wall = 0;
  // At least 1.5 s; on until the quota has cut a few periods short and held the loops back, at
  // most 10 s: on a loaded host (CI's 2 cores) the loops may get less than half a CPU for
  // seconds, and the quota only stops a group that reached it. The periods are counted when
  // the quota runs out, the time held back only for a loop the kernel then actually stopped
  // (throttled_time stayed 0 over 3 periods under CI's load: the loops were not running).
  for (;;) {
    sleep_ms(250);
    c1 = runtime::stats(env.ctx(), box.id()).cpu;
    wall = static_cast<double>(monotonic_ns() - w0) / 1e9;
    bool shown = delta(c0.throttled_periods, c1.throttled_periods) >= 3 &&
                 delta(c0.throttled_ns, c1.throttled_ns) > 0;
    if ((wall >= 1.5 && shown) || wall >= 10) break;
  }
  double percent = static_cast<double>(delta(c0.usage_ns, c1.usage_ns)) / 1e9 / wall * 100.0;
  uint64_t throttled = delta(c0.throttled_periods, c1.throttled_periods);
  double held_ms = static_cast<double>(delta(c0.throttled_ns, c1.throttled_ns)) / 1e6;
  auto info = box.info();
  std::string quota = cgroup_file(info, "cpu.cfs_quota_us"),
              period = cgroup_file(info, "cpu.cfs_period_us");
  std::string v2 = cgroup_file(info, "cpu.max");
  bool half = (quota == "50000" && period == "100000") || v2 == "50000 100000";
  // The quota's arithmetic: in `wall` seconds the group may run 50 ms per 100 ms period,
  // plus the one period under way when the measurement started.
  double allowed = (wall * 0.5 + 0.05) / wall * 100.0;
  out.inside.push_back("(two busy loops)");
  out.kernel.push_back(
      v2.empty() ? fmt::format("cpu.cfs_quota_us = {}, cpu.cfs_period_us = {}", quota, period)
                 : fmt::format("cpu.max = {}", v2));
  out.kernel.push_back(fmt::format(
      "the loops used {:.1f} % of a CPU over {:.1f} s (the cgroup's CPU time); the quota "
      "allows {:.1f} %: 50 ms per 100 ms period over {:.1f} s, plus the 50 ms of the period "
      "under way when the count began",
      percent, wall, allowed, wall));
  out.kernel.push_back(fmt::format(
      "cpu.stat: the quota cut {} periods of 100 ms short, holding the loops back {:.0f} ms",
      throttled, held_ms));
  out.evidence = {{"quota", quota},
                  {"period", period},
                  {"cpuMax", v2},
                  {"loops", 2},
                  {"measuredPercent", percent},
                  {"allowedPercent", allowed},
                  {"seconds", wall},
                  {"throttledPeriods", throttled},
                  {"throttledMs", held_ms}};
  // Within the quota, and held there by it: the kernel stopped runnable loops (throttled
  // periods and time), so the limit, not the host's load, set the pace.
  out.ok = half && percent <= allowed + 5 && throttled > 0 && held_ms > 0;
  out.verdict = fmt::format(
      "held at {:.0f} % of one CPU (quota/period = 50000/100000); the kernel throttled it {} "
      "times",
      percent, throttled);
  return out;
}

Outcome step_memory(const Env& env) {
  Outcome out;
  RunOptions o;
  // The tutorial's numbers: 300 MiB asked of a 256 MiB limit. --memory-swap as --memory: no
  // swap to push the rest to (docker's default allows as much swap again).
  o.memory = "256m";
  o.memory_swap = "256m";
  o.command = {"stress", "--vm", "1", "--vm-bytes", "300M"};
  out.command = command_line(o);
  if (::access("/usr/bin/stress", X_OK) != 0 && ::access("/bin/stress", X_OK) != 0)
    fail(
        "this step runs stress, which this host does not have: apt-get install stress (or make "
        "demo)");
  o.command = {"sh", "-c", "echo READY; sleep 0.3; exec " + shell_join(o.command)};
  Box box(env, o);
  box.output_until_ready(10000);
  std::string limit;
  try {
    auto info = box.info();
    limit = cgroup_file(info, "memory.limit_in_bytes");
    if (limit.empty()) limit = cgroup_file(info, "memory.max");
  } catch (const Error&) {
    // already gone: the limit is then unknown, which fails the step below
  }
  Meta m = box.wait_exit(30000);
  int code = m.exit_code.value_or(-1);
  // stress's own lines: its worker "got signal 9", and it gives up.
  std::string log = box.log();
  for (const auto& l : lines_of(log.substr(std::min(log.size(), log.find("READY\n") + 6))))
    out.inside.push_back(l);
  bool worker_killed = log.find("got signal 9") != std::string::npos;
  out.kernel.push_back(fmt::format("memory limit file: {}", limit.empty() ? "?" : limit));
  out.kernel.push_back(fmt::format(
      "the cgroup counted {} OOM kill: the kernel sent its worker SIGKILL (signal 9); stress "
      "exited {}",
      m.oom_killed ? "an" : "no", code));
  out.evidence = {{"limit", limit},
                  {"exitCode", code},
                  {"oomKilled", m.oom_killed},
                  {"workerKilled", worker_killed}};
  out.ok = m.oom_killed && worker_killed && code != 0 && limit == std::to_string(256 << 20);
  out.verdict = m.oom_killed
                    ? "the kernel's OOM killer killed the 300 MiB worker at the 256 MiB limit"
                    : "no OOM kill was recorded";
  return out;
}

// The whole disk holding `path` (throttling works on disks, not partitions), as "/dev/NAME".
std::string disk_of(const std::string& path, unsigned& maj, unsigned& min) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) fail_errno("stat {}", path);
  std::string sys = fmt::format("/sys/dev/block/{}:{}", major(st.st_dev), minor(st.st_dev));
  if (!path_exists(sys))
    fail("{} is on no block device (device {}:{})", path, major(st.st_dev), minor(st.st_dev));
  if (path_exists(sys + "/partition")) sys += "/..";
  std::string dev(trim(read_file(sys + "/dev")));
  auto colon = dev.find(':');
  maj = static_cast<unsigned>(parse_u64(dev.substr(0, colon)).value_or(0));
  min = static_cast<unsigned>(parse_u64(dev.substr(colon + 1)).value_or(0));
  for (const auto& line : split(read_file(sys + "/uevent"), '\n'))
    if (line.rfind("DEVNAME=", 0) == 0) return "/dev/" + line.substr(8);
  fail("no device name for {}", sys);
}

Outcome step_blkio(const Env& env) {
  Outcome out;
  // Real blocks (zeros written, not a sparse file), read with O_DIRECT so every byte is a
  // request the throttle sees, not the page cache.
  std::string file = path_join(env.state_dir, fmt::format("tour-blkio-{}.img", ::getpid()));
  mkdir_p(env.state_dir, 0711);
  ScopeGuard rm([&] { ::unlink(file.c_str()); });
  {
    Fd fd = open_or_fail(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::string chunk(1 << 20, '\0');
    for (int i = 0; i < 12; ++i) write_all(fd.get(), chunk, file.c_str());
    if (::fsync(fd.get()) < 0) fail_errno("fsync {}", file);
  }
  unsigned maj = 0, min = 0;
  std::string disk = disk_of(file, maj, min);
  RunOptions o;
  o.device_read_bps = {disk + ":4mb"};
  o.volumes = {file + ":/data.img:ro"};
  o.command = {"sh", "-c", "dd if=/data.img of=/dev/null bs=1M iflag=direct 2>&1"};
  // The tour writes the file itself (as this dd would), and removes it after the step.
  out.command =
      fmt::format("dd if=/dev/zero of={} bs=1M count=12 conv=fsync\n    {}", file, command_line(o));
  Box box(env, o);
  out.inside = box.output_until_ready(30000);
  auto info = box.info();
  std::string throttle = cgroup_file(info, "blkio.throttle.read_bps_device");
  if (throttle.empty()) throttle = cgroup_file(info, "io.max");
  // dd: "12582912 bytes (13 MB, 12 MiB) copied, 3.0012 s, 4.2 MB/s"
  double seconds = 0;
  for (const auto& l : out.inside)
    if (auto c = l.find("copied, "); c != std::string::npos)
      seconds = std::strtod(l.c_str() + c + 8, nullptr);
  double rate = seconds > 0 ? (12 << 20) / seconds : 0;
  double limit = 4 << 20;
  out.kernel.push_back(fmt::format("throttle file: {}", throttle.empty() ? "?" : throttle));
  out.kernel.push_back(fmt::format("12 MiB took {:.2f} s: {:.2f} MiB/s against a limit of 4 MiB/s",
                                   seconds, rate / (1 << 20)));
  out.evidence = {{"device", disk},       {"major", maj},       {"minor", min},
                  {"throttle", throttle}, {"seconds", seconds}, {"bytesPerSecond", rate},
                  {"limit", limit}};
  out.ok = seconds > 0 && rate <= limit * 1.25 &&
           throttle.find(fmt::format("{}:{} {}", maj, min, static_cast<long>(limit))) !=
               std::string::npos;
  out.verdict = fmt::format("reads ran at {:.2f} MiB/s under a 4 MiB/s throttle", rate / (1 << 20));
  return out;
}

// The network step works in a network namespace of its own, made for it and gone with it:
// its bridges, veths and rules never touch the host's interfaces.
class OwnNetns {
 public:
  OwnNetns() : host_(open_or_fail("/proc/self/ns/net", O_RDONLY)) {
    if (::unshare(CLONE_NEWNET) < 0) fail_errno("unshare a network namespace for the tour");
    // Routing on, as on a host that runs containers: what separates networks is hull's rules.
    write_file("/proc/sys/net/ipv4/ip_forward", "1\n");
  }
  ~OwnNetns() { ::setns(host_.get(), CLONE_NEWNET); }
  OwnNetns(const OwnNetns&) = delete;
  OwnNetns& operator=(const OwnNetns&) = delete;

 private:
  Fd host_;
};

struct TourNetwork {
  TourNetwork(const Env& env, const std::string& name) : env_(env), name_(name) {
    net::CreateOptions c;
    c.name = name;
    net::Networks(env.state_dir).create(c);
  }
  ~TourNetwork() {
    try {
      net::Networks(env_.state_dir).remove(name_);
    } catch (const Error&) {
    }
  }
  TourNetwork(const TourNetwork&) = delete;
  TourNetwork& operator=(const TourNetwork&) = delete;
  const Env& env_;
  std::string name_;
};

uint64_t netns_inode() {
  struct stat st;
  if (::stat("/proc/self/ns/net", &st) < 0) fail_errno("stat /proc/self/ns/net");
  return st.st_ino;
}

std::string address_on(const Env& env, const std::string& id) {
  auto a = net::Networks(env.state_dir).attachments(id);
  return a.empty() ? "" : a[0].ip.str();
}

Outcome step_network(const Env& env) {
  Outcome out;
  uint64_t host_ns = netns_inode();
  OwnNetns own;
  TourNetwork red(env, "tour-red"), blue(env, "tour-blue");
  if (::access("/usr/bin/ping", X_OK) != 0 && ::access("/bin/ping", X_OK) != 0)
    fail(
        "this step runs ping, which this host does not have: apt-get install iputils-ping (or make "
        "demo)");
  // One line per host pinged: reached or not.
  auto pings = [](const std::string& hosts) {
    return "for h in " + hosts +
           "; do ping -c 1 -W 1 $h >/dev/null 2>&1 && echo \"$h: reached\" || echo \"$h: "
           "unreachable\"; done";
  };
  RunOptions o;
  o.name = "tour-a";
  o.net.networks = {"tour-red"};
  o.command = {"sleep", "600"};
  std::vector<std::string> shown = {"hull network create tour-red",
                                    "hull network create tour-blue"};
  {
    RunOptions d = o;
    d.detach = true;
    shown.push_back(command_line(d));
  }
  o.command = {"true"};
  Box a(env, o);
  a.output_until_ready(10000);
  std::string ip_a = address_on(env, a.id());
  o.name = "tour-b";
  o.net.networks = {"tour-red"};
  o.command = {"sh", "-c", pings("tour-a " + ip_a)};
  shown.push_back(command_line(o));
  Box b(env, o);
  o.name = "tour-c";
  o.net.networks = {"tour-blue"};
  o.command = {"sh", "-c", pings(ip_a)};
  shown.push_back(command_line(o));
  Box c(env, o);
  auto from_b = b.output_until_ready(15000);
  auto from_c = c.output_until_ready(15000);
  out.command = join(shown, "\n    ");
  for (const auto& l : from_b) out.inside.push_back("tour-b: " + l);
  for (const auto& l : from_c) out.inside.push_back("tour-c: " + l);
  auto has = [](const std::vector<std::string>& v, const std::string& l) {
    return std::find(v.begin(), v.end(), l) != v.end();
  };
  bool by_name = has(from_b, "tour-a: reached"), by_addr = has(from_b, ip_a + ": reached");
  bool across = !has(from_c, ip_a + ": unreachable");
  uint64_t own_ns = netns_inode();
  for (const auto* box : {&a, &b, &c})
    for (const auto& at : net::Networks(env.state_dir).attachments(box->id()))
      out.kernel.push_back(fmt::format("{} on {}: eth0 {}/{} <-> veth {} on the bridge",
                                       Store(env).load(box->id()).name, at.network, at.ip.str(),
                                       at.subnet.prefix, at.host_link));
  out.kernel.push_back(
      fmt::format("all of it in network namespace {} (the host's is {})", own_ns, host_ns));
  out.evidence = {{"addressA", ip_a},
                  {"addressB", address_on(env, b.id())},
                  {"addressC", address_on(env, c.id())},
                  {"sameNetworkByName", by_name},
                  {"sameNetworkByAddress", by_addr},
                  {"otherNetworkReached", across},
                  {"netns", own_ns},
                  {"hostNetns", host_ns}};
  out.ok = by_name && by_addr && !across && own_ns != host_ns;
  out.verdict = out.ok ? "tour-b reaches tour-a by name and address; tour-c, on another "
                         "network, cannot"
                       : "the networks did not behave as they should";
  return out;
}

const std::vector<Step>& steps() {
  static const std::vector<Step> all = {
      {"pid", "a PID namespace: its own process numbers",
       "unshare --fork --pid --mount-proc bash; ps aux",
       "A new PID namespace numbers processes from 1 again. The container's first process is PID "
       "1\n"
       "and sees only its own processes; the host sees the same process under another PID.",
       step_pid},
      {"mount", "a mount namespace: its own file system view",
       "unshare --mount (inside: mount what you like)",
       "The container gets the host's root read-only with an overlay on top, and its own /proc, "
       "/dev,\n"
       "/tmp and /run. What it writes lands in the overlay, which is thrown away when it exits.",
       step_mount},
      {"uts", "a UTS namespace: its own host name", "unshare --uts; hostname other",
       "The host name is per UTS namespace: setting it inside changes nothing outside.", step_uts},
      {"ipc", "an IPC namespace: its own shared memory", "unshare --ipc; ipcs",
       "System V shared memory, semaphores and message queues live in the IPC namespace. The host\n"
       "makes a segment; the container does not see it.",
       step_ipc},
      {"user", "a user namespace: root inside, nobody outside",
       "unshare --user --map-root-user; id",
       "A user namespace maps IDs: uid 0 inside is an unprivileged uid on the host, so root in "
       "the\n"
       "container has no power over the host's files.",
       step_user},
      {"cpu", "cgroups: CPU held at 50 %",
       "cpu.cfs_quota_us = 50000, cpu.cfs_period_us = 100000; stress --cpu 1",
       "--cpus 0.5 writes a quota of 50 ms per 100 ms period. Busy loops then get half a CPU\n"
       "between them, measured from the CPU time the kernel charged to the container's cgroup,\n"
       "and cpu.stat counts the periods in which the quota stopped them.",
       step_cpu},
      {"memory", "cgroups: a memory limit and the OOM killer",
       "memory.limit_in_bytes = 256M; stress --vm 1 --vm-bytes 300M",
       "--memory 256m sets the memory limit (and --memory-swap 256m leaves no swap beyond it).\n"
       "stress's worker touches 300 MiB; the kernel's OOM killer kills it with SIGKILL, and the\n"
       "cgroup counts the kill.",
       step_memory},
      {"blkio", "cgroups: block reads throttled",
       "blkio.throttle.read_bps_device = \"MAJOR:MINOR 4194304\"",
       "--device-read-bps DISK:4mb throttles reads from that disk to 4 MiB/s. dd reads 12 MiB "
       "with\n"
       "O_DIRECT (past the page cache) and takes about 3 seconds.",
       step_blkio},
      {"network", "networks: a bridge between containers, and nothing across",
       "ip link add veth0 type veth peer name veth1; ip link set veth1 netns ...; ping",
       "hull network create makes a bridge with a subnet; each container on it gets a veth pair,\n"
       "an address and the others' names in /etc/hosts. Containers on another network cannot\n"
       "reach them. (This step works in a network namespace of its own: the host is untouched.)",
       step_network},
  };
  return all;
}

struct Paint {
  bool on;
  std::string operator()(const char* code, const std::string& s) const {
    return on ? fmt::format("\033[{}m{}\033[0m", code, s) : s;
  }
};

void print_step(size_t n, size_t total, const Step& s, const Outcome& o, const Paint& paint) {
  std::string head = fmt::format("── {}/{}  {}: {} ", n, total, s.name, s.title);
  std::printf("%s\n",
              paint("1", head + std::string(head.size() < 90 ? 90 - head.size() : 0, '-')).c_str());
  std::printf("the tutorial: %s\n", s.tutorial);
  std::printf("%s\n\n", s.explain);
  std::printf("  $ %s\n", paint("36", o.command).c_str());
  for (const auto& l : o.inside) std::printf("  container │ %s\n", l.c_str());
  for (const auto& l : o.kernel) std::printf("  kernel    │ %s\n", l.c_str());
  std::printf("  %s %s\n\n", o.ok ? paint("32", "✔").c_str() : paint("31", "✘").c_str(),
              o.verdict.c_str());
  std::fflush(stdout);
}

}  // namespace

std::vector<std::string> tour_step_names() {
  std::vector<std::string> out;
  for (const auto& s : steps()) out.push_back(s.name);
  return out;
}

bool run_tour(const Env& env, const TourOptions& options) {
  std::vector<const Step*> chosen;
  for (const auto& name : options.steps) {
    auto it = std::find_if(steps().begin(), steps().end(), [&](auto& s) { return name == s.name; });
    if (it == steps().end())
      fail("no tour step {} (the steps: {})", quote(name), join(tour_step_names(), ", "));
    chosen.push_back(&*it);
  }
  if (chosen.empty())
    for (const auto& s : steps()) chosen.push_back(&s);
  Paint paint{options.color};
  if (!options.json && !options.pause && chosen.size() > 1) {
    std::printf(
        "Every step runs live; `hull tour --pause` waits for Enter after each one, and "
        "`hull tour STEP` runs one.\n\n");
    std::fflush(stdout);
  }
  bool all_ok = true;
  ojson report = ojson::array();
  for (size_t i = 0; i < chosen.size(); ++i) {
    const Step& s = *chosen[i];
    Outcome o;
    try {
      o = s.run(env);
    } catch (const Error& e) {
      o.ok = false;
      o.verdict = fmt::format("the step failed: {}", e.what());
    }
    all_ok = all_ok && o.ok;
    if (options.json) {
      report.push_back({{"step", s.name},
                        {"title", s.title},
                        {"ok", o.ok},
                        {"command", o.command},
                        {"inside", o.inside},
                        {"kernel", o.kernel},
                        {"verdict", o.verdict},
                        {"evidence", o.evidence}});
      continue;
    }
    print_step(i + 1, chosen.size(), s, o, paint);
    if (options.pause && i + 1 < chosen.size()) {
      std::printf("(press Enter for the next step) ");
      std::fflush(stdout);
      int c;
      while ((c = std::getchar()) != '\n' && c != EOF) {
      }
    }
  }
  if (options.json) {
    std::printf("%s\n", ojson({{"ok", all_ok}, {"steps", report}}).dump(2).c_str());
  } else {
    std::printf("%s\n", all_ok ? "Every step showed what the tutorial says."
                               : "Some steps did not show what they should (✘ above).");
  }
  return all_ok;
}

}  // namespace hull::frontend
