// volume create|ls|inspect|rm|prune: docker's named volumes (frontend/volumes.h).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

#include "cli/friendly.h"
#include "frontend/template.h"
#include "frontend/views.h"
#include "frontend/volumes.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cli {

void register_volume_verbs(CLI::App& app, FriendlyEnv& env) {
  auto* volume = app.add_subcommand("volume", "named volumes: create, ls, inspect, rm, prune");
  volume->require_subcommand(1);

  static std::string name;
  static std::vector<std::string> labels;
  auto* create = volume->add_subcommand("create", "make a volume (a random name without NAME)");
  create->add_option("name", name, "its name: [a-zA-Z0-9][a-zA-Z0-9_.-]+");
  add_repeated(create, "-l,--label", labels, "a label: KEY=VALUE");
  env.add(create, [&env] {
    std::map<std::string, std::string> l;
    for (const auto& kv : labels) {
      auto eq = kv.find('=');
      if (eq == 0) fail("--label: {} has no key (KEY=VALUE)", kv);
      l[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    std::printf("%s\n", frontend::Volumes(env.env).create(name, l).name.c_str());
    return 0;
  });

  static bool quiet = false;
  static std::string format;
  auto* ls = volume->add_subcommand("ls", "list volumes");
  ls->alias("list");
  ls->add_flag("-q,--quiet", quiet, "names only");
  ls->add_option("--format", format, "json, or a Go template: {{.Name}} {{.Mountpoint}} ...");
  env.add(ls, [&env] {
    auto vols = frontend::Volumes(env.env).list();
    if (quiet) {
      for (const auto& v : vols) std::printf("%s\n", v.name.c_str());
    } else if (format == "json") {
      for (const auto& v : vols) std::printf("%s\n", v.to_json().dump().c_str());
    } else if (!format.empty()) {
      frontend::Template t("--format", format);
      std::vector<std::string> lines;
      if (t.is_table()) lines.push_back(t.header({{"Name", "VOLUME NAME"}}));
      for (const auto& v : vols) lines.push_back(t.render(v.to_json()));
      std::fputs(frontend::format_lines(lines, t.is_table()).c_str(), stdout);
    } else {
      std::vector<std::vector<std::string>> rows = {{"DRIVER", "VOLUME NAME"}};
      for (const auto& v : vols) rows.push_back({"local", v.name});
      std::fputs(frontend::table(rows).c_str(), stdout);
    }
    return 0;
  });

  static std::vector<std::string> names;
  static std::string inspect_format;
  auto* inspect = volume->add_subcommand("inspect", "volumes as JSON (docker's shape)");
  inspect->add_option("-f,--format", inspect_format, "a Go template, e.g. {{.Mountpoint}}");
  inspect->add_option("name", names, "volume names")->required();
  env.add(inspect, [&env] {
    std::optional<frontend::Template> t;
    if (!inspect_format.empty()) t.emplace("--format", inspect_format);
    auto arr = nlohmann::ordered_json::array();
    int rc = 0;
    for (const auto& n : names) {
      try {
        auto j = frontend::Volumes(env.env).get(n).to_json();
        if (t)
          std::printf("%s\n", t->render(j).c_str());
        else
          arr.push_back(j);
      } catch (const Error& e) {
        log::error(e.what());
        rc = 1;
      }
    }
    if (!t) std::printf("%s\n", arr.dump(4).c_str());
    return rc;
  });

  static bool force = false;
  auto* rm = volume->add_subcommand("rm", "remove volumes (refused while a container uses one)");
  rm->alias("remove");
  rm->add_flag("-f,--force", force, "accepted for docker's sake: a volume in use still stays");
  rm->add_option("name", names, "volume names")->required();
  env.add(rm, [&env] {
    int rc = 0;
    for (const auto& n : names) {
      try {
        frontend::Volumes(env.env).remove(n);
        std::printf("%s\n", n.c_str());
      } catch (const Error& e) {
        log::error(e.what());
        rc = 1;
      }
    }
    return rc;
  });

  static bool prune_force = false;
  auto* prune = volume->add_subcommand("prune", "remove every volume no container uses");
  prune->add_flag("-f,--force", prune_force, "do not ask");
  static bool prune_all = false;
  prune->add_flag("-a,--all", prune_all,
                  "docker's flag: hull's volumes are all named, prune takes every unused one");
  env.add(prune, [&env] {
    if (!prune_force && ::isatty(0)) {
      std::printf(
          "WARNING! This will remove all volumes not used by at least one container.\n"
          "Are you sure you want to continue? [y/N] ");
      std::fflush(stdout);
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y") return 0;
    }
    auto gone = frontend::Volumes(env.env).prune();
    if (!gone.empty()) std::printf("Deleted Volumes:\n");
    for (const auto& n : gone) std::printf("%s\n", n.c_str());
    return 0;
  });
}

}  // namespace hull::cli
