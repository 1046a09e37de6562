// The OCI face: runc's command line, names, flags and exit codes.
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cgroup/layout.h"
#include "cli/cli.h"
#include "oci/generate.h"
#include "oci/parse.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cli {
namespace {

struct Global {
  std::string root = "/run/hull";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string criu;
  std::string rootless = "auto";
};

std::string absolute(const std::string& p) {
  if (p.empty()) return p;
  if (p.front() == '/') return clean_path(p);
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) fail_errno("getcwd");
  return clean_path(path_join(cwd, p));
}

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

int cmd_spec(const std::string& bundle, bool rootless) {
  std::string dir = bundle.empty() ? "." : bundle;
  std::string path = path_join(dir, "config.json");
  if (path_exists(path)) fail("{} exists: remove it first", path);
  oci::SpecOptions o;
  o.rootless = rootless;
  o.host_uid = ::geteuid();
  o.host_gid = ::getegid();
  write_file(path, oci::default_spec_json(o), 0644);
  return 0;
}

int cmd_features() {
  oci::FeatureFacts f;
  auto* v = seccomp_version();
  f.seccomp_version = fmt::format("{}.{}.{}", v->major, v->minor, v->micro);
  std::fputs(oci::features_json(f).c_str(), stdout);
  return 0;
}

void print_version(const char* prog) {
  auto* v = seccomp_version();
  std::printf("%s version %s\nspec: %s\nlibseccomp: %u.%u.%u\n", prog, HULL_VERSION, oci::kSpecVersion, v->major,
              v->minor, v->micro);
  std::printf("features: +CAP +SECCOMP +CGROUPV1 +CGROUPV2 +USERNS +TIMENS +PIDFD +CLONE3 -SYSTEMD -CRIU\n");
}

}  // namespace

int oci_main(int argc, char** argv) {
  CLI::App app{"hull: an OCI container runtime (runc's command line)", "hull-oci"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version,-v", [] { print_version("hull"); return std::string(); });
  Global g;
  app.add_option("--root", g.root, "state directory")->default_val("/run/hull");
  app.add_option("--log", g.log_file, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "debug logging and step timings");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "use systemd for cgroups (not supported)");
  app.add_option("--criu", g.criu, "path to criu (checkpoint/restore is not supported)");
  app.add_option("--rootless", g.rootless, "auto, true or false")->check(CLI::IsMember({"auto", "true", "false"}));

  runtime::CreateOptions create;
  std::string id;
  bool detach = false, keep = false, no_subreaper = false;

  auto add_create_flags = [&](CLI::App* c) {
    c->add_option("--bundle,-b", create.bundle, "bundle directory (default: current directory)");
    c->add_option("--pid-file", create.pid_file, "write the init's PID here");
    c->add_option("--console-socket", create.console_socket, "unix socket to receive the pty master");
    c->add_flag("--no-pivot", create.no_pivot, "MS_MOVE + chroot instead of pivot_root");
    c->add_flag("--no-new-keyring", create.no_new_keyring, "keep the caller's session keyring");
    c->add_option("--preserve-fds", create.preserve_fds, "pass fds 3..3+N-1 on")->check(CLI::NonNegativeNumber);
    c->add_option("id", id, "container id")->required();
  };
  auto* c_create = app.add_subcommand("create", "create a container");
  add_create_flags(c_create);
  auto* c_run = app.add_subcommand("run", "create and start a container, wait for it, delete it");
  add_create_flags(c_run);
  c_run->add_flag("--detach,-d", detach, "do not wait for the container");
  c_run->add_flag("--keep", keep, "do not delete the container after it exits");
  c_run->add_flag("--no-subreaper", no_subreaper, "accepted for compatibility");

  auto* c_start = app.add_subcommand("start", "start a created container");
  c_start->add_option("id", id)->required();
  auto* c_state = app.add_subcommand("state", "print a container's state JSON");
  c_state->add_option("id", id)->required();

  bool kill_all = false;
  std::string signal = "SIGTERM";
  auto* c_kill = app.add_subcommand("kill", "send a signal to the container's init");
  c_kill->add_flag("--all,-a", kill_all, "signal every process in the container");
  c_kill->add_option("id", id)->required();
  c_kill->add_option("signal", signal, "name or number (default SIGTERM)");

  bool force = false;
  auto* c_delete = app.add_subcommand("delete", "delete a container");
  c_delete->add_flag("--force,-f", force, "kill it first if it is running");
  c_delete->add_option("id", id)->required();

  std::string format = "table";
  bool quiet = false;
  auto* c_list = app.add_subcommand("list", "list containers");
  c_list->add_option("--format,-f", format)->check(CLI::IsMember({"table", "json"}));
  c_list->add_flag("--quiet,-q", quiet, "ids only");

  std::string spec_bundle;
  bool spec_rootless = false;
  auto* c_spec = app.add_subcommand("spec", "write a default config.json");
  c_spec->add_option("--bundle,-b", spec_bundle, "where to write it");
  c_spec->add_flag("--rootless", spec_rootless, "for an unprivileged user");

  app.add_subcommand("features", "print what this runtime implements (JSON)");
  for (const char* unsupported : {"checkpoint", "restore"}) {
    auto* s = app.add_subcommand(unsupported, "not supported (criu does not work on these hosts)");
    s->allow_extras();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion&) {
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "hull: %s\n", e.what());
    return 1;
  }

  log::init({g.log_file, g.log_format == "json", g.debug});
  runtime::Context ctx;
  ctx.root = absolute(g.root);
  CLI::App* sub = app.get_subcommands().front();
  std::string verb = sub->get_name();
  try {
    if (g.systemd_cgroup)
      fail("--systemd-cgroup: the systemd cgroup driver is not supported; hull drives cgroupfs directly");
    if (verb == "checkpoint" || verb == "restore")
      fail("{}: not supported: criu cannot checkpoint on this kernel", verb);
    if (verb == "spec") return cmd_spec(spec_bundle, spec_rootless);
    if (verb == "features") return cmd_features();
    if (verb == "list") {
      auto all = runtime::list(ctx);
      if (quiet) {
        for (const auto& s : all) std::puts(s.id.c_str());
      } else if (format == "json") {
        nlohmann::ordered_json arr = nlohmann::ordered_json::array();
        for (const auto& s : all) arr.push_back(nlohmann::ordered_json::parse(oci::state_to_public_json(s, false)));
        std::puts(arr.dump().c_str());
      } else {
        std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
        for (const auto& s : all)
          rows.push_back({s.id, std::to_string(s.status == oci::Status::stopped ? 0 : s.pid),
                          oci::status_name(s.status), s.bundle, s.created, s.owner.empty() ? "root" : s.owner});
        print_table(rows);
      }
      return 0;
    }
    if (verb == "state") {
      std::puts(oci::state_to_public_json(runtime::state(ctx, id)).c_str());
      return 0;
    }
    if (verb == "start") {
      with_context(fmt::format("start {}", id), [&] { runtime::start(ctx, id); });
      return 0;
    }
    if (verb == "kill") {
      int sig = runtime::parse_signal(signal);
      runtime::kill(ctx, id, sig, kill_all);
      return 0;
    }
    if (verb == "delete") {
      runtime::remove(ctx, id, force);
      return 0;
    }
    if (verb == "create" || verb == "run") {
      create.id = id;
      create.bundle = absolute(create.bundle.empty() ? "." : create.bundle);
      if (!create.pid_file.empty()) create.pid_file = absolute(create.pid_file);
      return with_context(fmt::format("{} {}", verb, id), [&] {
        std::string config_path = path_join(create.bundle, "config.json");
        auto text = read_file_if_exists(config_path);
        if (!text) fail_err(ENOENT, "open {}", config_path);
        auto spec = std::make_shared<const oci::Spec>(oci::parse_spec(*text));
        if (verb == "create") {
          runtime::create(ctx, create, spec, *text);
          return 0;
        }
        return runtime::run(ctx, create, spec, *text, detach, keep);
      });
    }
    fail("unknown command {}", verb);
  } catch (const Error& e) {
    log::error(e.what());
    return 1;
  } catch (const std::exception& e) {
    log::error(fmt::format("internal error: {}", e.what()));
    return 1;
  }
}

}  // namespace hull::cli
