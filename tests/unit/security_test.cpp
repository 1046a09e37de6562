// Security pieces that need no privileges: the device rules and the eBPF program hull
// assembles for them (run here by a small interpreter of the instructions it uses), the
// default seccomp profile, seccomp compilation and its cache, capability names.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "cgroup/device_filter.h"
#include "linux/caps.h"
#include "linux/exec_seal.h"
#include "linux/seccomp.h"
#include "oci/names.h"
#include "oci/seccomp_default.h"
#include "util/fs.h"

using namespace hull;

namespace {

// Runs a device filter program for one access, as the kernel would: r1 points at
// struct bpf_cgroup_dev_ctx. Only the instruction forms device_filter_program emits.
int run_filter(const std::vector<bpf_insn>& p, char type, uint32_t major, uint32_t minor, unsigned access) {
  uint32_t ctx[3] = {(access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0; pc < p.size(); ++pc) {
    const bpf_insn& i = p[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W: r[i.dst_reg] = ctx[i.off / 4]; break;
      case BPF_ALU64 | BPF_MOV | BPF_X: r[i.dst_reg] = r[i.src_reg]; break;
      case BPF_ALU64 | BPF_MOV | BPF_K: r[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm)); break;
      case BPF_ALU64 | BPF_AND | BPF_K: r[i.dst_reg] &= static_cast<uint64_t>(static_cast<int64_t>(i.imm)); break;
      case BPF_ALU64 | BPF_RSH | BPF_K: r[i.dst_reg] >>= i.imm; break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT: return static_cast<int>(r[0]);
      default: ADD_FAILURE() << "unexpected opcode " << int(i.code); return -1;
    }
  }
  ADD_FAILURE() << "fell off the end";
  return -1;
}

oci::DeviceRule rule(bool allow, const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                     const char* access) {
  return {allow, type, major, minor, access};
}

constexpr unsigned R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

}  // namespace

TEST(DeviceRules, DenyAllThenDefaultsIsRuncsPolicy) {
  auto rules = cgroup::device_rules({rule(false, "a", std::nullopt, std::nullopt, "rwm")});
  EXPECT_FALSE(rules.default_allow);
  auto prog = cgroup::device_filter_program(rules);
  EXPECT_EQ(run_filter(prog, 'c', 1, 3, R | W), 1);    // null
  EXPECT_EQ(run_filter(prog, 'c', 1, 9, R), 1);        // urandom
  EXPECT_EQ(run_filter(prog, 'c', 136, 7, R | W), 1);  // a pts
  EXPECT_EQ(run_filter(prog, 'c', 10, 200, R | W), 1); // tun
  EXPECT_EQ(run_filter(prog, 'c', 1, 11, W), 0);       // kmsg
  EXPECT_EQ(run_filter(prog, 'b', 8, 0, R), 0);        // a disk
  EXPECT_EQ(run_filter(prog, 'b', 8, 0, M), 1);        // but mknod of it is fine
  EXPECT_EQ(run_filter(prog, 'b', 8, 0, M | R), 0);
}

TEST(DeviceRules, LastMatchingRuleWinsAndAccessMustBeCovered) {
  auto rules = cgroup::device_rules({rule(false, "a", std::nullopt, std::nullopt, "rwm"),
                                     rule(true, "c", 4, std::nullopt, "rw"), rule(false, "c", 4, 2, "w")});
  auto prog = cgroup::device_filter_program(rules);
  EXPECT_EQ(run_filter(prog, 'c', 4, 1, R | W), 1);
  EXPECT_EQ(run_filter(prog, 'c', 4, 2, R), 1);   // the deny names w only
  EXPECT_EQ(run_filter(prog, 'c', 4, 2, W), 0);
  // rw is not covered by "deny w", so the earlier "allow rw" decides (as in the v1 kernel).
  EXPECT_EQ(run_filter(prog, 'c', 4, 2, R | W), 1);
  // The defaults come last: mknod of any node stays allowed whatever the config says.
  EXPECT_EQ(run_filter(prog, 'c', 4, 1, M), 1);
}

TEST(DeviceRules, AllowAllWithoutRulesAndEverythingBeforeAWildcardIsDropped) {
  auto open = cgroup::device_rules({});
  EXPECT_TRUE(open.default_allow);
  EXPECT_EQ(run_filter(cgroup::device_filter_program(open), 'b', 8, 0, R | W), 1);
  auto rules = cgroup::device_rules({rule(true, "c", 1, 11, "rw"), rule(false, "a", std::nullopt, std::nullopt, "")});
  EXPECT_FALSE(rules.default_allow);
  EXPECT_TRUE(std::none_of(rules.rules.begin(), rules.rules.end(),
                           [](auto& r) { return r.major == 1u && r.minor == 11u; }));
}

TEST(DeviceRules, TypeAWithNumbersBecomesCharAndBlock) {
  auto rules = cgroup::device_rules({rule(false, "a", std::nullopt, std::nullopt, "rwm"), rule(true, "a", 7, -1, "r")});
  auto prog = cgroup::device_filter_program(rules);
  EXPECT_EQ(run_filter(prog, 'c', 7, 0, R), 1);
  EXPECT_EQ(run_filter(prog, 'b', 7, 3, R), 1);
  EXPECT_EQ(run_filter(prog, 'b', 7, 3, W), 0);
}

TEST(DeviceRules, V1WritesAndTheListTheKernelWillShow) {
  auto rules = cgroup::device_rules({rule(false, "a", std::nullopt, std::nullopt, "rwm"), rule(true, "c", 1, 11, "r")});
  auto writes = cgroup::v1_device_writes(rules);
  ASSERT_FALSE(writes.empty());
  EXPECT_FALSE(writes[0].allow);
  EXPECT_EQ(writes[0].line, "a");
  EXPECT_EQ(writes[1].line, "c 1:11 r");
  EXPECT_EQ(writes.back().line, "c 10:200 rwm");
  auto list = cgroup::v1_expected_list(rules);
  ASSERT_TRUE(list);
  EXPECT_NE(std::find(list->begin(), list->end(), "c *:* m"), list->end());
  EXPECT_NE(std::find(list->begin(), list->end(), "c 136:* rwm"), list->end());
  EXPECT_FALSE(cgroup::v1_expected_list(cgroup::device_rules({})));
}

TEST(DefaultSeccomp, CapabilitiesUnlockWhatDockerUnlocks) {
  auto names = [](const oci::Seccomp& s) {
    std::vector<std::string> all;
    for (const auto& r : s.syscalls)
      if (r.action == "SCMP_ACT_ALLOW" && r.args.empty()) all.insert(all.end(), r.names.begin(), r.names.end());
    return all;
  };
  auto has = [](const std::vector<std::string>& v, const char* n) { return std::find(v.begin(), v.end(), n) != v.end(); };
  auto plain = oci::default_seccomp_profile({"CAP_KILL"}, "x86_64");
  EXPECT_EQ(plain.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(plain.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  auto n = names(plain);
  EXPECT_TRUE(has(n, "read") && has(n, "arch_prctl") && has(n, "ptrace") && has(n, "modify_ldt"));
  EXPECT_FALSE(has(n, "mount") || has(n, "unshare") || has(n, "clone") || has(n, "keyctl") || has(n, "reboot"));
  // clone only without namespace flags; clone3 answers ENOSYS.
  bool clone_masked = false, clone3_enosys = false;
  for (const auto& r : plain.syscalls) {
    if (r.names == std::vector<std::string>{"clone"} && r.args.size() == 1 && r.args[0].op == "SCMP_CMP_MASKED_EQ")
      clone_masked = r.args[0].value == 0x7E020000 && r.args[0].value_two == 0;
    if (r.names == std::vector<std::string>{"clone3"}) clone3_enosys = r.errno_ret == 38u;
  }
  EXPECT_TRUE(clone_masked && clone3_enosys);
  auto admin = names(oci::default_seccomp_profile({"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}, "x86_64"));
  EXPECT_TRUE(has(admin, "mount") && has(admin, "clone") && has(admin, "clone3") && has(admin, "kcmp"));
  auto arm = names(oci::default_seccomp_profile({}, "aarch64"));
  EXPECT_TRUE(has(arm, "set_tls") && !has(arm, "arch_prctl"));
}

TEST(DefaultSeccomp, CompilesForEveryArchitectureName) {
  for (auto arch : oci::seccomp_archs()) {
    linux::SeccompProfile p;
    p.default_action = "SCMP_ACT_ERRNO";
    p.architectures = {std::string(arch)};
    p.syscalls.push_back({{"read", "write", "exit_group"}, "SCMP_ACT_ALLOW", std::nullopt, {}});
    EXPECT_NO_THROW(linux::compile_seccomp(p, "")) << arch;
  }
}

TEST(Seccomp, CacheHitsAndIsKeyedOnTheWholeProfile) {
  char dir[] = "/tmp/hull-seccomp-test-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  linux::SeccompProfile p;
  p.default_action = "SCMP_ACT_ALLOW";
  p.syscalls.push_back({{"mkdir"}, "SCMP_ACT_ERRNO", 1, {}});
  auto first = linux::compile_seccomp(p, dir);
  auto second = linux::compile_seccomp(p, dir);
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(first.bpf, second.bpf);
  p.syscalls[0].errno_ret = 2;
  auto third = linux::compile_seccomp(p, dir);
  EXPECT_FALSE(third.from_cache);
  EXPECT_NE(third.bpf, first.bpf);
  remove_all(dir);
}

TEST(Seccomp, NotifyIsDetected) {
  linux::SeccompProfile p;
  p.default_action = "SCMP_ACT_ALLOW";
  p.syscalls.push_back({{"mkdir"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
  EXPECT_TRUE(linux::compile_seccomp(p, "").notify);
  EXPECT_EQ(linux::notified_syscalls(p), std::vector<std::string>{"mkdir"});
}

TEST(Capabilities, NamesTheKernelDoesNotKnowAreSkipped) {
  auto all = std::vector<std::string>(oci::capability_names().begin(), oci::capability_names().end());
  auto values = linux::capabilities_from_names(all);
  EXPECT_EQ(values.size(), static_cast<size_t>(std::min<int>(linux::kernel_capability_count(), all.size())));
  EXPECT_EQ(linux::capabilities_from_names({"CAP_NOT_A_THING"}).size(), 0u);
}

TEST(ExecStub, IsSmallStaticAndFreestanding) {
  auto image = linux::exec_stub_image();
  ASSERT_GT(image.size(), 64u);
  EXPECT_LT(image.size(), 8192u);
  EXPECT_EQ(image.substr(0, 4), std::string_view("\x7f" "ELF", 4));
  // No PT_INTERP: it must run in any rootfs, with no loader of the image's choosing.
  EXPECT_EQ(image.find("ld-linux"), std::string_view::npos);
}
