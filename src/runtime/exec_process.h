// The last steps of a container process before it becomes the user's program — the init's
// now, and `exec`'s: no_new_privs, the seccomp filter (its notify listener handed to
// linux.seccomp.listenerPath), closing every fd that is not preserved, and the exec through the
// sealed stub (linux/exec_seal.h, CVE-2019-5736). Order matters: the filter is loaded last, so
// it constrains the container's program and as little of hull as possible.
#pragma once

#include <string>

#include "linux/lsm.h"
#include "linux/seccomp.h"
#include "oci/spec.h"

namespace hull::runtime {

struct FinalExec {
  const oci::Process* process = nullptr;
  std::string exe;            // the program, resolved (find_executable)
  int preserve_fds = 0;       // fds 3 .. 3+N-1 stay open
  int report_fd = -1;         // where an exec failure is reported (sync.h kError)
  int stub_fd = -1;           // linux::open_exec_stub()
  linux::ExecLabel label;     // AppArmor/SELinux exec label, set by the stub
  // The filter, unless it was loaded already (install_seccomp early, without no_new_privs).
  const linux::SeccompFilter* seccomp = nullptr;
  int listener_socket = -1;   // connected to listenerPath when the filter notifies
  std::string listener_state;  // ContainerProcessState JSON sent with the listener fd
  bool pid1_init = false;      // fork first: hull's init stays PID 1 (pid1.h)
};

// Loads the filter; when it notifies, sends the listener fd with `state` to `listener_socket`
// (SCM_RIGHTS, runtime-spec listenerPath) and closes both.
void install_seccomp(const linux::SeccompFilter& filter, int listener_socket, const std::string& state);

[[noreturn]] void exec_container_process(const FinalExec& e);

}  // namespace hull::runtime
