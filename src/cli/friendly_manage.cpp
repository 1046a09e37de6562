// ps, exec, stop, kill, rm, logs, top: containers addressed by name or id prefix.
#include <signal.h>

#include <cstdio>

#include "cli/friendly.h"
#include "frontend/containers.h"
#include "frontend/exec.h"
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

  static frontend::ExecOptions ex;
  auto* exec = app.add_subcommand("exec", "run a command in a running container");
  exec->add_flag("-i,--interactive", ex.interactive, "keep stdin open");
  exec->add_flag("-t,--tty", ex.tty, "allocate a terminal");
  exec->add_flag("-d,--detach", ex.detach, "run in the background (its output is discarded)");
  add_repeated(exec, "-e,--env", ex.env,
               "set an environment variable (NAME=VALUE, or NAME from hull's)");
  exec->add_option("-w,--workdir", ex.workdir, "working directory inside the container");
  exec->add_option("-u,--user", ex.user, "user[:group], by name or number");
  exec->add_option("container", ex.container, "name or id")->required();
  // Everything after the container is the command, flags included ("sh -c ...").
  exec->prefix_command();
  env.add_entering(exec, [&env, exec] {
    ex.command = exec->remaining();
    try {
      return frontend::exec(env.env, ex);
    } catch (const Error& e) {
      // docker's codes: 126 not executable, 127 not found, 125 hull's own failure.
      log::error(e.what());
      return frontend::exit_code_for(e);
    }
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

  auto* pause = app.add_subcommand("pause", "freeze every process of containers");
  pause->add_option("container", refs, "name or id")->required();
  env.add(pause, [&env] { return for_each(refs, [&](auto& r) { frontend::pause(env.env, r); }); });
  auto* unpause = app.add_subcommand("unpause", "thaw paused containers");
  unpause->add_option("container", refs, "name or id")->required();
  env.add(unpause,
          [&env] { return for_each(refs, [&](auto& r) { frontend::unpause(env.env, r); }); });

  static frontend::UpdateOptions up;
  auto* update =
      app.add_subcommand("update", "change the limits of running containers (docker's flags)");
  update->add_option("-m,--memory", up.memory, "memory limit (e.g. 256m)");
  update->add_option("--memory-swap", up.memory_swap,
                     "memory plus swap limit, -1 for unlimited swap");
  update->add_option("--memory-reservation", up.memory_reservation, "soft memory limit");
  update->add_option("--cpus", up.cpus, "CPUs (e.g. 0.5)");
  update->add_option("-c,--cpu-shares", up.cpu_shares, "relative CPU weight");
  update->add_option("--cpu-quota", up.cpu_quota,
                     "CFS quota in microseconds per period (-1: none)");
  update->add_option("--cpu-period", up.cpu_period, "CFS period in microseconds");
  update->add_option("--cpuset-cpus", up.cpuset_cpus, "CPUs to run on");
  update->add_option("--cpuset-mems", up.cpuset_mems, "memory nodes to use");
  update->add_option("--pids-limit", up.pids_limit, "most processes at once (-1 unlimited)");
  update->add_option("--blkio-weight", up.blkio_weight, "relative block I/O weight, 10 to 1000");
  update->add_option("--net-rate", up.net_rate,
                     "network shaping each way, e.g. 10mbit (none removes it)");
  update->add_option("--net-burst", up.net_burst, "token bucket size for --net-rate, e.g. 32k");
  update->add_option("container", refs, "name or id")->required();
  env.add(update, [&env] {
    bool net = !up.net_rate.empty() || !up.net_burst.empty();
    if (!up.net_burst.empty() && up.net_rate.empty()) fail("--net-burst needs --net-rate");
    std::optional<oci::Resources> resources;
    if (!net || up.any_resource()) resources = frontend::update_resources(up);
    return for_each(refs, [&](auto& r) {
      if (resources) frontend::update(env.env, r, *resources);
      if (net) frontend::update_net_rate(env.env, r, up.net_rate, up.net_burst);
    });
  });

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
