// `hull cp`, docker's: CONTAINER:SRC DEST or SRC CONTAINER:DEST. The container's side is
// reached through its init's root (/proc/PID/root) and every path there is resolved by fd
// inside that root (linux/path.h: openat2 RESOLVE_IN_ROOT, each entry below opened with
// O_NOFOLLOW from its directory's fd): a symlink the container planted never leads out.
// Files, directories (recursively) and symlinks (as links) are copied with their modes; what
// goes in belongs to the container's root user (its mapped uid in a user namespace).
#pragma once

#include <string>

#include "frontend/store.h"

namespace hull::frontend {

void copy(const Env& env, const std::string& source, const std::string& destination);

}  // namespace hull::frontend
