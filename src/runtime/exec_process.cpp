#include "runtime/exec_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "linux/exec_seal.h"
#include "linux/exec_stub/abi.h"
#include "linux/syscalls.h"
#include "linux/terminal.h"
#include "runtime/pid1.h"
#include "runtime/sync.h"
#include "util/error.h"

namespace hull::runtime {

static_assert(static_cast<int>(Msg::kError) == HULL_STUB_MSG_ERROR, "the exec stub reports errors as kError");
static_assert(static_cast<int>(ErrorKind::no_command) == HULL_STUB_KIND_NO_COMMAND &&
                  static_cast<int>(ErrorKind::not_executable) == HULL_STUB_KIND_NOT_EXECUTABLE,
              "the exec stub's error kinds are ErrorKind's");

void install_seccomp(const linux::SeccompFilter& filter, int listener_socket, const std::string& state) {
  int listener = linux::load_seccomp(filter);
  if (listener < 0) return;
  Fd owned(listener);
  // Between the load above and this send nothing may be notified, or we would wait for an
  // agent that has no fd yet: plan.cpp refuses profiles that notify on sendmsg.
  if (listener_socket < 0) fail("seccomp: the filter notifies but no listenerPath is connected");
  with_context("linux.seccomp.listenerPath", [&] { linux::send_fd(listener_socket, listener, "seccomp listener", state); });
  ::close(listener_socket);
}

void exec_container_process(const FinalExec& e) {
  const oci::Process& p = *e.process;
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail_errno("set no_new_privs");
  if (e.seccomp) install_seccomp(*e.seccomp, e.listener_socket, e.listener_state);
  // Only 0-2 and --preserve-fds reach the container (CVE-2024-21626): everything else,
  // including our own sockets, is closed by the exec. The report fd crosses into the stub,
  // which closes it on its own exec.
  if (sys::close_range(3 + e.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3 + e.preserve_fds; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  // After the filter and the fd sweep: hull's PID 1 is as confined as the process.
  if (e.pid1_init) fork_under_pid1_init();
  linux::ExecRequest r;
  r.path = e.exe;
  r.argv = p.args;
  r.env = p.env;
  r.report_fd = e.report_fd;
  r.lsm_attr = e.label.attr;
  r.lsm_label = e.label.value;
  linux::exec_through_stub(e.stub_fd, r);
}

}  // namespace hull::runtime
