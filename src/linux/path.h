// Paths inside a container's rootfs are resolved by fd and never leave it: openat2 with
// RESOLVE_IN_ROOT (symlinks are scoped to the root, ".." stops at it) or, on kernels without
// openat2, a component walk that resolves symlinks itself (docs/architecture.md, Security design;
// CVE-2021-30465, CVE-2024-45310).
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

#include "util/fd.h"

namespace hull::linux {

// Opens `path` (absolute or relative, interpreted inside root_fd) with open(2) flags.
// O_NOFOLLOW applies to the last component only. Returns an invalid Fd and sets errno on failure.
Fd open_in_root(int root_fd, const std::string& path, int flags, mode_t mode = 0);

// Like open_in_root but throws "open PATH: ...".
Fd open_in_root_or_fail(int root_fd, const std::string& path, int flags);

// Creates every missing directory of `path` inside the root and returns an O_PATH fd to the last.
Fd mkdir_all_in_root(int root_fd, const std::string& path, mode_t mode = 0755);

// Makes sure `path` exists inside the root as the kind of thing a mount of `source_mode`
// needs on top of it (a directory for a directory, an empty file for anything else) and
// returns an O_PATH fd to it. The last component is never followed if it is a symlink.
Fd make_mount_target(int root_fd, const std::string& path, bool directory);

// "/proc/self/fd/N": how mount(2) and friends reach exactly the inode an fd holds.
std::string fd_path(int fd);

// A small regular file inside the root (a container's /etc/passwd), opened non-blocking so a
// FIFO planted there cannot hang the reader. nullopt when it does not exist; an error when it
// is not a regular file or is larger than `max_bytes`.
std::optional<std::string> read_small_file_in_root(int root_fd, const std::string& path,
                                                   size_t max_bytes);

// fstat with an error naming `what`.
struct stat stat_fd(int fd, const std::string& what);

}  // namespace hull::linux
