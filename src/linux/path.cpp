#include "linux/path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::linux {
namespace {

// -1 unknown, 0 no, 1 yes: detected once, then cached.
int g_have_openat2 = -1;

std::string relative(const std::string& path) {
  std::string p = clean_path("/" + path);
  return p == "/" ? "." : p.substr(1);
}

// Fallback walk for kernels without openat2: resolves symlinks by reading them and restarting
// from the root, so nothing ever resolves outside it. Max 40 links like the kernel.
int walk_in_root(int root_fd, const std::string& path, int flags, mode_t mode) {
  std::vector<std::string> todo;
  for (auto& part : split(relative(path), '/'))
    if (!part.empty() && part != ".") todo.push_back(part);
  std::reverse(todo.begin(), todo.end());
  std::vector<Fd> stack;  // directories from the root down
  auto current = [&] { return stack.empty() ? root_fd : stack.back().get(); };
  int links = 0;
  while (!todo.empty()) {
    std::string part = todo.back();
    todo.pop_back();
    if (part == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    bool last = todo.empty();
    if (last) {
      int fd = ::openat(current(), part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd >= 0 || errno != ELOOP || (flags & O_NOFOLLOW)) return fd;
      // fall through: the last component is a symlink to follow
    } else {
      int fd = ::openat(current(), part.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0) {
        stack.emplace_back(fd);
        continue;
      }
      if (errno != ENOTDIR) return -1;
    }
    char target[4096];
    ssize_t n = ::readlinkat(current(), part.c_str(), target, sizeof target - 1);
    if (n < 0) {
      if (errno == EINVAL) errno = ENOTDIR;
      return -1;
    }
    if (++links > 40) {
      errno = ELOOP;
      return -1;
    }
    std::string t(target, static_cast<size_t>(n));
    if (!t.empty() && t.front() == '/') stack.clear();
    auto parts = split(t, '/');
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
      if (!it->empty() && *it != ".") todo.push_back(*it);
  }
  return ::openat(current(), ".", flags | O_CLOEXEC, mode);
}

}  // namespace

Fd open_in_root(int root_fd, const std::string& path, int flags, mode_t mode) {
  if (g_have_openat2 != 0) {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel = relative(path);
    for (int attempt = 0; attempt < 8; ++attempt) {
      int fd = sys::openat2(root_fd, rel.c_str(), &how);
      if (fd >= 0) {
        g_have_openat2 = 1;
        return Fd(fd);
      }
      if (errno == EAGAIN) continue;  // a concurrent rename: the kernel asks us to retry
      if (errno == ENOSYS) break;
      g_have_openat2 = 1;
      return Fd();
    }
    if (errno != ENOSYS) return Fd();
    g_have_openat2 = 0;
  }
  return Fd(walk_in_root(root_fd, path, flags, mode));
}

Fd open_in_root_or_fail(int root_fd, const std::string& path, int flags) {
  Fd fd = open_in_root(root_fd, path, flags);
  if (!fd) fail_errno("open {}", path);
  return fd;
}

namespace {

// Where `fd` is inside the root whose fd is `root_fd`, from the kernel's own names for both.
std::optional<std::string> path_in_root(int root_fd, int fd) {
  char root[4096], here[4096];
  ssize_t rn = ::readlink(fd_path(root_fd).c_str(), root, sizeof root - 1);
  ssize_t hn = ::readlink(fd_path(fd).c_str(), here, sizeof here - 1);
  if (rn <= 0 || hn <= 0) return std::nullopt;
  std::string r(root, static_cast<size_t>(rn)), h(here, static_cast<size_t>(hn));
  if (r == "/") return h;
  if (h == r) return "/";
  if (h.size() > r.size() && h.compare(0, r.size(), r) == 0 && h[r.size()] == '/') return h.substr(r.size());
  return std::nullopt;
}

Fd mkdir_all(int root_fd, const std::string& path, mode_t mode, int links) {
  Fd fd = open_in_root(root_fd, path, O_PATH | O_DIRECTORY);
  if (fd) return fd;
  if (errno != ENOENT) fail_errno("open {}", path);
  std::string clean = clean_path("/" + path);
  std::string parent = dirname_of(clean);
  Fd parent_fd = clean == "/" ? Fd(::dup(root_fd)) : mkdir_all(root_fd, parent, mode, links);
  std::string name = basename_of(clean);
  if (::mkdirat(parent_fd.get(), name.c_str(), mode) < 0 && errno != EEXIST)
    fail_errno("mkdir {}", clean);
  // Re-open through the root so a symlink swapped in meanwhile is still scoped to it.
  fd = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY);
  if (fd) return fd;
  int err = errno;
  // A dangling symlink in the image (a /dev pointing at a host path): make what it points to,
  // resolved inside the root, as the kernel would resolve it there.
  char target[4096];
  ssize_t n = ::readlinkat(parent_fd.get(), name.c_str(), target, sizeof target - 1);
  if (err != ENOENT || n <= 0) fail_err(err, "open {}", clean);
  if (links >= 40) fail_err(ELOOP, "open {}", clean);
  std::string t(target, static_cast<size_t>(n));
  if (t.front() != '/') {
    auto real_parent = path_in_root(root_fd, parent_fd.get());
    if (!real_parent) fail_err(err, "open {}", clean);
    t = path_join(*real_parent, t);
  }
  mkdir_all(root_fd, clean_path("/" + t), mode, links + 1);
  fd = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY);
  if (!fd) fail_errno("open {}", clean);
  return fd;
}

}  // namespace

Fd mkdir_all_in_root(int root_fd, const std::string& path, mode_t mode) { return mkdir_all(root_fd, path, mode, 0); }

Fd make_mount_target(int root_fd, const std::string& path, bool directory) {
  std::string clean = clean_path("/" + path);
  if (clean == "/") return Fd(::dup(root_fd));
  Fd parent = mkdir_all_in_root(root_fd, dirname_of(clean));
  std::string name = basename_of(clean);
  struct stat st;
  bool dangling = false;
  if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      int fd = ::openat(parent.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) fail_errno("open {}", clean);
      return Fd(fd);
    }
    // A symlink as a mount target is followed, but inside the root only.
    Fd fd = open_in_root(root_fd, clean, O_PATH);
    if (fd) return fd;
    if (errno != ENOENT) fail_errno("open {}", clean);
    dangling = true;  // create what it points to, resolved inside the root
  } else if (errno != ENOENT) {
    fail_errno("stat {}", clean);
  }
  if (directory) return mkdir_all_in_root(root_fd, clean);
  // O_NONBLOCK: never hang on a FIFO swapped in; O_NOFOLLOW unless we mean to follow.
  int flags = O_CREAT | O_RDONLY | O_NONBLOCK | (dangling ? 0 : O_NOFOLLOW);
  Fd fd = open_in_root(root_fd, clean, flags, 0644);
  if (!fd) fail_errno("create {}", clean);
  return fd;
}

std::string fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

std::optional<std::string> read_small_file_in_root(int root_fd, const std::string& path,
                                                   size_t max_bytes) {
  Fd fd = open_in_root(root_fd, path, O_RDONLY | O_NONBLOCK);
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("open {}", path);
  }
  struct stat sb = stat_fd(fd.get(), path);
  if (!S_ISREG(sb.st_mode) || static_cast<size_t>(sb.st_size) > max_bytes)
    fail("{} is not a regular file of at most {} KiB", path, max_bytes >> 10);
  return read_fd(fd.get());
}

struct stat stat_fd(int fd, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) < 0) fail_errno("stat {}", what);
  return st;
}

}  // namespace hull::linux
