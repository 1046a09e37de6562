// ps, stop, kill, rm, logs, top: containers addressed by name or id prefix.
#include <signal.h>

#include <cstdio>

#include "cli/friendly.h"
#include "frontend/containers.h"
#include "frontend/human.h"
#include "frontend/views.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cli {
namespace {

// Runs `f` for each container, printing its reference on success as docker does; one
// failure does not stop the others, but makes the exit code 1.
template <typename F>
int for_each(const std::vector<std::string>& refs, F f) {
  int rc = 0;
  for (const auto& r : refs) {
    try {
      f(r);
      std::printf("%s\n", r.c_str());
      std::fflush(stdout);
    } catch (const Error& e) {
      log::error(e.what());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace

void register_manage_verbs(CLI::App& app, FriendlyEnv& env) {
  static bool all = false, quiet = false;
  static std::string format = "table";
  auto* ps = app.add_subcommand("ps", "list containers");
  ps->add_flag("-a,--all", all, "also the ones that exited");
  ps->add_flag("-q,--quiet", quiet, "ids only");
  ps->add_option("--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
  env.add(ps, [&env] {
    auto rows = frontend::list(env.env, all);
    if (quiet) {
      for (const auto& s : rows) std::printf("%s\n", s.meta.id.substr(0, 12).c_str());
    } else if (format == "json") {
      std::fputs(frontend::ps_json(rows).c_str(), stdout);
    } else {
      std::fputs(frontend::ps_table(rows).c_str(), stdout);
    }
    return 0;
  });

  static std::vector<std::string> refs;
  static int timeout = 10;
  auto* stop =
      app.add_subcommand("stop", "stop containers: SIGTERM, then SIGKILL after a grace period");
  stop->add_option("-t,--time", timeout, "seconds to wait before SIGKILL")
      ->default_val(10)
      ->check(CLI::NonNegativeNumber);
  stop->add_option("container", refs, "name or id")->required();
  env.add(stop,
          [&env] { return for_each(refs, [&](auto& r) { frontend::stop(env.env, r, timeout); }); });

  static std::string signal = "KILL";
  auto* kill = app.add_subcommand("kill", "send a signal to containers (default SIGKILL)");
  kill->add_option("-s,--signal", signal, "name or number");
  kill->add_option("container", refs, "name or id")->required();
  env.add(kill, [&env] {
    int sig = runtime::parse_signal(signal);
    return for_each(refs, [&](auto& r) { frontend::kill(env.env, r, sig); });
  });

  static bool force = false;
  auto* rm = app.add_subcommand("rm", "remove containers");
  rm->add_flag("-f,--force", force, "kill a running container first");
  rm->add_option("container", refs, "name or id")->required();
  env.add(rm,
          [&env] { return for_each(refs, [&](auto& r) { frontend::remove(env.env, r, force); }); });

  static bool follow = false;
  static std::string ref;
  auto* logs = app.add_subcommand("logs", "print what a detached container wrote");
  logs->add_flag("-f,--follow", follow, "keep printing until the container stops");
  logs->add_option("container", ref, "name or id")->required();
  env.add(logs, [&env] {
    frontend::logs(env.env, ref, follow);
    return 0;
  });

  auto* top =
      app.add_subcommand("top", "the processes of a container, with their PIDs inside and outside");
  top->add_option("container", ref, "name or id")->required();
  env.add(top, [&env] {
    std::fputs(frontend::top_table(env.env, ref).c_str(), stdout);
    return 0;
  });
}

}  // namespace hull::cli
