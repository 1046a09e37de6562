// Where the cgroup hierarchies are, read from /proc/self/mountinfo (never assumed):
// v1 (one hierarchy per controller or group), v2 (one unified hierarchy), or hybrid
// (v1 controllers plus a cgroup2 mount, as on this project's CI hosts).
#pragma once

#include <string>
#include <vector>

namespace hull::cgroup {

enum class Layout { none, v1, v2, hybrid };
const char* layout_name(Layout l);

struct Hierarchy {
  std::string mount_point;               // /sys/fs/cgroup/memory
  std::string root;                      // the mount's root inside the hierarchy (usually "/")
  bool v2 = false;
  std::vector<std::string> controllers;  // v1: from the mount options ("cpu", "cpuacct");
                                         // v2: from cgroup.controllers
  std::string name;                      // v1 named hierarchy: "systemd" for name=systemd
  // The mount's directory name under the cgroup root ("cpu,cpuacct", "unified", "systemd").
  std::string dir_name() const;
  bool has(const std::string& controller) const;
};

struct HostLayout {
  Layout layout = Layout::none;
  std::vector<Hierarchy> hierarchies;  // v1 hierarchies first, then the unified one if any
  std::string base;                    // the common parent of the mounts: /sys/fs/cgroup

  const Hierarchy* unified() const;
  // The v1 hierarchy that has `controller`, or nullptr.
  const Hierarchy* v1(const std::string& controller) const;
  // The hierarchy that tracks processes for this layout (v2/hybrid: unified; v1: pids, or
  // freezer, or the first).
  const Hierarchy* tracking() const;
};

HostLayout parse_layout(const std::string& mountinfo, const std::string& (*read_controllers)(const std::string&));
// Cached for the life of the process.
const HostLayout& host_layout();

}  // namespace hull::cgroup
