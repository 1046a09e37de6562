#include "oci/names.h"

#include <algorithm>
#include <array>

namespace hull::oci {
namespace {

constexpr std::array<std::string_view, 41> kCapabilities = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

constexpr std::array<std::string_view, 16> kRlimits = {
    "RLIMIT_CPU",     "RLIMIT_FSIZE",  "RLIMIT_DATA",    "RLIMIT_STACK",
    "RLIMIT_CORE",    "RLIMIT_RSS",    "RLIMIT_NPROC",   "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK", "RLIMIT_AS",     "RLIMIT_LOCKS",   "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO",  "RLIMIT_RTTIME"};

constexpr std::array<std::string_view, 7> kSchedPolicies = {
    "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"};

constexpr std::array<std::string_view, 7> kSchedFlags = {
    "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",     "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY",   "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX"};

constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY"};

constexpr std::array<std::string_view, 20> kSeccompArchs = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",     "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",  "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64"};

constexpr std::array<std::string_view, 4> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

constexpr std::array<std::string_view, 7> kSeccompOps = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

constexpr std::array<std::string_view, 8> kPropagations = {
    "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& table, std::string_view name) {
  return std::find(table.begin(), table.end(), name) != table.end();
}

}  // namespace

const char* namespace_type_name(NamespaceType t) {
  switch (t) {
    case NamespaceType::pid: return "pid";
    case NamespaceType::network: return "network";
    case NamespaceType::mount: return "mount";
    case NamespaceType::ipc: return "ipc";
    case NamespaceType::uts: return "uts";
    case NamespaceType::user: return "user";
    case NamespaceType::cgroup: return "cgroup";
    case NamespaceType::time: return "time";
  }
  return "?";
}

std::optional<NamespaceType> namespace_type_from_name(std::string_view name) {
  for (auto t : {NamespaceType::pid, NamespaceType::network, NamespaceType::mount, NamespaceType::ipc,
                 NamespaceType::uts, NamespaceType::user, NamespaceType::cgroup, NamespaceType::time})
    if (name == namespace_type_name(t)) return t;
  return std::nullopt;
}

const Namespace* Linux::find_namespace(NamespaceType t) const {
  for (const auto& ns : namespaces)
    if (ns.type == t) return &ns;
  return nullptr;
}

std::span<const std::string_view> capability_names() { return kCapabilities; }
bool is_capability_name(std::string_view n) { return contains(kCapabilities, n); }
std::span<const std::string_view> rlimit_names() { return kRlimits; }
bool is_rlimit_name(std::string_view n) { return contains(kRlimits, n); }
bool is_sched_policy(std::string_view n) { return contains(kSchedPolicies, n); }
bool is_sched_flag(std::string_view n) { return contains(kSchedFlags, n); }
std::span<const std::string_view> seccomp_actions() { return kSeccompActions; }
bool is_seccomp_action(std::string_view n) { return contains(kSeccompActions, n); }
std::span<const std::string_view> seccomp_archs() { return kSeccompArchs; }
bool is_seccomp_arch(std::string_view n) { return contains(kSeccompArchs, n); }
std::span<const std::string_view> seccomp_flags() { return kSeccompFlags; }
bool is_seccomp_flag(std::string_view n) { return contains(kSeccompFlags, n); }
std::span<const std::string_view> seccomp_ops() { return kSeccompOps; }
bool is_seccomp_op(std::string_view n) { return contains(kSeccompOps, n); }
bool is_propagation(std::string_view n) { return contains(kPropagations, n); }

}  // namespace hull::oci
