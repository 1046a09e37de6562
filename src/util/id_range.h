// A range of user or group ids: `count` ids from `inside` in a user namespace are `outside`
// on the host. The one such type (linux/idmap.h writes them, runtime/inspect.h reads them
// back, the friendly face and `hull-oci spec --rootless` build them from /etc/subuid).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hull {

struct IdRange {
  uint32_t inside = 0, outside = 0, count = 0;
};

// The first range /etc/subuid or /etc/subgid (their text) grants to a user, by name or by
// number ("alice:100000:65536" or "1000:100000:65536"), as newuidmap/newgidmap read it:
// {inside 0, outside start, count}. nullopt when there is none (or it does not fit in 32 bits).
std::optional<IdRange> subordinate_range(std::string_view subid_text, std::string_view user,
                                         uint32_t id);
// The same, read from a file ("/etc/subuid"); a missing file grants nothing.
std::optional<IdRange> subordinate_range_in(const std::string& file, std::string_view user,
                                            uint32_t id);

}  // namespace hull
