// create, run, start, state, kill, delete, list.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/oci.h"
#include "oci/parse.h"
#include "util/error.h"
#include "util/fs.h"

namespace hull::cli {
namespace {

void print_table(const std::vector<std::vector<std::string>>& rows) {
  // runc's tabwriter: min width 12, padding 3.
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(12);
      width[i] = std::max(width[i], r[i].size() + 3);
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size(), ' ');
    }
    std::puts(line.c_str());
  }
}

struct CreateFlags {
  runtime::CreateOptions opts;
  std::string id;
  bool detach = false, keep = false, no_subreaper = false;
};

void add_create_flags(CLI::App* c, CreateFlags& f) {
  c->add_option("--bundle,-b", f.opts.bundle, "bundle directory (default: current directory)");
  c->add_option("--pid-file", f.opts.pid_file, "write the init's PID here");
  c->add_option("--console-socket", f.opts.console_socket, "unix socket to receive the pty master");
  c->add_flag("--no-pivot", f.opts.no_pivot, "MS_MOVE + chroot instead of pivot_root");
  c->add_flag("--no-new-keyring", f.opts.no_new_keyring, "keep the caller's session keyring");
  c->add_option("--preserve-fds", f.opts.preserve_fds, "pass fds 3..3+N-1 on")->check(CLI::NonNegativeNumber);
  c->add_option("id", f.id, "container id")->required();
}

int create_or_run(OciEnv& env, CreateFlags& f, bool run) {
  const char* verb = run ? "run" : "create";
  runtime::CreateOptions opts = f.opts;
  opts.id = f.id;
  opts.bundle = absolute_path(opts.bundle.empty() ? "." : opts.bundle);
  if (!opts.pid_file.empty()) opts.pid_file = absolute_path(opts.pid_file);
  return with_context(fmt::format("{} {}", verb, f.id), [&] {
    std::string config_path = path_join(opts.bundle, "config.json");
    auto text = read_file_if_exists(config_path);
    if (!text) fail_err(ENOENT, "open {}", config_path);
    // "invalid configuration" is runc's word for a config it refuses (docs/engine-errors.md).
    auto spec = std::make_shared<const oci::Spec>(
        with_context("invalid configuration", [&] { return oci::parse_spec(*text); }));
    if (!run) {
      runtime::create(env.ctx, opts, spec, *text);
      return 0;
    }
    // A foreground terminal relayed from a stdin that is no terminal would wait on a prompt
    // nobody sees (the default spec has terminal: true): refuse before anything is made.
    if (spec->process->terminal && opts.console_socket.empty() && !f.detach && !::isatty(0))
      fail("process.terminal is true but stdin is not a terminal: set \"terminal\": false in "
           "config.json, run from a terminal, or pass --console-socket");
    return runtime::run(env.ctx, opts, spec, *text, f.detach, f.keep);
  });
}

}  // namespace

void register_lifecycle(CLI::App& app, OciEnv& env) {
  static CreateFlags create_flags, run_flags;
  auto* create = app.add_subcommand("create", "create a container");
  add_create_flags(create, create_flags);
  env.add_entering(create, [&env] { return create_or_run(env, create_flags, false); });

  auto* run = app.add_subcommand("run", "create and start a container, wait for it, delete it");
  add_create_flags(run, run_flags);
  run->add_flag("--detach,-d", run_flags.detach, "do not wait for the container");
  run->add_flag("--keep", run_flags.keep, "do not delete the container after it exits");
  run->add_flag("--no-subreaper", run_flags.no_subreaper, "accepted for compatibility");
  env.add_entering(run, [&env] { return create_or_run(env, run_flags, true); });

  static std::string id;
  auto* start = app.add_subcommand("start", "start a created container");
  start->add_option("id", id)->required();
  env.add(start, [&env] {
    with_context(fmt::format("start {}", id), [&] { runtime::start(env.ctx, id); });
    return 0;
  });

  auto* state = app.add_subcommand("state", "print a container's state JSON");
  state->add_option("id", id)->required();
  env.add(state, [&env] {
    std::puts(oci::state_to_public_json(runtime::state(env.ctx, id)).c_str());
    return 0;
  });

  static bool kill_all = false;
  static std::string signal = "SIGTERM";
  auto* kill = app.add_subcommand("kill", "send a signal to the container's init");
  kill->add_flag("--all,-a", kill_all, "signal every process in the container");
  kill->add_option("id", id)->required();
  kill->add_option("signal", signal, "name or number (default SIGTERM)");
  env.add(kill, [&env] {
    runtime::kill(env.ctx, id, runtime::parse_signal(signal), kill_all);
    return 0;
  });

  static bool force = false;
  auto* del = app.add_subcommand("delete", "delete a container");
  del->add_flag("--force,-f", force, "kill it first if it is running");
  del->add_option("id", id)->required();
  env.add(del, [&env] {
    runtime::remove(env.ctx, id, force);
    return 0;
  });

  static std::string format = "table";
  static bool quiet = false;
  auto* list = app.add_subcommand("list", "list containers");
  list->add_option("--format,-f", format)->check(CLI::IsMember({"table", "json"}));
  list->add_flag("--quiet,-q", quiet, "ids only");
  env.add(list, [&env] {
    auto all = runtime::list(env.ctx);
    if (quiet) {
      for (const auto& s : all) std::puts(s.id.c_str());
    } else if (format == "json") {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& s : all) arr.push_back(nlohmann::ordered_json::parse(oci::state_to_public_json(s, false)));
      std::puts(arr.dump().c_str());
    } else {
      std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
      for (const auto& s : all)
        rows.push_back({s.id, std::to_string(s.status == oci::Status::stopped ? 0 : s.pid), oci::status_name(s.status),
                        s.bundle, s.created, s.owner.empty() ? "root" : s.owner});
      print_table(rows);
    }
    return 0;
  });
}

}  // namespace hull::cli
