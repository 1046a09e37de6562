// libFuzzer target: what a registry or an image archive hands hull before any digest can vouch
// for it: image config JSON, image references (command line, archive manifests, registries),
// and WWW-Authenticate challenges. The first byte picks the reader, the rest is the input.
// Refusals are hull::Error; anything else (another exception, a crash, a sanitizer report) is
// a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "image/config.h"
#include "image/reference.h"
#include "registry/client.h"
#include "util/error.h"

using namespace hull;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string v(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 3) {
      case 0: {
        image::ImageConfig c = image::parse_image_config(v);
        (void)c;
        break;
      }
      case 1: {
        image::Reference r = image::parse_reference(v);
        // What hull prints and stores from a parsed reference must parse back to itself.
        if (image::parse_reference(r.full()).full() != r.full()) __builtin_trap();
        (void)image::familiar(r.full());
        (void)r.familiar_name();
        break;
      }
      case 2: {
        registry::Challenge ch = registry::parse_challenge(v);
        (void)ch;
        break;
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
