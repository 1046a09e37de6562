#include "linux/seccomp.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <set>

#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace hull::linux {
namespace {

uint32_t action_of(const std::string& name, std::optional<uint32_t> errno_ret) {
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  fail("unknown seccomp action {}", quote(name));
}

scmp_compare op_of(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  fail("unknown seccomp operator {}", quote(op));
}

unsigned flag_of(const std::string& f) {
  if (f == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
  if (f == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") return SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  fail("unknown seccomp flag {}", quote(f));
}

// A canonical text of the profile: the cache key, stored in the cache file and compared on
// every hit, so a hash collision can never hand out another profile's filter.
std::string canonical(const SeccompProfile& p) {
  const scmp_version* v = seccomp_version();
  std::string s = fmt::format("hull-seccomp-v2|{}.{}.{}|{}|{}|{}|{}|", v->major, v->minor, v->micro, p.default_action,
                              p.default_errno_ret.value_or(UINT32_MAX), join(p.architectures, ","), join(p.flags, ","));
  for (const auto& r : p.syscalls) {
    s += join(r.names, ",") + ":" + r.action + ":" + std::to_string(r.errno_ret.value_or(UINT32_MAX));
    for (const auto& a : r.args) s += fmt::format(":{}/{}/{}/{}", a.index, a.value, a.value_two, a.op);
    s += ";";
  }
  return s;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// The highest syscall number libseccomp can name on the native architecture.
int newest_known_syscall() {
  static int newest = [] {
    uint32_t native = seccomp_arch_native();
    int last = 0;
    for (int nr = 0; nr < 1024; ++nr) {
      char* name = seccomp_syscall_resolve_num_arch(native, nr);
      if (name) last = nr;
      std::free(name);
    }
    return last;
  }();
  return newest;
}

uint32_t native_audit_arch() {
#if defined(__x86_64__)
  return AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  return AUDIT_ARCH_AARCH64;
#else
  return 0;
#endif
}

// Prepended to an allow-list filter: a native syscall above everything libseccomp knows gets
// ENOSYS (x32 calls, which carry bit 30 on x86-64, are left to the filter proper).
std::string enosys_prologue() {
  uint32_t arch = native_audit_arch();
  if (arch == 0) return {};
  auto max = static_cast<uint32_t>(newest_known_syscall());
  const sock_filter prologue[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };
  return std::string(reinterpret_cast<const char*>(prologue), sizeof prologue);
}

std::string compile(const SeccompProfile& p) {
  uint32_t def = action_of(p.default_action, p.default_errno_ret);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) fail("seccomp: cannot initialise a filter");
  struct Guard {
    scmp_filter_ctx c;
    ~Guard() { seccomp_release(c); }
  } guard{ctx};
  for (const auto& a : p.architectures) {
    std::string name = to_lower(a.substr(a.rfind("SCMP_ARCH_", 0) == 0 ? 10 : 0));
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) {
      // A name of the spec that this libseccomp cannot build for: no process of that
      // architecture can run here either.
      log::debug("seccomp: architecture {} is unknown to libseccomp: skipped", a);
      continue;
    }
    int rc = seccomp_arch_add(ctx, arch);
    if (rc == -EDOM) {
      // The other byte order (mips, ppc64, s390x on x86_64): one filter cannot hold both, and
      // no process of that architecture runs on this kernel.
      log::debug("seccomp: architecture {} has the other byte order: skipped", a);
      continue;
    }
    if (rc < 0 && rc != -EEXIST) fail_err(-rc, "seccomp: add architecture {}", a);
  }
  for (size_t i = 0; i < p.syscalls.size(); ++i) {
    const auto& r = p.syscalls[i];
    uint32_t act = action_of(r.action, r.errno_ret);
    // libseccomp refuses a rule whose action is the default one; it would change nothing.
    if (act == def) continue;
    std::set<unsigned> indexes;
    bool repeated = false;
    std::vector<scmp_arg_cmp> cmps;
    for (const auto& a : r.args) {
      if (!indexes.insert(a.index).second) repeated = true;
      scmp_compare op = op_of(a.op);
      cmps.push_back(op == SCMP_CMP_MASKED_EQ ? SCMP_CMP64(a.index, op, a.value, a.value_two)
                                              : SCMP_CMP64(a.index, op, a.value));
    }
    for (const auto& name : r.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug("seccomp: syscall {} is unknown to libseccomp {}.{}: skipped", name, seccomp_version()->major,
                   seccomp_version()->minor);
        continue;
      }
      auto add = [&](const std::vector<scmp_arg_cmp>& c) {
        int rc = seccomp_rule_add_array(ctx, act, nr, static_cast<unsigned>(c.size()), c.data());
        if (rc < 0) fail_err(-rc, "linux.seccomp.syscalls[{}]: add rule for {}", i, name);
      };
      // Two conditions on one argument cannot be ANDed in one rule: runc and crun add a
      // rule per condition (OR), which is what profiles that repeat an index mean.
      if (repeated) {
        for (const auto& c : cmps) add({c});
      } else {
        add(cmps);
      }
    }
  }
  int fd = ::memfd_create("hull-seccomp", MFD_CLOEXEC);
  if (fd < 0) fail_errno("seccomp: memfd_create");
  Fd mem(fd);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) fail_err(-rc, "seccomp: export filter");
  ::lseek(fd, 0, SEEK_SET);
  std::string bpf = read_fd(fd);
  bool allow_list = def != SCMP_ACT_ALLOW && def != SCMP_ACT_LOG;
  if (allow_list) bpf = enosys_prologue() + bpf;
  if (bpf.size() / sizeof(sock_filter) > BPF_MAXINSNS)
    fail("linux.seccomp: the filter has {} instructions, above the kernel's limit of {}", bpf.size() / sizeof(sock_filter),
         BPF_MAXINSNS);
  return bpf;
}

// Cache file: the canonical key, a NUL, then the program.
std::optional<std::string> read_cached(const std::string& file, const std::string& key) {
  auto data = read_file_if_exists(file);
  if (!data || data->size() <= key.size() + 1) return std::nullopt;
  if (data->compare(0, key.size(), key) != 0 || (*data)[key.size()] != '\0') return std::nullopt;
  std::string bpf = data->substr(key.size() + 1);
  if (bpf.empty() || bpf.size() % sizeof(sock_filter) != 0) return std::nullopt;
  return bpf;
}

}  // namespace

std::vector<std::string> notified_syscalls(const SeccompProfile& p) {
  std::vector<std::string> out;
  for (const auto& r : p.syscalls)
    if (r.action == "SCMP_ACT_NOTIFY") out.insert(out.end(), r.names.begin(), r.names.end());
  return out;
}

SeccompFilter compile_seccomp(const SeccompProfile& p, const std::string& cache_dir) {
  SeccompFilter f;
  for (const auto& flag : p.flags) f.flags |= flag_of(flag);
  f.notify = !notified_syscalls(p).empty();
  auto start = std::chrono::steady_clock::now();
  auto elapsed_us = [&] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  };
  std::string key = canonical(p);
  std::string file =
      cache_dir.empty() ? "" : path_join(cache_dir, fmt::format("{:016x}-{}.bpf", fnv1a(key), key.size()));
  if (!file.empty()) {
    if (auto cached = read_cached(file, key)) {
      f.bpf = std::move(*cached);
      f.from_cache = true;
      ::utimensat(AT_FDCWD, file.c_str(), nullptr, 0);  // recently used: pruned last
      log::debug("seccomp: filter of {} instructions read from the cache in {} us", f.bpf.size() / sizeof(sock_filter),
                 elapsed_us());
      return f;
    }
  }
  f.bpf = compile(p);
  log::debug("seccomp: filter of {} instructions compiled in {} us", f.bpf.size() / sizeof(sock_filter), elapsed_us());
  if (file.empty()) return f;
  try {
    mkdir_p(cache_dir, 0700);
    // Private whoever made it first (an older hull, a hand-made /run/hull/.seccomp).
    ::chmod(cache_dir.c_str(), 0700);
    atomic_write(file, key + std::string(1, '\0') + f.bpf, 0600);
    prune_seccomp_cache(cache_dir);
  } catch (const Error& e) {
    log::debug("seccomp cache: {}", e.what());
  }
  return f;
}

void prune_seccomp_cache(const std::string& cache_dir, size_t max_entries) {
  struct Entry {
    int64_t mtime;
    std::string path;
  };
  std::vector<Entry> entries;
  int64_t now = ::time(nullptr);
  for (const auto& name : list_dir(cache_dir)) {
    std::string path = path_join(cache_dir, name);
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    if (now - st.st_mtime > int64_t{kCacheMaxAgeDays} * 86400) {
      ::unlink(path.c_str());
      continue;
    }
    entries.push_back({st.st_mtime, path});
  }
  if (entries.size() <= max_entries) return;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.mtime > b.mtime; });
  for (size_t i = max_entries; i < entries.size(); ++i) ::unlink(entries[i].path.c_str());
}

int load_seccomp(const SeccompFilter& f) {
  if (f.empty()) return -1;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(f.bpf.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(f.bpf.data()));
  unsigned flags = f.flags;
  if (f.notify) {
    // The init is single-threaded, so TSYNC has nothing to do; and the kernel refuses it
    // together with a listener.
    flags = (flags & ~SECCOMP_FILTER_FLAG_TSYNC) | SECCOMP_FILTER_FLAG_NEW_LISTENER;
  } else {
    flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;  // only means something with a listener
  }
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0 && errno == EINVAL) {
    // Older kernels lack some optional flags: retry without them.
    constexpr unsigned kOptional =
        SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    if (flags & kOptional) rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags & ~kOptional, &prog);
  }
  if (rc < 0) {
    if (errno == EACCES)
      fail_errno("load seccomp filter (without noNewPrivileges this needs CAP_SYS_ADMIN)");
    fail_errno("load seccomp filter");
  }
  return f.notify ? static_cast<int>(rc) : -1;
}

}  // namespace hull::linux
