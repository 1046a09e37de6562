// `hull cp`, docker's: CONTAINER:SRC DEST or SRC CONTAINER:DEST. The container's side is
// reached through its init's root (/proc/PID/root) and every path there is resolved by fd
// inside that root (linux/path.h: openat2 RESOLVE_IN_ROOT, each entry below opened with
// O_NOFOLLOW from its directory's fd): a symlink the container planted never leads out.
// Files, directories (recursively) and symlinks (as links) are copied with their modes; what
// goes in belongs to the container's root user (its mapped uid in a user namespace). A stopped
// container's root is its overlay, mounted detached for the copy (linux::detached_overlay), or
// its --rootfs directory; paths under its directory binds (volumes) go to their sources.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frontend/store.h"

namespace hull::frontend {

void copy(const Env& env, const std::string& source, const std::string& destination);

// docker's copy-up of a new named volume: what an image's layers (dirs, top first) hold at
// `path`, merged as overlayfs shows it (whiteouts hide, opaque directories stop the merge),
// copied into `dest` with owners and modes. False when the image has nothing there. `shift`:
// the host ids of a user-namespaced container's root, added to every owner (its root's files
// are host root's in the store).
bool copy_up(const std::vector<std::string>& lowers, const std::string& path,
             const std::string& dest,
             const std::optional<std::pair<uint32_t, uint32_t>>& shift = std::nullopt);

}  // namespace hull::frontend
