// hull's own small init for `--init` (annotation io.github.hull.init): the container init
// forks right before execve; the child goes on to exec the process, the parent stays as
// PID 1, reaps every zombie the namespace hands it and forwards signals to the process.
// It is the forked image already reduced to the container's user, capabilities, no_new_privs
// and seccomp filter, so it can do nothing the process itself could not; no second binary
// has to exist inside the rootfs.
#pragma once

namespace hull::runtime {

// Returns in the child, which must exec next. In the parent (PID 1) never returns: it exits
// with the process's code, or 128+N when a signal N killed it.
void fork_under_pid1_init();

}  // namespace hull::runtime
