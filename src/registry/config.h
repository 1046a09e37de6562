// Where registries are and how to talk to them, from the files docker and podman already use:
//  - /etc/containers/registries.conf ($CONTAINERS_REGISTRIES_CONF), v2 TOML: [[registry]]
//    location, insecure (plain HTTP allowed), blocked, and [[registry.mirror]] location/insecure.
//    unqualified-search-registries is not read: a short name means docker.io, as docker has it.
//  - credentials: ~/.docker/config.json ($DOCKER_CONFIG/config.json) "auths" (base64
//    "user:password"), and podman's auth.json ($REGISTRY_AUTH_FILE,
//    $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json), read in that order
//    (podman's files first, as podman does); `hull login` writes docker's file. A file's
//    credHelpers entry for the registry, else its credsStore, names a docker credential helper
//    (registry/credhelper.h) that is asked first, and that login and logout store and erase
//    through.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hull::registry {

// One place to reach a registry at. HTTPS always first; plain HTTP only where allowed.
struct Endpoint {
  std::string host;           // "registry-1.docker.io", "127.0.0.1:5000"
  bool http_allowed = false;  // loopback, or marked insecure: HTTP when TLS is not spoken
  bool insecure = false;  // no certificate check (marked insecure, or loopback as docker has it)
};

// The endpoints to pull `domain` ("docker.io", "localhost:5000") from, in order: its mirrors
// (registries.conf), then itself. Throws when registries.conf blocks it.
std::vector<Endpoint> pull_endpoints(const std::string& domain);
// The endpoint to push to (never a mirror).
Endpoint push_endpoint(const std::string& domain);

struct Credentials {
  std::string user, password;
  std::string file;  // where they came from
  // An identity token (a credential helper's "<token>" user): an OAuth2 refresh token that the
  // registry's token server exchanges for bearer tokens; `password` is then empty.
  std::string identity_token;
};
// For `domain` and `repository`: a file's "host/namespace" entry wins over its "host" one.
std::optional<Credentials> find_credentials(const std::string& domain,
                                            const std::string& repository);
// base64("user:password"), for an Authorization: Basic header.
std::string basic_token(const std::string& user, const std::string& password);
// docker's config.json, written whole to a temporary file and renamed (mode 0600).
std::string docker_config_path();
void store_credentials(const std::string& domain, const std::string& user,
                       const std::string& password);
// Removes `domain` from docker's config.json and podman's auth.json files, and from the
// credential helpers they name; the files and helpers changed.
std::vector<std::string> remove_credentials(const std::string& domain);

// Normalises what the user typed for login/logout ("https://index.docker.io/v1/",
// "localhost:5000/", "docker.io") to a registry domain.
std::string login_domain(const std::string& server);

}  // namespace hull::registry
