// sha256 digests as the OCI image spec writes them ("sha256:" + 64 lowercase hex digits),
// computed while data streams through (OpenSSL's EVP, loaded on first use).
#pragma once

#include <string>
#include <string_view>

namespace hull::image {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>"; the hasher is finished afterwards.
  std::string digest();

 private:
  void* ctx_;
};

std::string sha256_digest(std::string_view data);

// True for "sha256:" followed by exactly 64 lowercase hex digits (the only algorithm hull
// stores; the hex part becomes a file name, so nothing else may pass).
bool valid_digest(std::string_view digest);
// Throws "WHAT: invalid digest "X"" unless valid.
void check_digest(std::string_view digest, std::string_view what);
// The hex part of a valid digest.
std::string digest_hex(std::string_view digest);

// OCI chain id: the first layer's diff_id, then sha256(parent_chain + " " + diff_id).
std::string chain_id(std::string_view parent_chain, std::string_view diff_id);

}  // namespace hull::image
