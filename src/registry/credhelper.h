// docker's credential helpers: `credsStore` (every registry) and `credHelpers` (per registry)
// in ~/.docker/config.json (or podman's auth.json) name a program docker-credential-NAME on
// $PATH, run with one verb as its argument, as docker runs it:
//   get    stdin: the server ("localhost:5000", "https://index.docker.io/v1/");
//          stdout: {"ServerURL","Username","Secret"}; "<token>" as Username means Secret is an
//          identity token (an OAuth2 refresh token for the registry's token server).
//   store  stdin: {"ServerURL","Username","Secret"}
//   erase  stdin: the server
// "credentials not found in native keychain" on stdout (and a failure) means none stored.
// Every error is one line naming the helper and the registry.
#pragma once

#include <optional>
#include <string>

namespace hull::registry {

struct HelperCredentials {
  std::string user, secret;
};

// `name` is NAME of docker-credential-NAME; `server` the key docker uses for the registry;
// `domain` the registry as errors name it.
std::optional<HelperCredentials> helper_get(const std::string& name, const std::string& server,
                                            const std::string& domain);
void helper_store(const std::string& name, const std::string& server, const std::string& user,
                  const std::string& secret, const std::string& domain);
// False when the helper had nothing stored for `server`.
bool helper_erase(const std::string& name, const std::string& server, const std::string& domain);

}  // namespace hull::registry
