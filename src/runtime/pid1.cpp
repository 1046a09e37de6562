#include "runtime/pid1.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "linux/syscalls.h"
#include "util/error.h"

namespace hull::runtime {
namespace {

[[noreturn]] void serve_as_pid1(pid_t child, const sigset_t& all) {
  ::prctl(PR_SET_NAME, "hull-init", 0, 0, 0);
  // This is hull's binary running inside the container (CVE-2019-5736): not dumpable, its
  // /proc/1/exe, mem and fds are closed to the container's processes (without CAP_SYS_PTRACE),
  // and none of them can ptrace it. With CAP_SYS_PTRACE they can open /proc/1/exe, but it is
  // hull on a read-only mount (linux/self_image.h): it cannot be reopened for writing.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Every fd above stdio is the runtime's (the sync socket among them): the process's copies
  // close on exec, and the runtime sees EOF only once ours are gone too.
  // A filter written before close_range existed refuses it: close them one by one then, or
  // start/run would wait for an EOF that never comes.
  if (sys::close_range(3, ~0U, 0) < 0)
    for (int fd = 3; fd < 65536; ++fd) ::close(fd);
  for (;;) {
    siginfo_t si;
    int sig = ::sigwaitinfo(&all, &si);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      ::kill(child, sig);
      continue;
    }
    // Orphans of the namespace are reparented to us: reap all of them, not only the child.
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue;
      if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
      ::_exit(128 + WTERMSIG(status));
    }
  }
}

}  // namespace

void fork_under_pid1_init() {
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  // Blocked signals are queued even for a namespace's init (which drops unhandled ones):
  // sigwaitinfo then takes each of them.
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  pid_t child = ::fork();
  if (child < 0) fail_errno("fork the process under hull's init");
  if (child > 0) serve_as_pid1(child, all);
  // The process gets a process group of its own and, on a terminal, the foreground: ^C then
  // reaches it once, straight from the terminal, not a second time through PID 1.
  ::setpgid(0, 0);
  if (::isatty(0)) ::tcsetpgrp(0, ::getpid());
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace hull::runtime
