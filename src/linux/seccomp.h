// seccomp through libseccomp: a profile (the OCI schema as plain structs) is compiled to a
// BPF program by the parent — once per distinct profile, then cached on disk (crun does the
// same) — and the init loads the bytes with seccomp(2) right before execve.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hull::linux {

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_*
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct SeccompProfile {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::vector<SeccompRule> syscalls;
};

struct SeccompFilter {
  std::string bpf;       // struct sock_filter[]; empty = no filter
  unsigned flags = 0;    // seccomp(2) SECCOMP_FILTER_FLAG_* bits
  bool notify = false;   // uses SCMP_ACT_NOTIFY: load returns a listener fd
  bool from_cache = false;
  bool empty() const { return bpf.empty(); }
};

// Compiles (or loads from cache_dir, when not empty) the filter for a profile. Syscall names
// libseccomp does not know are skipped (runc does the same). With an allow-list profile
// (a default action that is not ALLOW or LOG), syscalls newer than any libseccomp knows for
// the native architecture fail with ENOSYS rather than the default errno, so a libc that
// tries a new call falls back to the old one (runc patches its filters the same way).
SeccompFilter compile_seccomp(const SeccompProfile& profile, const std::string& cache_dir);

// The cache holds at most this many entries; each miss that writes one drops the least
// recently used (a hit touches its entry) beyond it, and any unused for kCacheMaxAgeDays.
inline constexpr size_t kCacheMaxEntries = 64;
inline constexpr int kCacheMaxAgeDays = 7;
void prune_seccomp_cache(const std::string& cache_dir, size_t max_entries = kCacheMaxEntries);

// Installs the filter on the calling thread. Returns the notify listener fd, or -1.
// Needs no_new_privs or CAP_SYS_ADMIN.
int load_seccomp(const SeccompFilter& filter);

// Names of syscalls the profile hands to a listener (SCMP_ACT_NOTIFY).
std::vector<std::string> notified_syscalls(const SeccompProfile& profile);

}  // namespace hull::linux
