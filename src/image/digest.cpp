#include "image/digest.h"

#include "util/dynlib.h"
#include "util/error.h"

namespace hull::image {
namespace {

// The few EVP calls hull makes, from libcrypto.so.3.
struct Evp {
  void* (*ctx_new)();
  void (*ctx_free)(void*);
  const void* (*sha256)();
  int (*init)(void*, const void*, void*);
  int (*update)(void*, const void*, size_t);
  int (*final)(void*, unsigned char*, unsigned int*);
};

const Evp& evp() {
  static const Evp api = [] {
    const char* name = "libcrypto.so.3";
    void* lib = load_library(name, "libssl3");
    Evp e;
    bind_symbol(lib, name, e.ctx_new, "EVP_MD_CTX_new");
    bind_symbol(lib, name, e.ctx_free, "EVP_MD_CTX_free");
    bind_symbol(lib, name, e.sha256, "EVP_sha256");
    bind_symbol(lib, name, e.init, "EVP_DigestInit_ex");
    bind_symbol(lib, name, e.update, "EVP_DigestUpdate");
    bind_symbol(lib, name, e.final, "EVP_DigestFinal_ex");
    return e;
  }();
  return api;
}

}  // namespace

Sha256::Sha256() {
  const Evp& e = evp();
  ctx_ = e.ctx_new();
  if (!ctx_ || e.init(ctx_, e.sha256(), nullptr) != 1) fail("sha256: cannot initialise");
}

Sha256::~Sha256() {
  evp().ctx_free(ctx_);
}

void Sha256::update(const void* data, size_t size) {
  if (size && evp().update(ctx_, data, size) != 1) fail("sha256: update failed");
}

std::string Sha256::digest() {
  unsigned char md[32];
  unsigned int len = 0;
  if (evp().final(ctx_, md, &len) != 1 || len != 32) fail("sha256: final failed");
  static const char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char c : md) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

bool valid_digest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void check_digest(std::string_view digest, std::string_view what) {
  if (!valid_digest(digest)) fail("{}: invalid digest \"{}\"", what, digest);
}

std::string digest_hex(std::string_view digest) {
  check_digest(digest, "digest");
  return std::string(digest.substr(7));
}

std::string chain_id(std::string_view parent_chain, std::string_view diff_id) {
  if (parent_chain.empty()) return std::string(diff_id);
  return sha256_digest(std::string(parent_chain) + " " + std::string(diff_id));
}

}  // namespace hull::image
