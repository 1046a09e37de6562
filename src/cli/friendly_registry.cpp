// Registry verbs, docker's names and flags: pull, push, login, logout.
#include <cstdio>

#include "cli/friendly.h"
#include "frontend/registry.h"

namespace hull::cli {

void register_registry_verbs(CLI::App& app, FriendlyEnv& env) {
  static frontend::PullCommand pull_cmd;
  auto* pull = app.add_subcommand("pull", "pull an image from a registry into the store");
  pull->add_option("--platform", pull_cmd.platform,
                   "os/arch[/variant] from a multi-platform image (default: this host's)");
  pull->add_flag("-q,--quiet", pull_cmd.quiet, "print only the image's manifest digest");
  pull->add_option("image", pull_cmd.reference, "name[:tag|@digest]")->required();
  env.add(pull, [&env] {
    std::string digest = frontend::pull(env.env, pull_cmd);
    if (pull_cmd.quiet) std::printf("%s\n", digest.c_str());
    return 0;
  });

  static std::string push_ref;
  static bool push_quiet = false;
  auto* push = app.add_subcommand("push", "push an image of the store to a registry");
  push->add_flag("-q,--quiet", push_quiet, "print only the pushed manifest's digest");
  push->add_option("image", push_ref, "name[:tag]")->required();
  env.add(push, [&env] {
    frontend::push(env.env, push_ref, push_quiet);
    return 0;
  });

  static frontend::LoginCommand login_cmd;
  auto* login = app.add_subcommand(
      "login", "log in to a registry (stored in ~/.docker/config.json, as docker does)");
  login->add_option("-u,--username", login_cmd.user, "user name");
  login->add_option("-p,--password", login_cmd.password, "password (--password-stdin is safer)");
  login->add_flag("--password-stdin", login_cmd.password_stdin, "read the password from stdin");
  login->add_option("server", login_cmd.server, "registry (default docker.io)");
  env.add(login, [] {
    std::printf("%s\n", frontend::login(login_cmd).c_str());
    return 0;
  });

  static std::string logout_server;
  auto* logout = app.add_subcommand("logout", "forget a registry's credentials");
  logout->add_option("server", logout_server, "registry (default docker.io)");
  env.add(logout, [] {
    std::printf("%s\n", frontend::logout(logout_server).c_str());
    return 0;
  });
}

}  // namespace hull::cli
