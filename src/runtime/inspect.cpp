#include "runtime/inspect.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/manager.h"
#include "linux/mountinfo.h"
#include "linux/namespaces.h"
#include "linux/path.h"
#include "runtime/transitions.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

struct NsKind {
  const char* name;
  int flag;
};
constexpr NsKind kNamespaces[] = {{"pid", CLONE_NEWPID},       {"mnt", CLONE_NEWNS},
                                  {"uts", CLONE_NEWUTS},       {"ipc", CLONE_NEWIPC},
                                  {"net", CLONE_NEWNET},       {"user", CLONE_NEWUSER},
                                  {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};

// The files worth showing per controller: the limits first, then the usage.
struct ControllerFiles {
  const char* controller;
  std::vector<const char*> v1, v2;
};
const std::vector<ControllerFiles>& controller_files() {
  static const std::vector<ControllerFiles> files = {
      {"cpu",
       {"cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares", "cpu.stat"},
       {"cpu.max", "cpu.weight", "cpu.stat"}},
      {"cpuacct", {"cpuacct.usage"}, {}},
      {"cpuset",
       {"cpuset.cpus", "cpuset.mems"},
       {"cpuset.cpus", "cpuset.mems", "cpuset.cpus.effective"}},
      {"memory",
       {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.usage_in_bytes",
        "memory.max_usage_in_bytes", "memory.failcnt", "memory.oom_control"},
       {"memory.max", "memory.swap.max", "memory.current", "memory.peak", "memory.events"}},
      {"pids", {"pids.max", "pids.current"}, {"pids.max", "pids.current"}},
      {"blkio",
       {"blkio.weight", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
        "blkio.throttle.io_service_bytes"},
       {}},
      {"io", {}, {"io.max", "io.weight", "io.stat"}},
      {"freezer", {"freezer.state"}, {"cgroup.freeze"}},
      {"devices", {"devices.list"}, {}},
  };
  return files;
}

std::string join_lines(std::string_view text) {
  std::string out;
  for (const auto& line : split(std::string(trim(text)), '\n')) {
    if (line.empty()) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

void read_files(CgroupInfo& info, const std::vector<const char*>& names) {
  for (const char* f : names) {
    std::optional<std::string> text;
    try {
      text = read_file_if_exists(path_join(info.dir, f));
    } catch (const Error&) {
      continue;  // a file the kernel refuses to read here (EOPNOTSUPP) is not worth failing for
    }
    if (text) info.files.emplace_back(f, join_lines(*text));
  }
}

std::vector<CgroupInfo> cgroup_files(const std::string& cgroup_path) {
  std::vector<CgroupInfo> out;
  auto cg = cgroup::Manager::open(cgroup_path);
  for (const auto& h : cg->layout().hierarchies) {
    CgroupInfo info;
    info.hierarchy =
        h.v2 ? (cg->layout().layout == cgroup::Layout::v2 ? "" : "unified") : h.dir_name();
    info.dir = cg->dir(h);
    if (!path_exists(info.dir)) continue;
    if (h.v2) {
      read_files(info, {"cgroup.controllers"});
      for (const auto& c : controller_files())
        if (h.has(c.controller) || std::string(c.controller) == "freezer") read_files(info, c.v2);
    } else {
      for (const auto& c : controller_files())
        if (h.has(c.controller)) read_files(info, c.v1);
    }
    auto procs = read_file_if_exists(path_join(info.dir, "cgroup.procs"));
    if (procs) info.files.emplace_back("cgroup.procs", join_lines(*procs));
    out.push_back(std::move(info));
  }
  return out;
}

uint64_t ns_inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::vector<IdRange> read_id_map(pid_t pid, const char* file) {
  std::vector<IdRange> out;
  auto text = read_file_if_exists(fmt::format("/proc/{}/{}", pid, file));
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    std::vector<std::string> f;
    for (const auto& w : split(line, ' '))
      if (!w.empty()) f.push_back(w);
    if (f.size() != 3) continue;
    out.push_back({static_cast<uint32_t>(parse_u64(f[0]).value_or(0)),
                   static_cast<uint32_t>(parse_u64(f[1]).value_or(0)),
                   static_cast<uint32_t>(parse_u64(f[2]).value_or(0))});
  }
  return out;
}

std::string field(const std::string& status, std::string_view name) {
  for (const auto& line : split(status, '\n'))
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ':')
      return std::string(trim(std::string_view(line).substr(name.size() + 1)));
  return {};
}

bool running(const oci::State& s) {
  return s.status == oci::Status::running || s.status == oci::Status::paused ||
         s.status == oci::Status::created;
}

}  // namespace

long clock_ticks() {
  static long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks > 0 ? ticks : 100;
}

bool read_process(pid_t pid, ProcessInfo& p) {
  std::optional<std::string> status, stat, cmdline;
  try {
    status = read_file_if_exists(fmt::format("/proc/{}/status", pid));
    stat = read_file_if_exists(fmt::format("/proc/{}/stat", pid));
    cmdline = read_file_if_exists(fmt::format("/proc/{}/cmdline", pid));
  } catch (const Error&) {
    return false;  // exited between the listing and the read (ESRCH)
  }
  if (!status || !stat) return false;
  p.host_pid = pid;
  for (const auto& w : split(field(*status, "NSpid"), '\t'))
    if (auto v = parse_i64(trim(w))) p.ns_pids.push_back(static_cast<pid_t>(*v));
  p.ppid = static_cast<pid_t>(parse_i64(field(*status, "PPid")).value_or(0));
  p.uid = static_cast<uid_t>(parse_u64(split(field(*status, "Uid"), '\t').front()).value_or(0));
  // stat: fields after the last ')' start at field 3 (state); utime 14, stime 15, starttime 22.
  auto close = stat->rfind(')');
  if (close != std::string::npos) {
    auto f = split(stat->substr(close + 2), ' ');
    if (f.size() > 19) {
      p.state = f[0].empty() ? '?' : f[0][0];
      p.cpu_ticks = parse_u64(f[11]).value_or(0) + parse_u64(f[12]).value_or(0);
      p.start_ticks = parse_u64(f[19]).value_or(0);
    }
  }
  std::string cmd = cmdline.value_or("");
  while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
  for (auto& c : cmd)
    if (c == '\0') c = ' ';
  if (cmd.empty()) cmd = "[" + field(*status, "Name") + "]";
  p.command = cmd;
  return true;
}

std::vector<ProcessInfo> processes(const Context& ctx, const std::string& id) {
  oci::State s = state(ctx, id);
  std::vector<ProcessInfo> out;
  if (!running(s) || s.cgroup_path.empty()) return out;
  for (pid_t pid : cgroup::Manager::open(s.cgroup_path)->pids()) {
    ProcessInfo p;
    if (read_process(pid, p)) out.push_back(std::move(p));
  }
  return out;
}

ContainerInfo describe(const Context& ctx, const std::string& id) {
  ContainerInfo info;
  info.state = state(ctx, id);
  const oci::State& s = info.state;
  if (!s.cgroup_path.empty()) {
    try {
      info.cgroups = cgroup_files(s.cgroup_path);
    } catch (const Error& e) {
      log::debug("inspect {}: cgroup: {}", id, e.what());
    }
  }
  if (!running(s)) return info;
  for (const auto& k : kNamespaces) {
    NamespaceInfo ns;
    ns.kind = k.name;
    ns.inode = ns_inode(fmt::format("/proc/{}/ns/{}", s.pid, k.name));
    ns.host_inode = ns_inode(fmt::format("/proc/self/ns/{}", k.name));
    if (ns.inode == 0) continue;  // a kind this kernel lacks
    ns.own = ns.inode != ns.host_inode;
    ns.isolates = linux::ns_description(k.flag);
    info.namespaces.push_back(ns);
  }
  info.processes = processes(ctx, id);
  for (const auto& m : linux::read_mountinfo(fmt::format("/proc/{}/mountinfo", s.pid)))
    info.mounts.push_back({m.mount_point, m.fstype, m.source, m.options});
  info.uid_map = read_id_map(s.pid, "uid_map");
  info.gid_map = read_id_map(s.pid, "gid_map");
  return info;
}

cgroup::Stats stats(const Context& ctx, const std::string& id) {
  oci::State s = state(ctx, id);
  if (s.cgroup_path.empty()) fail("container {} has no cgroup", id);
  return cgroup::Manager::open(s.cgroup_path)->stats();
}

uint64_t oom_kills(const Context& ctx, const std::string& id) {
  oci::State s = state(ctx, id);
  if (s.cgroup_path.empty()) return 0;
  return cgroup::Manager::open(s.cgroup_path)->oom_kills();
}

Fd open_container_root(const Context& ctx, const std::string& id) {
  oci::State st = state(ctx, id);
  if (st.status == oci::Status::creating)
    fail_as(ErrorKind::invalid_state, "container {} is being created: its root is not ready yet",
            id);
  Fd root(::open(fmt::format("/proc/{}/root", st.pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root || !process_matches(st.pid, st.pid_start_time)) fail_not_running(id);
  return root;
}

std::optional<std::string> read_container_file(const Context& ctx, const std::string& id,
                                               const std::string& path) {
  Fd root = open_container_root(ctx, id);
  return with_context(fmt::format("container {}", id),
                      [&] { return linux::read_small_file_in_root(root.get(), path, 4 << 20); });
}

}  // namespace hull::runtime
