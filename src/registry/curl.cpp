#include "registry/curl.h"

#include "util/dynlib.h"
#include "util/error.h"

namespace hull::registry {

const Curl& libcurl() {
  static const Curl api = [] {
    const char* name = "libcurl.so.4";
    void* lib = load_library(name, "libcurl4");
    Curl c;
#define B(field, symbol) bind_symbol(lib, name, field, symbol)
    B(c.global_init, "curl_global_init");
    B(c.easy_init, "curl_easy_init");
    B(c.easy_setopt, "curl_easy_setopt");
    B(c.easy_perform, "curl_easy_perform");
    B(c.easy_getinfo, "curl_easy_getinfo");
    B(c.easy_reset, "curl_easy_reset");
    B(c.easy_cleanup, "curl_easy_cleanup");
    B(c.easy_strerror, "curl_easy_strerror");
    B(c.easy_escape, "curl_easy_escape");
    B(c.free, "curl_free");
    B(c.slist_append, "curl_slist_append");
    B(c.slist_free_all, "curl_slist_free_all");
    B(c.share_init, "curl_share_init");
    B(c.share_setopt, "curl_share_setopt");
#undef B
    // Before any thread uses it: curl_global_init is not thread-safe.
    if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fail("{}: curl_global_init failed", name);
    return c;
  }();
  return api;
}

}  // namespace hull::registry
