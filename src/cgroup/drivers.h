// The drivers behind cgroup::Manager. Internal to cgroup/.
#pragma once

#include <memory>
#include <string>

#include "cgroup/manager.h"

namespace hull::cgroup {

// v1, and hybrid (v1 controllers plus the cgroup2 mount, which tracks processes).
std::unique_ptr<Manager> make_v1_manager(const HostLayout& layout, const std::string& path);
std::unique_ptr<Manager> make_v2_manager(const HostLayout& layout, const std::string& path);

// Shared helpers.
std::vector<pid_t> read_pids(const std::string& procs_file);
// SIGKILL to every process of the cgroup (Manager::kill_all; nothing if it has none), then waits up
// to timeout_ms for each of them to have exited. A killed task leaves its cgroup (cgroup.procs,
// "populated", the rmdir) before it has finished exiting: a PID namespace's init then still waits
// for the rest of its namespace to die. A destroy that returned then would leave a live process
// behind it. False if one is still exiting at the timeout.
bool kill_all_and_wait(Manager& m, int timeout_ms);
// rmdir, retrying while the kernel still counts exiting tasks (EBUSY). False if it stays busy.
bool remove_cgroup_dir(const std::string& dir);
// mkdir -p; returns true if the last component was created now.
bool make_cgroup_dir(const std::string& dir);
// The first directory on `path` (below mount) that does not exist yet, relative; "" if all do.
std::string first_missing(const std::string& mount, const std::string& path);
// Undo of a create that failed part-way: rmdir of `top` and the empty directories below it,
// deepest first. Nothing runs in them yet; a directory that is not empty stays.
void remove_tree_of_empty_dirs(const std::string& top);

}  // namespace hull::cgroup
