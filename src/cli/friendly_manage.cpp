// ps, exec, stop, kill, rm, logs, top: containers addressed by name or id prefix.
#include <signal.h>

#include <cstdio>
#include <map>
#include <optional>

#include "cli/friendly.h"
#include "frontend/containers.h"
#include "frontend/copy.h"
#include "frontend/events.h"
#include "frontend/exec.h"
#include "frontend/human.h"
#include "frontend/template.h"
#include "frontend/views.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strings.h"

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
  static bool quiet = false;
  static frontend::PsOptions ps_opts;
  static int last = -1;
  static std::string format = "table";
  auto* ps = app.add_subcommand("ps", "list containers");
  ps->add_flag("-a,--all", ps_opts.all, "also the ones that exited");
  ps->add_flag("-q,--quiet", quiet, "ids only");
  ps->add_option("-n,--last", last, "the N newest containers, in any state");
  ps->add_flag("-l,--latest", ps_opts.latest, "the newest container, in any state");
  ps->add_flag("-s,--size", ps_opts.size, "the size of each container's writable layer");
  add_repeated(ps, "-f,--filter", ps_opts.filters,
               "name=NAME, id=PREFIX, status=created|running|paused|exited, label=KEY[=VALUE], "
               "network=NET");
  ps->add_option("--format", format,
                 "table, json (docker's: one object per line), or a Go template over docker's "
                 "fields: {{.ID}} {{.Names}} {{.Image}} {{.Status}} {{.Ports}} {{.Labels}} ... "
                 "(table TEMPLATE: with a header)");
  static bool hull_json = false;
  ps->add_flag("--json", hull_json,
               "hull's own JSON array: full ids, commands as lists, pids, exit codes, networks");
  env.add(ps, [&env] {
    if (last >= 0) ps_opts.last = static_cast<size_t>(last);
    std::optional<frontend::Template> tmpl;
    if (format != "table" && format != "json") tmpl.emplace("--format", format);
    auto rows = frontend::ps_select(env.env, ps_opts);
    if (quiet) {
      for (const auto& s : rows) std::printf("%s\n", s.meta.id.substr(0, 12).c_str());
    } else if (tmpl) {
      static const std::map<std::string, std::string> kHeaders = {
          {"ID", "CONTAINER ID"}, {"RunningFor", "CREATED"}, {"CreatedAt", "CREATED AT"}};
      std::vector<std::string> lines;
      if (tmpl->is_table()) lines.push_back(tmpl->header(kHeaders));
      for (const auto& s : rows)
        lines.push_back(tmpl->render(frontend::ps_fields(env.env, s, ps_opts.size)));
      std::fputs(frontend::format_lines(lines, tmpl->is_table()).c_str(), stdout);
    } else if (hull_json) {
      std::fputs(frontend::ps_json(env.env, rows).c_str(), stdout);
    } else if (format == "json") {
      std::fputs(frontend::ps_json_lines(env.env, rows, ps_opts.size).c_str(), stdout);
    } else {
      std::fputs(frontend::ps_table(env.env, rows, ps_opts.size).c_str(), stdout);
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

  static frontend::LogOptions log_opts;
  static std::string ref, tail = "all", since, until;
  auto* logs = app.add_subcommand(
      "logs", "print what a detached container wrote: its stdout on stdout, its stderr on stderr");
  logs->add_flag("-f,--follow", log_opts.follow, "keep printing until the container stops");
  logs->add_option("-n,--tail", tail, "only the last N lines (default all)");
  logs->add_option("--since", since,
                   "lines since a time: 2026-01-02T13:23:37Z, Unix seconds, or 42m back from now");
  logs->add_option("--until", until, "lines before a time (the same forms as --since)");
  logs->add_flag("-t,--timestamps", log_opts.timestamps, "each line after the time it was written");
  logs->add_option("container", ref, "name or id")->required();
  env.add(logs, [&env] {
    if (tail != "all") {
      auto n = parse_u64(tail);
      if (!n) fail("--tail: {} is not a number of lines (or all)", quote(tail));
      log_opts.tail = *n;
    }
    if (!since.empty()) log_opts.since = frontend::parse_log_time("--since", since);
    if (!until.empty()) log_opts.until = frontend::parse_log_time("--until", until);
    frontend::logs(env.env, ref, log_opts);
    return 0;
  });

  static frontend::EventOptions ev;
  static std::string ev_since, ev_until;
  auto* events =
      app.add_subcommand("events", "containers' events as they happen (docker's stream)");
  events->add_option("--since", ev_since,
                     "from this time on (RFC 3339, Unix seconds, or 10m back)");
  events->add_option("--until", ev_until, "until this time, then exit");
  add_repeated(events, "-f,--filter", ev.filters,
               "container=NAME|ID, event=create|start|die|oom|destroy|..., type=container, "
               "label=KEY[=VALUE], image=IMAGE");
  events->add_option("--format", ev.format, "json (one object a line), or a Go template");
  env.add(events, [&env] {
    if (!ev_since.empty()) ev.since = frontend::parse_log_time("--since", ev_since);
    if (!ev_until.empty()) ev.until = frontend::parse_log_time("--until", ev_until);
    frontend::print_events(env.env, ev);
    return 0;
  });

  static std::string cp_src, cp_dst;
  auto* cp = app.add_subcommand(
      "cp", "copy files between a running container and the host (CONTAINER:PATH on one side)");
  cp->add_option("source", cp_src, "CONTAINER:SRC or a host path")->required();
  cp->add_option("destination", cp_dst, "a host path or CONTAINER:DEST")->required();
  env.add(cp, [&env] {
    frontend::copy(env.env, cp_src, cp_dst);
    return 0;
  });

  static std::string new_name;
  auto* rename = app.add_subcommand("rename", "give a container another name");
  rename->add_option("container", ref, "name or id")->required();
  rename->add_option("name", new_name, "its new name")->required();
  env.add(rename, [&env] {
    frontend::rename(env.env, ref, new_name);
    return 0;
  });

  auto* wait =
      app.add_subcommand("wait", "wait for containers to stop, and print their exit codes");
  wait->add_option("container", refs, "name or id")->required();
  env.add(wait, [&env] {
    int rc = 0;
    for (const auto& r : refs) {
      try {
        std::printf("%d\n", frontend::wait(env.env, r));
        std::fflush(stdout);
      } catch (const Error& e) {
        log::error(e.what());
        rc = 1;
      }
    }
    return rc;
  });

  static std::string private_port;
  auto* port =
      app.add_subcommand("port", "the host addresses a container's ports are published on");
  port->add_option("container", ref, "name or id")->required();
  port->add_option("port", private_port, "PORT[/PROTO]: only this one");
  env.add(port, [&env] {
    for (const auto& l : frontend::ports(env.env, ref, private_port))
      std::printf("%s\n", l.c_str());
    return 0;
  });

  auto* top =
      app.add_subcommand("top", "the processes of a container, with their PIDs inside and outside");
  top->add_option("container", ref, "name or id")->required();
  // docker top CONTAINER [ps OPTIONS]: everything after the container goes to ps.
  top->prefix_command();
  env.add(top, [&env, top] {
    auto ps_args = top->remaining();
    if (ps_args.empty()) {
      std::fputs(frontend::top_table(env.env, ref).c_str(), stdout);
    } else {
      std::string id = frontend::running_id(env.env, ref);
      std::fputs(runtime::ps_table(runtime::container_pids(env.env.ctx(), id), ps_args).c_str(),
                 stdout);
    }
    return 0;
  });
}

}  // namespace hull::cli
