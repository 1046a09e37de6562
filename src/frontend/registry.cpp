#include "frontend/registry.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "frontend/images.h"
#include "image/reference.h"
#include "registry/client.h"
#include "registry/config.h"
#include "registry/pull.h"
#include "registry/push.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {

std::string pull(const Env& env, const PullCommand& c) {
  image::Store store = image_store(env);
  registry::Progress progress(registry::Progress::mode_for(c.quiet, stdout), stdout);
  registry::PullOptions o;
  o.platform = c.platform;
  o.progress = &progress;
  auto r = registry::pull_image(store, c.reference, o);
  if (!c.quiet) std::printf("%s\n", r.full_name.c_str());
  return r.manifest_digest;
}

void pull_for_run(const Env& env, const std::string& reference) {
  image::Store store = image_store(env);
  registry::Progress progress(registry::Progress::mode_for(false, stderr), stderr);
  registry::PullOptions o;
  o.progress = &progress;
  registry::pull_image(store, reference, o);
}

void push(const Env& env, const std::string& reference, bool quiet) {
  image::Store store = image_store(env);
  registry::Progress progress(registry::Progress::mode_for(quiet, stdout), stdout);
  auto r = registry::push_image(store, reference, &progress);
  if (quiet) std::printf("%s\n", r.manifest_digest.c_str());
}

namespace {

std::string prompt(const char* text, bool echo) {
  if (!::isatty(0)) fail("login: no {} given, and stdin is not a terminal to ask on", text);
  std::fprintf(stderr, "%s: ", text);
  std::fflush(stderr);
  struct termios saved, t;
  bool restore = !echo && ::tcgetattr(0, &saved) == 0;
  if (restore) {
    t = saved;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSANOW, &t);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    ::tcsetattr(0, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  }
  return line;
}

}  // namespace

std::string login(const LoginCommand& c) {
  std::string domain = registry::login_domain(c.server.empty() ? "docker.io" : c.server);
  std::string user = c.user, password = c.password;
  if (c.password_stdin) {
    if (!password.empty()) fail("login: --password and --password-stdin are exclusive");
    if (user.empty()) fail("login: --password-stdin needs --username");
    password = read_fd(0);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
      password.pop_back();
  }
  if (user.empty()) user = prompt("Username", true);
  if (password.empty()) password = prompt("Password", false);
  if (user.empty() || password.empty()) fail("login: a user name and a password are needed");
  registry::Client client(domain, "", registry::push_endpoint(domain));
  client.set_credentials({user, password, "the command line", ""});
  registry::Connection conn;
  client.check_login(conn);
  registry::store_credentials(domain, user, password);
  return "Login Succeeded";
}

std::string logout(const std::string& server) {
  std::string domain = registry::login_domain(server.empty() ? "docker.io" : server);
  auto changed = registry::remove_credentials(domain);
  if (changed.empty()) return fmt::format("Not logged in to {}", domain);
  return fmt::format("Removing login credentials for {}", domain);
}

}  // namespace hull::frontend
