// state.json: the runtime-spec state (runtime.md "State") plus what hull itself needs to find
// the container again. Written atomically by runtime/state_store.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace hull::oci {

inline constexpr const char* kSpecVersion = "1.2.0";

// `unknown`: only `list` shows it, for a container whose state.json cannot be read.
enum class Status { creating, created, running, paused, stopped, unknown };
const char* status_name(Status s);

struct State {
  // runtime-spec state, as `state` prints it (runc adds rootfs, created, owner).
  std::string oci_version = kSpecVersion;
  std::string id;
  Status status = Status::creating;
  int pid = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC
  std::string owner;
  std::map<std::string, std::string> annotations;

  // hull's own bookkeeping.
  uint64_t pid_start_time = 0;  // /proc/PID/stat field 22: a PID is trusted only with it
  std::string cgroup_path;      // the container's cgroup, relative to each hierarchy's root
  // The highest directory on cgroup_path that hull created (the path itself when its parent
  // existed): delete removes the now empty parents up to it. Empty: none were made.
  std::string cgroup_made_from;
  std::string cgroup_unit;      // --systemd-cgroup: systemd's scope that owns cgroup_path
  bool started = false;         // `start` ran: the init has exec'ed the user process
  bool own_pid_namespace = true;  // killing the init kills everything (no --all walk needed)
  bool cgroup_shared = false;     // the cgroup held other processes at create: delete leaves them
};

// The public view (runtime-spec + runc's extra fields).
std::string state_to_public_json(const State& s, bool pretty = true);
// Everything, for the state store.
std::string state_to_json(const State& s);
// Throws "state.json: ..." for anything that is not a whole state (empty, truncated, garbage).
State state_from_json(const std::string& text);

// runtime-spec ContainerProcessState (config-linux.md, seccomp listenerPath): what a seccomp
// agent receives along with the listener fd. `state_json` is the public state as text.
// pid < 0 takes the pid of the public state in state_json.
std::string container_process_state_json(const std::string& state_json, int pid, const std::string& metadata);

}  // namespace hull::oci
