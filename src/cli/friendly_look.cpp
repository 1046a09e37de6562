// inspect, stats, check, tour: looking at containers and at the host.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/friendly.h"
#include "frontend/check.h"
#include "frontend/inspect.h"
#include "frontend/stats.h"
#include "frontend/tour.h"
#include "util/strings.h"

namespace hull::cli {

void register_look_verbs(CLI::App& app, FriendlyEnv& env) {
  static std::string ref;
  static bool json = false;
  auto* inspect = app.add_subcommand(
      "inspect", "explain a container: namespaces, PIDs, cgroups, mounts, users");
  inspect->add_flag("--json", json, "the same facts as JSON");
  inspect->add_option("container", ref, "name or id")->required();
  env.add(inspect, [&env] {
    std::string out =
        json ? frontend::inspect_json(env.env, ref) : frontend::inspect_text(env.env, ref);
    std::fputs(out.c_str(), stdout);
    return 0;
  });

  static std::vector<std::string> refs;
  static bool no_stream = false;
  static std::string format = "table";
  auto* stats = app.add_subcommand("stats", "live CPU, memory, PIDs and block I/O of containers");
  stats->add_flag("--no-stream", no_stream, "print once and exit");
  stats->add_option("--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
  stats->add_option("container", refs, "names or ids (default: every running container)");
  env.add(stats, [&env] {
    frontend::stats_view(env.env, refs, no_stream, format == "json");
    return 0;
  });

  static bool check_json = false;
  auto* check =
      app.add_subcommand("check", "what this host's kernel offers hull, and what is missing");
  check->add_flag("--json", check_json, "as JSON");
  env.add(check, [] {
    if (check_json) {
      std::fputs(frontend::check_json().c_str(), stdout);
      return 0;
    }
    const char* no_color = std::getenv("NO_COLOR");
    auto out = frontend::check_text(::isatty(1) && !(no_color && *no_color));
    std::fputs(out.text.c_str(), stdout);
    return out.essentials_ok ? 0 : 1;
  });

  static frontend::TourOptions tour_opts;
  static bool ci = false;
  auto* tour =
      app.add_subcommand("tour", "the tutorial's exercises, live, with the kernel's evidence");
  tour->add_option("step", tour_opts.steps,
                   "steps to run (default: all): " + join(frontend::tour_step_names(), ", "));
  tour->add_flag("--json", tour_opts.json, "every step's evidence as JSON");
  tour->add_flag("--ci", ci, "no colours, no waiting (the default without a terminal)");
  tour->add_flag("--pause", tour_opts.pause, "wait for Enter between steps");
  env.add_entering(tour, [&env] {
    const char* no_color = std::getenv("NO_COLOR");
    tour_opts.color = !ci && ::isatty(1) && !(no_color && *no_color);
    if (ci || !::isatty(0)) tour_opts.pause = false;
    return frontend::run_tour(env.env, tour_opts) ? 0 : 1;
  });
}

}  // namespace hull::cli
