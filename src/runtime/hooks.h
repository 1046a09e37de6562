// runtime-spec hooks (config.md "POSIX-platform Hooks"): each runs with the container's state
// JSON on stdin, its own path/args/env (the runtime's environment when it gives none), and is
// killed after its timeout.
#pragma once

#include <string>
#include <vector>

#include "oci/spec.h"

namespace hull::runtime {

// Runs the hooks in order; the first failure throws "<kind> hook <path>: ...". With `cwd_fd`
// the hooks start in that directory (createContainer: the rootfs, as runc), else in ours.
void run_hooks(const std::vector<oci::Hook>& hooks, const char* kind, const std::string& state_json,
               int cwd_fd = -1);

// Same, but failures are logged as warnings and the rest still run (poststart, poststop).
void run_hooks_warn(const std::vector<oci::Hook>& hooks, const char* kind, const std::string& state_json);

}  // namespace hull::runtime
