// The friendly face's command table (docker-like verbs), assembled from registrars like the
// OCI face's (cli/oci.h). Registrars live beside the frontend code they drive.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>

#include "runtime/runtime.h"

namespace hull::cli {

struct FriendlyEnv {
  runtime::Context ctx;  // --root, filled in after parsing
  std::map<const CLI::App*, std::function<int()>> commands;
  void add(const CLI::App* sub, std::function<int()> run) { commands[sub] = std::move(run); }
};

}  // namespace hull::cli
