// `hull exec`: a new process in a running container, with docker's flags and exit codes.
// The process joins the container's namespaces and cgroup through the runtime's exec, with
// the container's own process (environment, capabilities, seccomp, rlimits) as its base.
#pragma once

#include <string>
#include <vector>

#include "frontend/store.h"

namespace hull::frontend {

struct ExecOptions {
  std::string container;             // name or id prefix
  std::vector<std::string> command;  // the program and its arguments
  std::vector<std::string> env;      // -e NAME=VALUE, or NAME (from hull's environment)
  std::string workdir;               // -w, absolute
  std::string user;                  // -u user[:group], by name (the container's /etc/passwd) or number
  bool interactive = false, tty = false, detach = false;
};

// Runs the command: its exit code (128+N for signal N), or 0 once it runs when detached.
// Throws when it cannot start; exit_code_for (containers.h) maps that to docker's code.
int exec(const Env& env, const ExecOptions& options);

}  // namespace hull::frontend
