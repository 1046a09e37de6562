// Where a process started in a running container goes (`exec`): the container's cgroup in
// every hierarchy, or existing sub-cgroups of it (runc's `exec --cgroup [controllers:]path`).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "cgroup/manager.h"

namespace hull::cgroup {

struct Placement {
  std::vector<std::string> dirs;  // absolute, one per hierarchy of the host
  bool single_v2 = false;         // a pure v2 host: dirs[0] is a CLONE_INTO_CGROUP target
  int unified = -1;               // the index of the cgroup2 directory of a hybrid host
  int freezer = -1;               // the index of the v1 freezer's directory
};

// `subs`: "path" (every hierarchy) or "ctrl[,ctrl]:path" (v1 hierarchies with those
// controllers), relative to the container's cgroup, which must exist. Throws naming --cgroup.
Placement placement(const Manager& container, const std::vector<std::string>& subs);

// Writes pid into cgroup.procs of each directory.
void join(const Placement& placement, pid_t pid);

// For the process to join itself, as Manager::self_join (cgroup/manager.h) lets a container
// init: the v1 directories' `tasks` files, opened for writing (the freezer's last: a process
// that joins a frozen cgroup stops there), and a hybrid host's cgroup2 directory for
// CLONE_INTO_CGROUP. Nothing on a pure v2 host (single_v2 clones into dirs[0]).
struct SelfJoin {
  std::vector<std::pair<Fd, std::string>> tasks;  // (fd, path for errors)
  Fd clone_dir;
};
SelfJoin self_join(const Placement& placement);
// After a clone with self_join(): the cgroup2 directory, when the clone did not go into it.
void join_rest(const Placement& placement, pid_t pid, bool into_cgroup);

}  // namespace hull::cgroup
