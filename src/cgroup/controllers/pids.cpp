// pids: how many tasks the container may have.
#include "cgroup/controller.h"
#include "util/error.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) {
  return is_set(r.pids_limit);
}

// Both versions: pids.max, "max" for no limit (-1, or any negative as runc reads it).
void apply(const std::string& dir, const oci::Resources& r, bool) {
  int64_t v = *r.pids_limit;
  write_value(dir, "pids.max", v < 0 ? "max" : std::to_string(v), "linux.resources.pids.limit",
              std::to_string(v));
}

void stats(const std::string& dir, Stats& s) {
  s.pids.current = read_u64(dir, "pids.current");
  uint64_t max = read_u64(dir, "pids.max");
  s.pids.limit = max == UINT64_MAX ? 0 : max;
}

}  // namespace

extern const Controller kPidsController = {
    "pids", "pids", "linux.resources.pids", applies, apply, apply, stats, stats};

}  // namespace hull::cgroup
