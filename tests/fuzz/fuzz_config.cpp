// libFuzzer target: config.json through the parser and the validator, and process.json and
// a linux.resources document (`update -r`) through theirs. Every refusal must be a hull::Error
// (one line naming the field); any other exception, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/parse.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    hull::oci::parse_spec(text);
  } catch (const hull::Error&) {
  }
  try {
    hull::oci::parse_process(text);
  } catch (const hull::Error&) {
  }
  try {
    hull::oci::parse_resources(text);
  } catch (const hull::Error&) {
  }
  return 0;
}
