// AppArmor and SELinux: is the LSM enabled on this host, and where the container process's
// label is written so that its exec runs under it (process.apparmorProfile,
// process.selinuxLabel). The write itself happens in the exec stub (linux/exec_seal.h), right
// before the container's exec, so the stub never runs confined.
#pragma once

#include <string>

namespace hull::linux {

bool apparmor_enabled();
bool selinux_enabled();

struct ExecLabel {
  std::string attr;   // /proc/thread-self/attr/... ; empty: no label
  std::string value;  // what to write there
};

// Called inside the container (its /proc): AppArmor's own attr directory where the kernel has
// one (LSM stacking, 5.8+), else the shared attr/exec.
ExecLabel apparmor_exec_label(const std::string& profile);
ExecLabel selinux_exec_label(const std::string& label);

// "context=..." appended to a mount's data for linux.mountLabel.
std::string with_mount_label(const std::string& data, const std::string& label);

}  // namespace hull::linux
