// What this host's kernel offers hull, found by trying each thing (in a throw-away child where
// trying changes the caller): namespaces, user namespaces for unprivileged users, the cgroup
// layout and controllers, overlayfs, seccomp and its filter flags, clone3 with
// CLONE_INTO_CGROUP, pidfds, openat2 and the new mount API.
#pragma once

#include <string>
#include <vector>

namespace hull::runtime {

struct HostFact {
  std::string area;  // "namespaces", "cgroups", "filesystems", "security", "syscalls"
  std::string name;  // "pid namespace", "memory controller", ...
  bool ok = false;
  std::string detail;      // what was found, or why not (the errno text)
  std::string needed_for;  // the hull features that depend on it
};

std::vector<HostFact> check_host();

}  // namespace hull::runtime
