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

// Container ids: what runc accepts, [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes.
void validate_id(const std::string& id);

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
  // nullopt while the container is still being created (no state.json yet).
  std::optional<oci::State> load(int dir_fd);
  void save_config(int dir_fd, const std::string& config_json);
  std::string load_config(int dir_fd);

  void remove(const std::string& id);
  std::vector<std::string> list() const;

 private:
  std::string root_;
};

}  // namespace hull::runtime
