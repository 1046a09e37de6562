// inspect, stats, check, tour: looking at containers and at the host.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/friendly.h"
#include "frontend/check.h"
#include "frontend/inspect.h"
#include "frontend/stats.h"
#include "frontend/template.h"
#include "frontend/tour.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cli {

void register_look_verbs(CLI::App& app, FriendlyEnv& env) {
  static std::vector<std::string> inspect_refs;
  static bool json = false;
  static std::string inspect_format;
  auto* inspect =
      app.add_subcommand("inspect", "explain containers: namespaces, PIDs, cgroups, mounts, users");
  inspect->add_flag("--json", json,
                    "the same facts as a JSON array, with docker inspect's fields (Id, State, "
                    "Config, HostConfig, Mounts, NetworkSettings)");
  inspect->add_option("-f,--format", inspect_format,
                      "a Go template over that JSON, e.g. {{.State.Pid}}, "
                      "{{.NetworkSettings.IPAddress}}, {{json .Config}}");
  inspect->add_option("container", inspect_refs, "names or ids")->required();
  env.add(inspect, [&env] {
    // docker's: what exists is printed, each missing one is an error line, and exit 1.
    std::optional<frontend::Template> tmpl;
    if (!inspect_format.empty()) tmpl.emplace("--format", inspect_format);
    int rc = 0;
    auto arr = nlohmann::ordered_json::array();
    for (const auto& r : inspect_refs) {
      try {
        if (tmpl) {
          std::string line = tmpl->render(frontend::inspect_value(env.env, r)) + "\n";
          std::fputs(line.c_str(), stdout);
        } else if (json) {
          arr.push_back(frontend::inspect_value(env.env, r));
        } else {
          std::fputs(frontend::inspect_text(env.env, r).c_str(), stdout);
        }
      } catch (const Error& e) {
        log::error(e.what());
        rc = 1;
      }
    }
    if (json && !tmpl) std::printf("%s\n", arr.dump(2).c_str());
    return rc;
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
