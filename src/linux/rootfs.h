// The container's file system view, built by the init inside its new mount namespace:
// propagation, the rootfs bind, every mount in order, /dev, pivot_root, then masked and
// read-only paths. Every target inside the rootfs is reached by fd (linux/path.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "linux/idmap.h"
#include "linux/mount.h"
#include "util/fd.h"

namespace hull::linux {

struct MountSpec {
  std::string destination;  // absolute, inside the container
  std::string type;         // "bind" for binds; "symlink" makes a symlink to `source`
  std::string source;       // absolute host path for binds
  MountOptions options;
  std::string what;         // for errors: "mounts[3]"
  int source_tree = -1;     // binds: a detached clone of the source (open_tree), made by the runtime
  // idmap/ridmap: the maps of the user namespace the clone is id-mapped with (open_sources).
  std::vector<IdRange> idmap_uids, idmap_gids;
};

struct DeviceNode {
  char type = 'c';  // c, b, u, p
  std::string path;
  unsigned major = 0, minor = 0;
  mode_t mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

// runc's default devices: null, zero, full, random, urandom, tty.
std::vector<DeviceNode> default_devices();

struct RootfsPlan {
  std::string rootfs;              // absolute host path
  int rootfs_tree = -1;            // a detached clone of it (open_tree), made by the runtime
  bool readonly = false;
  unsigned long propagation = 0;   // rootfsPropagation as MS_* flags; 0 = rslave
  std::vector<MountSpec> mounts;
  std::vector<DeviceNode> devices;  // created under the rootfs (defaults + linux.devices)
  bool bind_devices = false;        // in a user namespace mknod is refused: bind the host's nodes
  std::vector<std::string> masked_paths, readonly_paths;
  bool no_pivot = false;
  // process.cwd: made (root's, 0755) when missing, after the mounts, as runc and crun do.
  std::string cwd;
  // A read-only tmpfs on /dev is mounted read-write to be populated (devices, symlinks, the
  // console) and remounted with these flags at the very end (runc); 0: nothing to do.
  unsigned long dev_remount_flags = 0;
  // `rootfs` is only the read-only lower layer of an overlay whose upper layer is a tmpfs
  // mounted on `overlay_scratch` inside the container's mount namespace, so every write is
  // thrown away with the namespace (the friendly face's view of the host's root).
  bool overlay = false;
  std::string overlay_scratch;
  // A detached clone of the lower layer's mount without its submounts (open_sources): in a new
  // user namespace the copied host mounts have locked children, which overlayfs may not
  // clone; this one has none. -1: use `rootfs` by path.
  int overlay_lower_fd = -1;
  bool overlay_userxattr = false;  // in a user namespace: user.* xattrs (trusted.* are refused)
  // An image's layers (top first): then `rootfs` is not a lower layer but holds the writable
  // one, upper/ and work/, which outlive the mount namespace (an image container's own layer).
  std::vector<std::string> overlay_lowers;
  // With a user namespace of the container's own (as root): the layers are id-mapped with its
  // maps (mount_setattr MOUNT_ATTR_IDMAP on a clone of each), so files host root owns in the
  // store are its root's, and the overlay is made from them by the runtime (open_sources,
  // fsopen with each layer's fd: trusted.* whiteouts and opaque dirs as without one);
  // overlay_root_fd is that detached overlay, which the init attaches.
  std::vector<IdRange> overlay_idmap_uids, overlay_idmap_gids;
  int overlay_root_fd = -1;
};

// For a container with a user namespace of its own: clones the rootfs and every bind source
// as detached mount trees (open_tree), kept in `owned`. Done by the runtime, as host root,
// before the init exists: the init's mapped root may not be allowed to walk the host paths
// leading to them, and a tree made here can be attached in the init's mount namespace with
// move_mount. Without a user namespace, binds are made by path in the init: a detached clone
// is private, and binds must keep their propagation (rslave volumes receive host mounts).
// An idmap/ridmap bind's clone is id-mapped here too (mount_setattr MOUNT_ATTR_IDMAP).
void open_sources(RootfsPlan& plan, std::vector<Fd>& owned);

// A detached overlay (fsopen + fsmount: in no mount namespace, gone with its last fd) of
// `lowers` (top first) with upper/ and work/ of `layer_dir`. With maps, each lower is a clone
// id-mapped through a user namespace holding them (kept in `owned`), and overlayfs takes it by
// fd (lowerdir+, Linux 6.13+), so trusted.* whiteouts and opaque dirs work as without. As root.
Fd detached_overlay(const std::vector<std::string>& lowers, const std::string& layer_dir,
                    const std::vector<IdRange>& uids, const std::vector<IdRange>& gids,
                    std::vector<Fd>& owned);

// Step 1: propagation of the copied host tree, the rootfs bound onto itself. The caller's
// cwd must be the rootfs (the runtime chdirs there before clone3; the new mount namespace
// translates it). Returns an fd to the rootfs that later steps resolve paths in.
Fd prepare_rootfs(const RootfsPlan& plan);
// Step 2: config.json mounts in order, then devices and the /dev symlinks.
void mount_all(const RootfsPlan& plan, int root_fd);
// Bind-mounts `slave_fd` (a pty) onto /dev/console, as runc does for terminals.
void mount_console(int root_fd, int pty_fd);
// Step 3: pivot_root (or MS_MOVE + chroot with no_pivot) into the rootfs.
void enter_rootfs(const RootfsPlan& plan, int root_fd);
// Step 4 (inside the new root): propagation, read-only root, masked and read-only paths.
void finish_rootfs(const RootfsPlan& plan);
// Last, after the console is bound: a read-only /dev becomes read-only (dev_remount_flags).
void make_dev_read_only(const RootfsPlan& plan);

// A mount namespace the container shares (joined by path, or the caller's): nothing is
// mounted or made there but a missing cwd. Opens root.path as this namespace sees it.
Fd open_shared_root(const RootfsPlan& plan);
// Whether `root_fd` is the current root: then the container's root is the namespace's own.
bool is_current_root(int root_fd);
// chroot into it (no pivot_root: that would move every process of the namespace). A chroot
// holds only a process without CAP_SYS_CHROOT: the caller checks that.
void enter_shared_root(const RootfsPlan& plan, int root_fd);

}  // namespace hull::linux
