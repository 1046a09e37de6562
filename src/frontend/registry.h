// The friendly face's registry verbs (docker's names and output): pull, push, login, logout,
// over src/registry/.
#pragma once

#include <string>

#include "frontend/store.h"

namespace hull::frontend {

struct PullCommand {
  std::string reference, platform;
  bool quiet = false;
};
// Prints progress (stdout) as it goes; returns what -q prints: the manifest digest.
std::string pull(const Env& env, const PullCommand& c);
// The pull `hull run` does for an image not in the store: progress on stderr, as docker's.
void pull_for_run(const Env& env, const std::string& reference);

void push(const Env& env, const std::string& reference, bool quiet);

struct LoginCommand {
  std::string server, user, password;
  bool password_stdin = false;
};
// Checks the credentials against the registry, then stores them; "Login Succeeded".
std::string login(const LoginCommand& c);
std::string logout(const std::string& server);

}  // namespace hull::frontend
