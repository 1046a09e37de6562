// CVE-2019-5736: nothing in a container may reach the hull binary of the host through
// /proc/PID/exe of a hull process and open it for writing.
//
// runc and crun re-execute themselves from a sealed copy (memfd, or a read-only overlayfs
// mount) on every create and exec, so that /proc/self/exe is never the host's file. hull closes
// the ways in without copying itself:
//
//  1. While the container init (and an exec'd process) still runs hull's image, it is not
//     dumpable: /proc/PID/exe, /proc/PID/mem, /proc/PID/fd of it are refused to every process
//     without CAP_SYS_PTRACE in the host's user namespace.
//  2. For a container that holds CAP_SYS_PTRACE, that image is read-only: the commands that
//     make such processes run hull from a read-only mount of its binary (linux/self_image.h),
//     so an exe the container opens can never be reopened for writing.
//  3. The init never calls execve(2) itself. It runs a tiny freestanding stub (exec_stub/) from
//     a sealed memfd, and the stub execs the container's process. A "#!/proc/self/exe"
//     entrypoint, a PT_INTERP naming /proc/self/exe, or a malicious libc in the image so reach
//     the stub's sealed copy, never hull: hull's image never runs inside a container.
//
// The stub costs one extra exec of a 1.3 KB static program (see docs/security.md for numbers).
#pragma once

#include <string>
#include <vector>

#include "util/fd.h"

namespace hull::linux {

// PR_SET_DUMPABLE 0 for the calling process.
void make_undumpable();

// A sealed (no write, grow, shrink, or further seals), executable, close-on-exec memfd with
// the exec stub in it.
Fd open_exec_stub();

struct ExecRequest {
  std::string path;                       // the program, as execve(2) takes it
  std::vector<std::string> argv, env;
  int report_fd = -1;                     // where a failing execve is reported (runtime/sync.h)
  std::string lsm_attr, lsm_label;        // an LSM exec label to set first ("" for none)
};

// Runs `request` through the stub in `stub_fd`. Every other fd must already be close-on-exec;
// report_fd is kept open across the stub's exec only. Returns only on failure (throws).
[[noreturn]] void exec_through_stub(int stub_fd, const ExecRequest& request);

// The stub's bytes, for tests.
std::string_view exec_stub_image();

}  // namespace hull::linux
