// The friendly face: hull's own docker-like commands (README.md). Each group of verbs
// registers itself; this file only parses and dispatches. Exit codes as docker's CLI: 125 for
// a bad command line, 1 for a command that failed (`run` maps its own: 125, 126, 127).
#include "cli/friendly.h"

#include <cstdio>

#include "cli/cli.h"
#include "cli/oci.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cli {

CLI::Option* add_repeated(CLI::App* app, const std::string& name, std::vector<std::string>& into,
                          const std::string& help) {
  return app->add_option(name, into, help)->allow_extra_args(false)->take_all();
}

int friendly_main(int argc, char** argv) {
  CLI::App app{
      "hull: containers from namespaces and cgroups.\n`hull oci ...` (or hull-oci) speaks runc's "
      "command line.",
      "hull"};
  app.require_subcommand(1);
  bool debug = false;
  app.add_flag("--debug", debug, "debug logging and step timings");
  std::string root;
  app.add_option("--root", root, "OCI state directory of hull's containers (default $HULL_ROOT)");
  FriendlyEnv env;
  register_run_verbs(app, env);
  register_manage_verbs(app, env);
  register_look_verbs(app, env);
  register_image_verbs(app, env);
  register_registry_verbs(app, env);
  register_network(app, env);

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
    env.env = frontend::Env::from_environment();
    // --root: where the OCI state of hull's containers lives (as $HULL_ROOT).
    if (!root.empty()) env.env.oci_root = absolute_path(root);
    // Verb groups ("network create") dispatch on the innermost subcommand.
    const CLI::App* sub = app.get_subcommands().front();
    while (!env.commands.count(sub) && !sub->get_subcommands().empty())
      sub = sub->get_subcommands().front();
    auto it = env.commands.find(sub);
    if (it == env.commands.end()) fail("{}: no such command", sub->get_name());
    return it->second();
  } catch (const Error& e) {
    log::error(e.what());
    return 1;
  } catch (const std::exception& e) {
    log::error(fmt::format("internal error: {}", e.what()));
    return 1;
  }
}

}  // namespace hull::cli
