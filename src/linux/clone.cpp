#include "linux/clone.h"

#include <signal.h>

#include <cerrno>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::linux {
namespace {

// -1 unknown, 0 no, 1 yes: detected once, then cached.
int g_have_clone3 = -1;

}  // namespace

CloneResult clone_process(int flags, int cgroup_fd) {
  CloneResult r;
  if (g_have_clone3 != 0) {
    int pidfd = -1;
    struct clone_args args = {};
    args.flags = static_cast<uint64_t>(flags) | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    // A sibling (CLONE_PARENT) signals our parent as we do: clone3 wants no signal of its own.
    args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    if (cgroup_fd >= 0) {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = static_cast<uint64_t>(cgroup_fd);
    }
    long pid = sys::clone3(&args);
    if (pid < 0 && cgroup_fd >= 0 && errno != ENOSYS) {
      log::debug("clone3 into cgroup: {}; joining the cgroup afterwards", errno_text(errno));
      args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
      cgroup_fd = -1;
      pid = sys::clone3(&args);
    }
    if (pid >= 0) {
      g_have_clone3 = 1;
      r.pid = static_cast<pid_t>(pid);
      if (pid > 0) r.pidfd.reset(pidfd);
      r.into_cgroup = cgroup_fd >= 0;
      return r;
    }
    if (errno != ENOSYS) fail_errno("clone3");
    g_have_clone3 = 0;
  }
  long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) fail_errno("clone");
  r.pid = static_cast<pid_t>(pid);
  if (pid > 0) r.pidfd.reset(sys::pidfd_open(r.pid));
  return r;
}

}  // namespace hull::linux
