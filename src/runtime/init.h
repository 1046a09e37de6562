// The container init: what runs in the new namespaces, from clone3 up to execve.
// It lives in the forked image of `hull create` (no re-exec), with the parsed spec in memory.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "linux/caps.h"
#include "linux/process_attrs.h"
#include "linux/rootfs.h"
#include "linux/seccomp.h"
#include "oci/spec.h"
#include "util/fd.h"

namespace hull::runtime {

// Everything the init needs, prepared by the parent before clone3 so that errors in the
// config are found before any process exists.
struct InitPlan {
  const oci::Spec* spec = nullptr;
  std::string id;
  std::string state_json;  // for createContainer/startContainer hooks

  int sync_fd = -1;          // the child's end of the socketpair
  int start_listen_fd = -1;  // start.sock, -1 for `run` (kStart comes on sync_fd)
  int console_fd = -1;       // connected --console-socket, -1 without a terminal
  int preserve_fds = 0;

  // Namespaces given by path, opened (and type-checked) by the parent.
  std::vector<std::pair<Fd, int>> join;  // (fd, CLONE_NEW*)
  bool join_user_first = false;          // a user namespace path: join it before anything else
  bool fork_for_pid_ns = false;          // slow path: the init is a grandchild (see sync.h)
  int unshare_after_join = 0;            // namespaces created after joining a user ns
  bool new_user_ns = false;
  bool become_root = false;              // uid 0 and gid 0 are mapped: setresuid(0) after kGo
  bool new_cgroup_ns = false;
  bool new_time_ns = false;
  bool new_mount_ns = false;

  bool no_new_keyring = false;
  linux::RootfsPlan rootfs;
  std::vector<Fd> source_fds;  // rootfs and bind sources, opened by the parent (owned here)

  std::vector<linux::Rlimit> rlimits;
  bool has_caps = false;
  linux::CapSets caps;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool set_groups = true;
  linux::SeccompFilter seccomp;  // compiled by the parent, loaded last before execve
  bool pid1_init = false;        // stay as PID 1 and run the process as a child (pid1.h)
};

// Runs in the child after clone3; never returns.
[[noreturn]] void container_init(InitPlan& plan);

// Finds an executable the way execvp does, in `path_env` ("PATH=..." value), checking that it
// exists and is executable. Throws "exec: "name": executable file not found in $PATH".
std::string find_executable(const std::string& name, const std::string& path_env);

}  // namespace hull::runtime
