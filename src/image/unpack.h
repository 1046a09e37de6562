// One layer's tar into a directory, as overlayfs will read it: OCI/Docker whiteouts become
// overlay whiteouts (".wh.NAME" a 0:0 character device NAME, ".wh..wh..opq" the directory's
// trusted.overlay.opaque=y), and owners, modes, setuid bits, mtimes, xattrs, hard links,
// symlinks and (as root) device nodes are kept.
//
// Every entry is created by fd inside the directory: its parent is opened with openat2
// RESOLVE_BENEATH, so a "../" path, a path through an absolute or escaping symlink, and a hard
// link to anything outside are refused with the entry named (the classic archive traversal
// bugs: CVE-2018-15664-style symlink races cannot happen either, nothing is resolved by string).
#pragma once

#include <cstdint>
#include <string>

struct archive;

namespace hull::image {

struct UnpackStats {
  int64_t entries = 0;
  int64_t bytes = 0;  // of regular file contents
};

// Reads every entry of `a` (a tar reader before its first header) into root_fd (a directory).
// Errors name the entry and its offset in the uncompressed tar.
UnpackStats unpack_tar(struct archive* a, int root_fd);

}  // namespace hull::image
