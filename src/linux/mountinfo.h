// /proc/self/mountinfo parsing: the source of truth for where things are mounted
// (cgroup hierarchies are found here, never assumed).
#pragma once

#include <string>
#include <vector>

namespace hull::linux {

struct MountInfo {
  int id = 0, parent = 0;
  std::string root;         // the mount's root within its file system
  std::string mount_point;  // where it is mounted
  std::string options;      // per-mount options (rw,nosuid,...)
  std::string optional;     // "shared:1 master:2" fields
  std::string fstype;
  std::string source;
  std::string super_options;  // per-superblock options (for cgroup v1: the controllers)
};

std::vector<MountInfo> parse_mountinfo(const std::string& text);
std::vector<MountInfo> read_mountinfo(const std::string& path = "/proc/self/mountinfo");

// The mount whose mount point is the longest prefix of `path` (path must be clean, absolute).
const MountInfo* mount_containing(const std::vector<MountInfo>& mounts, const std::string& path);

}  // namespace hull::linux
