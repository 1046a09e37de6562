#include "linux/seccomp.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// A canonical text of the profile: the cache key.
std::string canonical(const SeccompProfile& p) {
  std::string s = fmt::format("v1|{}|{}|{}|{}|", seccomp_version()->major * 10000 + seccomp_version()->minor * 100 +
                                                      seccomp_version()->micro,
                              p.default_action, p.default_errno_ret.value_or(UINT32_MAX), join(p.architectures, ","));
  s += join(p.flags, ",") + "|";
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
    if (arch == 0) fail("linux.seccomp.architectures: unknown architecture {}", quote(a));
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) fail_err(-rc, "seccomp: add architecture {}", a);
  }
  // Rules are evaluated by libseccomp, which refuses a rule whose action is the default.
  for (size_t i = 0; i < p.syscalls.size(); ++i) {
    const auto& r = p.syscalls[i];
    uint32_t act = action_of(r.action, r.errno_ret);
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
        log::debug("seccomp: syscall {} is unknown to libseccomp: skipped", name);
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
  return read_fd(fd);
}

}  // namespace

SeccompFilter compile_seccomp(const SeccompProfile& p, const std::string& cache_dir) {
  SeccompFilter f;
  for (const auto& flag : p.flags) f.flags |= flag_of(flag);
  for (const auto& r : p.syscalls)
    if (r.action == "SCMP_ACT_NOTIFY") f.notify = true;
  if (cache_dir.empty()) {
    f.bpf = compile(p);
    return f;
  }
  std::string key = canonical(p);
  std::string file = path_join(cache_dir, fmt::format("{:016x}-{}.bpf", fnv1a(key), key.size()));
  if (auto cached = read_file_if_exists(file); cached && !cached->empty() && cached->size() % sizeof(sock_filter) == 0) {
    f.bpf = std::move(*cached);
    return f;
  }
  f.bpf = compile(p);
  try {
    mkdir_p(cache_dir, 0700);
    atomic_write(file, f.bpf, 0600);
  } catch (const Error& e) {
    log::debug("seccomp cache: {}", e.what());
  }
  return f;
}

int load_seccomp(const SeccompFilter& f) {
  if (f.empty()) return -1;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(f.bpf.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(f.bpf.data()));
  unsigned flags = f.flags | (f.notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) {
    // Older kernels lack some flags: retry without the optional ones.
    if (errno == EINVAL && (flags & (SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))) {
      flags &= ~(SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
      rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    }
    if (rc < 0) fail_errno("load seccomp filter");
  }
  return f.notify ? static_cast<int>(rc) : -1;
}

}  // namespace hull::linux
