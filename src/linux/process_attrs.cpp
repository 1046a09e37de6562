#include "linux/process_attrs.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::linux {

int rlimit_from_name(const std::string& name) {
  static const std::pair<const char*, int> kTable[] = {
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
  for (const auto& [n, v] : kTable)
    if (name == n) return v;
  return -1;
}

static void fail_rlimit(const Rlimit& l) {
  int err = errno;
  if (err == EPERM) {
    struct rlimit cur;
    ::getrlimit(l.resource, &cur);
    fail_err(err, "set {} to soft {} hard {} (above the current hard limit {} needs CAP_SYS_RESOURCE)",
             l.name, l.soft, l.hard, cur.rlim_max);
  }
  fail_err(err, "set {} to soft {} hard {}", l.name, l.soft, l.hard);
}

void apply_rlimits(const std::vector<Rlimit>& limits) {
  for (const auto& l : limits) {
    struct rlimit r = {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
    if (::setrlimit(l.resource, &r) < 0) fail_rlimit(l);
  }
}

void apply_rlimits_to(pid_t pid, const std::vector<Rlimit>& limits) {
  for (const auto& l : limits) {
    struct rlimit r = {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
    if (::prlimit(pid, static_cast<__rlimit_resource>(l.resource), &r, nullptr) < 0) fail_rlimit(l);
  }
}

void switch_user(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, bool set_groups) {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail_errno("keep capabilities");
  if (set_groups && ::setgroups(groups.size(), groups.data()) < 0) fail_errno("setgroups");
  if (::setresgid(gid, gid, gid) < 0) fail_errno("setgid {}", gid);
  if (::setresuid(uid, uid, uid) < 0) fail_errno("setuid {}", uid);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail_errno("reset keep capabilities");
}

void become_user_ns_root() {
  if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) fail_errno("setgid 0 in user namespace");
  if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) fail_errno("setuid 0 in user namespace");
}

void apply_sysctl(const std::map<std::string, std::string>& sysctl) {
  for (const auto& entry : sysctl) {
    const std::string& key = entry.first;  // not a structured binding: clang 14 cannot capture one
    const std::string& value = entry.second;
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    with_context(fmt::format("sysctl {}", key), [&] {
      // CVE-2019-19921: the value goes to procfs, not to whatever the image put at /proc.
      Fd fd = open_or_fail(path, O_WRONLY | O_NOFOLLOW);
      struct statfs sf;
      if (::fstatfs(fd.get(), &sf) < 0) fail_errno("statfs {}", path);
      if (sf.f_type != PROC_SUPER_MAGIC) fail("{} is not on procfs", path);
      write_all(fd.get(), value, path.c_str());
    });
  }
}

void join_session_keyring(const std::string& name) {
  long id = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str());
  if (id < 0) {
    // Kernels without keys, or keyctl blocked by the caller's seccomp: nothing to join.
    if (errno == ENOSYS || errno == EPERM) return;
    fail_errno("join session keyring {}", name);
  }
  // possessor: all; user: view|read|link|search (runc's 0x3f3f0000-like default).
  ::syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f1b0000);
}

void set_oom_score_adj(pid_t pid, int value) {
  std::string path = pid == 0 ? "/proc/self/oom_score_adj" : fmt::format("/proc/{}/oom_score_adj", pid);
  with_context("set oomScoreAdj", [&] { write_existing(path, std::to_string(value)); });
}

void set_personality(const std::string& domain) {
  unsigned long persona = domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
  if (::personality(persona) < 0) fail_errno("set personality {}", domain);
}

namespace {
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};
}  // namespace

void set_scheduler(const SchedulerAttrs& s) {
  static const std::pair<const char*, uint32_t> kPolicies[] = {
      {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2}, {"SCHED_BATCH", 3},
      {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};
  static const std::pair<const char*, uint64_t> kFlags[] = {
      {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
      {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
      {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
      {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
  SchedAttr attr{};
  attr.size = sizeof attr;
  for (const auto& [n, v] : kPolicies)
    if (s.policy == n) attr.sched_policy = v;
  for (const auto& f : s.flags)
    for (const auto& [n, v] : kFlags)
      if (f == n) attr.sched_flags |= v;
  attr.sched_nice = s.nice;
  attr.sched_priority = static_cast<uint32_t>(s.priority);
  attr.sched_runtime = s.runtime;
  attr.sched_deadline = s.deadline;
  attr.sched_period = s.period;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0) fail_errno("set scheduler {}", s.policy);
}

void set_io_priority(const std::string& klass, int level) {
  int c = klass == "IOPRIO_CLASS_RT" ? 1 : klass == "IOPRIO_CLASS_BE" ? 2 : 3;
  int prio = (c << 13) | level;
  if (::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, prio) < 0)
    fail_errno("set I/O priority {} {}", klass, level);
}

void set_cpu_affinity(pid_t pid, const std::string& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const auto& part : split(cpus, ',')) {
    auto t = std::string(trim(part));
    if (t.empty()) continue;
    auto dash = t.find('-');
    auto lo = parse_u64(t.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : parse_u64(t.substr(dash + 1));
    if (!lo || !hi || *lo > *hi || *hi >= CPU_SETSIZE) fail("invalid cpu list {}", quote(cpus));
    for (auto c = *lo; c <= *hi; ++c) CPU_SET(c, &set);
  }
  if (::sched_setaffinity(pid, sizeof set, &set) < 0) fail_errno("set cpu affinity {}", cpus);
}

}  // namespace hull::linux
