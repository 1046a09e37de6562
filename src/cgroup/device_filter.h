// The device rules of linux.resources.devices as the kernel enforces them: written to the v1
// devices controller's files, or compiled by hull itself into an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE for cgroup v2 (no clang, no libbpf at run time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "oci/spec.h"

namespace hull::cgroup {

struct DeviceRule {
  char type = 'c';                      // 'c' or 'b'
  std::optional<uint32_t> major, minor;  // nullopt: any
  unsigned access = 0;                  // BPF_DEVCG_ACC_* bits (mknod 1, read 2, write 4)
  bool allow = false;
};

// What the kernel should enforce: a default for everything, then exceptions in order, the
// last matching one winning.
struct DeviceRules {
  bool default_allow = true;  // no wildcard rule at all leaves every device allowed
  std::vector<DeviceRule> rules;
};

// runc's default devices, allowed after the config's own rules so a config cannot deny them:
// mknod of any node, null, zero, full, random, urandom, tty, ptmx, the pts, /dev/net/tun.
const std::vector<oci::DeviceRule>& default_allowed_devices();

// The config's rules plus the defaults, canonical: type "a" with a major, minor or partial
// access becomes a char and a block rule, and everything before the last "allow/deny all"
// is dropped (it decides nothing).
DeviceRules device_rules(const std::vector<oci::DeviceRule>& config);

// v1: the lines for devices.allow / devices.deny, in order; "a" first when there is a default.
struct V1DeviceWrite {
  bool allow;
  std::string line;  // "c 1:3 rwm", "a"
};
std::vector<V1DeviceWrite> v1_device_writes(const DeviceRules& rules);

// devices.list as the kernel shows it once `rules` are in force, or nullopt when that cannot
// be told from the list (a default of allow lists only "a *:* rwm"; deny exceptions).
std::optional<std::vector<std::string>> v1_expected_list(const DeviceRules& rules);

// v2: the program, checking the exceptions from the last to the first.
std::vector<bpf_insn> device_filter_program(const DeviceRules& rules);

// Loads the program and attaches it to the cgroup directory `dir` (BPF_F_ALLOW_MULTI), then
// detaches whatever device programs were attached there before (an update).
void attach_device_filter(const std::string& dir, const std::vector<bpf_insn>& program);

}  // namespace hull::cgroup
