// The container init (see sync.h for the protocol with the parent).
#include "runtime/init.h"

#include <fcntl.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "linux/namespaces.h"
#include "linux/path.h"
#include "linux/seccomp.h"
#include "linux/syscalls.h"
#include "linux/terminal.h"
#include "runtime/hooks.h"
#include "runtime/pid1.h"
#include "runtime/sync.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

// Where an error goes: the sync socket until start, then whoever sent kStart.
int g_report_fd = -1;

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return {};
}

void become_root() {
  // In a user namespace: become its root (if mapped) so files are created as the
  // container's root, not as an unmapped id.
  if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) fail_errno("setgid 0 in user namespace");
  if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) fail_errno("setuid 0 in user namespace");
}

Message expect(int fd, Msg want, const char* step) {
  auto m = recv_msg(fd);
  if (!m) ::_exit(1);  // the parent is gone: nothing to report to
  if (m->type != want) fail("{}: unexpected message {} from the runtime", step, static_cast<int>(m->type));
  return *m;
}

// The slow path: join a user namespace by path (or paths under a new one) before anything
// else exists, then create the remaining namespaces; a new PID namespace needs a fork.
void slow_path_namespaces(InitPlan& plan) {
  for (auto& [fd, flag] : plan.join)
    if (flag == CLONE_NEWUSER) linux::join_namespace(fd.get(), flag, "(user)");
  if (plan.join_user_first) become_root();
  for (auto& [fd, flag] : plan.join)
    if (flag != CLONE_NEWUSER) linux::join_namespace(fd.get(), flag, linux::ns_proc_name(flag));
  plan.join.clear();
  if (plan.unshare_after_join && ::unshare(plan.unshare_after_join) < 0) fail_errno("unshare namespaces");
  // Tell the parent which process is the init, and that the user namespace exists now so
  // it can write the id maps: the grandchild's pid, or 0 for "this one".
  if (plan.fork_for_pid_ns) {
    pid_t child = ::fork();
    if (child < 0) fail_errno("fork the container init into its PID namespace");
    if (child > 0) {
      send_msg(plan.sync_fd, Msg::kChildPid, child);
      ::_exit(0);
    }
  } else {
    send_msg(plan.sync_fd, Msg::kChildPid, 0);
  }
}

void setup_terminal(InitPlan& plan, int root_fd) {
  (void)root_fd;
  linux::Pty pty = linux::open_pty_in_container();
  if (const auto& cs = plan.spec->process->console_size)
    linux::set_window_size(pty.master.get(), cs->height, cs->width);
  linux::send_fd(plan.console_fd, pty.master.get(), "console");
  ::close(plan.console_fd);
  plan.console_fd = -1;
  pty.master.reset();
  linux::make_controlling_terminal(pty.slave.get());
  Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  linux::mount_console(root.get(), pty.slave.get());
}

// Waits for the start signal: kStart on the sync socket (`run`), or, once `create` has
// exited, a connection on start.sock (`start`). Returns the fd to report errors on.
int wait_for_start(InitPlan& plan) {
  auto m = recv_msg(plan.sync_fd);
  if (m) {
    if (m->type != Msg::kStart) fail("unexpected message {} while waiting for start", static_cast<int>(m->type));
    return plan.sync_fd;
  }
  if (plan.start_listen_fd < 0) ::_exit(1);  // `run` went away before starting us
  for (;;) {
    int conn = ::accept4(plan.start_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fail_errno("wait for start");
    }
    auto s = recv_msg(conn);
    if (s && s->type == Msg::kStart) {
      ::close(plan.start_listen_fd);
      plan.start_listen_fd = -1;
      return conn;
    }
    ::close(conn);
  }
}

[[noreturn]] void exec_process(InitPlan& plan, const std::string& exe) {
  const oci::Process& p = *plan.spec->process;
  std::vector<char*> argv, envp;
  std::vector<std::string> args = p.args, env = p.env;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail_errno("set no_new_privs");
  if (p.no_new_privileges && plan.spec->linux.seccomp) linux::load_seccomp(plan.seccomp);
  // Only 0-2 and --preserve-fds reach the container (CVE-2024-21626): everything else,
  // including our own sockets, is closed by execve.
  if (sys::close_range(3 + plan.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3 + plan.preserve_fds; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (plan.pid1_init) fork_under_pid1_init();
  ::execve(exe.c_str(), argv.data(), envp.data());
  fail_errno("exec {}", exe);
}

void run_init(InitPlan& plan) {
  const oci::Spec& spec = *plan.spec;
  const oci::Process& proc = *spec.process;
  g_report_fd = plan.sync_fd;
  // `run` blocks the signals it forwards before cloning us; the container starts with none blocked.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // The parent may die at any point before kReady; we then get EOF and exit.
  if (plan.join_user_first || plan.fork_for_pid_ns || plan.unshare_after_join) slow_path_namespaces(plan);
  plan.state_json = expect(plan.sync_fd, Msg::kGo, "setup").text;

  if (plan.new_user_ns && plan.become_root) become_root();
  for (auto& [fd, flag] : plan.join) linux::join_namespace(fd.get(), flag, linux::ns_proc_name(flag));
  plan.join.clear();
  if (plan.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0) fail_errno("create cgroup namespace");
  if (plan.new_time_ns) {
    auto off = [&](const char* k) {
      auto it = spec.linux.time_offsets.find(k);
      return it == spec.linux.time_offsets.end() ? oci::TimeOffset{} : it->second;
    };
    auto mono = off("monotonic"), boot = off("boottime");
    linux::enter_new_time_namespace(mono.secs, mono.nanosecs, boot.secs, boot.nanosecs);
  }
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
    fail_errno("set hostname {}", spec.hostname);
  if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    fail_errno("set domainname {}", spec.domainname);
  if (!plan.no_new_keyring) linux::join_session_keyring(plan.id);

  Fd root = linux::prepare_rootfs(plan.rootfs);
  linux::mount_all(plan.rootfs, root.get());
  if (!spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty()) {
    send_msg(plan.sync_fd, Msg::kHooks);
    expect(plan.sync_fd, Msg::kHooksDone, "hooks");
  }
  run_hooks(spec.hooks.create_container, "createContainer", plan.state_json);
  linux::enter_rootfs(plan.rootfs, root.get());
  root.reset();
  // sysctl before finish_rootfs: it makes /proc/sys read-only (runc's order too).
  linux::apply_sysctl(spec.linux.sysctl);
  linux::finish_rootfs(plan.rootfs);
  if (proc.terminal) setup_terminal(plan, -1);

  linux::apply_rlimits(plan.rlimits);
  if (spec.linux.personality) linux::set_personality(spec.linux.personality->domain);
  if (proc.io_priority) linux::set_io_priority(proc.io_priority->klass, proc.io_priority->priority);
  if (proc.scheduler) {
    const auto& s = *proc.scheduler;
    linux::set_scheduler({s.policy, s.nice, s.priority, s.flags, s.runtime, s.deadline, s.period});
  }
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still hold it
  // (runc's order). With no_new_privs it waits until just before execve, filtering less of us.
  if (!proc.no_new_privileges && spec.linux.seccomp) linux::load_seccomp(plan.seccomp);
  if (plan.has_caps) linux::drop_bounding_set(plan.caps.bounding);
  linux::switch_user(plan.uid, plan.gid, plan.groups, plan.set_groups);
  if (plan.has_caps) linux::apply_capabilities(plan.caps);
  if (proc.user.umask) ::umask(static_cast<mode_t>(*proc.user.umask & 0777));

  if (::chdir(proc.cwd.c_str()) < 0) fail_errno("chdir to cwd {}", quote(proc.cwd));
  // CVE-2024-21626: a cwd reached through a leaked fd would be outside the root; getcwd
  // then fails or answers "(unreachable)".
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/') fail_err(ENOENT, "cwd {} is outside the container's root", quote(proc.cwd));
  std::string exe = find_executable(proc.args[0], env_value(proc.env, "PATH"));

  // As PID 1 of its namespace the init would ignore SIGTERM & co. while it waits: make
  // them end it, as they end any process. execve resets these handlers.
  struct sigaction sa = {};
  sa.sa_handler = [](int sig) { ::_exit(128 + sig); };
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(sig, &sa, nullptr);
  send_msg(plan.sync_fd, Msg::kReady);
  g_report_fd = wait_for_start(plan);
  run_hooks(spec.hooks.start_container, "startContainer", plan.state_json);
  exec_process(plan, exe);
}

}  // namespace

std::string find_executable(const std::string& name, const std::string& path_env) {
  auto usable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(name.c_str(), &st) < 0) fail_errno("exec {}", quote(name));
    if (S_ISDIR(st.st_mode)) fail_err(EACCES, "exec {}: is a directory", quote(name));
    if (::access(name.c_str(), X_OK) < 0) fail_errno("exec {}", quote(name));
    return name;
  }
  std::string path = path_env.empty() ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : path_env;
  for (const auto& dir : split(path, ':')) {
    std::string candidate = path_join(dir.empty() ? "." : dir, name);
    if (usable(candidate)) return candidate;
  }
  fail_err(ENOENT, "exec: {}: executable file not found in $PATH", quote(name));
}

static void report(InitPlan& plan, int err, const std::string& message) {
  try {
    send_msg(g_report_fd >= 0 ? g_report_fd : plan.sync_fd, Msg::kError, err, message);
  } catch (...) {
    // Nobody is listening any more; exiting is all that is left.
  }
}

[[noreturn]] void container_init(InitPlan& plan) {
  try {
    run_init(plan);
  } catch (const Error& e) {
    report(plan, e.err(), e.message());
  } catch (const std::exception& e) {
    report(plan, 0, fmt::format("internal error: {}", e.what()));
  }
  ::_exit(1);
}

}  // namespace hull::runtime
