#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "util/error.h"

namespace hull {

Fd open_or_fail(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("open {}", path);
  return Fd(fd);
}

Fd openat_or_fail(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("open {}", path);
  return Fd(fd);
}

std::string read_fd(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string read_file(const std::string& path) {
  Fd fd = open_or_fail(path, O_RDONLY);
  return with_context(path, [&] { return read_fd(fd.get()); });
}

std::optional<std::string> read_file_if_exists(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("open {}", path);
  }
  Fd owned(fd);
  return with_context(path, [&] { return read_fd(fd); });
}

void write_all(int fd, std::string_view data, const char* what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write {}", what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void write_existing(const std::string& path, std::string_view data) {
  Fd fd = open_or_fail(path, O_WRONLY);
  write_all(fd.get(), data, path.c_str());
}

void write_existing_at(int dirfd, const std::string& name, std::string_view data) {
  Fd fd = openat_or_fail(dirfd, name, O_WRONLY);
  write_all(fd.get(), data, name.c_str());
}

void write_file(const std::string& path, std::string_view data, mode_t mode) {
  Fd fd = open_or_fail(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  write_all(fd.get(), data, path.c_str());
}

void atomic_write(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = fmt::format("{}.tmp{}", path, ::getpid());
  {
    Fd fd = open_or_fail(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
    try {
      write_all(fd.get(), data, tmp.c_str());
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail_err(err, "rename {} to {}", tmp, path);
  }
}

void mkdir_p(const std::string& path, mode_t mode) {
  if (path.empty()) return;
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return;
  if (errno != ENOENT) fail_errno("mkdir {}", path);
  mkdir_p(dirname_of(path), mode);
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) fail_errno("mkdir {}", path);
}

namespace {
void remove_at(int dirfd, const char* name) {
  if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR && errno != EPERM) fail_errno("remove {}", name);
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail_errno("open {}", name);
  }
  Fd dir(fd);
  for (const auto& n : list_dir(dir.get(), name)) remove_at(dir.get(), n.c_str());
  if (::unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) fail_errno("rmdir {}", name);
}

void copy_file_data(int from, int to, const std::string& path) {
  for (;;) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
      fail_errno("copy {}", path);
    break;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("read {}", path);
    }
    write_all(to, std::string_view(buf, static_cast<size_t>(n)), path.c_str());
  }
}

void copy_entry(int from_dir, int to_dir, const std::string& name, const std::string& path) {
  struct stat st;
  if (::fstatat(from_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) fail_errno("stat {}", path);
  mode_t perm = st.st_mode & 07777;
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(to_dir, name.c_str(), 0700) < 0) fail_errno("mkdir {}", path);
    Fd from = openat_or_fail(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    Fd to = openat_or_fail(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    copy_tree(from.get(), to.get(), path);
  } else if (S_ISREG(st.st_mode)) {
    Fd from = openat_or_fail(from_dir, name, O_RDONLY | O_NOFOLLOW);
    Fd to = openat_or_fail(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    copy_file_data(from.get(), to.get(), path);
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(from_dir, name.c_str(), target.data(), target.size());
    if (n < 0) fail_errno("readlink {}", path);
    target.resize(static_cast<size_t>(n));
    if (::symlinkat(target.c_str(), to_dir, name.c_str()) < 0) fail_errno("symlink {}", path);
  } else if (::mknodat(to_dir, name.c_str(), st.st_mode & S_IFMT, st.st_rdev) < 0) {
    fail_errno("mknod {}", path);
  }
  if (::fchownat(to_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    fail_errno("chown {}", path);
  // After the chown, which clears setuid/setgid bits; symlinks have no mode of their own.
  if (!S_ISLNK(st.st_mode) && ::fchmodat(to_dir, name.c_str(), perm, 0) < 0)
    fail_errno("chmod {}", path);
}
}  // namespace

std::vector<std::string> list_dir(int dirfd, const std::string& path) {
  // readdir closes the fd it reads: give it a copy of its own.
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("open {}", path);
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    fail_errno("opendir {}", path);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = ::readdir(dir)) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(dir);
  if (err) {
    errno = err;
    fail_errno("read directory {}", path);
  }
  return names;
}

std::vector<std::string> list_dir(const std::string& path) {
  Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    if (errno == ENOENT) return {};
    fail_errno("open {}", path);
  }
  auto names = list_dir(dir.get(), path);
  std::sort(names.begin(), names.end());
  return names;
}

void copy_tree(int from_dir, int to_dir, const std::string& path) {
  for (const auto& n : list_dir(from_dir, path))
    copy_entry(from_dir, to_dir, n, path_join(path, n));
}

void remove_all(const std::string& path) { remove_at(AT_FDCWD, path.c_str()); }

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string path_join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

std::string dirname_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string basename_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

std::string clean_path(std::string_view path) {
  bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!absolute) parts.push_back(part);
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  if (out.empty()) out = ".";
  return out;
}

}  // namespace hull
