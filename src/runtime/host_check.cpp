#include "runtime/host_check.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "cgroup/layout.h"
#include "linux/namespaces.h"
#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace hull::runtime {
namespace {

// Runs `f` in a forked child, so whatever it changes (namespaces, credentials) dies with it.
// Returns 0 or the errno `f` returned.
template <typename F>
int in_child(F f) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) ::_exit(f() & 0xff);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

int errno_of(long r) {
  return r < 0 ? errno : 0;
}

std::string why(int err) {
  return err ? errno_text(err) : "supported";
}

void add(std::vector<HostFact>& out, const char* area, std::string name, int err,
         std::string needed_for, std::string detail = "") {
  out.push_back({area, std::move(name), err == 0, detail.empty() ? why(err) : std::move(detail),
                 std::move(needed_for)});
}

std::string sysctl_value(const char* path) {
  auto v = read_file_if_exists(path);
  return v ? std::string(trim(*v)) : "";
}

void check_namespaces(std::vector<HostFact>& out) {
  struct Kind {
    int flag;
    const char* needed_for;
  };
  const Kind kinds[] = {
      {CLONE_NEWPID, "every container: its own PID 1"},
      {CLONE_NEWNS, "every container: its own root and mounts"},
      {CLONE_NEWUTS, "--hostname"},
      {CLONE_NEWIPC, "its own SysV IPC and POSIX message queues"},
      {CLONE_NEWNET, "--network none and container networks"},
      {CLONE_NEWUSER, "--userns private, rootless containers"},
      {CLONE_NEWCGROUP, "the container's own view of /sys/fs/cgroup"},
      {CLONE_NEWTIME, "linux.timeOffsets"},
  };
  for (const auto& k : kinds) {
    int err = in_child([&] { return errno_of(::unshare(k.flag)); });
    add(out, "namespaces", fmt::format("{} namespace", linux::ns_proc_name(k.flag)), err,
        k.needed_for);
  }
  // As an unprivileged user: what rootless hull needs, and Debian can switch off.
  int err = in_child([] {
    if (::setgroups(0, nullptr) < 0 || ::setresgid(65534, 65534, 65534) < 0 ||
        ::setresuid(65534, 65534, 65534) < 0)
      return errno;
    return errno_of(::unshare(CLONE_NEWUSER));
  });
  std::string detail = why(err);
  std::string knob = sysctl_value("/proc/sys/kernel/unprivileged_userns_clone");
  if (err && knob == "0") detail += " (kernel.unprivileged_userns_clone is 0)";
  std::string max = sysctl_value("/proc/sys/user/max_user_namespaces");
  if (err && max == "0") detail += " (user.max_user_namespaces is 0)";
  add(out, "namespaces", "user namespaces for unprivileged users", err,
      "rootless containers (hull run by a user)", detail);
}

void check_cgroups(std::vector<HostFact>& out) {
  const cgroup::HostLayout& l = cgroup::host_layout();
  std::string where;
  if (l.layout == cgroup::Layout::hybrid) {
    const cgroup::Hierarchy* u = l.unified();
    where = fmt::format("hybrid: v1 controllers under {}/<controller>, cgroup2 at {}", l.base,
                        u ? u->mount_point : "?");
  } else if (l.layout == cgroup::Layout::v1) {
    where = fmt::format("v1: one hierarchy per controller under {}", l.base);
  } else if (l.layout == cgroup::Layout::v2) {
    where = fmt::format("v2: one unified hierarchy at {}", l.base);
  } else {
    where = "no cgroup file system is mounted";
  }
  add(out, "cgroups", "cgroup layout", l.layout == cgroup::Layout::none ? ENOENT : 0,
      "every resource limit", where);

  struct Ctl {
    const char *v1, *v2, *needed_for;
  };
  const Ctl ctls[] = {
      {"cpu", "cpu", "--cpus, --cpu-shares (the tour's CPU step)"},
      {"cpuacct", "cpu", "CPU usage in hull stats"},
      {"cpuset", "cpuset", "--cpuset-cpus"},
      {"memory", "memory", "--memory, OOM reports (the tour's memory step)"},
      {"pids", "pids", "--pids-limit, hull top"},
      {"blkio", "io", "--device-read-bps and friends, --blkio-weight (the tour's block I/O step)"},
      {"freezer", nullptr, "pause and unpause"},
      {"devices", nullptr, "device access rules"},
      {"hugetlb", "hugetlb", "hugepage limits"},
  };
  const cgroup::Hierarchy* unified = l.unified();
  for (const auto& c : ctls) {
    std::string name = fmt::format("{} controller", c.v1);
    if (const cgroup::Hierarchy* h = l.v1(c.v1)) {
      add(out, "cgroups", name, 0, c.needed_for, fmt::format("v1 at {}", h->mount_point));
    } else if (l.layout == cgroup::Layout::v2 && c.v2 && unified && unified->has(c.v2)) {
      add(out, "cgroups", name, 0, c.needed_for,
          fmt::format("v2 ({} in cgroup.controllers)", c.v2));
    } else if (l.layout == cgroup::Layout::v2 && !c.v2) {
      add(out, "cgroups", name, 0, c.needed_for,
          std::string(c.v1) == "freezer" ? "v2: cgroup.freeze" : "v2: an eBPF device program");
    } else {
      add(out, "cgroups", name, ENOENT, c.needed_for, "not mounted or not enabled");
    }
  }
  if (const cgroup::Hierarchy* mem = l.v1("memory")) {
    bool swap = path_exists(path_join(mem->mount_point, "memory.memsw.limit_in_bytes"));
    add(out, "cgroups", "swap accounting", swap ? 0 : ENOENT, "--memory-swap",
        swap ? "memory.memsw.* present" : "no memory.memsw.* files (boot with swapaccount=1)");
  }
}

void check_filesystems(std::vector<HostFact>& out) {
  // fsopen loads the module if it must, and creates nothing until fsmount.
  Fd fd(sys::fsopen("overlay", 0));
  int err = fd ? 0 : errno;
  add(out, "filesystems", "overlayfs", err,
      "hull run without --rootfs (the host's root under a throw-away overlay)",
      err == ENODEV ? "not in /proc/filesystems and no module" : "");
}

void check_seccomp(std::vector<HostFact>& out) {
  int err = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 ? errno : 0;
  add(out, "security", "seccomp", err, "--security-opt seccomp=..., the default profile");
  if (err) return;
  struct Flag {
    const char* name;
    unsigned long bits;
    const char* needed_for;
  };
  const Flag flags[] = {
      {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC, "linux.seccomp.flags TSYNC"},
      {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, "linux.seccomp.flags LOG"},
      {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW,
       "linux.seccomp.flags SPEC_ALLOW"},
      {"SECCOMP_FILTER_FLAG_NEW_LISTENER", SECCOMP_FILTER_FLAG_NEW_LISTENER,
       "SCMP_ACT_NOTIFY (seccomp agents)"},
      {"SECCOMP_FILTER_FLAG_TSYNC_ESRCH", SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
       "notify filters on threaded processes"},
      {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
       SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_NEW_LISTENER,
       "linux.seccomp.flags WAIT_KILLABLE_RECV"},
  };
  for (const auto& f : flags) {
    // A known flag gets as far as reading the (absent) program: EFAULT. An unknown one: EINVAL.
    long r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f.bits, nullptr);
    int e = r < 0 ? errno : 0;
    add(out, "security", f.name, e == EFAULT ? 0 : (e ? e : EINVAL), f.needed_for);
  }
}

int own_v2_cgroup_fd(Fd& fd) {
  const cgroup::Hierarchy* u = cgroup::host_layout().unified();
  if (!u) return ENOENT;
  auto text = read_file_if_exists("/proc/self/cgroup").value_or("");
  for (const auto& line : split(text, '\n')) {
    if (line.rfind("0::", 0) != 0) continue;
    std::string path = path_join(u->mount_point, line.substr(3));
    fd.reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return fd ? 0 : errno;
  }
  return ENOENT;
}

void check_syscalls(std::vector<HostFact>& out) {
  // clone3 with a NULL argument: EINVAL when it exists, ENOSYS when not.
  int err = ::syscall(SYS_clone3, nullptr, 0) < 0 && errno == ENOSYS ? ENOSYS : 0;
  add(out, "syscalls", "clone3", err, "creating the init and its pidfd in one call");
  Fd cg;
  int cg_err = err ? err : own_v2_cgroup_fd(cg);
  if (!cg_err) {
    struct clone_args args = {};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cg.get());
    long pid = sys::clone3(&args);
    if (pid == 0) ::_exit(0);
    if (pid < 0)
      cg_err = errno;
    else
      ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  }
  add(out, "syscalls", "CLONE_INTO_CGROUP", cg_err, "cloning the init straight into its cgroup",
      cg_err == ENOENT ? "no cgroup2 hierarchy to clone into" : "");

  Fd self(sys::pidfd_open(::getpid()));
  err = self ? errno_of(sys::pidfd_send_signal(self.get(), 0)) : errno;
  add(out, "syscalls", "pidfd", err, "signals that never reach a reused PID");
  err = in_child([] {
    Fd parent(sys::pidfd_open(::getppid()));
    if (!parent) return errno;
    return errno_of(::setns(parent.get(), CLONE_NEWUTS));
  });
  add(out, "syscalls", "setns with a pidfd", err,
      "exec joining every namespace of a container at once");

  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  Fd root(sys::openat2(AT_FDCWD, "/", &how));
  add(out, "syscalls", "openat2 (RESOLVE_IN_ROOT)", root ? 0 : errno,
      "resolving paths inside a rootfs in one call (else a slower walk)");

  Fd fs(sys::fsopen("tmpfs", 0));
  err = fs ? 0 : errno;
  if (!err) {
    Fd tree(sys::open_tree(AT_FDCWD, "/proc", 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC));
    err = tree ? 0 : errno;
  }
  add(out, "syscalls", "new mount API (fsopen, open_tree, move_mount)", err,
      "mounting through file descriptors");
  err = ::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0) < 0 && errno == ENOSYS ? ENOSYS : 0;
  add(out, "syscalls", "mount_setattr", err,
      "recursive read-only and nosuid mounts (rro, rnosuid)");
}

}  // namespace

std::vector<HostFact> check_host() {
  std::vector<HostFact> out;
  check_namespaces(out);
  check_cgroups(out);
  check_filesystems(out);
  check_seccomp(out);
  check_syscalls(out);
  return out;
}

}  // namespace hull::runtime
