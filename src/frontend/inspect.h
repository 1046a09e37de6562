// `hull inspect`: a container explained in plain words — each namespace against the host's,
// which host PID is which container PID, the cgroup files with their limits and usage, the
// mounts and the user mapping — or the same facts as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "frontend/store.h"

namespace hull::frontend {

std::string inspect_text(const Env& env, const std::string& ref);
std::string inspect_json(const Env& env, const std::string& ref);
// The facts as one JSON object: docker inspect's fields (Id, Name, State{Status, Running, Pid,
// ExitCode, OOMKilled, StartedAt, FinishedAt}, Config, HostConfig, Mounts, NetworkSettings)
// beside hull's own (id, state, namespaces, processes, cgroups, mounts, ...).
nlohmann::ordered_json inspect_value(const Env& env, const std::string& ref);

}  // namespace hull::frontend
