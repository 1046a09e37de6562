// The friendly face's command table (docker-like verbs), assembled from registrars like the
// OCI face's (cli/oci.h): one per group of verbs, each driving the frontend code of its group.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "frontend/store.h"

#include "runtime/runtime.h"

namespace hull::cli {

struct FriendlyEnv {
  frontend::Env env;  // filled in after parsing, before any command runs
  std::map<const CLI::App*, std::function<int()>> commands;
  void add(const CLI::App* sub, std::function<int()> run) { commands[sub] = std::move(run); }
  // A verb that makes processes a container can see runs from a read-only image (cli.h).
  void add_entering(const CLI::App* sub, std::function<int()> run) {
    commands[sub] = [run = std::move(run)] {
      run_from_read_only_image();
      return run();
    };
  }
};

// An option that may be given many times, one value each (docker's -e A -e B).
CLI::Option* add_repeated(CLI::App* app, const std::string& name, std::vector<std::string>& into,
                          const std::string& help);

void register_run_verbs(CLI::App& app, FriendlyEnv& env);     // run start
void register_manage_verbs(CLI::App& app, FriendlyEnv& env);  // ps exec stop kill rm pause update logs top
void register_look_verbs(CLI::App& app, FriendlyEnv& env);    // inspect stats check tour
void register_image_verbs(CLI::App& app, FriendlyEnv& env);   // images rmi tag load save import image system
void register_registry_verbs(CLI::App& app, FriendlyEnv& env);  // pull push login logout
void register_network(CLI::App& app, FriendlyEnv& env);       // network ...

}  // namespace hull::cli
