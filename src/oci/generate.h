// JSON that hull writes: `spec` (a default config.json, as `runc spec` does) and `features`
// (runtime-spec features.md).
#pragma once

#include <string>

namespace hull::oci {

struct SpecOptions {
  bool rootless = false;
  unsigned host_uid = 0, host_gid = 0;  // for rootless id maps: root in the container
  // Ranges /etc/subuid and /etc/subgid grant the user (count 0: none), mapped from id 1 up.
  unsigned subuid_start = 0, subuid_count = 0, subgid_start = 0, subgid_count = 0;
  // runc's rule: a cgroup namespace only on a pure cgroup v2 host. On v1 and hybrid hosts
  // engines add one themselves when they want it, and tools that read /proc/self/cgroup
  // expect the container's path there.
  bool cgroup_ns = true;
};

std::string default_spec_json(const SpecOptions& options);

struct FeatureFacts {
  bool cgroup_v1 = true, cgroup_v2 = true;
  bool seccomp_notify = false;
  bool apparmor = false, selinux = false;
  std::string seccomp_version;
};
std::string features_json(const FeatureFacts& facts);

}  // namespace hull::oci
