#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace hull::runtime {
namespace {

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void run_hook(const oci::Hook& hook, const std::string& state_json, int cwd_fd) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) fail_errno("pipe");
  Fd rd(pipefd[0]), wr(pipefd[1]);
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // Without "env" a hook gets the runtime's environment, as runc's (Go's exec with a nil Env).
  char* const* hook_env = hook.env_given ? envp.data() : environ;

  pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    ::dup2(rd.get(), 0);
    // Hooks must not inherit the runtime's stray fds; stdout/stderr stay for their messages.
    sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::signal(SIGPIPE, SIG_DFL);
    if (cwd_fd >= 0 && ::fchdir(cwd_fd) < 0) ::_exit(126);
    ::execve(hook.path.c_str(), argv.data(), hook_env);
    ::_exit(errno == ENOENT ? 127 : 126);
  }
  rd.reset();
  Fd pidfd(sys::pidfd_open(pid));
  // A hook that does not read stdin must not block us (EPIPE is fine); keep SIGPIPE away.
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  try {
    write_all(wr.get(), state_json, "hook stdin");
  } catch (const Error& e) {
    if (e.err() != EPIPE) log::debug("hook {}: {}", hook.path, e.what());
  }
  ::sigaction(SIGPIPE, &old, nullptr);
  wr.reset();

  int64_t deadline = hook.timeout ? now_ms() + int64_t{*hook.timeout} * 1000 : -1;
  if (pidfd && deadline > 0) {
    for (;;) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        fail("timed out after {} s", *hook.timeout);
      }
      pollfd p = {pidfd.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r > 0) break;
      if (r < 0 && errno != EINTR) fail_errno("wait");
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail_errno("wait");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127) fail_err(ENOENT, "exec {}", hook.path);
    if (WEXITSTATUS(status) == 126) fail_err(EACCES, "exec {}", hook.path);
    fail("exited with status {}", WEXITSTATUS(status));
  }
  fail("killed by signal {}", WTERMSIG(status));
}

}  // namespace

void run_hooks(const std::vector<oci::Hook>& hooks, const char* kind, const std::string& state_json,
               int cwd_fd) {
  for (const auto& h : hooks) {
    log::debug("running {} hook {}", kind, h.path);
    with_context(fmt::format("{} hook {}", kind, h.path), [&] { run_hook(h, state_json, cwd_fd); });
  }
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, const char* kind, const std::string& state_json) {
  for (const auto& h : hooks) {
    try {
      with_context(fmt::format("{} hook {}", kind, h.path), [&] { run_hook(h, state_json, -1); });
    } catch (const Error& e) {
      log::warn("{}", e.what());
    }
  }
}

}  // namespace hull::runtime
