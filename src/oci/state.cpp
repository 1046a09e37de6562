#include "oci/state.h"

#include <nlohmann/json.hpp>

#include "oci/json_reader.h"
#include "util/strings.h"

namespace hull::oci {

const char* status_name(Status s) {
  switch (s) {
    case Status::creating: return "creating";
    case Status::created: return "created";
    case Status::running: return "running";
    case Status::paused: return "paused";
    case Status::stopped: return "stopped";
    case Status::unknown: return "unknown";
  }
  return "unknown";
}

static nlohmann::ordered_json public_json(const State& s) {
  nlohmann::ordered_json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = s.status == Status::stopped ? 0 : s.pid;
  j["status"] = status_name(s.status);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

std::string state_to_public_json(const State& s, bool pretty) {
  return public_json(s).dump(pretty ? 2 : -1);
}

std::string state_to_json(const State& s) {
  auto j = public_json(s);
  j["pid"] = s.pid;
  j["hull"] = {{"pidStartTime", s.pid_start_time},
               {"cgroupPath", s.cgroup_path},
               {"cgroupMadeFrom", s.cgroup_made_from},
               {"cgroupUnit", s.cgroup_unit},
               {"started", s.started},
               {"ownPidNamespace", s.own_pid_namespace},
               {"cgroupShared", s.cgroup_shared}};
  return j.dump();
}

State state_from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("state.json: invalid JSON: {}", e.what());
  }
  if (!j.is_object()) fail("state.json: expected a JSON object, got {}", j.type_name());
  Node n(&j, "state.json");
  State s;
  s.oci_version = n["ociVersion"].string_or(kSpecVersion);
  // What every save writes: without them this is not a state hull wrote (or it was cut
  // short), and trusting its defaults would make delete skip the init and the cgroup.
  auto id = n["id"].opt_string();
  if (!id || id->empty()) n["id"].error("required");
  s.id = *id;
  auto st = n["status"].opt_string();
  if (!st) n["status"].error("required");
  bool known = false;
  for (auto c : {Status::creating, Status::created, Status::running, Status::paused, Status::stopped})
    if (*st == status_name(c)) {
      s.status = c;
      known = true;
    }
  if (!known) n["status"].error(fmt::format("unknown status {}", quote(*st)));
  if (!n["hull"].is_object()) n["hull"].error("required");
  auto pid = n["pid"].opt_int<int>();
  if (!pid) n["pid"].error("required");
  s.pid = *pid;
  s.bundle = n["bundle"].string_or("");
  s.rootfs = n["rootfs"].string_or("");
  s.created = n["created"].string_or("");
  s.owner = n["owner"].string_or("");
  s.annotations = n["annotations"].string_map();
  Node h = n["hull"];
  s.pid_start_time = h["pidStartTime"].int_or<uint64_t>(0);
  s.cgroup_path = h["cgroupPath"].string_or("");
  s.cgroup_made_from = h["cgroupMadeFrom"].string_or("");
  s.cgroup_unit = h["cgroupUnit"].string_or("");
  s.started = h["started"].bool_or(false);
  s.own_pid_namespace = h["ownPidNamespace"].bool_or(true);
  s.cgroup_shared = h["cgroupShared"].bool_or(false);
  return s;
}

std::string container_process_state_json(const std::string& state_json, int pid, const std::string& metadata) {
  nlohmann::ordered_json j;
  j["ociVersion"] = kSpecVersion;
  j["fds"] = nlohmann::ordered_json::array({"seccompFd"});
  auto state = nlohmann::ordered_json::parse(state_json);
  // pid < 0: the container's own, from the public state (which has no hull fields, so the
  // state reader would refuse it).
  j["pid"] = pid >= 0 ? pid : state.value("pid", 0);
  j["metadata"] = metadata;
  j["state"] = std::move(state);
  return j.dump();
}

}  // namespace hull::oci
