#include "cgroup/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace hull::cgroup {
namespace {

unsigned access_bits(const std::string& access) {
  unsigned bits = 0;
  for (char c : access) bits |= c == 'm' ? BPF_DEVCG_ACC_MKNOD : c == 'r' ? BPF_DEVCG_ACC_READ : BPF_DEVCG_ACC_WRITE;
  return bits;
}

constexpr unsigned kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

std::optional<uint32_t> number(const std::optional<int64_t>& v) {
  if (!v || *v < 0) return std::nullopt;  // -1 is how runc's configs spell "any"
  return static_cast<uint32_t>(*v);
}

std::string v1_access(unsigned bits) {
  std::string s;
  if (bits & BPF_DEVCG_ACC_READ) s += 'r';
  if (bits & BPF_DEVCG_ACC_WRITE) s += 'w';
  if (bits & BPF_DEVCG_ACC_MKNOD) s += 'm';
  return s;
}

// eBPF assembly: the few instruction forms the filter needs.
bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
bpf_insn mov_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn mov_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn and_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm); }
bpf_insn rsh_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm); }
bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Registers while the program runs: r2 device type, r3 requested access, r4 major, r5 minor.
constexpr uint8_t kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kScratch = 6;

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof *attr); }

}  // namespace

const std::vector<oci::DeviceRule>& default_allowed_devices() {
  static const std::vector<oci::DeviceRule> defaults = {
      {true, "c", std::nullopt, std::nullopt, "m"},  // mknod of any node: it still cannot be opened
      {true, "b", std::nullopt, std::nullopt, "m"},
      {true, "c", 1, 3, "rwm"},                      // null
      {true, "c", 1, 8, "rwm"},                      // random
      {true, "c", 1, 7, "rwm"},                      // full
      {true, "c", 5, 0, "rwm"},                      // tty
      {true, "c", 1, 5, "rwm"},                      // zero
      {true, "c", 1, 9, "rwm"},                      // urandom
      {true, "c", 136, std::nullopt, "rwm"},         // /dev/pts/*
      {true, "c", 5, 2, "rwm"},                      // ptmx
      {true, "c", 10, 200, "rwm"},                   // /dev/net/tun
  };
  return defaults;
}

DeviceRules device_rules(const std::vector<oci::DeviceRule>& config) {
  std::vector<oci::DeviceRule> all = config;
  all.insert(all.end(), default_allowed_devices().begin(), default_allowed_devices().end());
  DeviceRules out;
  for (const auto& r : all) {
    unsigned access = access_bits(r.access.empty() ? "rwm" : r.access);
    auto major = number(r.major), minor = number(r.minor);
    bool any_type = r.type.empty() || r.type == "a";
    if (any_type && !major && !minor && access == kAllAccess) {
      // "allow all" or "deny all": a new default, and nothing before it matters any more.
      out.default_allow = r.allow;
      out.rules.clear();
      continue;
    }
    for (char t : any_type ? std::string("cb") : r.type) out.rules.push_back({t, major, minor, access, r.allow});
  }
  return out;
}

std::vector<V1DeviceWrite> v1_device_writes(const DeviceRules& rules) {
  std::vector<V1DeviceWrite> out;
  out.push_back({rules.default_allow, "a"});
  for (const auto& r : rules.rules) {
    std::string major = r.major ? std::to_string(*r.major) : "*";
    std::string minor = r.minor ? std::to_string(*r.minor) : "*";
    out.push_back({r.allow, fmt::format("{} {}:{} {}", r.type, major, minor, v1_access(r.access))});
  }
  return out;
}

std::optional<std::vector<std::string>> v1_expected_list(const DeviceRules& rules) {
  if (rules.default_allow) return std::nullopt;
  // The kernel keeps one exception per type:major:minor with the union of its access.
  std::map<std::string, unsigned> merged;
  for (const auto& r : rules.rules) {
    if (!r.allow) return std::nullopt;
    std::string major = r.major ? std::to_string(*r.major) : "*";
    std::string minor = r.minor ? std::to_string(*r.minor) : "*";
    merged[fmt::format("{} {}:{}", r.type, major, minor)] |= r.access;
  }
  std::vector<std::string> out;
  for (const auto& [dev, access] : merged) out.push_back(dev + " " + v1_access(access));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<bpf_insn> device_filter_program(const DeviceRules& rules) {
  // struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
  std::vector<bpf_insn> p = {
      load_u32(kType, 1, 0),     mov_reg(kAccess, kType), and_imm(kType, 0xffff), rsh_imm(kAccess, 16),
      load_u32(kMajor, 1, 4),    load_u32(kMinor, 1, 8),
  };
  for (auto it = rules.rules.rbegin(); it != rules.rules.rend(); ++it) {
    const DeviceRule& r = *it;
    std::vector<bpf_insn> block;
    std::vector<size_t> to_next;  // jumps to patch: past this block
    to_next.push_back(block.size());
    block.push_back(jne_imm(kType, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
    if (r.major) {
      to_next.push_back(block.size());
      block.push_back(jne_imm(kMajor, static_cast<int32_t>(*r.major), 0));
    }
    if (r.minor) {
      to_next.push_back(block.size());
      block.push_back(jne_imm(kMinor, static_cast<int32_t>(*r.minor), 0));
    }
    if (r.access != kAllAccess) {
      // Matches only when every bit asked for is one the rule names.
      block.push_back(mov_reg(kScratch, kAccess));
      block.push_back(and_imm(kScratch, static_cast<int32_t>(~r.access & kAllAccess)));
      to_next.push_back(block.size());
      block.push_back(jne_imm(kScratch, 0, 0));
    }
    block.push_back(mov_imm(0, r.allow ? 1 : 0));
    block.push_back(exit_insn());
    for (size_t j : to_next) block[j].off = static_cast<int16_t>(block.size() - j - 1);
    p.insert(p.end(), block.begin(), block.end());
  }
  p.push_back(mov_imm(0, rules.default_allow ? 1 : 0));
  p.push_back(exit_insn());
  return p;
}

void attach_device_filter(const std::string& dir, const std::vector<bpf_insn>& program) {
  Fd cgroup = open_or_fail(dir, O_RDONLY | O_DIRECTORY);
  // What is attached now, to detach once the new program is in place (no moment unfiltered).
  std::vector<uint32_t> old_ids(64);
  bpf_attr query{};
  query.query.target_fd = static_cast<uint32_t>(cgroup.get());
  query.query.attach_type = BPF_CGROUP_DEVICE;
  query.query.prog_ids = reinterpret_cast<uint64_t>(old_ids.data());
  query.query.prog_cnt = static_cast<uint32_t>(old_ids.size());
  if (bpf(BPF_PROG_QUERY, &query) < 0) fail_errno("query the device programs of {}", dir);
  old_ids.resize(query.query.prog_cnt);

  static const char kLicense[] = "Apache-2.0";
  auto load = [&](char* log, uint32_t log_size) {
    bpf_attr a{};
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.expected_attach_type = BPF_CGROUP_DEVICE;
    a.insns = reinterpret_cast<uint64_t>(program.data());
    a.insn_cnt = static_cast<uint32_t>(program.size());
    a.license = reinterpret_cast<uint64_t>(kLicense);
    a.log_buf = reinterpret_cast<uint64_t>(log);
    a.log_size = log_size;
    a.log_level = log ? 1 : 0;
    return bpf(BPF_PROG_LOAD, &a);
  };
  // Without a log first: a verifier log that outgrows its buffer fails the load (ENOSPC)
  // even when the program is fine. The log is only wanted to explain a refusal.
  long prog = load(nullptr, 0);
  if (prog < 0) {
    int err = errno;
    std::string log(1 << 16, '\0');
    Fd again(static_cast<int>(load(log.data(), static_cast<uint32_t>(log.size()))));
    log.resize(again ? 0 : std::strlen(log.c_str()));
    // The verifier's verdict is at the end of its log; the error stays on one line.
    while (!log.empty() && log.back() == '\n') log.pop_back();
    if (log.size() > 300) log = log.substr(log.size() - 300);
    std::replace(log.begin(), log.end(), '\n', ' ');
    fail_err(err, "load the device filter program ({} instructions){}{}", program.size(), log.empty() ? "" : ": ",
             log);
  }
  Fd prog_fd(static_cast<int>(prog));
  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(cgroup.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attach) < 0) fail_errno("attach the device filter to {}", dir);

  for (uint32_t id : old_ids) {
    bpf_attr get{};
    get.prog_id = id;
    Fd old(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &get)));
    if (!old) continue;  // gone meanwhile
    bpf_attr detach{};
    detach.target_fd = static_cast<uint32_t>(cgroup.get());
    detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &detach) < 0 && errno != ENOENT) fail_errno("detach the old device filter of {}", dir);
  }
}

}  // namespace hull::cgroup
