#include "runtime/process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "linux/rootfs.h"
#include "linux/syscalls.h"
#include "linux/terminal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return {};
}

bool apparmor_enabled() {
  auto v = read_file_if_exists("/sys/module/apparmor/parameters/enabled");
  return v && trim(*v) == "Y";
}

bool selinux_enabled() {
  return path_exists("/sys/fs/selinux/enforce");
}

// The label the next execve gets (the kernel applies it at exec, so hull itself keeps its own).
void set_exec_label(const char* attr_file, const std::string& value, const char* what) {
  with_context(fmt::format("set {} {}", what, quote(value)),
               [&] { write_existing(attr_file, value); });
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
  if (!proc.apparmor_profile.empty() && !apparmor_enabled())
    fail("{}.apparmorProfile: {}: AppArmor is not enabled on this host", field,
         quote(proc.apparmor_profile));
  if (!proc.selinux_label.empty() && !selinux_enabled())
    fail("{}.selinuxLabel: {}: SELinux is not enabled on this host", field,
         quote(proc.selinux_label));

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
    if (plan.seccomp.notify) fail("linux.seccomp: SCMP_ACT_NOTIFY is not supported yet");
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

std::string prepare_process(const ProcessPlan& plan) {
  const oci::Process& proc = plan.process;
  linux::apply_rlimits(plan.rlimits);
  if (!plan.personality.empty()) linux::set_personality(plan.personality);
  if (proc.io_priority) linux::set_io_priority(proc.io_priority->klass, proc.io_priority->priority);
  if (proc.scheduler) {
    const auto& s = *proc.scheduler;
    linux::set_scheduler({s.policy, s.nice, s.priority, s.flags, s.runtime, s.deadline, s.period});
  }
  if (!proc.apparmor_profile.empty())
    set_exec_label("/proc/self/attr/apparmor/exec", "exec " + proc.apparmor_profile,
                   "AppArmor profile");
  if (!proc.selinux_label.empty())
    set_exec_label("/proc/self/attr/exec", proc.selinux_label, "SELinux label");
  // Without no_new_privs a filter can only be loaded with CAP_SYS_ADMIN, which the user
  // switch and the capability sets are about to take away: load it now (as runc and crun
  // do); with no_new_privs, as late as possible, right before execve.
  if (!proc.no_new_privileges && !plan.seccomp.empty()) linux::load_seccomp(plan.seccomp);
  if (plan.has_caps) linux::drop_bounding_set(plan.caps.bounding);
  linux::switch_user(plan.uid, plan.gid, plan.groups, plan.set_groups);
  if (plan.has_caps) linux::apply_capabilities(plan.caps);
  if (proc.user.umask) ::umask(static_cast<mode_t>(*proc.user.umask & 0777));

  if (::chdir(proc.cwd.c_str()) < 0) fail_errno("chdir to cwd {}", quote(proc.cwd));
  // CVE-2024-21626: a cwd reached through a leaked fd would be outside the root; getcwd
  // then fails or answers "(unreachable)".
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/')
    fail_err(ENOENT, "cwd {} is outside the container's root", quote(proc.cwd));
  return find_executable(proc.args[0], env_value(proc.env, "PATH"));
}

void exec_process(const ProcessPlan& plan, const std::string& exe) {
  const oci::Process& p = plan.process;
  std::vector<char*> argv, envp;
  std::vector<std::string> args = p.args, env = p.env;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail_errno("set no_new_privs");
  if (p.no_new_privileges && !plan.seccomp.empty()) linux::load_seccomp(plan.seccomp);
  // Only 0-2 and --preserve-fds reach the container (CVE-2024-21626): everything else,
  // including our own sockets, is closed by execve.
  if (sys::close_range(3 + plan.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3 + plan.preserve_fds; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(exe.c_str(), argv.data(), envp.data());
  fail_errno("exec {}", exe);
}

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
  std::string path =
      path_env.empty() ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : path_env;
  for (const auto& dir : split(path, ':')) {
    std::string candidate = path_join(dir.empty() ? "." : dir, name);
    if (usable(candidate)) return candidate;
  }
  fail_err(ENOENT, "exec: {}: executable file not found in $PATH", quote(name));
}

}  // namespace hull::runtime
