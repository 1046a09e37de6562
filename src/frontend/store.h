// The friendly face's own state, beside the OCI state of the runtime:
//
//   STATE (default /var/lib/hull, $HULL_STATE)        ROOT (default /run/hull/.friendly,
//   $HULL_ROOT)
//     containers/ID/meta.json    name, command, ...     ID/state.json, config.json: the runtime's
//     containers/ID/config.json  the spec, for `start`  (a root of its own, so `hull-oci list`
//     containers/ID/container.log  detached output       and the friendly face never step on
//     containers/ID/hostname, hosts  bound in            each other's containers)
//     containers/ID/monitor.log  the monitor's own warnings (never in container.log)
//     names/NAME -> ID           symlink: creating it is what reserves the name
//
// The OCI state says whether the container runs; meta.json remembers what the runtime forgets
// once it is deleted: the exit code. Mutations of a container hold the flock of its directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frontend/run_network.h"
#include "runtime/runtime.h"
#include "util/fd.h"

namespace hull::frontend {

struct Env {
  std::string state_dir = "/var/lib/hull";
  std::string oci_root = "/run/hull/.friendly";
  std::string cgroup_parent = "/hull";
  // From $HULL_STATE, $HULL_ROOT and $HULL_CGROUP_PARENT (tests point them at a place of their
  // own).
  static Env from_environment();
  runtime::Context ctx() const { return runtime::Context{oci_root}; }
};

struct Meta {
  std::string id, name;
  std::string created;  // RFC 3339
  std::vector<std::string> command;
  std::string rootfs;  // "" = the host's root under an overlay, or the image's layers
  // Run from an image: the reference given, what it resolved to, and the layers (chain ids)
  // its root stacks; the writable layer is containers/ID/layer/upper.
  std::string image;  // "" with --rootfs; "host" for the host sandbox
  std::string image_id, image_manifest;
  std::vector<std::string> image_layers;
  std::vector<std::string> exposed_ports;  // from the image config, shown by ps and inspect
  std::string stop_signal;                 // the image's StopSignal; "" = SIGTERM
  bool detached = false, auto_remove = false, tty = false;
  std::string network = "none";  // network_summary(net)
  NetworkOptions net;
  std::map<std::string, std::string> labels;  // --label KEY=VALUE (docker's)
  std::vector<std::string> volumes;           // the named volumes it mounts (volumes.h)
  // The last run.
  std::string started, finished;
  std::optional<int> exit_code;
  bool oom_killed = false;
  // Who waits for the container and records its exit: a monitor (detached) or the `hull run`
  // in the foreground. Trusted only with its start time, as every PID.
  pid_t monitor_pid = 0;
  uint64_t monitor_start = 0;
};

class Store {
 public:
  explicit Store(Env env) : env_(std::move(env)) {}
  const Env& env() const { return env_; }

  std::string dir(const std::string& id) const;
  std::string log_path(const std::string& id) const { return dir(id) + "/container.log"; }
  std::string config_path(const std::string& id) const { return dir(id) + "/config.json"; }
  // The container's record; Store::release removes it first (a directory without it is going).
  std::string meta_path(const std::string& id) const { return dir(id) + "/meta.json"; }
  // Where a detached container's monitor writes its own warnings (logrus lines, with times).
  std::string monitor_log_path(const std::string& id) const { return dir(id) + "/monitor.log"; }

  // A new id (64 hex digits) and its directory, locked; `name` is reserved (a random one when
  // empty). Throws when the name is taken, leaving nothing.
  struct Reserved {
    std::string id, name;
    Fd lock;
  };
  Reserved reserve(const std::string& name) const;
  // Removes the directory and the name.
  void release(const std::string& id, const std::string& name) const;

  // Moves container `id`'s name from `from` to `to`; throws when `to` is taken or not a
  // valid name, leaving `from` as it was.
  void rename(const std::string& id, const std::string& from, const std::string& to) const;

  // Finds a container by name, full id or unique id prefix.
  std::string resolve(const std::string& ref) const;
  Fd lock(const std::string& id) const;
  std::vector<std::string> list() const;

  Meta load(const std::string& id) const;
  void save(const Meta& meta) const;

 private:
  Env env_;
};

std::string meta_to_json(const Meta& m);
Meta meta_from_json(const std::string& text);

}  // namespace hull::frontend
