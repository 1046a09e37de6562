#include "image/layered.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fs.h"

namespace hull::image {

std::string read_layered_file(const std::vector<std::string>& lowers, const std::string& path) {
  for (const auto& layer : lowers) {
    Fd root(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) fail_errno("open layer {}", layer);
    struct open_how how = {};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    Fd fd(sys::openat2(root.get(), path.c_str(), &how));
    if (!fd) continue;
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) continue;
    if (!S_ISREG(st.st_mode)) return "";  // a whiteout (0:0 device) or not a file
    how.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
    Fd file(sys::openat2(root.get(), path.c_str(), &how));
    return file ? read_fd(file.get()) : "";
  }
  return "";
}

}  // namespace hull::image
