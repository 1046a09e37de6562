// The friendly face: hull's own docker-like commands (README.md). Each group of verbs
// registers itself; this file only parses and dispatches.
#include "cli/friendly.h"

#include <cstdio>

#include "cli/cli.h"
#include "cli/oci.h"
#include "frontend/network_cli.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cli {

int friendly_main(int argc, char** argv) {
  CLI::App app{
      "hull: containers from namespaces and cgroups.\n`hull oci ...` (or hull-oci) speaks runc's "
      "command line.",
      "hull"};
  app.require_subcommand(1);
  bool debug = false;
  app.add_flag("--debug", debug, "debug logging and step timings");
  std::string root = "/run/hull";
  app.add_option("--root", root, "state directory of containers")->default_val("/run/hull");
  FriendlyEnv env;
  // Registrars: one line per group of verbs.
  frontend::register_network(app, env);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "hull: %s\n", e.what());
    return 125;
  }
  log::init({"", false, debug});
  try {
    env.ctx.root = absolute_path(root);
    // Verb groups ("network create") dispatch on the innermost subcommand.
    const CLI::App* sub = app.get_subcommands().front();
    while (!env.commands.count(sub) && !sub->get_subcommands().empty())
      sub = sub->get_subcommands().front();
    auto it = env.commands.find(sub);
    if (it == env.commands.end()) fail("{}: no such command", sub->get_name());
    return it->second();
  } catch (const Error& e) {
    log::error(e.what());
    return 125;
  }
}

}  // namespace hull::cli
