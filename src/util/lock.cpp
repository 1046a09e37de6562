#include "util/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "util/error.h"

namespace hull {

void lock_fd(int fd, LockMode mode, std::string_view what) {
  int op = mode == LockMode::shared ? LOCK_SH : LOCK_EX;
  while (::flock(fd, op) < 0) {
    if (errno != EINTR) fail_errno("lock {}", what);
  }
}

Fd open_locked(const std::string& path, int flags, mode_t mode, LockMode lock_mode) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd) fail_errno("open {}", path);
  lock_fd(fd.get(), lock_mode, path);
  return fd;
}

}  // namespace hull
