#include "linux/namespaces.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fs.h"

namespace hull::linux {

const char* ns_proc_name(int flag) {
  switch (flag) {
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "net";
    case CLONE_NEWNS: return "mnt";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWTIME: return "time";
  }
  return nullptr;
}

const char* ns_description(int flag) {
  switch (flag) {
    case CLONE_NEWPID: return "process IDs: the container's first process is PID 1";
    case CLONE_NEWNET: return "network devices, addresses, routes, ports and firewall";
    case CLONE_NEWNS: return "mount points: its own root file system";
    case CLONE_NEWIPC: return "System V IPC objects and POSIX message queues";
    case CLONE_NEWUTS: return "host name and domain name";
    case CLONE_NEWUSER: return "user and group IDs: root inside maps to another ID outside";
    case CLONE_NEWCGROUP: return "the view of the cgroup tree: its own cgroup appears as /";
    case CLONE_NEWTIME: return "the monotonic and boot-time clocks";
  }
  return "";
}

Fd open_namespace(const std::string& path, int flag) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open namespace {}", path);
  Fd owned(fd);
  int type = ::ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) {
    if (errno == ENOTTY || errno == EINVAL) fail("{} is not a namespace file", path);
    fail_errno("inspect namespace {}", path);
  }
  if (type != flag) fail("{} is a {} namespace, not a {} one", path, ns_proc_name(type) ? ns_proc_name(type) : "?", ns_proc_name(flag));
  return owned;
}

void join_namespace(int fd, int flag, const std::string& path) {
  if (::setns(fd, flag) < 0) fail_errno("join {} namespace {}", ns_proc_name(flag), path);
}

bool is_own_namespace(int fd, int flag) {
  struct stat a, b;
  std::string own = fmt::format("/proc/self/ns/{}", ns_proc_name(flag));
  if (::fstat(fd, &a) < 0) fail_errno("inspect namespace");
  if (::stat(own.c_str(), &b) < 0) fail_errno("inspect {}", own);
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool is_initial_user_namespace(int fd) {
  // The kernel's fixed inode number of the initial user namespace (PROC_USER_INIT_INO).
  constexpr ino_t kInitialUserNsInode = 0xEFFFFFFDU;
  struct stat st;
  if (::fstat(fd, &st) < 0) fail_errno("inspect user namespace");
  return st.st_ino == kInitialUserNsInode;
}

// -1 unknown, 0 no, 1 yes: detected once, then cached.
static int g_pidfd_setns = -1;

void join_namespaces_of(int pidfd, pid_t pid, int flags) {
  if (flags == 0) return;
  if (g_pidfd_setns != 0) {
    if (::setns(pidfd, flags) == 0) {
      g_pidfd_setns = 1;
      return;
    }
    // Kernels before 5.8 refuse a pidfd with EINVAL; anything else is a real failure.
    if (errno != EINVAL || g_pidfd_setns == 1) fail_errno("join the namespaces of process {}", pid);
    g_pidfd_setns = 0;
  }
  // The per-file fallback: open them all first (the pidfd proves the pid is still the same
  // process), then join, the user namespace first so the others are joined with its privileges.
  std::vector<std::pair<Fd, int>> fds;
  for (int flag : {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWPID, CLONE_NEWCGROUP,
                   CLONE_NEWTIME}) {
    if (!(flags & flag)) continue;
    std::string path = fmt::format("/proc/{}/ns/{}", pid, ns_proc_name(flag));
    fds.emplace_back(open_namespace(path, flag), flag);
  }
  if (sys::pidfd_send_signal(pidfd, 0) < 0) fail_errno("process {}", pid);
  for (auto& [fd, flag] : fds) join_namespace(fd.get(), flag, fmt::format("of process {}", pid));
}

void enter_new_time_namespace(long long mono_s, long mono_ns, long long boot_s, long boot_ns) {
  if (::unshare(CLONE_NEWTIME) < 0) fail_errno("create time namespace");
  std::string offsets = fmt::format("monotonic {} {}\nboottime {} {}\n", mono_s, mono_ns, boot_s, boot_ns);
  with_context("set time namespace offsets", [&] { write_existing("/proc/self/timens_offsets", offsets); });
  Fd ns = open_or_fail("/proc/self/ns/time_for_children", O_RDONLY);
  if (::setns(ns.get(), CLONE_NEWTIME) < 0) fail_errno("enter time namespace");
}

}  // namespace hull::linux
