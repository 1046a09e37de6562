// User namespace ID maps, written by the parent into /proc/PID/{uid,gid}_map.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/id_range.h"

namespace hull::linux {

using hull::IdRange;

std::string format_id_map(const std::vector<IdRange>& ranges);

// As root: writes the maps directly. Unprivileged with more than a single mapping of the
// caller's own id: runs newuidmap/newgidmap (Debian's uidmap), which check /etc/subuid.
// setgroups is denied first when the caller is unprivileged, as the kernel requires.
void write_id_maps(pid_t pid, const std::vector<IdRange>& uids, const std::vector<IdRange>& gids);

// An fd to a user namespace with these maps and no process left in it: what
// mount_setattr(MOUNT_ATTR_IDMAP) takes to id-map a mount. As root.
Fd user_namespace_with_maps(const std::vector<IdRange>& uids, const std::vector<IdRange>& gids);

// Translates an id inside the namespace to the host; returns `id` unchanged if unmapped.
uint32_t map_to_host(const std::vector<IdRange>& ranges, uint32_t id);

}  // namespace hull::linux
