// `--version` and `--help` of the OCI face in runc's layout: engines parse `--version`
// (containerd's go-runc reads "<name> version X", "commit: ", "spec: "), people read --help.
#include <seccomp.h>

#include <cstdio>

#include "cli/oci.h"
#include "hull_commit.h"
#include "oci/state.h"

namespace hull::cli {

void print_oci_version(const std::string& name) {
  auto* v = seccomp_version();
  std::printf("%s version %s\ncommit: %s\nspec: %s\nlibseccomp: %u.%u.%u\n", name.c_str(),
              HULL_VERSION, HULL_COMMIT, oci::kSpecVersion, v->major, v->minor, v->micro);
  // What this build was compiled with (runc prints the same kind of line).
  std::printf(
      "features: +SECCOMP +CAP +CGROUPV1 +CGROUPV2 +USERNS +TIMENS +CLONE3 +PIDFD +OPENAT2 "
      "-SYSTEMD -CRIU -APPARMOR -SELINUX\n");
}

void print_oci_help(const CLI::App& app, const std::string& name) {
  auto row = [](const std::string& left, const std::string& right, size_t width) {
    std::printf("   %-*s  %s\n", static_cast<int>(width), left.c_str(), right.c_str());
  };
  std::printf("NAME:\n   %s - %s\n\n", name.c_str(), app.get_description().c_str());
  std::printf("USAGE:\n   %s [global options] command [command options] [arguments...]\n\n",
              name.c_str());
  std::printf("VERSION:\n   %s\ncommit: %s\nspec: %s\n\n", HULL_VERSION, HULL_COMMIT,
              oci::kSpecVersion);
  std::printf("COMMANDS:\n");
  auto subs = app.get_subcommands([](const CLI::App*) { return true; });
  size_t width = 4;
  for (const auto* s : subs) width = std::max(width, s->get_name().size());
  for (const auto* s : subs) row(s->get_name(), s->get_description(), width);
  row("help", "show this help, or a command's with `COMMAND --help`", width);
  std::printf("\nGLOBAL OPTIONS:\n");
  std::vector<std::pair<std::string, std::string>> opts;
  for (const auto* o : app.get_options()) {
    std::string names = o->get_name(false, true);
    if (o->get_type_size() != 0) names += " value";
    opts.emplace_back(names, o->get_description());
  }
  width = 4;
  for (const auto& [n, d] : opts) width = std::max(width, n.size());
  for (const auto& [n, d] : opts) row(n, d, width);
}

}  // namespace hull::cli
