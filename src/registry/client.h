// One repository of one registry, spoken to over the OCI distribution API (v2): manifests,
// blobs, uploads, with the registry's authentication (none, basic, or bearer tokens from the
// WWW-Authenticate challenge, each cached for its scope and lifetime). Safe to use from several
// threads, each with a Connection of its own.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "registry/config.h"
#include "registry/http.h"

namespace hull::registry {

struct Challenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // lowercase names: realm, service, scope
};
// One WWW-Authenticate value (RFC 7235): `Bearer realm="https://auth",service="reg",scope="..."`.
Challenge parse_challenge(std::string_view text);

// `url` on plain HTTP if it is the registry's own https URL ("https://HOST" then a path, a
// query or nothing); nullopt for any other origin ("https://HOST.cdn.example", another port).
std::optional<std::string> own_url_as_http(const std::string& url, const std::string& host);

struct Manifest {
  std::string media_type;
  std::string body;
  std::string digest;  // sha256 of body, verified against what was asked for
};

class Client {
 public:
  // `domain` as references name it ("docker.io"), `repository` ("library/alpine"); `push`:
  // tokens ask for pull and push.
  Client(std::string domain, std::string repository, Endpoint endpoint, bool push = false);

  const std::string& domain() const { return domain_; }
  const std::string& repository() const { return repository_; }
  // "registry D, repository R: WHAT" — how every error of this client starts.
  [[noreturn]] void fail_here(const std::string& what) const;

  // Uses these instead of the ones the credential files have (`hull login`).
  void set_credentials(Credentials c);
  // GET /v2/ with the challenge answered: checks the credentials (`hull login`).
  void check_login(Connection& c);

  // A tag or digest; the digest of what came is checked against a digest asked for and
  // against the registry's Docker-Content-Digest.
  Manifest get_manifest(Connection& c, const std::string& reference);
  // Streams a blob into `sink`; `what` names it in errors ("layer sha256:...").
  void get_blob(Connection& c, const std::string& digest,
                const std::function<void(const char*, size_t)>& sink);
  // A whole (small) blob, its digest verified.
  std::string get_blob_data(Connection& c, const std::string& digest);

  // --- push ---
  bool has_blob(Connection& c, const std::string& digest);
  // Tries a cross-repository mount from `from` (same registry); true when it was mounted.
  bool mount_blob(Connection& c, const std::string& digest, const std::string& from);
  // Monolithic upload: POST then PUT ?digest= with the blob read from fd (size bytes); false
  // when the registry answers 413 (too large in one request): send it in chunks then.
  bool upload_blob(Connection& c, const std::string& digest, int fd, int64_t size);
  // Chunked upload (OCI distribution): POST, then PATCHes of `chunk` bytes (at least the
  // registry's OCI-Chunk-Min-Length) with Content-Range, each to the Location the last answer
  // gave and from where its Range says it is, then PUT ?digest=. `sent` hears the bytes the
  // registry has after each chunk.
  void upload_blob_chunked(Connection& c, const std::string& digest, int fd, int64_t size,
                           int64_t chunk, const std::function<void(int64_t)>& sent);
  void put_manifest(Connection& c, const std::string& reference, const std::string& media_type,
                    const std::string& body);

 private:
  struct Upload {
    std::string location;
    int64_t min_chunk = 0;
  };
  Upload start_upload(Connection& c, const std::string& digest);
  std::string with_digest(const std::string& location, const std::string& digest) const;
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  // Sends with the authorization the registry asked for, answering one challenge (401).
  Response send(Connection& c, Request r, const std::string& extra_scope = "");
  // Adds what is known (basic credentials, a live token); returns the scheme used or "".
  std::string authorize(Request& r, const std::string& scope_key);
  std::string where() const;
  std::string base() const;
  void answer_challenge(Connection& c, const Response& resp, const std::string& scope_key);
  std::string url(const std::string& path) const;
  [[noreturn]] void fail_status(const Response& r, const std::string& what) const;

  std::string domain_, repository_;
  Endpoint endpoint_;
  std::string actions_;  // "pull" or "pull,push"
  std::optional<Credentials> creds_;
  bool creds_loaded_ = false;
  mutable std::mutex mu_;
  std::string scheme_;                   // "" until challenged, then "basic" or "bearer"
  std::map<std::string, Token> tokens_;  // by scope
  bool used_credentials_ = false;
  std::string base_;      // "https://host", or "http://host" once HTTPS turned out not to be spoken
  bool probing_ = false;  // HTTP allowed and not yet known whether the registry speaks TLS
};

}  // namespace hull::registry
