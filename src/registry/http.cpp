#include "registry/http.h"

#include <unistd.h>

#include <exception>

#include "registry/curl.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::registry {
namespace {

constexpr size_t kErrorBodyCap = 1 << 20;
// A body kept in memory (manifests, tokens, configs without a sink): far above what the
// distribution spec allows a manifest (4 MiB).
constexpr size_t kBodyLimit = 64 << 20;

struct Transfer {
  const Request* request;
  Response* response;
  CURL* handle;
  std::exception_ptr error;
  int64_t sent = 0;
  int64_t size = 0;  // of the upload
  bool checked_status = false;
  bool to_sink = false;
  bool ok = false;

  static size_t on_header(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::string_view line(data, size * n);
    if (line.substr(0, 5) == "HTTP/") {
      // A new response (after a redirect or a 100 Continue): forget the previous one's.
      t->response->headers.clear();
      t->response->challenges.clear();
      return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string name = to_lower(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (name == "www-authenticate") t->response->challenges.push_back(value);
    t->response->headers[name] = value;
    return size * n;
  }

  static size_t on_data(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t len = size * n;
    if (!t->checked_status) {
      long code = 0;
      libcurl().easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
      t->ok = code >= 200 && code < 300;
      t->to_sink = t->ok && t->request->sink;
      t->checked_status = true;
    }
    if (t->to_sink) {
      try {
        t->request->sink(data, len);
      } catch (...) {
        t->error = std::current_exception();
        return 0;  // aborts the transfer
      }
      return len;
    }
    std::string& body = t->response->body;
    if (t->ok) {
      if (body.size() + len > kBodyLimit) {
        t->error = std::make_exception_ptr(Error(fmt::format("{}: the answer is larger than {} MiB",
                                                             t->request->url, kBodyLimit >> 20)));
        return 0;
      }
      body.append(data, len);
    } else if (body.size() < kErrorBodyCap) {
      body.append(data, std::min(len, kErrorBodyCap - body.size()));
    }
    return len;
  }

  static size_t on_read(char* out, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const Request& r = *t->request;
    size_t want = std::min<int64_t>(size * n, t->size - t->sent);
    if (want == 0) return 0;
    ssize_t got;
    if (r.body_fd >= 0) {
      do got = ::read(r.body_fd, out, want);
      while (got < 0 && errno == EINTR);
      if (got <= 0) {
        t->error = std::make_exception_ptr(
            Error(got < 0 ? "read the upload" : "the upload ended early", got < 0 ? errno : 0));
        return CURL_READFUNC_ABORT;
      }
    } else {
      std::copy_n(r.body.data() + t->sent, want, out);
      got = static_cast<ssize_t>(want);
    }
    t->sent += got;
    return static_cast<size_t>(got);
  }
};

}  // namespace

std::string Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

Connection::Connection() : handle_(libcurl().easy_init()) {
  if (!handle_) fail("curl_easy_init failed");
}

Connection::~Connection() {
  libcurl().easy_cleanup(static_cast<CURL*>(handle_));
}

Response Connection::perform(const Request& r) {
  const Curl& c = libcurl();
  CURL* h = static_cast<CURL*>(handle_);
  // Reset keeps the live connections, the DNS cache and TLS sessions.
  c.easy_reset(h);
  Response resp;
  Transfer t{&r, &resp, h};
  char errbuf[CURL_ERROR_SIZE] = {};
  struct curl_slist* headers = nullptr;
  for (const auto& hd : r.headers) headers = c.slist_append(headers, hd.c_str());
  // No 100-continue round trip before an upload.
  headers = c.slist_append(headers, "Expect:");
  c.easy_setopt(h, CURLOPT_URL, r.url.c_str());
  c.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  c.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  c.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  c.easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  c.easy_setopt(h, CURLOPT_USERAGENT, "hull/" HULL_VERSION);
  c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  // A transfer that stalls (under 1 byte/s for 60 s) is broken.
  c.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  c.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  c.easy_setopt(h, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  c.easy_setopt(h, CURLOPT_HEADERDATA, &t);
  c.easy_setopt(h, CURLOPT_WRITEFUNCTION, &Transfer::on_data);
  c.easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (r.insecure_tls) {
    c.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    c.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (r.method == "HEAD") {
    c.easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (r.method == "PUT" || r.method == "PATCH" || r.method == "POST") {
    c.easy_setopt(h, CURLOPT_UPLOAD, 1L);
    c.easy_setopt(h, CURLOPT_READFUNCTION, &Transfer::on_read);
    c.easy_setopt(h, CURLOPT_READDATA, &t);
    t.size = r.body_fd >= 0 ? r.body_size : static_cast<int64_t>(r.body.size());
    c.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.size));
    if (r.method != "PUT") c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method != "GET") {
    c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  CURLcode rc = c.easy_perform(h);
  c.slist_free_all(headers);
  if (t.error) std::rethrow_exception(t.error);
  if (rc == CURLE_SSL_CONNECT_ERROR && r.tls_probe) {
    resp.tls_failed = true;
    return resp;
  }
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] ? errbuf : c.easy_strerror(rc);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_OPERATION_TIMEDOUT)
      fail("unreachable at {}: {}", url_origin(r.url), detail);
    fail("{} {}: {}", r.method, r.url, detail);
  }
  c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

std::string url_escape(const std::string& s) {
  const Curl& c = libcurl();
  char* e = c.easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  if (!e) fail("curl_easy_escape failed");
  std::string out(e);
  c.free(e);
  return out;
}

std::string url_origin(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

}  // namespace hull::registry
