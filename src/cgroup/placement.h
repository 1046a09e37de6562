// Where a process started in a running container goes (`exec`): the container's cgroup in
// every hierarchy, or existing sub-cgroups of it (runc's `exec --cgroup [controllers:]path`).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "cgroup/manager.h"

namespace hull::cgroup {

struct Placement {
  std::vector<std::string> dirs;  // absolute, one per hierarchy of the host
  bool single_v2 = false;         // a pure v2 host: dirs[0] is a CLONE_INTO_CGROUP target
};

// `subs`: "path" (every hierarchy) or "ctrl[,ctrl]:path" (v1 hierarchies with those
// controllers), relative to the container's cgroup, which must exist. Throws naming --cgroup.
Placement placement(const Manager& container, const std::vector<std::string>& subs);

// Writes pid into cgroup.procs of each directory.
void join(const Placement& placement, pid_t pid);

}  // namespace hull::cgroup
