// nftables through libnftables, loaded with dlopen on first use: libnftables brings six
// shared libraries (libnftnl, libmnl, libxtables, libjansson, libgmp), and only commands
// that change firewall rules may pay for them — never the OCI path (docs/architecture.md,
// Performance rules).
#pragma once

#include <string>

#include "util/error.h"

namespace hull::net {

class Nftables {
 public:
  // Loads the library on the first call; throws when it is not installed.
  static Nftables& get();
  // Runs a batch of nft commands as one transaction: all apply or none. Returns nft's
  // output; throws with nft's first error line.
  std::string run(const std::string& commands);
  // Same, but a failure is returned as false (for deletes of what may be gone already).
  bool try_run(const std::string& commands);

 private:
  Nftables();
  struct Api;
  Api* api_;
  void* ctx_;
};

// libnftables reports a kernel error only as text ending in the errno's strerror ("could not
// process rule: File exists"): the kind it means (already_exists here), so that callers
// switch on Error::kind() as for any other error. The one place that reads an error's words.
ErrorKind nft_error_kind(const std::string& first_line);

}  // namespace hull::net
