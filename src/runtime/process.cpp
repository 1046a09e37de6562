#include "runtime/process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "linux/lsm.h"
#include "linux/path.h"
#include "linux/rootfs.h"
#include "linux/syscalls.h"
#include "linux/terminal.h"
#include "runtime/exec_process.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/passwd.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return {};
}

linux::ExecLabel exec_label(const oci::Process& p) {
  if (!p.apparmor_profile.empty()) return linux::apparmor_exec_label(p.apparmor_profile);
  if (!p.selinux_label.empty()) return linux::selinux_exec_label(p.selinux_label);
  return {};
}

// runc's fixStdioPermissions: the process's user must be able to reopen its own stdio
// (/dev/stdout, /proc/self/fd/1, as nginx's log symlinks do), and the pipes or pty an engine
// made as root are root's. /dev/null stays as it is; refusals (an unmapped id) are ignored.
void give_stdio_to(uid_t uid) {
  struct stat null_st = {};
  bool have_null = ::stat("/dev/null", &null_st) == 0;
  for (int fd = 0; fd <= 2; ++fd) {
    struct stat st;
    if (::fstat(fd, &st) < 0 || st.st_uid == uid) continue;
    if (have_null && S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev) continue;
    if (::fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
      fail_errno("chown stdio fd {} to uid {}", fd, uid);
  }
}

// runc's rule, for the init and exec alike: without HOME in the environment, the user's home
// from the container's /etc/passwd, else "/". Called inside the container's root, still as
// root (a passwd only root may read is read).
void set_default_home(std::vector<std::string>& env, uid_t uid) {
  for (const auto& e : env)
    if (e.rfind("HOME=", 0) == 0) return;
  Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) fail_errno("open /");
  auto passwd = with_context(
      "HOME", [&] { return linux::read_small_file_in_root(root.get(), "/etc/passwd", 4 << 20); });
  env.push_back("HOME=" + home_of(passwd.value_or(""), uid));
}

}  // namespace

void build_process_plan(ProcessPlan& plan, const oci::Process& proc, const oci::Spec& spec,
                        const std::string& seccomp_cache, const std::string& field) {
  plan.process = proc;
  if (spec.linux.personality) plan.personality = spec.linux.personality->domain;
  for (const auto& rl : proc.rlimits)
    plan.rlimits.push_back({linux::rlimit_from_name(rl.type), rl.soft, rl.hard, rl.type});
  if (proc.capabilities) {
    plan.has_caps = true;
    plan.caps.bounding = linux::capabilities_from_names(proc.capabilities->bounding);
    plan.caps.effective = linux::capabilities_from_names(proc.capabilities->effective);
    plan.caps.permitted = linux::capabilities_from_names(proc.capabilities->permitted);
    plan.caps.inheritable = linux::capabilities_from_names(proc.capabilities->inheritable);
    plan.caps.ambient = linux::capabilities_from_names(proc.capabilities->ambient);
  }
  plan.uid = proc.user.uid;
  plan.gid = proc.user.gid;
  plan.groups.assign(proc.user.additional_gids.begin(), proc.user.additional_gids.end());
  if (!proc.apparmor_profile.empty() && !linux::apparmor_enabled())
    fail("{}.apparmorProfile: {} asked for, but AppArmor is not enabled on this host", field,
         quote(proc.apparmor_profile));
  if (!proc.selinux_label.empty() && !linux::selinux_enabled())
    fail("{}.selinuxLabel: {} asked for, but SELinux is not enabled on this host", field,
         quote(proc.selinux_label));
  if (!proc.apparmor_profile.empty() && !proc.selinux_label.empty())
    fail("{}.apparmorProfile and {}.selinuxLabel: only one LSM label can be applied", field, field);

  if (const auto& sc = spec.linux.seccomp) {
    linux::SeccompProfile p;
    p.default_action = sc->default_action;
    p.default_errno_ret = sc->default_errno_ret;
    p.architectures = sc->architectures;
    p.flags = sc->flags;
    for (const auto& s : sc->syscalls) {
      linux::SeccompRule rule{s.names, s.action, s.errno_ret, {}};
      for (const auto& a : s.args) rule.args.push_back({a.index, a.value, a.value_two, a.op});
      p.syscalls.push_back(std::move(rule));
    }
    plan.seccomp =
        with_context("linux.seccomp", [&] { return linux::compile_seccomp(p, seccomp_cache); });
    if (plan.seccomp.notify) {
      // The listener is sent with sendmsg right after the filter is loaded: a notified
      // sendmsg would wait for an agent that has no fd yet (runc refuses notify on write).
      for (const auto& name : linux::notified_syscalls(p))
        if (name == "sendmsg" || name == "socketcall")
          fail("linux.seccomp.syscalls: SCMP_ACT_NOTIFY on {} is not supported: hull hands the "
               "listener over with it",
               name);
      if (sc->listener_path.empty())
        fail("linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
      // A host path: connected here, before the process leaves the host's mount namespace.
      plan.seccomp_listener = linux::connect_unix(sc->listener_path, "linux.seccomp.listenerPath");
    }
  }
}

void setup_terminal(int console_fd, const oci::Process& proc, bool mount_console) {
  linux::Pty pty = linux::open_pty_in_container();
  if (const auto& cs = proc.console_size)
    linux::set_window_size(pty.master.get(), cs->height, cs->width);
  linux::send_fd(console_fd, pty.master.get(), "console");
  pty.master.reset();
  linux::make_controlling_terminal(pty.slave.get());
  if (mount_console) {
    Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    linux::mount_console(root.get(), pty.slave.get());
  }
}

void check_chroot_holds(const ProcessPlan& plan, int root_fd) {
  if (linux::is_current_root(root_fd)) return;
  int chroot_cap = linux::capability_from_name("CAP_SYS_CHROOT");
  const auto& b = plan.caps.bounding;
  if (plan.has_caps && std::find(b.begin(), b.end(), chroot_cap) == b.end()) return;
  fail("process.capabilities.bounding: CAP_SYS_CHROOT would let the process leave its root: "
       "without a mount namespace of its own the container's root is a chroot (drop the "
       "capability, or give the container a mount namespace)");
}

std::string prepare_process(ProcessPlan& plan) {
  set_default_home(plan.process.env, plan.uid);
  const oci::Process& proc = plan.process;
  linux::apply_rlimits(plan.rlimits);
  if (!plan.personality.empty()) linux::set_personality(plan.personality);
  if (proc.io_priority) linux::set_io_priority(proc.io_priority->klass, proc.io_priority->priority);
  if (proc.scheduler) {
    const auto& s = *proc.scheduler;
    linux::set_scheduler({s.policy, s.nice, s.priority, s.flags, s.runtime, s.deadline, s.period});
  }
  // Without no_new_privs a filter can only be loaded with CAP_SYS_ADMIN, which the user
  // switch and the capability sets are about to take away: load it now (as runc and crun
  // do); with no_new_privs, as late as possible, right before execve.
  if (!proc.no_new_privileges && !plan.seccomp.empty())
    install_seccomp(plan.seccomp, plan.seccomp_listener.get(), plan.listener_state);
  give_stdio_to(plan.uid);
  // As root first (a cwd only root may enter, e.g. /root for a user that owns nothing there,
  // works as with runc); a cwd only the user may enter (root squashed on NFS) after the switch.
  bool in_cwd = ::chdir(proc.cwd.c_str()) == 0;
  if (!in_cwd && errno != EACCES && errno != EPERM) fail_errno("chdir to cwd {}", quote(proc.cwd));
  if (plan.has_caps) linux::drop_bounding_set(plan.caps.bounding);
  linux::switch_user(plan.uid, plan.gid, plan.groups, plan.set_groups);
  if (plan.has_caps) linux::apply_capabilities(plan.caps);
  // runc's default: the caller's umask (000 under some daemons) must not decide the modes of
  // files the container writes into host volumes.
  ::umask(proc.user.umask ? static_cast<mode_t>(*proc.user.umask & 0777) : 022);

  if (!in_cwd && ::chdir(proc.cwd.c_str()) < 0) fail_errno("chdir to cwd {}", quote(proc.cwd));
  // CVE-2024-21626: a cwd reached through a leaked fd would be outside the root; getcwd
  // then fails or answers "(unreachable)".
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/')
    fail_err(ENOENT, "cwd {} is outside the container's root", quote(proc.cwd));
  return find_executable(proc.args[0], env_value(proc.env, "PATH"));
}

void load_seccomp_for_hooks(ProcessPlan& plan) {
  if (!plan.process.no_new_privileges || plan.seccomp.empty() || plan.seccomp_loaded) return;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail_errno("set no_new_privs");
  install_seccomp(plan.seccomp, plan.seccomp_listener.get(), plan.listener_state);
  // install_seccomp closed the listener socket (when the filter notifies).
  if (plan.seccomp.notify) plan.seccomp_listener.release();
  plan.seccomp_loaded = true;
}

void exec_process(const ProcessPlan& plan, const std::string& exe, int report_fd, int stub_fd) {
  FinalExec e;
  e.process = &plan.process;
  e.exe = exe;
  e.preserve_fds = plan.preserve_fds;
  e.report_fd = report_fd;
  e.stub_fd = stub_fd;
  e.label = exec_label(plan.process);
  e.pid1_init = plan.pid1_init;
  if (plan.process.no_new_privileges && !plan.seccomp.empty() && !plan.seccomp_loaded) {
    e.seccomp = &plan.seccomp;
    e.listener_socket = plan.seccomp_listener.get();
    e.listener_state = plan.listener_state;
  }
  exec_container_process(e);
}

std::string find_executable(const std::string& name, const std::string& path_env) {
  auto usable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  // The kinds are docker's exit codes of `run` and `exec`: 127 missing, 126 not executable.
  auto refuse = [&](int err, ErrorKind missing) {
    throw Error(err == ENOENT || err == ENOTDIR ? missing : ErrorKind::not_executable,
                fmt::format("exec {}", quote(name)), err);
  };
  if (name.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(name.c_str(), &st) < 0) refuse(errno, ErrorKind::no_command);
    if (S_ISDIR(st.st_mode))
      throw Error(ErrorKind::not_executable, fmt::format("exec {}: is a directory", quote(name)),
                  EACCES);
    if (::access(name.c_str(), X_OK) < 0) refuse(errno, ErrorKind::not_executable);
    return name;
  }
  std::string path =
      path_env.empty() ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : path_env;
  for (const auto& dir : split(path, ':')) {
    std::string candidate = path_join(dir.empty() ? "." : dir, name);
    if (usable(candidate)) return candidate;
  }
  throw Error(ErrorKind::no_command,
              fmt::format("exec: {}: executable file not found in $PATH", quote(name)), ENOENT);
}

std::string child_error_message(const ProcessPlan& plan, const Error& e, const std::string& base) {
  if (e.err() != EMFILE) return e.message();
  for (size_t i = 0; i < plan.rlimits.size(); ++i) {
    const auto& r = plan.rlimits[i];
    if (r.resource != RLIMIT_NOFILE) continue;
    std::string field =
        base.empty() ? fmt::format("rlimits[{}]", i) : fmt::format("{}.rlimits[{}]", base, i);
    return fmt::format("{}: RLIMIT_NOFILE {} is too low for the process to be set up: {}", field,
                       r.soft, e.message());
  }
  return e.message();
}

}  // namespace hull::runtime

namespace hull::runtime {

void join_own_cgroups(std::vector<std::pair<int, std::string>>& tasks) {
  for (auto& [fd, path] : tasks) {
    if (::write(fd, "0", 1) != 1) fail_errno("join cgroup {}", path);
    ::close(fd);
  }
  tasks.clear();
}

}  // namespace hull::runtime
