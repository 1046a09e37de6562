#include "registry/config.h"

#include <arpa/inet.h>
#include <pwd.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "registry/credhelper.h"
#include "util/dynlib.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::registry {

using nlohmann::json;

namespace {

struct RegistryEntry {
  std::string location;
  bool insecure = false, blocked = false;
  std::vector<std::pair<std::string, bool>> mirrors;  // location, insecure
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string home_dir() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (struct passwd* pw = ::getpwuid(::getuid())) return pw->pw_dir;
  return "/root";
}

std::vector<RegistryEntry> read_registries_conf() {
  std::string path = env_or("CONTAINERS_REGISTRIES_CONF", "/etc/containers/registries.conf");
  std::vector<RegistryEntry> out;
  if (!path_exists(path)) return out;
  toml::table conf;
  try {
    conf = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail("{}: line {}: {}", path, e.source().begin.line, e.description());
  }
  const toml::array* regs = conf["registry"].as_array();
  if (!regs) return out;
  size_t i = 0;
  for (const auto& node : *regs) {
    const toml::table* t = node.as_table();
    std::string where = fmt::format("{}: [[registry]] #{}", path, ++i);
    if (!t) fail("{}: not a table", where);
    RegistryEntry e;
    e.location = (*t)["location"].value_or(std::string((*t)["prefix"].value_or(std::string())));
    if (e.location.empty()) fail("{}: no location", where);
    e.insecure = (*t)["insecure"].value_or(false);
    e.blocked = (*t)["blocked"].value_or(false);
    if (const toml::array* ms = (*t)["mirror"].as_array()) {
      for (const auto& m : *ms) {
        const toml::table* mt = m.as_table();
        std::string loc = mt ? (*mt)["location"].value_or(std::string()) : "";
        if (loc.empty()) fail("{}: a mirror without a location", where);
        e.mirrors.emplace_back(loc, (*mt)["insecure"].value_or(false));
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

// "docker.io" is reached at registry-1.docker.io; a location may name a path ("host/ns"):
// hull talks to its host.
std::string host_of(const std::string& location) {
  std::string host = location.substr(0, location.find('/'));
  return host == "docker.io" ? "registry-1.docker.io" : host;
}

bool loopback(const std::string& hostport) {
  std::string host = hostport;
  if (!host.empty() && host[0] == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (auto c = host.rfind(':'); c != std::string::npos && host.find(':') == c) {
    host = host.substr(0, c);
  }
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, as an address: "127.example.com" is a name like any other.
  struct in_addr a;
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

Endpoint make_endpoint(const std::string& location, bool insecure) {
  Endpoint e;
  e.host = host_of(location);
  e.http_allowed = insecure || loopback(e.host);
  e.insecure = e.http_allowed;
  return e;
}

const RegistryEntry* entry_for(const std::vector<RegistryEntry>& all, const std::string& domain) {
  for (const auto& e : all)
    if (e.location == domain) return &e;
  return nullptr;
}

// --- base64 from libcrypto (loaded on first use, as image/digest.cpp does) ---
struct B64 {
  int (*encode)(unsigned char*, const unsigned char*, int);
  int (*decode)(unsigned char*, const unsigned char*, int);
};
const B64& b64() {
  static const B64 api = [] {
    const char* name = "libcrypto.so.3";
    void* lib = load_library(name, "libssl3");
    B64 b;
    bind_symbol(lib, name, b.encode, "EVP_EncodeBlock");
    bind_symbol(lib, name, b.decode, "EVP_DecodeBlock");
    return b;
  }();
  return api;
}

std::string base64_encode(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n =
      b64().encode(reinterpret_cast<unsigned char*>(out.data()),
                   reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(n);
  return out;
}

std::optional<std::string> base64_decode(std::string in) {
  while (!in.empty() && std::isspace(static_cast<unsigned char>(in.back()))) in.pop_back();
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(3 * in.size() / 4 + 1, '\0');
  int n =
      b64().decode(reinterpret_cast<unsigned char*>(out.data()),
                   reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = in.size() >= 2 && in[in.size() - 1] == '=' ? (in[in.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(n - pad);
  return out;
}

std::vector<std::string> auth_files() {
  std::vector<std::string> files;
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) files.push_back(f);
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x)
    files.push_back(std::string(x) + "/containers/auth.json");
  files.push_back(home_dir() + "/.config/containers/auth.json");
  files.push_back(docker_config_path());
  return files;
}

// The keys a file may use for a domain: podman's bare "host", docker's URL forms.
std::vector<std::string> keys_for(const std::string& domain) {
  std::vector<std::string> k = {domain, "https://" + domain, "http://" + domain,
                                "https://" + domain + "/v1/", "https://" + domain + "/v2/"};
  if (domain == "docker.io")
    for (const char* d : {"https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"})
      k.push_back(d);
  return k;
}

json read_json_file(const std::string& path) {
  auto text = read_file_if_exists(path);
  if (!text || trim(*text).empty()) return json::object();
  try {
    json j = json::parse(*text);
    if (!j.is_object()) fail("{}: not a JSON object", path);
    return j;
  } catch (const json::exception& e) {
    fail("{}: {}", path, e.what());
  }
}

// The key docker files a registry's credentials under (and hands its helpers).
std::string server_key(const std::string& domain) {
  return domain == "docker.io" ? "https://index.docker.io/v1/" : domain;
}

// The credential helper a file names for `domain`: its credHelpers entry, else credsStore.
std::optional<std::string> helper_for(const json& j, const std::string& file,
                                      const std::string& domain) {
  if (j.contains("credHelpers")) {
    const json& h = j["credHelpers"];
    if (!h.is_object()) fail("{}: credHelpers: not an object", file);
    for (const auto& k : keys_for(domain)) {
      if (!h.contains(k)) continue;
      if (!h[k].is_string() || h[k].get<std::string>().empty())
        fail("{}: credHelpers.{}: not a helper name", file, k);
      return h[k].get<std::string>();
    }
  }
  if (j.contains("credsStore")) {
    if (!j["credsStore"].is_string()) fail("{}: credsStore: not a string", file);
    if (!j["credsStore"].get<std::string>().empty()) return j["credsStore"].get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

std::vector<Endpoint> pull_endpoints(const std::string& domain) {
  auto all = read_registries_conf();
  const RegistryEntry* e = entry_for(all, domain);
  if (e && e->blocked) fail("registry {} is blocked in registries.conf", domain);
  std::vector<Endpoint> out;
  if (e)
    for (const auto& [loc, insecure] : e->mirrors) out.push_back(make_endpoint(loc, insecure));
  out.push_back(make_endpoint(domain, e && e->insecure));
  return out;
}

Endpoint push_endpoint(const std::string& domain) {
  auto all = read_registries_conf();
  const RegistryEntry* e = entry_for(all, domain);
  if (e && e->blocked) fail("registry {} is blocked in registries.conf", domain);
  return make_endpoint(domain, e && e->insecure);
}

std::string basic_token(const std::string& user, const std::string& password) {
  return base64_encode(user + ":" + password);
}

std::string docker_config_path() {
  return env_or("DOCKER_CONFIG", home_dir() + "/.docker") + "/config.json";
}

std::optional<Credentials> find_credentials(const std::string& domain,
                                            const std::string& repository) {
  for (const auto& file : auth_files()) {
    json j = read_json_file(file);
    // A helper first, as docker asks it (the file's auths then only list the registry).
    if (auto helper = helper_for(j, file, domain)) {
      if (auto c = helper_get(*helper, server_key(domain), domain)) {
        std::string from = "credential helper docker-credential-" + *helper;
        if (c->user == "<token>") return Credentials{"", "", from, c->secret};
        return Credentials{c->user, c->secret, from, ""};
      }
    }
    if (!j.contains("auths") || !j["auths"].is_object()) continue;
    const json& auths = j["auths"];
    // The longest "domain/namespace" key that covers the repository, then the domain's.
    std::vector<std::string> candidates;
    std::string path = repository;
    while (!path.empty()) {
      candidates.push_back(domain + "/" + path);
      auto slash = path.rfind('/');
      path = slash == std::string::npos ? "" : path.substr(0, slash);
    }
    for (const auto& k : keys_for(domain)) candidates.push_back(k);
    for (const auto& key : candidates) {
      if (!auths.contains(key) || !auths[key].is_object()) continue;
      const json& a = auths[key];
      std::string encoded = a.value("auth", "");
      if (encoded.empty()) continue;
      auto decoded = base64_decode(encoded);
      auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos)
        fail("{}: auths.{}.auth: not base64 of user:password", file, key);
      return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1), file, ""};
    }
  }
  return std::nullopt;
}

void store_credentials(const std::string& domain, const std::string& user,
                       const std::string& password) {
  std::string path = docker_config_path();
  json j = read_json_file(path);
  if (!j.contains("auths") || !j["auths"].is_object()) j["auths"] = json::object();
  std::string key = server_key(domain);
  auto helper = helper_for(j, path, domain);
  if (helper) helper_store(*helper, key, user, password, domain);
  for (const auto& k : keys_for(domain)) j["auths"].erase(k);
  // With a helper the file only lists the registry, as docker writes it.
  j["auths"][key] = helper ? json::object() : json{{"auth", base64_encode(user + ":" + password)}};
  mkdir_p(dirname_of(path), 0700);
  atomic_write(path, j.dump(1, '\t') + "\n", 0600);
}

std::vector<std::string> remove_credentials(const std::string& domain) {
  std::vector<std::string> changed;
  for (const auto& file : auth_files()) {
    if (!path_exists(file)) continue;
    json j = read_json_file(file);
    if (auto helper = helper_for(j, file, domain);
        helper && helper_erase(*helper, server_key(domain), domain))
      changed.push_back("docker-credential-" + *helper);
    if (!j.contains("auths") || !j["auths"].is_object()) continue;
    size_t erased = 0;
    for (const auto& k : keys_for(domain)) erased += j["auths"].erase(k);
    if (!erased) continue;
    atomic_write(file, j.dump(1, '\t') + "\n", 0600);
    changed.push_back(file);
  }
  return changed;
}

std::string login_domain(const std::string& server) {
  std::string s = server;
  for (const char* p : {"https://", "http://"})
    if (s.rfind(p, 0) == 0) s = s.substr(std::string(p).size());
  while (!s.empty() && s.back() == '/') s.pop_back();
  if (auto slash = s.find('/'); slash != std::string::npos) s = s.substr(0, slash);
  if (s.empty()) fail("login: no registry given");
  if (s == "index.docker.io" || s == "registry-1.docker.io") s = "docker.io";
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '[' || c == ']'))
      fail("login: {}: not a registry host", quote(server));
  return s;
}

}  // namespace hull::registry
