// The friendly face: hull's own docker-like commands (README.md). Each group of verbs
// registers itself; this file only parses and dispatches. Exit codes as docker's CLI: 125 for
// a bad command line, 1 for a command that failed (`run` maps its own: 125, 126, 127).
#include "cli/friendly.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "cli/cli.h"
#include "cli/oci.h"
#include "frontend/containers.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cli {

CLI::Option* add_repeated(CLI::App* app, const std::string& name, std::vector<std::string>& into,
                          const std::string& help) {
  return app->add_option(name, into, help)->allow_extra_args(false)->take_all();
}

namespace {

// Edit distance, for "did you mean": the verb a typo is closest to.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The first word that is not a global option (--debug, --root DIR): the verb, or "" for none.
// -h/--help/--version are returned as they are, for the caller to answer.
std::string first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--root") {
      ++i;
      continue;
    }
    if (a == "--debug" || a.starts_with("--root=")) continue;
    return std::string(a);
  }
  return "";
}

// docker's answers where CLI11 would say "A subcommand is required": a bare `hull` prints the
// help (exit 0); `hull --version` and `hull version` what `hull oci --version` prints; an
// unknown verb is named with the closest one (exit 1, as docker's "unknown command").
std::optional<int> answer_without_verb(const CLI::App& app, int argc, char** argv) {
  std::string word = first_word(argc, argv);
  if (word.empty() || word == "help") {
    if (word == "help" && argc > 2) return std::nullopt;  // `hull help run`: the caller's
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  if (word == "--version" || word == "-v" || word == "version") {
    print_oci_version("hull");
    return 0;
  }
  if (word.front() == '-') return std::nullopt;  // -h, or a bad option: CLI11 answers
  std::string closest;
  size_t best = SIZE_MAX;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == word) return std::nullopt;
    size_t d = distance(word, sub->get_name());
    if (d < best) best = d, closest = sub->get_name();
  }
  std::fprintf(stderr, "hull: unknown command \"%s\"\n", word.c_str());
  if (!closest.empty()) std::fprintf(stderr, "Did you mean \"hull %s\"?\n", closest.c_str());
  std::fprintf(stderr, "Run 'hull --help' for the list of commands.\n");
  return 1;
}

}  // namespace

int friendly_main(int argc, char** argv) {
  // On the heap, so that a detached container's monitor (a fork that never returns here) can
  // free the table it will not use again (frontend::set_monitor_release).
  static std::unique_ptr<CLI::App> owner;
  owner = std::make_unique<CLI::App>(
      "hull: containers from namespaces and cgroups.\n`hull oci ...` (or hull-oci) speaks runc's "
      "command line.",
      "hull");
  frontend::set_monitor_release([] { owner.reset(); });
  CLI::App& app = *owner;
  app.require_subcommand(1);
  bool debug = false;
  app.add_flag("--debug", debug, "debug logging and step timings");
  std::string root;
  app.add_option("--root", root, "OCI state directory of hull's containers (default $HULL_ROOT)");
  FriendlyEnv env;
  // The groups one by one, until the verb on the command line is there: `hull run` builds
  // run's table alone, not every verb's options (CLI11 allocates each: issue 17 measured the
  // whole table in `hull run --rm`'s page faults). Help, a typo or no verb get them all.
  std::string word = first_word(argc, argv);
  auto has_verb = [&] {
    return !word.empty() && word.front() != '-' && word != "help" &&
           !app.get_subcommands([&](const CLI::App* a) { return a->check_name(word); }).empty();
  };
  for (auto group :
       {register_run_verbs, register_manage_verbs, register_look_verbs, register_image_verbs,
        register_registry_verbs, register_network, register_volume_verbs}) {
    group(app, env);
    if (has_verb()) break;
  }

  if (auto rc = answer_without_verb(app, argc, argv)) return *rc;
  // `hull help VERB` is `hull VERB --help`.
  std::vector<char*> args(argv, argv + argc);
  static char help_flag[] = "--help";
  if (args.size() > 2 && std::string_view(args[1]) == "help") {
    args.erase(args.begin() + 1);
    args.push_back(help_flag);
  }
  try {
    app.parse(static_cast<int>(args.size()), args.data());
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
