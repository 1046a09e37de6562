// HTTP over libcurl (registry/curl.h): one Connection is one easy handle, reused for every
// request made through it so its connection (and TLS session, HTTP/2 stream) stays open.
// Redirects are followed; a 2xx body can stream into a sink while it arrives.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hull::registry {

struct Request {
  std::string method = "GET";  // GET HEAD PUT POST PATCH DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // What to send (PUT/POST/PATCH): `body`, or `body_fd` read from its offset for body_size bytes.
  std::string body;
  int body_fd = -1;
  int64_t body_size = 0;
  // A 2xx response's body goes to the sink when there is one (else into Response::body). The
  // sink throws to abort the transfer.
  std::function<void(const char* data, size_t size)> sink;
  bool insecure_tls = false;  // no certificate check (registries.conf insecure = true)
  // A TLS handshake that fails (the server speaks plain HTTP) is answered as tls_failed
  // instead of thrown.
  bool tls_probe = false;
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names; the final response's
  std::vector<std::string> challenges;         // every WWW-Authenticate value
  std::string body;                            // capped at 1 MiB for a non-2xx response
  bool tls_failed = false;
  std::string header(const std::string& lower_name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

class Connection {
 public:
  Connection();
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Throws "ADDRESS: what curl says" when the server is not reached or the transfer breaks;
  // an HTTP error status is returned, not thrown.
  Response perform(const Request& request);

 private:
  void* handle_;
};

// Percent-encodes a query parameter value.
std::string url_escape(const std::string& s);
// "http://host:port" of a URL (for error messages).
std::string url_origin(const std::string& url);

}  // namespace hull::registry
