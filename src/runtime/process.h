// The container's process: what the init (create/start) and `exec` both apply to
// themselves before execve, from one plan built by the parent.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "linux/caps.h"
#include "linux/process_attrs.h"
#include "linux/seccomp.h"
#include "oci/spec.h"
#include "util/error.h"
#include "util/fd.h"

namespace hull::runtime {

struct ProcessPlan {
  oci::Process process;     // args, env, cwd, umask, scheduler, I/O priority, labels, terminal
  std::string personality;  // linux.personality.domain; empty: leave as is
  std::vector<linux::Rlimit> rlimits;
  bool has_caps = false;
  linux::CapSets caps;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool set_groups = true;        // false in a user namespace whose setgroups is "deny"
  linux::SeccompFilter seccomp;  // compiled by the parent, loaded last before execve
  Fd seccomp_listener;           // connected to linux.seccomp.listenerPath (a host path)
  std::string listener_state;    // ContainerProcessState sent with the listener fd
  bool seccomp_loaded = false;   // load_seccomp_for_hooks loaded it already
  int preserve_fds = 0;
  bool pid1_init = false;  // the init only: stay PID 1, the process runs as its child (pid1.h)
};

// Fills the plan from a process (the spec's, or exec's process.json) and the container's
// spec (seccomp, personality). Errors name the field under `field` ("process", "process.json").
void build_process_plan(ProcessPlan& plan, const oci::Process& process, const oci::Spec& spec,
                        const std::string& seccomp_cache, const std::string& field);

// In the child, inside the container's root: a pty whose master goes to console_fd
// (SCM_RIGHTS), the slave as controlling terminal and stdio; also on /dev/console for the init.
void setup_terminal(int console_fd, const oci::Process& process, bool mount_console);

// Without a mount namespace of its own the container's root is a chroot (linux/rootfs.h
// enter_shared_root), which a process keeping CAP_SYS_CHROOT could leave: refused then,
// unless `root_fd` is the namespace's root itself (no chroot to leave).
void check_chroot_holds(const ProcessPlan& plan, int root_fd);

// In the child: rlimits, personality, scheduler, I/O priority, HOME (when the environment has
// none), user and groups, capabilities, umask, cwd (checked to be inside the root). Returns the
// executable's path. Open the exec stub (linux::open_exec_stub) before: a seccomp filter may
// be loaded here.
std::string prepare_process(ProcessPlan& plan);

// startContainer hooks run under the container's seccomp filter (runc loads it before them):
// with no_new_privs it is loaded here, ahead of its usual place right before execve, and
// exec_process then leaves it. Without no_new_privs prepare_process loaded it already.
void load_seccomp_for_hooks(ProcessPlan& plan);

// no_new_privs, seccomp (last), close every fd above 2 + preserve_fds, then the exec through
// the sealed stub, which applies the LSM label; an exec failure is reported on report_fd.
[[noreturn]] void exec_process(const ProcessPlan& plan, const std::string& exe, int report_fd,
                               int stub_fd);

// The message a child reports for its error: an EMFILE under a configured RLIMIT_NOFILE names
// that limit (`base` is "process" for config.json, "" for a process.json), not just the open
// that hit it.
std::string child_error_message(const ProcessPlan& plan, const Error& e, const std::string& base);

// Finds an executable the way execvp does, in `path_env` ("PATH=..." value), checking that it
// exists and is executable. Throws "exec: "name": executable file not found in $PATH".
std::string find_executable(const std::string& name, const std::string& path_env);

// In a fresh single-threaded child (the init, an exec's process): joins the cgroups whose v1
// `tasks` files the parent opened (cgroup::Manager::self_join, cgroup::self_join) by writing
// "0", this one thread, to each, and closes them. (fd, path for errors)
void join_own_cgroups(std::vector<std::pair<int, std::string>>& tasks);

}  // namespace hull::runtime
