#include "oci/seccomp_default.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <span>

namespace hull::oci {
namespace {

using Names = std::span<const std::string_view>;

// Every container may make these (with ptrace and process_vm_* that Docker allows from
// kernel 4.8 on; hull needs a newer kernel anyway). Names libseccomp or the kernel does not
// know are skipped when the filter is built.
constexpr std::string_view kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2",
    "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
    "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
    "futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list", "get_thread_area",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
    "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
    "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy",
    "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "ioctl",
    "ioprio_get", "ioprio_set", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
    "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
    "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
    "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
    "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "process_vm_readv",
    "process_vm_writev", "pselect6", "pselect6_time64", "ptrace", "pwrite64", "pwritev",
    "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat",
    "rename", "renameat", "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid",
    "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
    "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
    "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime",
    "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
    "write", "writev"
};

struct ArchSyscalls {
  std::string_view family;
  std::array<std::string_view, 6> names;  // empty entries are unused
};

// Syscalls that exist (and are allowed) on one architecture family only.
constexpr ArchSyscalls kArchAllowed[] = {
    {"x86_64", {"arch_prctl", "modify_ldt"}},
    {"x86", {"modify_ldt"}},
    {"aarch64", {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"}},
    {"arm", {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"}},
    {"ppc64le", {"sync_file_range2", "swapcontext"}},
    {"s390x", {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}},
    {"riscv64", {"riscv_flush_icache"}},
};

struct CapSyscalls {
  std::string_view capability;
  std::array<std::string_view, 26> names;
};

// What a capability unlocks (the capability alone would not be enough without these).
constexpr CapSyscalls kCapAllowed[] = {
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
    {"CAP_SYS_ADMIN",
     {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
      "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr", "move_mount",
      "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
      "umount", "umount2", "unshare"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_BPF", {"bpf"}},
    {"CAP_PERFMON", {"perf_event_open"}},
};

// personality(2) values a container may set: PER_LINUX, PER_LINUX32, UNAME26, UNAME26 |
// PER_LINUX32, and 0xffffffff (the query).
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// socket(2) for every family but AF_ALG (38) and AF_VSOCK (40).
constexpr uint64_t kAfAlg = 38, kAfVsock = 40;

constexpr uint64_t kCloneNewFlags = 0x00020000 /* NEWNS */ | 0x04000000 /* NEWUTS */ | 0x08000000 /* NEWIPC */ |
                                    0x10000000 /* NEWUSER */ | 0x20000000 /* NEWPID */ | 0x40000000 /* NEWNET */ |
                                    0x02000000 /* NEWCGROUP */;

std::vector<std::string> architectures(std::string_view family) {
  if (family == "x86_64") return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  if (family == "aarch64") return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
  if (family == "s390x") return {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
  if (family == "ppc64le") return {"SCMP_ARCH_PPC64LE"};
  if (family == "riscv64") return {"SCMP_ARCH_RISCV64"};
  if (family == "loongarch64") return {"SCMP_ARCH_LOONGARCH64"};
  return {};
}

// The families whose syscalls the filter must allow: the native one and the compat ones.
std::vector<std::string_view> families(std::string_view family) {
  if (family == "x86_64") return {"x86_64", "x86"};
  if (family == "aarch64") return {"aarch64", "arm"};
  return {family};
}

SeccompSyscall arg_rule(std::string_view name, uint32_t index, uint64_t value, const char* op, uint64_t two = 0) {
  SeccompSyscall s;
  s.names = {std::string(name)};
  s.action = "SCMP_ACT_ALLOW";
  s.args.push_back({index, value, two, op});
  return s;
}

}  // namespace

std::string_view native_arch_family() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#elif defined(__loongarch64)
  return "loongarch64";
#else
  return "unknown";
#endif
}

Seccomp default_seccomp_profile(const std::vector<std::string>& caps, std::string_view family) {
  auto has = [&](std::string_view c) { return std::find(caps.begin(), caps.end(), c) != caps.end(); };
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = EPERM;
  s.architectures = architectures(family);

  SeccompSyscall allow;
  allow.action = "SCMP_ACT_ALLOW";
  auto add = [&](std::string_view n) {
    if (n.empty()) return;
    if (std::find(allow.names.begin(), allow.names.end(), n) == allow.names.end()) allow.names.emplace_back(n);
  };
  for (auto n : kAllowed) add(n);
  for (auto f : families(family))
    for (const auto& a : kArchAllowed)
      if (a.family == f)
        for (auto n : a.names) add(n);
  for (const auto& c : kCapAllowed)
    if (has(c.capability))
      for (auto n : c.names) add(n);
  s.syscalls.push_back(std::move(allow));

  s.syscalls.push_back(arg_rule("socket", 0, kAfAlg, "SCMP_CMP_LT"));
  s.syscalls.push_back(arg_rule("socket", 0, kAfAlg + 1, "SCMP_CMP_EQ"));
  s.syscalls.push_back(arg_rule("socket", 0, kAfVsock, "SCMP_CMP_GT"));
  for (uint64_t p : kPersonalities) s.syscalls.push_back(arg_rule("personality", 0, p, "SCMP_CMP_EQ"));
  if (!has("CAP_SYS_ADMIN")) {
    // clone without any CLONE_NEW* flag (s390 passes the flags second); clone3 answers ENOSYS
    // because seccomp cannot see its flags, so libc falls back to clone.
    uint32_t index = family == "s390x" ? 1 : 0;
    s.syscalls.push_back(arg_rule("clone", index, kCloneNewFlags, "SCMP_CMP_MASKED_EQ", 0));
    SeccompSyscall clone3;
    clone3.names = {"clone3"};
    clone3.action = "SCMP_ACT_ERRNO";
    clone3.errno_ret = ENOSYS;
    s.syscalls.push_back(std::move(clone3));
  }
  return s;
}

}  // namespace hull::oci
