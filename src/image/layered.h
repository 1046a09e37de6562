// Reading an image's files as a container will see them, without mounting anything.
#pragma once

#include <string>
#include <vector>

namespace hull::image {

// The file at `path` through layer dirs (top first): the first layer that has it decides, a
// whiteout deletes it. Read by fd, never following a symlink (an image's /etc/passwd that
// points at the host's must not be read). "" when absent or not a regular file. A lower layer
// hidden by an opaque directory above is still consulted (good enough for /etc files).
std::string read_layered_file(const std::vector<std::string>& lowers, const std::string& path);

}  // namespace hull::image
