#include "registry/client.h"

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::registry {

using nlohmann::json;

namespace {

constexpr const char* kAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// The registry's own words: {"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}.
std::string registry_message(const Response& r) {
  try {
    json j = json::parse(r.body);
    if (j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
      const json& e = j["errors"][0];
      std::string m = e.value("message", "");
      std::string code = e.value("code", "");
      return m.empty() ? code : m;
    }
    if (j.contains("details") && j["details"].is_string()) return j["details"];
  } catch (const json::exception&) {
  }
  std::string b(trim(r.body.substr(0, 200)));
  for (char& ch : b)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return b;
}

std::string media_type_of(const Response& r, const std::string& body) {
  std::string ct = r.header("content-type");
  ct = std::string(trim(ct.substr(0, ct.find(';'))));
  if (!ct.empty() && ct != "application/json" && ct != "text/plain") return ct;
  try {
    return json::parse(body).value("mediaType", "");
  } catch (const json::exception&) {
    return "";
  }
}

}  // namespace

std::optional<std::string> own_url_as_http(const std::string& url, const std::string& host) {
  const std::string https = "https://" + host;
  if (url.rfind(https, 0) != 0) return std::nullopt;
  if (url.size() > https.size() && url[https.size()] != '/' && url[https.size()] != '?')
    return std::nullopt;
  return "http://" + host + url.substr(https.size());
}

// `Bearer realm="https://auth",service="reg",scope="repository:a:pull"` (RFC 7235).
Challenge parse_challenge(std::string_view s) {
  Challenge c;
  s = trim(s);
  auto sp = s.find(' ');
  c.scheme = to_lower(s.substr(0, sp));
  if (sp == std::string_view::npos) return c;
  size_t i = sp + 1;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',')) i++;
    auto eq = s.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = to_lower(trim(s.substr(i, eq - i)));
    i = eq + 1;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      for (i++; i < s.size() && s[i] != '"'; i++) {
        if (s[i] == '\\' && i + 1 < s.size()) i++;
        value += s[i];
      }
      i++;
    } else {
      auto end = s.find(',', i);
      value = trim(s.substr(i, end == std::string_view::npos ? s.size() - i : end - i));
      i = end == std::string_view::npos ? s.size() : end;
    }
    c.params[key] = value;
  }
  return c;
}

Client::Client(std::string domain, std::string repository, Endpoint endpoint, bool push)
    : domain_(std::move(domain)),
      repository_(std::move(repository)),
      endpoint_(std::move(endpoint)),
      actions_(push ? "pull,push" : "pull"),
      base_("https://" + endpoint_.host),
      probing_(endpoint_.http_allowed) {}

void Client::fail_here(const std::string& what) const {
  fail("{}: {}", where(), what);
}

std::string Client::base() const {
  std::lock_guard lock(mu_);
  return base_;
}

std::string Client::url(const std::string& path) const {
  return base() + path;
}

void Client::fail_status(const Response& r, const std::string& what) const {
  std::string msg = registry_message(r);
  if (r.status == 401) {
    if (used_credentials_)
      fail_here(fmt::format("{}: unauthorized: {} ({}){}", what,
                            creds_->identity_token.empty() ? "wrong user name or password"
                                                           : "the identity token was refused",
                            creds_->file, msg.empty() ? "" : ": " + msg));
    fail_here(fmt::format("{}: unauthorized{}; log in with \"hull login {}\"", what,
                          msg.empty() ? "" : " (" + msg + ")", domain_));
  }
  if (r.status == 403) fail_here(fmt::format("{}: denied: {}", what, msg));
  if (r.status == 404)
    fail_here(fmt::format("{} unknown{}", what, msg.empty() ? "" : " (" + msg + ")"));
  if (r.status == 429) fail_here(fmt::format("{}: rate limited: {}", what, msg));
  fail_here(fmt::format("{}: HTTP {}{}", what, r.status, msg.empty() ? "" : ": " + msg));
}

std::string Client::where() const {
  if (repository_.empty()) return fmt::format("registry {}", domain_);
  return fmt::format("registry {}, repository {}", domain_, repository_);
}

std::string Client::authorize(Request& r, const std::string& scope_key) {
  std::lock_guard lock(mu_);
  if (!creds_loaded_) {
    creds_ = find_credentials(domain_, repository_);
    creds_loaded_ = true;
  }
  if (scheme_ == "basic" && creds_ && creds_->identity_token.empty()) {
    // libcurl's own basic auth would follow a redirect to a blob store; a header does not.
    r.headers.push_back("Authorization: Basic " + basic_token(creds_->user, creds_->password));
    used_credentials_ = true;
    return "basic";
  }
  if (scheme_ == "bearer") {
    auto it = tokens_.find(scope_key);
    if (it != tokens_.end() && it->second.expires > std::chrono::steady_clock::now() &&
        !it->second.value.empty()) {
      r.headers.push_back("Authorization: Bearer " + it->second.value);
      return "bearer";
    }
  }
  return "";
}

void Client::answer_challenge(Connection& c, const Response& resp, const std::string& scope_key) {
  Challenge chosen;
  for (const auto& text : resp.challenges) {
    Challenge ch = parse_challenge(text);
    if (ch.scheme == "bearer" || (ch.scheme == "basic" && chosen.scheme.empty())) chosen = ch;
  }
  std::lock_guard lock(mu_);
  if (!creds_loaded_) {
    creds_ = find_credentials(domain_, repository_);
    creds_loaded_ = true;
  }
  scheme_ = chosen.scheme;
  if (chosen.scheme == "basic" && creds_ && !creds_->identity_token.empty())
    fail_here(
        fmt::format("the {} gave an identity token, and the registry asks for a user "
                    "name and password (basic auth); log in with \"hull login {}\"",
                    creds_->file, domain_));
  if (chosen.scheme != "bearer") return;
  std::string realm = chosen.params["realm"];
  if (realm.empty()) fail_here("the registry's bearer challenge names no realm");
  std::string q = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (!chosen.params["service"].empty()) q += "service=" + url_escape(chosen.params["service"]);
  // Our scopes (all the repositories an operation touches), and the registry's if it differs.
  std::vector<std::string> scopes = split(scope_key, ' ');
  for (const auto& s : split(chosen.params["scope"], ' '))
    if (!s.empty() && std::find(scopes.begin(), scopes.end(), s) == scopes.end())
      scopes.push_back(s);
  for (const auto& s : scopes)
    if (!s.empty()) q += "&scope=" + url_escape(s);
  Request tr;
  tr.url = q;
  tr.insecure_tls = endpoint_.insecure;
  if (creds_ && !creds_->identity_token.empty()) {
    // docker's OAuth2 flow: the identity token is a refresh token, POSTed as a form.
    tr.method = "POST";
    tr.url = realm;
    tr.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    tr.body = "grant_type=refresh_token&client_id=hull&refresh_token=" +
              url_escape(creds_->identity_token);
    if (!chosen.params["service"].empty())
      tr.body += "&service=" + url_escape(chosen.params["service"]);
    for (const auto& s : scopes)
      if (!s.empty()) tr.body += "&scope=" + url_escape(s);
    used_credentials_ = true;
  } else if (creds_) {
    tr.headers.push_back("Authorization: Basic " + basic_token(creds_->user, creds_->password));
    used_credentials_ = true;
  }
  Response t = with_context(where() + ": token server", [&] { return c.perform(tr); });
  if (!t.ok()) fail_status(t, "token from " + url_origin(realm));
  json j;
  try {
    j = json::parse(t.body);
  } catch (const json::exception& e) {
    fail_here(fmt::format("token from {}: not JSON: {}", url_origin(realm), e.what()));
  }
  std::string token = j.value("token", "");
  if (token.empty()) token = j.value("access_token", "");
  if (token.empty())
    fail_here(fmt::format("token from {}: no token in the answer", url_origin(realm)));
  int64_t life = j.value("expires_in", int64_t{60});
  if (life < 60) life = 60;  // the distribution spec's minimum
  tokens_[scope_key] = {token, std::chrono::steady_clock::now() + std::chrono::seconds(life - 5)};
}

Response Client::send(Connection& c, Request r, const std::string& extra_scope) {
  std::string scope_key = repository_.empty() ? "" : "repository:" + repository_ + ":" + actions_;
  if (!extra_scope.empty()) scope_key += (scope_key.empty() ? "" : " ") + extra_scope;
  r.insecure_tls = endpoint_.insecure;
  off_t start = r.body_fd >= 0 ? ::lseek(r.body_fd, 0, SEEK_CUR) : 0;
  bool had_basic = false;
  const std::string http = "http://" + endpoint_.host;
  auto attempt = [&] {
    bool probe;
    {
      std::lock_guard lock(mu_);
      probe = probing_;
      // A URL made from base_ before another thread's probe found that the registry speaks
      // plain HTTP (parallel blob requests of one push): the scheme is the one learnt since.
      if (!probe && base_ == http)
        if (auto plain = own_url_as_http(r.url, endpoint_.host)) r.url = *plain;
    }
    Request a = r;
    had_basic = authorize(a, scope_key) == "basic";
    a.tls_probe = probe;
    Response resp = with_context(where(), [&] { return c.perform(a); });
    if (!probe) return resp;
    {
      // What the first answer showed holds for every later request.
      std::lock_guard lock(mu_);
      probing_ = false;
      if (resp.tls_failed) base_ = http;
    }
    if (!resp.tls_failed) return resp;
    if (auto plain = own_url_as_http(r.url, endpoint_.host)) r.url = *plain;
    a.url = r.url;
    a.tls_probe = false;
    return with_context(where(), [&] { return c.perform(a); });
  };
  Response resp = attempt();
  if (resp.status == 401 && !resp.challenges.empty()) {
    answer_challenge(c, resp, scope_key);
    bool retry;
    {
      std::lock_guard lock(mu_);
      // Bearer: once, with the new token. Basic: once, unless credentials went with it
      // already (another thread may have learnt the scheme first).
      retry = scheme_ == "bearer" || (scheme_ == "basic" && creds_ && !had_basic);
    }
    if (retry) {
      if (r.body_fd >= 0 && ::lseek(r.body_fd, start, SEEK_SET) < 0)
        fail_errno("rewind the upload");
      resp = attempt();
    }
  }
  return resp;
}

void Client::set_credentials(Credentials c) {
  std::lock_guard lock(mu_);
  creds_ = std::move(c);
  creds_loaded_ = true;
}

void Client::check_login(Connection& c) {
  Request r;
  r.url = url("/v2/");
  Response resp = send(c, r);
  if (!resp.ok()) fail_status(resp, "login");
}

Manifest Client::get_manifest(Connection& c, const std::string& reference) {
  Request r;
  r.url = url("/v2/" + repository_ + "/manifests/" + reference);
  r.headers.push_back(kAccept);
  Response resp = send(c, r);
  std::string what = fmt::format("manifest {}", quote(reference));
  if (!resp.ok()) fail_status(resp, what);
  Manifest m;
  m.body = std::move(resp.body);
  m.digest = image::sha256_digest(m.body);
  std::string expected =
      image::valid_digest(reference) ? reference : resp.header("docker-content-digest");
  if (image::valid_digest(expected) && expected != m.digest)
    fail_here(fmt::format("{}: digest mismatch: expected {}, got {}", what, expected, m.digest));
  m.media_type = media_type_of(resp, m.body);
  return m;
}

void Client::get_blob(Connection& c, const std::string& digest,
                      const std::function<void(const char*, size_t)>& sink) {
  Request r;
  r.url = url("/v2/" + repository_ + "/blobs/" + digest);
  r.sink = sink;
  Response resp = send(c, r);
  if (!resp.ok()) fail_status(resp, "blob " + digest);
}

std::string Client::get_blob_data(Connection& c, const std::string& digest) {
  std::string data;
  image::Sha256 h;
  get_blob(c, digest, [&](const char* p, size_t n) {
    if (data.size() + n > (64u << 20))
      fail_here(fmt::format("blob {}: larger than 64 MiB", digest));
    data.append(p, n);
    h.update(p, n);
  });
  std::string got = h.digest();
  if (got != digest) fail_here(fmt::format("blob {}: digest mismatch: got {}", digest, got));
  return data;
}

bool Client::has_blob(Connection& c, const std::string& digest) {
  Request r;
  r.method = "HEAD";
  r.url = url("/v2/" + repository_ + "/blobs/" + digest);
  Response resp = send(c, r);
  if (resp.ok()) return true;
  if (resp.status == 404) return false;
  fail_status(resp, "blob " + digest);
}

bool Client::mount_blob(Connection& c, const std::string& digest, const std::string& from) {
  Request r;
  r.method = "POST";
  r.url = url("/v2/" + repository_ + "/blobs/uploads/?mount=" + url_escape(digest) +
              "&from=" + url_escape(from));
  Response resp = send(c, r, "repository:" + from + ":pull");
  if (resp.status == 201) return true;
  if (resp.status == 202) {
    // The registry opened an upload instead: close it, the caller uploads.
    std::string loc = resp.header("location");
    if (!loc.empty()) {
      Request d;
      d.method = "DELETE";
      d.url = loc.rfind("http", 0) == 0 ? loc : url(loc);
      send(c, d);
    }
    return false;
  }
  if (resp.status == 401 || resp.status == 403 || resp.status == 404) return false;
  fail_status(resp, "mount blob " + digest + " from " + from);
}

Client::Upload Client::start_upload(Connection& c, const std::string& digest) {
  Request start;
  start.method = "POST";
  start.url = url("/v2/" + repository_ + "/blobs/uploads/");
  Response resp = send(c, start);
  if (resp.status != 202) fail_status(resp, "start the upload of blob " + digest);
  Upload u;
  u.location = resp.header("location");
  if (u.location.empty()) fail_here("upload of blob " + digest + ": the registry gave no Location");
  if (u.location.rfind("http", 0) != 0) u.location = url(u.location);
  // OCI distribution 1.1: the smallest chunk the registry takes (but the last).
  if (auto min = parse_i64(resp.header("oci-chunk-min-length")); min && *min > 0)
    u.min_chunk = *min;
  return u;
}

std::string Client::with_digest(const std::string& location, const std::string& digest) const {
  return location + (location.find('?') == std::string::npos ? "?" : "&") +
         "digest=" + url_escape(digest);
}

bool Client::upload_blob(Connection& c, const std::string& digest, int fd, int64_t size) {
  Upload u = start_upload(c, digest);
  Request put;
  put.method = "PUT";
  put.url = with_digest(u.location, digest);
  put.headers.push_back("Content-Type: application/octet-stream");
  put.body_fd = fd;
  put.body_size = size;
  Response done = send(c, put);
  // Too large to take whole: the caller sends it in chunks.
  if (done.status == 413) return false;
  if (done.status != 201) fail_status(done, "upload of blob " + digest);
  return true;
}

void Client::upload_blob_chunked(Connection& c, const std::string& digest, int fd, int64_t size,
                                 int64_t chunk, const std::function<void(int64_t)>& sent) {
  Upload u = start_upload(c, digest);
  chunk = std::max(chunk, u.min_chunk);
  std::string what = "upload of blob " + digest;
  int64_t offset = 0;
  while (offset < size) {
    int64_t len = std::min(chunk, size - offset);
    if (::lseek(fd, offset, SEEK_SET) < 0) fail_errno("seek in blob {}", digest);
    Request patch;
    patch.method = "PATCH";
    patch.url = u.location;
    patch.headers.push_back("Content-Type: application/octet-stream");
    patch.headers.push_back(fmt::format("Content-Range: {}-{}", offset, offset + len - 1));
    patch.body_fd = fd;
    patch.body_size = len;
    Response resp = send(c, patch);
    if (resp.status == 416)
      fail_here(fmt::format(
          "{}: the registry refused the chunk at {} ({})", what, offset,
          resp.header("range").empty() ? "no Range given" : "it has " + resp.header("range")));
    if (resp.status != 202) fail_status(resp, what);
    if (std::string loc = resp.header("location"); !loc.empty())
      u.location = loc.rfind("http", 0) == 0 ? loc : url(loc);
    // What the registry has ("0-END"): the next chunk starts after it.
    int64_t next = offset + len;
    if (std::string range = resp.header("range"); !range.empty()) {
      auto dash = range.find('-');
      auto end = dash == std::string::npos ? std::nullopt : parse_i64(range.substr(dash + 1));
      if (!end || *end + 1 > offset + len || *end + 1 <= offset)
        fail_here(fmt::format("{}: the registry says it has {} after the chunk {}-{}", what,
                              quote(range), offset, offset + len - 1));
      next = *end + 1;
    }
    offset = next;
    if (sent) sent(offset);
  }
  Request put;
  put.method = "PUT";
  put.url = with_digest(u.location, digest);
  put.headers.push_back("Content-Type: application/octet-stream");
  Response done = send(c, put);
  if (done.status != 201) fail_status(done, what);
}

void Client::put_manifest(Connection& c, const std::string& reference,
                          const std::string& media_type, const std::string& body) {
  Request r;
  r.method = "PUT";
  r.url = url("/v2/" + repository_ + "/manifests/" + reference);
  r.headers.push_back("Content-Type: " + media_type);
  r.body = body;
  Response resp = send(c, r);
  if (resp.status != 201 && !resp.ok()) fail_status(resp, "manifest " + quote(reference));
}

}  // namespace hull::registry
