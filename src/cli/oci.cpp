// The OCI face: runc's command line, names, flags and exit codes (1 on any error; `run`
// exits with the container's code).
#include "cli/oci.h"

#include <unistd.h>

#include <cstdio>

#include "cli/cli.h"
#include "oci/state.h"
#include "runtime/state_store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/log_runc.h"
#include "util/strings.h"

namespace hull::cli {
namespace {

// The name engines and people called us by: "runc" when hull stands in for it on a PATH
// (containerd's go-runc parses "runc version X"), "hull-oci", or "hull" for `hull oci`.
std::string invoked_name(const char* argv0) {
  std::string name = basename_of(argv0 ? argv0 : "hull-oci");
  return name == "hull oci" ? "hull" : name;
}

}  // namespace

std::string absolute_path(const std::string& p) {
  if (p.empty() || p.front() == '/') return clean_path(p);
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) fail_errno("getcwd");
  return clean_path(path_join(cwd, p));
}

int oci_main(int argc, char** argv) {
  const std::string name = invoked_name(argc > 0 ? argv[0] : nullptr);
  CLI::App app{"an OCI container runtime (runc's command line)", name};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version,-v", [name] {
    print_oci_version(name);
    return std::string();
  });
  std::string root, log_file, log_format = "text", criu, rootless = "auto";
  bool debug = false, systemd_cgroup = false;
  app.add_option("--root", root, "state directory (default /run/hull; for other users $XDG_RUNTIME_DIR/hull)");
  app.add_option("--log", log_file, "log file (default: stderr)");
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", debug, "debug logging and step timings");
  app.add_flag("--systemd-cgroup", systemd_cgroup,
               "create puts the container in a systemd scope (cgroupsPath slice:prefix:name)");
  app.add_option("--criu", criu, "path to criu (checkpoint/restore is not supported)");
  app.add_option("--rootless", rootless, "auto, true or false")->check(CLI::IsMember({"auto", "true", "false"}));

  OciEnv env;
  register_lifecycle(app, env);
  register_exec(app, env);
  register_info(app, env);
  register_cgroup(app, env);

  // A word that is no command (`hull-oci foo -h` too) is an error, as runc's "No help topic
  // for 'foo'" / "command foo not found": scripts probe commands this way.
  auto unknown_command = [&app]() -> int {
    auto extra = app.remaining();
    if (!app.get_subcommands().empty() || extra.empty()) return 0;
    std::fprintf(stderr, "hull: unknown command %s: `%s --help` lists them\n",
                 quote(extra.front()).c_str(), app.get_name().c_str());
    return 1;
  };
  if (argc == 2 && std::string_view(argv[1]) == "help") {
    print_oci_help(app, name);
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    if (unknown_command()) return 1;
    if (app.get_subcommands().empty()) {
      print_oci_help(app, name);
      return 0;
    }
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion&) {
    return 0;
  } catch (const CLI::ParseError& e) {
    if (unknown_command()) return 1;
    std::fprintf(stderr, "hull: %s\n", e.what());
    return 1;
  }

  log::init({log_file, log_format == "json", debug});
  log::use_runc_layout_on_stderr();
  try {
    env.ctx.systemd_cgroup = systemd_cgroup;
    env.ctx.root = absolute_path(root.empty() ? runtime::default_state_root() : root);
    const CLI::App* sub = app.get_subcommands().front();
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
