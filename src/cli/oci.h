// The OCI face's command table: one registrar per group of verbs (crun's verb-per-file CLI).
// A registrar adds its subcommands to the app and, for each, the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>

#include "cli/cli.h"
#include "runtime/runtime.h"

namespace hull::cli {

struct OciEnv {
  runtime::Context ctx;  // filled in after parsing, before any command runs
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

// Makes a path absolute against the current directory (bundles, pid files).
std::string absolute_path(const std::string& p);

// runc's layouts: "<name> version X", "commit: ", "spec: ", ...; NAME/USAGE/COMMANDS
// (oci_help.cpp).
void print_oci_version(const std::string& name);
void print_oci_help(const CLI::App& app, const std::string& name);

void register_lifecycle(CLI::App& app, OciEnv& env);  // create run start state kill delete list
void register_exec(CLI::App& app, OciEnv& env);       // exec
void register_info(CLI::App& app, OciEnv& env);       // spec features checkpoint restore
void register_cgroup(CLI::App& app, OciEnv& env);     // pause resume update events ps

}  // namespace hull::cli
