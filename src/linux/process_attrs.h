// Attributes of the container process set by the init before execve: user and groups,
// rlimits, sysctl, session keyring, OOM score, personality, scheduler, I/O priority.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hull::linux {

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0, hard = 0;
  std::string name;
};
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown.
int rlimit_from_name(const std::string& name);
void apply_rlimits(const std::vector<Rlimit>& limits);
// From the parent onto the child (prlimit), before it runs the user's process.
void apply_rlimits_to(pid_t pid, const std::vector<Rlimit>& limits);

// setgroups, setresgid, setresuid, umask. Capabilities survive (PR_SET_KEEPCAPS) so they can be
// set exactly afterwards. `set_groups` is false in a user namespace where setgroups is denied.
void switch_user(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, bool set_groups);

// In a user namespace just entered: become its root (uid and gid 0, where mapped), so what
// the process makes before it switches to its user (a pty, files) belongs to the container's
// root rather than to an id the namespace does not map. Nothing changes where 0 is unmapped.
void become_user_ns_root();

// Writes /proc/sys/<key with dots as slashes>.
void apply_sysctl(const std::map<std::string, std::string>& sysctl);

// A new session keyring named after the container (runc's default; --no-new-keyring skips it).
void join_session_keyring(const std::string& name);

void set_oom_score_adj(pid_t pid, int value);

// personality(2): "LINUX" or "LINUX32".
void set_personality(const std::string& domain);

struct SchedulerAttrs {
  std::string policy;
  int nice = 0, priority = 0;
  std::vector<std::string> flags;
  uint64_t runtime = 0, deadline = 0, period = 0;
};
void set_scheduler(const SchedulerAttrs& s);

// ioprio_set for the calling process: class "IOPRIO_CLASS_BE" etc., level 0..7.
void set_io_priority(const std::string& klass, int level);

// sched_setaffinity from a cpu list like "0-3,6".
void set_cpu_affinity(pid_t pid, const std::string& cpus);

}  // namespace hull::linux
