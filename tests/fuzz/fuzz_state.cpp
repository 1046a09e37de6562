// libFuzzer target: the state reader (state.json as `delete`, `list` and every verb read it).
// A damaged file must be a hull::Error, never a default that makes delete skip the init.
#include <cstddef>
#include <cstdint>
#include <string>

#include "oci/state.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    hull::oci::State s = hull::oci::state_from_json(text);
    // What was read must survive its own round trip.
    hull::oci::State back = hull::oci::state_from_json(hull::oci::state_to_json(s));
    if (back.id != s.id || back.pid != s.pid || back.cgroup_path != s.cgroup_path) __builtin_trap();
  } catch (const hull::Error&) {
  }
  return 0;
}
