#include "linux/self_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fd.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char** environ;

namespace hull::linux {
namespace {

constexpr unsigned kOpenTreeClone = 1;        // OPEN_TREE_CLONE
constexpr uint64_t kMountAttrReadOnly = 0x1;  // MOUNT_ATTR_RDONLY
constexpr uint64_t kMountAttrNoSuid = 0x2;    // MOUNT_ATTR_NOSUID
constexpr uint64_t kMountAttrNoDev = 0x4;     // MOUNT_ATTR_NODEV

// A detached read-only bind mount of the running binary (an O_PATH fd on it), or an empty Fd
// when this process may not make mounts (rootless) or the kernel lacks the new mount API.
Fd read_only_mount_of_self() {
  Fd tree(sys::open_tree(AT_FDCWD, "/proc/self/exe", kOpenTreeClone | O_CLOEXEC));
  if (!tree) {
    if (errno == EPERM || errno == ENOSYS || errno == EINVAL) return {};
    fail_errno("open_tree /proc/self/exe (a read-only image of hull)");
  }
  sys::MountAttr attr{kMountAttrReadOnly | kMountAttrNoSuid | kMountAttrNoDev, 0, 0, 0};
  if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr) < 0) {
    if (errno == ENOSYS) return {};
    fail_errno("make hull's image read-only (mount_setattr)");
  }
  return tree;
}

// runc's way, for when no mount can be made: a copy in a memfd sealed against every change.
Fd sealed_copy_of_self() {
  Fd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) fail_errno("open /proc/self/exe");
  struct stat st;
  if (::fstat(self.get(), &st) < 0) fail_errno("stat /proc/self/exe");
  int fd = ::memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) fail_errno("create a sealed copy of hull (memfd_create)");
  Fd copy(fd);
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(fd, self.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_errno("copy hull into a sealed memfd");
  }
  constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(fd, F_ADD_SEALS, kSeals) < 0) fail_errno("seal hull's copy");
  return copy;
}

}  // namespace

bool self_image_is_read_only() {
  Fd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  int seals = ::fcntl(self.get(), F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) return true;
  struct statvfs sv;
  if (::fstatvfs(self.get(), &sv) == 0 && (sv.f_flag & ST_RDONLY)) return true;
  // Rootless: the containers of an unprivileged user hold no more than that user's rights (and
  // its subordinate ids') on host files, so a binary it neither owns nor can write through its
  // group or as other (root's 0755 install) is out of their reach without any copy.
  struct stat st;
  return ::geteuid() != 0 && ::fstat(self.get(), &st) == 0 && st.st_uid != ::geteuid() &&
         !(st.st_mode & (S_IWGRP | S_IWOTH));
}

void ensure_read_only_self_image(char** argv, bool reexecuted) {
  if (self_image_is_read_only()) return;
  if (reexecuted)
    fail(
        "hull's re-executed image is still writable; refusing to run containers from it "
        "(CVE-2019-5736)");
  Fd image = read_only_mount_of_self();
  if (!image) image = sealed_copy_of_self();
  std::vector<char*> env;
  std::string marker = std::string(kReexecMarker) + "=1";
  for (char** e = environ; e && *e; ++e) env.push_back(*e);
  env.push_back(marker.data());
  env.push_back(nullptr);
  ::syscall(SYS_execveat, image.get(), "", argv, env.data(), AT_EMPTY_PATH);
  fail_errno("re-execute hull from its read-only image");
}

}  // namespace hull::linux
