#include "image/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vector>

#include "image/libarchive.h"
#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/strings.h"

namespace hull::image {
namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

// A directory's metadata is applied after all its entries: creating them changes its mtime,
// and a read-only mode would stop them being created.
struct DirMeta {
  std::string path;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
};

class Unpacker {
 public:
  Unpacker(struct archive* a, int root) : la_(libarchive()), a_(a), root_(root) {}

  UnpackStats run() {
    struct archive_entry* entry;
    while (true) {
      offset_ = la_.read_header_position(a_);
      int r = la_.read_next_header(a_, &entry);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) fail("corrupt layer at offset {}: {}", offset_, error_text());
      const char* p = la_.entry_pathname(entry);
      name_ = p ? p : "";
      try {
        one(entry);
      } catch (Error& e) {
        e.add_context(fmt::format("layer entry {} (offset {})", quote(name_), offset_));
        throw;
      }
      stats_.entries++;
    }
    // Deepest first, so a parent's mtime is set after its children's.
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) finish_dir(*it);
    return stats_;
  }

 private:
  std::string error_text() {
    const char* s = la_.error_string(a_);
    return s ? s : "unknown error";
  }

  // "./a/b/" -> {"a", "b"}; ".." anywhere is refused (docker refuses it too).
  std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    for (auto& c : split(path, '/')) {
      if (c.empty() || c == ".") continue;
      if (c == "..") fail("path leaves the layer (\"..\")");
      out.push_back(c);
    }
    return out;
  }

  // The parent directory of comps' last element, created as needed; never leaves root_.
  Fd open_parent(const std::vector<std::string>& comps, bool create) {
    std::string parent;
    for (size_t i = 0; i + 1 < comps.size(); i++) parent += (i ? "/" : "") + comps[i];
    if (parent.empty()) parent = ".";
    Fd fd = open_beneath(parent);
    if (fd || errno != ENOENT || !create) {
      if (!fd) fail_errno("open {}", parent);
      return fd;
    }
    // Walk, creating what is missing (tars may omit directory entries).
    std::string sofar;
    Fd dir = open_beneath(".");
    for (size_t i = 0; i + 1 < comps.size(); i++) {
      sofar += (i ? "/" : "") + comps[i];
      if (::mkdirat(dir.get(), comps[i].c_str(), 0755) < 0 && errno != EEXIST)
        fail_errno("mkdir {}", sofar);
      dir = open_beneath(sofar);
      if (!dir) fail_errno("open {}", sofar);
    }
    return dir;
  }

  Fd open_beneath(const std::string& path, uint64_t flags = O_PATH | O_DIRECTORY) {
    struct open_how how = {};
    how.flags = flags | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int fd = sys::openat2(root_, path.c_str(), &how);
    if (fd < 0 && (errno == EXDEV || errno == ELOOP))
      fail("path goes through a symlink out of the layer ({})", path);
    return Fd(fd);
  }

  // Makes room for a new entry: what is there goes, unless both are directories.
  bool clear(int parent, const std::string& name, bool want_dir) {
    struct stat st;
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return false;
      fail_errno("stat {}", name);
    }
    if (want_dir && S_ISDIR(st.st_mode)) return true;
    if (::unlinkat(parent, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
      fail_errno("replace {}", name);
    return false;
  }

  void owner_mode_time(int fd, struct archive_entry* e) {
    if (::fchown(fd, la_.entry_uid(e), la_.entry_gid(e)) < 0 && ::geteuid() == 0)
      fail_errno("chown");
    // After chown, which clears setuid and setgid bits.
    if (::fchmod(fd, la_.entry_perm(e)) < 0) fail_errno("chmod");
    struct timespec times[2] = {mtime(e), mtime(e)};
    if (::futimens(fd, times) < 0) fail_errno("set times");
  }

  static struct timespec mtime_of(const Archive& la, struct archive_entry* e) {
    return {la.entry_mtime(e), la.entry_mtime_nsec(e)};
  }
  struct timespec mtime(struct archive_entry* e) {
    return mtime_of(la_, e);
  }

  void xattrs(int fd, struct archive_entry* e) {
    la_.entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (la_.entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      std::string_view n(name);
      // An archive must not steer overlayfs (redirect, metacopy, opaque are hull's to set).
      if (n.rfind("trusted.overlay.", 0) == 0) continue;
      if (::fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP)
        fail_errno("set xattr {}", n);
    }
  }

  void one(struct archive_entry* e) {
    std::vector<std::string> comps = components(name_);
    if (comps.empty()) {  // "./": the layer root itself
      if (la_.entry_filetype(e) == AE_IFDIR)
        dirs_.push_back({".", static_cast<mode_t>(la_.entry_perm(e)),
                         static_cast<uid_t>(la_.entry_uid(e)), static_cast<gid_t>(la_.entry_gid(e)),
                         mtime(e)});
      return;
    }
    const std::string& base = comps.back();
    Fd parent = open_parent(comps, true);
    if (base == kOpaque) {
      Fd dir(::openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!dir || ::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
        fail_errno("mark the directory opaque");
      return;
    }
    if (base.rfind(kWhiteout, 0) == 0) {
      std::string target = base.substr(kWhiteout.size());
      // Other ".wh..wh." names are aufs bookkeeping (hard link dirs), not content.
      if (target.rfind(".wh.", 0) == 0) return;
      if (target.empty()) fail("empty whiteout name");
      clear(parent.get(), target, false);
      if (::mknodat(parent.get(), target.c_str(), S_IFCHR | 0, ::makedev(0, 0)) < 0)
        fail_errno("create the whiteout for {}", target);
      return;
    }
    const char* hardlink = la_.entry_hardlink(e);
    if (hardlink) return link(parent.get(), base, hardlink);
    switch (la_.entry_filetype(e)) {
      case AE_IFDIR:
        return directory(parent.get(), comps, e);
      case AE_IFREG:
        return regular(parent.get(), base, e);
      case AE_IFLNK:
        return symlink(parent.get(), base, e);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        return node(parent.get(), base, e);
      default:
        fail("unsupported entry type {:o}", la_.entry_filetype(e));
    }
  }

  void directory(int parent, const std::vector<std::string>& comps, struct archive_entry* e) {
    const std::string& base = comps.back();
    if (!clear(parent, base, true) && ::mkdirat(parent, base.c_str(), 0700) < 0)
      fail_errno("mkdir");
    std::string path = join(comps, "/");
    Fd dir = open_beneath(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir) fail_errno("open");
    xattrs(dir.get(), e);
    dirs_.push_back({path, static_cast<mode_t>(la_.entry_perm(e)),
                     static_cast<uid_t>(la_.entry_uid(e)), static_cast<gid_t>(la_.entry_gid(e)),
                     mtime(e)});
  }

  void finish_dir(const DirMeta& d) {
    Fd dir = open_beneath(d.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir) fail_errno("open directory {}", d.path);
    if (::fchown(dir.get(), d.uid, d.gid) < 0 && ::geteuid() == 0)
      fail_errno("chown directory {}", d.path);
    if (::fchmod(dir.get(), d.mode) < 0) fail_errno("chmod directory {}", d.path);
    struct timespec times[2] = {d.mtime, d.mtime};
    if (::futimens(dir.get(), times) < 0) fail_errno("set times of directory {}", d.path);
  }

  void regular(int parent, const std::string& base, struct archive_entry* e) {
    clear(parent, base, false);
    Fd fd(
        ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) fail_errno("create");
    const void* buf;
    size_t size;
    la_int64_t offset;
    int64_t end = 0;
    while (true) {
      int r = la_.read_data_block(a_, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) fail("corrupt layer data: {}", error_text());
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {  // pwrite: sparse entries come as blocks at offsets
        ssize_t n = ::pwrite(fd.get(), p, size, offset);
        if (n < 0) {
          if (errno == EINTR) continue;
          fail_errno("write");
        }
        p += n;
        size -= n;
        offset += n;
      }
      end = std::max<int64_t>(end, offset);
    }
    int64_t want = la_.entry_size(e);
    if (want > end && ::ftruncate(fd.get(), want) < 0) fail_errno("truncate");
    stats_.bytes += want;
    xattrs(fd.get(), e);
    owner_mode_time(fd.get(), e);
  }

  void symlink(int parent, const std::string& base, struct archive_entry* e) {
    const char* target = la_.entry_symlink(e);
    if (!target) fail("symlink without a target");
    clear(parent, base, false);
    // The target is stored as it is: it is only ever resolved inside a container's root.
    if (::symlinkat(target, parent, base.c_str()) < 0) fail_errno("symlink");
    if (::fchownat(parent, base.c_str(), la_.entry_uid(e), la_.entry_gid(e), AT_SYMLINK_NOFOLLOW) <
            0 &&
        ::geteuid() == 0)
      fail_errno("chown");
    struct timespec times[2] = {mtime(e), mtime(e)};
    if (::utimensat(parent, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) fail_errno("set times");
  }

  void link(int parent, const std::string& base, const char* target) {
    std::vector<std::string> tcomps;
    try {
      tcomps = components(target);
    } catch (Error&) {
      fail("hard link to {} leaves the layer", quote(target));
    }
    if (tcomps.empty()) fail("hard link to the layer's root");
    Fd tparent = open_parent(tcomps, false);
    clear(parent, base, false);
    // linkat without AT_SYMLINK_FOLLOW links the name itself, never what a symlink points to.
    if (::linkat(tparent.get(), tcomps.back().c_str(), parent, base.c_str(), 0) < 0)
      fail_errno("hard link to {}", quote(target));
  }

  void node(int parent, const std::string& base, struct archive_entry* e) {
    mode_t type = la_.entry_filetype(e) == AE_IFCHR   ? S_IFCHR
                  : la_.entry_filetype(e) == AE_IFBLK ? S_IFBLK
                                                      : S_IFIFO;
    // Only root may make device nodes; a rootless unpack skips them (as podman does).
    if (type != S_IFIFO && ::geteuid() != 0) return;
    clear(parent, base, false);
    dev_t dev = ::makedev(la_.entry_rdevmajor(e), la_.entry_rdevminor(e));
    if (::mknodat(parent, base.c_str(), type | 0600, dev) < 0) fail_errno("mknod");
    // Never opened (opening a device or FIFO could block or have effects): the metadata goes
    // through the *at calls on the name just made in a directory held by fd.
    if (::fchownat(parent, base.c_str(), la_.entry_uid(e), la_.entry_gid(e), AT_SYMLINK_NOFOLLOW) <
            0 &&
        ::geteuid() == 0)
      fail_errno("chown");
    if (::fchmodat(parent, base.c_str(), la_.entry_perm(e), 0) < 0) fail_errno("chmod");
    struct timespec times[2] = {mtime(e), mtime(e)};
    if (::utimensat(parent, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) fail_errno("set times");
  }

  const Archive& la_;
  struct archive* a_;
  int root_;
  std::string name_;
  int64_t offset_ = 0;
  std::vector<DirMeta> dirs_;
  UnpackStats stats_;
};

}  // namespace

UnpackStats unpack_tar(struct archive* a, int root_fd) {
  return Unpacker(a, root_fd).run();
}

}  // namespace hull::image
