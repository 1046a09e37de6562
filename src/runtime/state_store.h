// The state store under --root (default /run/hull): ROOT/ID/ holds state.json (atomic
// writes), config.json (the spec the container was created with), start.sock while created.
// Every mutation holds the container's lock: flock on the ID directory itself.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "oci/state.h"
#include "util/fd.h"

namespace hull::runtime {

// The state root when --root is not given: /run/hull for root; for anyone else
// $XDG_RUNTIME_DIR/hull, or /tmp/hull-UID without it (which must then be theirs alone).
std::string default_state_root();

// Where compiled seccomp filters are cached (linux/seccomp.h). For root: the default state
// root's .seccomp (/run/hull/.seccomp) whatever --root says, so that an engine's or a test's
// --root holds container dirs only and is empty once its last container is deleted; for
// anyone else `root`'s own, the only directory checked to be theirs alone.
std::string seccomp_cache_dir(const std::string& root);

// Container ids: what runc accepts, [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 255 bytes (a file name).
void validate_id(const std::string& id);

// Written beside state.json, and before it: what delete needs to end a container whose
// state.json is missing (a create killed early) or damaged (a full disk, a hand edit): the
// cgroup, recorded before it is made, and the init with its start time once it exists.
struct Recovery {
  bool has_cgroup = false;
  std::string cgroup_path;
  std::string cgroup_made_from;
  std::string cgroup_unit;  // --systemd-cgroup: the scope to stop
  int pid = 0;
  uint64_t pid_start_time = 0;
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const;

  // Creates ROOT/ID exclusively (mkdir is atomic: of two concurrent creates exactly one
  // wins) and returns it locked.
  Fd create_locked(const std::string& id);
  // Opens and locks an existing container dir; throws "container ID does not exist".
  Fd open_locked(const std::string& id, bool exclusive = true);
  Fd open_unlocked(const std::string& id);
  bool exists(const std::string& id) const;

  void save(int dir_fd, const oci::State& state);
  // nullopt while the container is still being created (no state.json yet). A state.json
  // that cannot be read throws naming the container and the file.
  std::optional<oci::State> load(int dir_fd, const std::string& id);
  void save_recovery(int dir_fd, const Recovery& r);
  // nullopt when there is none, or it cannot be read either.
  std::optional<Recovery> load_recovery(int dir_fd);
  void save_config(int dir_fd, const std::string& config_json);
  std::string load_config(int dir_fd);

  void remove(const std::string& id);
  std::vector<std::string> list() const;

 private:
  std::string root_;
};

}  // namespace hull::runtime
