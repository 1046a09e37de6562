// What the kernel shows about a running container, read from /proc and the cgroup files, for
// `hull inspect`, `hull top` and `hull stats`: namespaces against the host's, the processes
// with their PIDs in each namespace, the cgroup files, mounts and ID maps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cgroup/stats.h"
#include "oci/state.h"
#include "runtime/runtime.h"
#include "util/id_range.h"

namespace hull::runtime {

struct NamespaceInfo {
  std::string kind;  // "pid", "mnt", ... as in /proc/PID/ns
  uint64_t inode = 0, host_inode = 0;
  bool own = false;  // a namespace of its own (inode differs from hull's)
  std::string isolates;
};

struct ProcessInfo {
  pid_t host_pid = 0;
  std::vector<pid_t> ns_pids;  // NSpid: the PID in each PID namespace, outermost first
  pid_t ppid = 0;
  uid_t uid = 0;  // real uid as the host sees it
  char state = '?';
  uint64_t cpu_ticks = 0;  // utime + stime
  uint64_t start_ticks = 0;
  std::string command;
};

struct CgroupInfo {
  std::string hierarchy;  // "memory", "cpu,cpuacct", "unified", or "" on a pure v2 host
  std::string dir;        // the container's directory on the host
  std::vector<std::pair<std::string, std::string>> files;  // limits and usage, as the files say
};

struct MountEntry {
  std::string mount_point, fstype, source, options;
};

struct ContainerInfo {
  oci::State state;
  std::vector<NamespaceInfo> namespaces;
  std::vector<ProcessInfo> processes;
  std::vector<CgroupInfo> cgroups;
  std::vector<MountEntry> mounts;
  std::vector<IdRange> uid_map, gid_map;
};

// Throws when the container does not exist; a stopped one has no namespaces or processes.
ContainerInfo describe(const Context& ctx, const std::string& id);
std::vector<ProcessInfo> processes(const Context& ctx, const std::string& id);
// Usage in the one shape of cgroup/stats.h.
cgroup::Stats stats(const Context& ctx, const std::string& id);
// How many times the kernel's OOM killer struck in the container's cgroup.
uint64_t oom_kills(const Context& ctx, const std::string& id);

// The root of a container whose init runs, as an O_PATH fd: /proc/PID/root of the init, checked
// to be the container's (not a recycled PID). Refused while the container is being created:
// its init is not in its own root yet, and /proc/PID/root would be the host's.
Fd open_container_root(const Context& ctx, const std::string& id);

// A small regular file inside a running container's root (its /etc/passwd), reached through
// /proc/PID/root of its init and resolved by fd, so that no symlink in there leads out of it.
// nullopt when it does not exist; throws when the container does not run.
std::optional<std::string> read_container_file(const Context& ctx, const std::string& id,
                                               const std::string& path);

// One /proc/PID/status and stat read, for a single process.
bool read_process(pid_t pid, ProcessInfo& out);
// clock ticks per second, for ProcessInfo times.
long clock_ticks();

}  // namespace hull::runtime
