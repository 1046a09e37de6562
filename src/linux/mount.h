// Mount options of runtime-spec (config.md "POSIX-platform Mounts") -> mount(2) flags, and
// the mount calls hull makes, always through fds for targets inside a rootfs.
#pragma once

#include <string>
#include <vector>

namespace hull::linux {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ... to set
  unsigned long clear = 0;        // flags named explicitly as off (rw, suid, dev, exec, ...)
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, | MS_REC
  unsigned long long attr_set = 0;  // recursive MOUNT_ATTR_* (rro, rnosuid, ...) via mount_setattr
  unsigned long long attr_clr = 0;
  bool bind = false;
  bool recursive = false;  // rbind
  bool idmap = false;      // idmap/ridmap: an id-mapped bind mount
  bool tmpcopyup = false;  // copy the target's old content into a fresh tmpfs (crun, podman)
  std::string data;        // everything else, comma-joined, handed to the file system
};

// Unknown options become file-system data, as runc does ("size=64k", "mode=755", "gid=5").
MountOptions parse_mount_options(const std::vector<std::string>& options);

// Propagation names ("rslave", "private", ...) -> MS_* | MS_REC; 0 when unknown.
unsigned long propagation_flags(const std::string& name);

// mount(2) with an error "mount TYPE on WHAT: ...". `target_fd` is an fd to the mount point.
void mount_at_fd(const std::string& source, int target_fd, const std::string& what,
                 const std::string& fstype, unsigned long flags, const std::string& data);

// Bind-mount flags are ignored by the kernel on the bind itself; this remounts the bind with
// them (ro, nosuid, nodev, noexec, atime) as runc does, keeping locked flags the kernel insists on.
void remount_bind(int target_fd, const std::string& what, unsigned long flags);

}  // namespace hull::linux
