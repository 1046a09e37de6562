// `hull inspect`: a container explained in plain words — each namespace against the host's,
// which host PID is which container PID, the cgroup files with their limits and usage, the
// mounts and the user mapping — or the same facts as JSON.
#pragma once

#include <string>

#include "frontend/store.h"

namespace hull::frontend {

std::string inspect_text(const Env& env, const std::string& ref);
std::string inspect_json(const Env& env, const std::string& ref);

}  // namespace hull::frontend
