// The OCI face: runc's command line, names, flags and exit codes (1 on any error; `run`
// exits with the container's code).
#include "cli/oci.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <unistd.h>

#include <cstdio>

#include "cli/cli.h"
#include "oci/state.h"
#include "runtime/state_store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace hull::cli {
namespace {

void print_version() {
  auto* v = seccomp_version();
  std::printf("hull version %s\nspec: %s\nlibseccomp: %u.%u.%u\n", HULL_VERSION, oci::kSpecVersion, v->major,
              v->minor, v->micro);
  // What this build was compiled with (runc prints the same kind of line).
  std::printf("features: +SECCOMP +CAP +CGROUPV1 +CGROUPV2 +USERNS +TIMENS +CLONE3 +PIDFD +OPENAT2 "
              "-SYSTEMD -CRIU -APPARMOR -SELINUX\n");
}

}  // namespace

std::string absolute_path(const std::string& p) {
  if (p.empty() || p.front() == '/') return clean_path(p);
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) fail_errno("getcwd");
  return clean_path(path_join(cwd, p));
}

int oci_main(int argc, char** argv) {
  CLI::App app{"hull: an OCI container runtime (runc's command line)", "hull-oci"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version,-v", [] {
    print_version();
    return std::string();
  });
  std::string root, log_file, log_format = "text", criu, rootless = "auto";
  bool debug = false, systemd_cgroup = false;
  app.add_option("--root", root, "state directory (default /run/hull; for other users $XDG_RUNTIME_DIR/hull)");
  app.add_option("--log", log_file, "log file (default: stderr)");
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", debug, "debug logging and step timings");
  app.add_flag("--systemd-cgroup", systemd_cgroup, "use systemd for cgroups (not supported)");
  app.add_option("--criu", criu, "path to criu (checkpoint/restore is not supported)");
  app.add_option("--rootless", rootless, "auto, true or false")->check(CLI::IsMember({"auto", "true", "false"}));

  OciEnv env;
  register_lifecycle(app, env);
  register_exec(app, env);
  register_info(app, env);
  register_cgroup(app, env);

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

  log::init({log_file, log_format == "json", debug});
  try {
    if (systemd_cgroup)
      fail("--systemd-cgroup: the systemd cgroup driver is not supported; hull drives cgroupfs directly");
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
