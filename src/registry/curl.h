// libcurl, loaded on first use (image/dynlib.h says why: the OCI path never maps it). Only
// its declarations are included; every call goes through this table.
#pragma once

#include <curl/curl.h>

namespace hull::registry {

struct Curl {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_reset) easy_reset;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_easy_escape) easy_escape;
  decltype(&curl_free) free;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
  decltype(&curl_share_init) share_init;
  decltype(&curl_share_setopt) share_setopt;
};

// Loads libcurl.so.4 (and initialises it) on the first call; throws when it is missing.
const Curl& libcurl();

}  // namespace hull::registry
