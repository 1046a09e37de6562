#include "cgroup/controller.h"
#include "util/error.h"

namespace hull::cgroup {

uint64_t shares_to_weight(uint64_t shares) {
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  return 1 + ((weight - 10) * 9999) / 990;
}

int64_t swap_to_v2(int64_t swap, int64_t limit) {
  // As on v1: an unlimited memory with swap left unset means both unlimited.
  if (limit == -1 && swap == 0) return -1;
  if (swap == -1 || swap == 0) return swap;
  if (limit == 0 || limit == -1)
    fail_as(ErrorKind::invalid_config,
            "linux.resources.memory.swap: {}: a swap limit needs a memory limit (memory.limit)",
            swap);
  if (swap < limit)
    fail_as(
        ErrorKind::invalid_config,
        "linux.resources.memory.swap: {} is below memory.limit {} (swap counts memory plus swap)",
        swap, limit);
  return swap - limit;
}

}  // namespace hull::cgroup
