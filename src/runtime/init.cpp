// The container init (see sync.h for the protocol with the parent).
#include "runtime/init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "linux/exec_seal.h"
#include "linux/lsm.h"
#include "linux/namespaces.h"
#include "oci/state.h"
#include "runtime/exec_process.h"
#include "runtime/hooks.h"
#include "runtime/sync.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

// Where an error goes: the sync socket until start, then whoever sent kStart.
int g_report_fd = -1;

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

std::string listener_state(const InitPlan& plan) {
  if (!plan.process.seccomp.notify) return {};
  const auto& sc = *plan.spec->linux.seccomp;
  return oci::container_process_state_json(plan.state_json, -1, sc.listener_metadata);
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
  // One thread moving itself: no wait for the kernel's threadgroup lock (cgroup/manager.h).
  join_own_cgroups(plan.cgroup_tasks);
  if (!plan.undumpable_from_start) linux::make_undumpable();

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

  Fd root;
  if (plan.new_mount_ns) {
    root = linux::prepare_rootfs(plan.rootfs);
    linux::mount_all(plan.rootfs, root.get());
  } else {
    root = linux::open_shared_root(plan.rootfs);
    check_chroot_holds(plan.process, root.get());
  }
  if (!spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty()) {
    send_msg(plan.sync_fd, Msg::kHooks);
    expect(plan.sync_fd, Msg::kHooksDone, "hooks");
  }
  run_hooks(spec.hooks.create_container, "createContainer", plan.state_json, root.get());
  if (plan.new_mount_ns)
    linux::enter_rootfs(plan.rootfs, root.get());
  else
    linux::enter_shared_root(plan.rootfs, root.get());
  root.reset();
  // sysctl before finish_rootfs: it makes /proc/sys read-only (runc's order too).
  linux::apply_sysctl(spec.linux.sysctl);
  if (plan.new_mount_ns) linux::finish_rootfs(plan.rootfs);
  if (proc.terminal) {
    // No /dev/console bind in a mount namespace the container shares.
    setup_terminal(plan.console_fd, proc, plan.new_mount_ns);
    ::close(plan.console_fd);
    plan.console_fd = -1;
  }
  linux::make_dev_read_only(plan.rootfs);
  // Made before any filter is in place: a profile need not allow memfd_create.
  Fd stub = linux::open_exec_stub();
  plan.process.listener_state = listener_state(plan);
  std::string exe = prepare_process(plan.process);

  // As PID 1 of its namespace the init would ignore SIGTERM & co. while it waits: make
  // them end it, as they end any process. execve resets these handlers.
  struct sigaction sa = {};
  sa.sa_handler = [](int sig) { ::_exit(128 + sig); };
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(sig, &sa, nullptr);
  send_msg(plan.sync_fd, Msg::kReady);
  g_report_fd = wait_for_start(plan);
  if (!spec.hooks.start_container.empty()) load_seccomp_for_hooks(plan.process);
  run_hooks(spec.hooks.start_container, "startContainer", plan.state_json);
  exec_process(plan.process, exe, g_report_fd, stub.get());
}

}  // namespace

static void report(InitPlan& plan, const Error& e, const std::string& message) {
  try {
    send_error(g_report_fd >= 0 ? g_report_fd : plan.sync_fd, e, message);
  } catch (...) {
    // Nobody is listening any more; exiting is all that is left.
  }
}

[[noreturn]] void container_init(InitPlan& plan) {
  try {
    // Before anything of the container can see us (CVE-2019-5736, linux/exec_seal.h; with
    // CAP_SYS_PTRACE a container still sees our exe: a read-only mount, linux/self_image.h).
    if (plan.undumpable_from_start) linux::make_undumpable();
    run_init(plan);
  } catch (const Error& e) {
    report(plan, e, child_error_message(plan.process, e, "process"));
  } catch (const std::exception& e) {
    report(plan, Error(""), fmt::format("internal error: {}", e.what()));
  }
  ::_exit(1);
}

}  // namespace hull::runtime
