// Starting a process: clone3 with a pidfd (and straight into a cgroup), with fallbacks.
#pragma once

#include <sys/types.h>

#include "util/fd.h"

namespace hull::linux {

struct CloneResult {
  pid_t pid = -1;  // 0 in the child
  Fd pidfd;
  bool into_cgroup = false;  // the child started in cgroup_fd's cgroup
};

// clone3 with CLONE_PIDFD (and CLONE_INTO_CGROUP when given a cgroup fd); falls back to
// clone() + pidfd_open on kernels without clone3, and to a later cgroup join without
// CLONE_INTO_CGROUP (check into_cgroup). `flags` are CLONE_NEW* flags, or CLONE_PARENT for a
// sibling of the caller; SIGCHLD on exit.
CloneResult clone_process(int flags, int cgroup_fd);

}  // namespace hull::linux
