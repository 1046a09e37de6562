// The container init: what runs in the new namespaces, from clone3 up to execve.
// It lives in the forked image of `hull create` (no re-exec), with the parsed spec in memory.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "linux/rootfs.h"
#include "oci/spec.h"
#include "runtime/process.h"
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
  // The v1 hierarchies' `tasks` files, open for writing (cgroup::Manager::self_join): the
  // init joins its cgroup itself, writing "0" to each after kGo. (fd, path for errors)
  std::vector<std::pair<int, std::string>> cgroup_tasks;

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

  ProcessPlan process;
  // CVE-2019-5736: the init is non-dumpable from its first instruction when the creator is
  // root; an unprivileged creator must first write the id maps into /proc/PID (kGo).
  bool undumpable_from_start = true;
};

// Runs in the child after clone3; never returns.
[[noreturn]] void container_init(InitPlan& plan);

}  // namespace hull::runtime
