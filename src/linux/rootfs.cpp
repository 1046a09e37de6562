#include "linux/rootfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "linux/mountinfo.h"
#include "linux/path.h"
#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

#ifndef MOUNT_ATTR_RDONLY
#include <linux/mount.h>
#endif

namespace hull::linux {
namespace {

constexpr unsigned long kBindRemountable =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
    MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME | MS_MANDLOCK;

bool is_dir_source(const MountSpec& m) {
  struct stat st;
  int rc = m.source_tree >= 0 ? ::fstat(m.source_tree, &st) : ::stat(m.source.c_str(), &st);
  if (rc < 0) fail_errno("{}: stat bind source {}", m.what, m.source);
  return S_ISDIR(st.st_mode);
}

unsigned long long attrs_of(unsigned long flags) {
  unsigned long long a = 0;
  if (flags & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NOATIME) a |= MOUNT_ATTR_NOATIME;
  if (flags & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (flags & MS_STRICTATIME) a |= MOUNT_ATTR_STRICTATIME;
  return a;
}

// Attaches a detached clone made by the runtime: flags first (mount_setattr on the detached
// tree, recursively for rbind), then move_mount onto the target fd.
void attach_tree(const MountSpec& m, int target_fd) {
  const MountOptions& o = m.options;
  unsigned long long set = attrs_of(o.flags);
  if (set) {
    sys::MountAttr attr{set, (o.flags & MS_STRICTATIME) ? uint64_t{MOUNT_ATTR__ATIME} : 0, 0, 0};
    if (sys::mount_setattr(m.source_tree, "", AT_EMPTY_PATH | (o.recursive ? AT_RECURSIVE : 0), &attr) < 0)
      fail_errno("{}: set flags of bind mount {}", m.what, m.source);
  }
  if (sys::move_mount(m.source_tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail_errno("{}: bind mount {} on {}", m.what, m.source, m.destination);
}

// CVE-2019-19921, CVE-2023-27561: proc and sysfs go on a real directory, never on a symlink
// that would carry them elsewhere; and what got mounted must really be procfs/sysfs.
void check_special_target(int root_fd, const MountSpec& m) {
  if (m.type != "proc" && m.type != "sysfs") return;
  Fd fd = open_in_root(root_fd, m.destination, O_PATH | O_NOFOLLOW);
  if (!fd) return;  // missing: created below as a directory
  struct stat st = stat_fd(fd.get(), m.destination);
  if (!S_ISDIR(st.st_mode))
    fail("{}: {} must be mounted on a directory, and {} is not one", m.what, m.type, m.destination);
}

void check_fs_magic(int fd, long magic, const MountSpec& m) {
  struct statfs sf;
  if (::fstatfs(fd, &sf) < 0) fail_errno("{}: statfs {}", m.what, m.destination);
  if (sf.f_type != magic) fail("{}: {} on {} is not a real {}", m.what, m.type, m.destination, m.type);
}

void copy_up(int root_fd, int under, const MountSpec& m, int follow) {
  Fd fresh = open_in_root(root_fd, m.destination, O_RDONLY | O_DIRECTORY | follow);
  if (!fresh) fail_errno("{}: open {}", m.what, m.destination);
  with_context(m.what + ": tmpcopyup", [&] { copy_tree(under, fresh.get(), m.destination); });
  const MountOptions& o = m.options;
  if ((o.flags & MS_RDONLY) &&
      ::mount(nullptr, fd_path(fresh.get()).c_str(), nullptr, MS_REMOUNT | o.flags, o.data.c_str()) < 0)
    fail_errno("{}: make {} read-only", m.what, m.destination);
}

void mount_one(int root_fd, const MountSpec& m) {
  const MountOptions& o = m.options;
  if (m.type == "symlink") {
    Fd parent = mkdir_all_in_root(root_fd, dirname_of(m.destination));
    if (::symlinkat(m.source.c_str(), parent.get(), basename_of(m.destination).c_str()) < 0 &&
        errno != EEXIST)
      fail_errno("{}: symlink {}", m.what, m.destination);
    return;
  }
  bool bind = o.bind || m.type == "bind";
  check_special_target(root_fd, m);
  // A destination that is a symlink in the image (/etc/localtime) is followed, inside the
  // root, to mount on what it names (runc, crun): every later step (the read-only remount,
  // propagation, attributes) must reach that mount too, never the link itself.
  Fd link = open_in_root(root_fd, m.destination, O_PATH | O_NOFOLLOW);
  int follow = link && S_ISLNK(stat_fd(link.get(), m.destination).st_mode) ? 0 : O_NOFOLLOW;
  link.reset();
  bool dir = bind ? is_dir_source(m) : true;
  Fd target = with_context(m.what, [&] { return make_mount_target(root_fd, m.destination, dir); });
  if (bind && m.source_tree >= 0) {
    attach_tree(m, target.get());
  } else if (bind) {
    unsigned long flags = MS_BIND | (o.recursive ? MS_REC : 0);
    with_context(m.what, [&] { mount_at_fd(m.source, target.get(), m.destination, "", flags, ""); });
  } else {
    // tmpcopyup: what the image has at the destination is read through an fd taken before
    // the tmpfs hides it, and copied in before a read-only flag applies.
    Fd under = o.tmpcopyup ? openat_or_fail(target.get(), ".", O_RDONLY | O_DIRECTORY) : Fd();
    unsigned long flags = o.tmpcopyup ? o.flags & ~MS_RDONLY : o.flags;
    std::string source = m.source.empty() ? m.type : m.source;
    with_context(m.what, [&] { mount_at_fd(source, target.get(), m.destination, m.type, flags, o.data); });
    if (under) copy_up(root_fd, under.get(), m, follow);
  }
  // From here on the fd must be the new mount, not the directory underneath it.
  target = open_in_root(root_fd, m.destination, O_PATH | follow);
  if (!target) fail_errno("{}: open {}", m.what, m.destination);
  if (m.type == "proc") check_fs_magic(target.get(), PROC_SUPER_MAGIC, m);
  if (m.type == "sysfs") check_fs_magic(target.get(), SYSFS_MAGIC, m);
  // The kernel ignores flags on MS_BIND itself: remount to apply them (runc does the same).
  if (bind && m.source_tree < 0 && (o.flags & kBindRemountable))
    with_context(m.what, [&] { remount_bind(target.get(), m.destination, o.flags & kBindRemountable); });
  if (o.propagation && ::mount(nullptr, fd_path(target.get()).c_str(), nullptr, o.propagation, nullptr) < 0)
    fail_errno("{}: set propagation of {}", m.what, m.destination);
  if (o.attr_set || o.attr_clr) {
    sys::MountAttr attr{o.attr_set, o.attr_clr, 0, 0};
    if (sys::mount_setattr(target.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
      fail_errno("{}: set recursive mount attributes on {}", m.what, m.destination);
  }
}

void make_device(int root_fd, const DeviceNode& d, bool bind) {
  std::string clean = clean_path(d.path);
  Fd parent = mkdir_all_in_root(root_fd, dirname_of(clean));
  std::string name = basename_of(clean);
  if (bind) {
    // mknod is refused in a user namespace: bind the host's node on an empty file.
    Fd target = make_mount_target(root_fd, clean, false);
    mount_at_fd(clean, target.get(), clean, "", MS_BIND, "");
    return;
  }
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  ::unlinkat(parent.get(), name.c_str(), 0);
  dev_t dev = d.type == 'p' ? 0 : makedev(d.major, d.minor);
  if (::mknodat(parent.get(), name.c_str(), type | (d.mode & 07777), dev) < 0)
    fail_errno("mknod {}", clean);
  // Chown and chmod exactly the node made here, through an fd: a name swapped for a symlink
  // meanwhile must not carry them to a file outside the rootfs.
  Fd node(::openat(parent.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!node) fail_errno("open {}", clean);
  struct stat st = stat_fd(node.get(), clean);
  if ((st.st_mode & S_IFMT) != type || (d.type != 'p' && st.st_rdev != dev)) fail("{} changed under us", clean);
  if (::fchownat(node.get(), "", d.uid, d.gid, AT_EMPTY_PATH) < 0) fail_errno("chown {}", clean);
  // mknod's mode went through the umask; set it exactly.
  if (::chmod(fd_path(node.get()).c_str(), d.mode & 07777) < 0) fail_errno("chmod {}", clean);
}

void make_dev_symlinks(int root_fd) {
  static const std::pair<const char*, const char*> kLinks[] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}};
  Fd dev = mkdir_all_in_root(root_fd, "/dev");
  for (const auto& [target, name] : kLinks) {
    if (::symlinkat(target, dev.get(), name) == 0 || errno == EEXIST) continue;
    fail_errno("symlink /dev/{}", name);
  }
  if (::mkdirat(dev.get(), "shm", 01777) < 0 && errno != EEXIST) fail_errno("mkdir /dev/shm");
  if (::mkdirat(dev.get(), "pts", 0755) < 0 && errno != EEXIST) fail_errno("mkdir /dev/pts");
}

// Makes the mount holding `path` private, so pivot_root's "parent must not be shared" holds
// even when the host's tree is shared (rootfsPropagation shared/rshared).
void make_parent_private(const std::string& path) {
  auto mounts = read_mountinfo();
  const MountInfo* m = mount_containing(mounts, path);
  if (m && ::mount(nullptr, m->mount_point.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
    fail_errno("make {} private", m->mount_point);
}

// The overlay root: a tmpfs on the scratch directory holds the upper and work layers and the
// mount point; none of it is visible outside the container's mount namespace.
Fd mount_overlay_root(const RootfsPlan& plan) {
  const std::string& lower = plan.rootfs;
  const std::string& scratch = plan.overlay_scratch;
  // overlayfs splits its options on ',' and lowerdir on ':'.
  if (lower.find_first_of(",:\\") != std::string::npos || scratch.find_first_of(",:\\") != std::string::npos)
    fail("overlay root: {} or {} holds ',', ':' or '\\', which overlayfs cannot take", lower, scratch);
  if (::mount("tmpfs", scratch.c_str(), "tmpfs", MS_NOSUID, "mode=0700") < 0)
    fail_errno("mount tmpfs for the overlay's upper layer on {}", scratch);
  for (const char* d : {"upper", "work", "root", "lower"}) {
    std::string p = path_join(scratch, d);
    if (::mkdir(p.c_str(), 0755) < 0) fail_errno("mkdir {}", p);
  }
  std::string root = path_join(scratch, "root");
  if (plan.overlay_root_fd >= 0) {
    if (sys::move_mount(plan.overlay_root_fd, "", AT_FDCWD, root.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
      fail_errno("attach the overlay of the image's id-mapped layers on {}", root);
    int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail_errno("open overlay root {}", root);
    return Fd(fd);
  }
  std::string lower_dir = lower;
  std::string upper = path_join(scratch, "upper"), work = path_join(scratch, "work");
  if (!plan.overlay_lowers.empty()) {
    lower_dir = join(plan.overlay_lowers, ":");
    upper = path_join(lower, "upper");
    work = path_join(lower, "work");
  } else if (plan.overlay_lower_fd >= 0) {
    lower_dir = path_join(scratch, "lower");
    if (sys::move_mount(plan.overlay_lower_fd, "", AT_FDCWD, lower_dir.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
      fail_errno("attach the overlay's lower layer {} on {}", lower, lower_dir);
  }
  std::string data = fmt::format("lowerdir={},upperdir={},workdir={}{}", lower_dir, upper, work,
                                 plan.overlay_userxattr ? ",userxattr" : "");
  if (data.size() >= 4096) fail("overlay root: {} layers are more than one mount can stack", plan.overlay_lowers.size());
  if (::mount("overlay", root.c_str(), "overlay", 0, data.c_str()) < 0)
    fail_errno("mount overlay of {} on {}", plan.overlay_lowers.empty() ? lower : "the image's layers", root);
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("open overlay root {}", root);
  return Fd(fd);
}

// --no-pivot keeps the host's tree in the mount namespace, out of the chroot's reach but
// there: the kernel lets a nested user namespace mount a fresh procfs or sysfs when a fully
// visible one exists in its mount namespace, and the host's would be one, unmasked. So every
// full procfs and sysfs outside the rootfs is detached first (runc does the same), or, where
// the kernel refuses (a locked mount), covered with an empty read-only tmpfs.
void hide_host_proc_and_sys(int root_fd) {
  char buf[4096];
  ssize_t n = ::readlink(fd_path(root_fd).c_str(), buf, sizeof buf - 1);
  if (n <= 0 || buf[0] != '/') fail_errno("--no-pivot: find where the rootfs is mounted");
  std::string rootfs(buf, static_cast<size_t>(n));
  auto inside = [&](const std::string& p) { return p == rootfs || p.rfind(rootfs + "/", 0) == 0; };
  // Read once: the host's /proc itself is among them. A parent comes first (mountinfo's
  // order) and takes its submounts along, so those under one already done are skipped.
  std::vector<std::string> done;
  for (const auto& m : read_mountinfo()) {
    if (m.root != "/" || (m.fstype != "proc" && m.fstype != "sysfs") || inside(m.mount_point))
      continue;
    bool under_done = std::any_of(done.begin(), done.end(), [&](const std::string& d) {
      return m.mount_point.rfind(d + "/", 0) == 0;
    });
    if (under_done) continue;
    const char* at = m.mount_point.c_str();
    // Never let the unmount propagate to the host (rootfsPropagation may be shared).
    if (::mount(nullptr, at, nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
      fail_errno("--no-pivot: make {} a slave", at);
    done.push_back(m.mount_point);
    if (::umount2(at, MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) fail_errno("--no-pivot: unmount the host's {}", at);
    if (::mount("tmpfs", at, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "size=0,mode=0") < 0)
      fail_errno("--no-pivot: cover the host's {}", at);
  }
}

// The kernel maps ids only on a detached mount (a clone from open_tree), through a user
// namespace that holds the maps: what the file system stores as `inside` is seen as `outside`
// through this mount. -1 with errno set when the kernel refuses.
int set_idmap(int tree, int userns, bool recursive) {
  sys::MountAttr attr{MOUNT_ATTR_IDMAP, 0, 0, static_cast<uint64_t>(userns)};
  return sys::mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr);
}

void idmap_tree(const MountSpec& m) {
  if (m.source_tree < 0) fail("{}: id-mapped mounts need the new mount API (open_tree)", m.what);
  Fd userns = with_context(m.what + ": id map",
                           [&] { return user_namespace_with_maps(m.idmap_uids, m.idmap_gids); });
  if (set_idmap(m.source_tree, userns.get(), m.options.recursive) < 0)
    fail_errno("{}: id-map the bind mount of {}", m.what, m.source);
}

}  // namespace

Fd detached_overlay(const std::vector<std::string>& lowers, const std::string& layer_dir,
                    const std::vector<IdRange>& uids, const std::vector<IdRange>& gids,
                    std::vector<Fd>& owned) {
  Fd userns;
  if (!uids.empty())
    userns = with_context("the image's layers: id map", [&] { return user_namespace_with_maps(uids, gids); });
  Fd fs(sys::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) fail_errno("fsopen overlay");
  for (const auto& l : lowers) {
    if (!userns) {
      if (sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", l.c_str(), 0) < 0)
        fail_errno("overlay: add the layer {}", l);
      continue;
    }
    Fd tree(sys::open_tree(AT_FDCWD, l.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree) fail_errno("clone layer {}", l);
    if (set_idmap(tree.get(), userns.get(), false) < 0) fail_errno("id-map layer {}", l);
    if (sys::fsconfig(fs.get(), FSCONFIG_SET_FD, "lowerdir+", nullptr, tree.get()) < 0)
      fail_errno("overlay: add the id-mapped layer {} (lowerdir+ by fd needs Linux 6.13)", l);
    owned.push_back(std::move(tree));
  }
  std::string upper = path_join(layer_dir, "upper"), work = path_join(layer_dir, "work");
  if (sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", upper.c_str(), 0) < 0 ||
      sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", work.c_str(), 0) < 0)
    fail_errno("overlay: upper and work dirs {}", layer_dir);
  if (sys::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    fail_errno("create the overlay of the image's layers on {}", layer_dir);
  Fd mnt(sys::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) fail_errno("fsmount the overlay of the image's layers");
  return mnt;
}

std::vector<DeviceNode> default_devices() {
  return {
      {'c', "/dev/null", 1, 3, 0666, 0, 0},    {'c', "/dev/zero", 1, 5, 0666, 0, 0},
      {'c', "/dev/full", 1, 7, 0666, 0, 0},    {'c', "/dev/random", 1, 8, 0666, 0, 0},
      {'c', "/dev/urandom", 1, 9, 0666, 0, 0}, {'c', "/dev/tty", 5, 0, 0666, 0, 0},
  };
}

void open_sources(RootfsPlan& plan, std::vector<Fd>& owned) {
  auto clone = [&](const std::string& path, bool recursive, const std::string& what) {
    int fd = sys::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    if (fd < 0) {
      if (errno == ENOSYS) return -1;  // no new mount API: the init binds by path
      fail_errno("{}: {}", what, path);
    }
    owned.emplace_back(fd);
    return fd;
  };
  // An overlay root needs only the lower layer's own mount, without the host's submounts.
  // An image's layers are reached by path (hull's own store, not the host's mounts).
  if (plan.overlay && plan.overlay_lowers.empty()) plan.overlay_lower_fd = clone(plan.rootfs, false, "root.path");
  else if (!plan.overlay) plan.rootfs_tree = clone(plan.rootfs, true, "root.path");
  else if (!plan.overlay_idmap_uids.empty()) {
    owned.push_back(detached_overlay(plan.overlay_lowers, plan.rootfs, plan.overlay_idmap_uids,
                                     plan.overlay_idmap_gids, owned));
    plan.overlay_root_fd = owned.back().get();
  }
  for (auto& m : plan.mounts) {
    if (!m.options.bind && m.type != "bind") continue;
    m.source_tree = clone(m.source, m.options.recursive, m.what + ".source");
    if (m.options.idmap) idmap_tree(m);
  }
}

Fd prepare_rootfs(const RootfsPlan& plan) {
  bool shared = plan.propagation & MS_SHARED;
  unsigned long prop = MS_REC | (shared ? MS_SHARED : plan.propagation & MS_PRIVATE ? MS_PRIVATE : MS_SLAVE);
  // Nothing the container mounts may propagate back to the host, unless it asked for shared.
  if (::mount(nullptr, "/", nullptr, prop, nullptr) < 0) fail_errno("set propagation of /");
  if (shared) make_parent_private(clean_path(plan.rootfs));
  if (plan.overlay) return mount_overlay_root(plan);
  if (plan.rootfs_tree >= 0) {
    // The rootfs clone goes on top of the rootfs directory, reached as our cwd: no path walk.
    if (sys::move_mount(plan.rootfs_tree, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
      fail_errno("bind mount rootfs {}", plan.rootfs);
    int fd = ::fcntl(plan.rootfs_tree, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) fail_errno("dup rootfs fd");
    return Fd(fd);
  }
  if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    fail_errno("bind mount rootfs {}", plan.rootfs);
  int fd = ::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("open rootfs {}", plan.rootfs);
  return Fd(fd);
}

namespace {

// Only a missing cwd is made: anything else that is not a directory stays the error the
// process's chdir reports.
void make_missing_cwd(const RootfsPlan& plan, int root_fd) {
  if (!plan.cwd.empty() && !open_in_root(root_fd, plan.cwd, O_PATH) && errno == ENOENT)
    with_context("process.cwd", [&] { mkdir_all_in_root(root_fd, plan.cwd); });
}

}  // namespace

void mount_all(const RootfsPlan& plan, int root_fd) {
  for (const auto& m : plan.mounts) mount_one(root_fd, m);
  for (const auto& d : plan.devices)
    with_context(fmt::format("create device {}", d.path), [&] { make_device(root_fd, d, plan.bind_devices); });
  make_dev_symlinks(root_fd);
  make_missing_cwd(plan, root_fd);
}

Fd open_shared_root(const RootfsPlan& plan) {
  Fd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) fail_errno("root.path {} in the container's mount namespace", plan.rootfs);
  make_missing_cwd(plan, root.get());
  return root;
}

bool is_current_root(int root_fd) {
  struct stat a = stat_fd(root_fd, "root.path"), b;
  if (::stat("/", &b) < 0) fail_errno("stat /");
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void enter_shared_root(const RootfsPlan& plan, int root_fd) {
  if (::fchdir(root_fd) < 0) fail_errno("chdir to rootfs {}", plan.rootfs);
  if (!is_current_root(root_fd) && ::chroot(".") < 0) fail_errno("chroot {}", plan.rootfs);
  if (::chdir("/") < 0) fail_errno("chdir /");
}

void mount_console(int root_fd, int pty_fd) {
  // CVE-2025-52565: /dev/console is never followed through a symlink; whatever is there
  // that is not a plain file is replaced by one, and the pty is bound on that.
  Fd dev = open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY);
  if (!dev) fail_errno("open /dev");
  struct stat st;
  if (::fstatat(dev.get(), "console", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
    if (::unlinkat(dev.get(), "console", 0) < 0) fail_errno("remove /dev/console");
  }
  Fd created(::openat(dev.get(), "console", O_CREAT | O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!created) fail_errno("create /dev/console");
  Fd target(::openat(dev.get(), "console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!target || !S_ISREG(stat_fd(target.get(), "/dev/console").st_mode)) fail("/dev/console changed under us");
  mount_at_fd(fd_path(pty_fd), target.get(), "/dev/console", "", MS_BIND, "");
}

void enter_rootfs(const RootfsPlan& plan, int root_fd) {
  bool shared = plan.propagation & MS_SHARED;
  Fd old_root;
  if (shared && !plan.no_pivot) old_root.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (::fchdir(root_fd) < 0) fail_errno("chdir to rootfs {}", plan.rootfs);
  if (plan.no_pivot) {
    hide_host_proc_and_sys(root_fd);
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) fail_errno("move rootfs {} to /", plan.rootfs);
    if (::chroot(".") < 0) fail_errno("chroot {}", plan.rootfs);
  } else {
    // pivot_root(".", "."): the old root ends up stacked on top of the new one and is
    // detached at once, without needing a directory for it inside the rootfs (runc, lxc).
    if (sys::pivot_root(".", ".") < 0) fail_errno("pivot_root {}", plan.rootfs);
    // prepare_rootfs made the old tree rslave, so unmounting it reaches nothing outside.
    // With shared propagation it is still shared: make it (and only it, reached by the fd
    // taken before pivot_root — "." would be the new root) a slave first.
    if (old_root && ::mount(nullptr, fd_path(old_root.get()).c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
      fail_errno("make the old root a slave");
    if (::umount2(".", MNT_DETACH) < 0) fail_errno("unmount old root");
  }
  if (::chdir("/") < 0) fail_errno("chdir /");
}

void finish_rootfs(const RootfsPlan& plan) {
  if (plan.propagation && ::mount(nullptr, "/", nullptr, plan.propagation, nullptr) < 0)
    fail_errno("set rootfsPropagation of /");
  Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) fail_errno("open /");
  if (!plan.masked_paths.empty()) {
    // CVE-2025-31133: mask with a /dev/null that really is the null device, char 1:3.
    Fd null = open_in_root(root.get(), "/dev/null", O_PATH | O_NOFOLLOW);
    if (!null) fail_errno("open /dev/null for masking");
    struct stat st = stat_fd(null.get(), "/dev/null");
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
      fail("/dev/null is not the null device (char 1:3): refusing to mask paths with it");
    for (const auto& path : plan.masked_paths) {
      Fd target = open_in_root(root.get(), path, O_PATH | O_NOFOLLOW);
      if (!target) {
        if (errno == ENOENT) continue;
        fail_errno("mask {}", path);
      }
      struct stat t = stat_fd(target.get(), path);
      if (S_ISDIR(t.st_mode)) {
        with_context("mask " + path, [&] { mount_at_fd("tmpfs", target.get(), path, "tmpfs", MS_RDONLY, ""); });
      } else if (!S_ISLNK(t.st_mode)) {
        with_context("mask " + path, [&] { mount_at_fd(fd_path(null.get()), target.get(), path, "", MS_BIND, ""); });
      }
    }
  }
  for (const auto& path : plan.readonly_paths) {
    Fd target = open_in_root(root.get(), path, O_PATH | O_NOFOLLOW);
    if (!target) {
      if (errno == ENOENT) continue;
      fail_errno("make {} read-only", path);
    }
    with_context("make read-only", [&] {
      mount_at_fd(fd_path(target.get()), target.get(), path, "", MS_BIND | MS_REC, "");
      Fd bound = open_in_root(root.get(), path, O_PATH | O_NOFOLLOW);
      remount_bind(bound.get(), path, MS_RDONLY);
    });
  }
  if (plan.readonly) {
    if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0) {
      Fd r(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
      with_context("make root read-only", [&] { remount_bind(r.get(), "/", MS_RDONLY); });
    }
  }
}

void make_dev_read_only(const RootfsPlan& plan) {
  if (!plan.dev_remount_flags) return;
  Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) fail_errno("open /");
  Fd dev = open_in_root(root.get(), "/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!dev) fail_errno("open /dev");
  remount_bind(dev.get(), "/dev", plan.dev_remount_flags & kBindRemountable);
}

}  // namespace hull::linux
