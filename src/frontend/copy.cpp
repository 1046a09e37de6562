#include "frontend/copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <tuple>

#include "frontend/containers.h"
#include "frontend/images.h"
#include "linux/path.h"
#include "linux/rootfs.h"
#include "oci/parse.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

struct Owner {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // Copy-up from an image's layers: each entry keeps its own uid/gid, xattrs and times, hard
  // links stay links, device nodes and fifos are made again.
  bool preserve = false;
  int dest_root = -1;  // with preserve: the directory copied into, for hard links
  uint32_t uid_shift = 0, gid_shift = 0;                 // with preserve: added to each owner
  std::map<std::pair<dev_t, ino_t>, std::string> links;  // source inode -> path under dest_root
};

// CONTAINER:PATH, docker's rule: a colon before any slash.
std::optional<std::pair<std::string, std::string>> container_side(const std::string& arg) {
  auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  if (arg.find('/') < colon) return std::nullopt;
  return std::make_pair(arg.substr(0, colon), arg.substr(colon + 1));
}

// The outside id of the container's 0 in a /proc/PID/{uid,gid}_map.
uint32_t outside_root(pid_t pid, const char* map) {
  auto text = read_file_if_exists(fmt::format("/proc/{}/{}", pid, map)).value_or("");
  for (const auto& line : split(text, '\n')) {
    std::vector<std::string> f;
    for (const auto& w : split(line, ' '))
      if (!w.empty()) f.push_back(w);
    if (f.size() == 3 && f[0] == "0") return static_cast<uint32_t>(parse_u64(f[1]).value_or(0));
  }
  return 0;
}

// A place: a directory fd and a name in it ("." for the directory itself).
struct Place {
  Fd dir;
  std::string name;
  std::string shown;  // for messages
};

std::string base_of(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string parent_of(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
}

// Opens a directory: inside the root when root >= 0, else on the host.
Fd open_dir(int root, const std::string& path, const std::string& shown) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  Fd fd = root >= 0 ? linux::open_in_root(root, path, flags) : Fd(::open(path.c_str(), flags));
  if (!fd) fail_errno("{}", shown);
  return fd;
}

void copy_entry(int sdir, const std::string& sname, int ddir, const std::string& dname,
                Owner& owner, const std::string& shown, const std::string& rel);

void copy_children(int sfd, int dfd, Owner& owner, const std::string& shown,
                   const std::string& rel) {
  for (const auto& n : list_dir(sfd, shown))
    copy_entry(sfd, n, dfd, n, owner, shown + "/" + n, rel + "/" + n);
}

void set_owner(int fd, const char* name, const Owner& owner, int flags, const struct stat& from) {
  if (owner.preserve) {
    if (::fchownat(fd, name, from.st_uid + owner.uid_shift, from.st_gid + owner.gid_shift, flags) <
        0)
      fail_errno("chown {}", name);
    return;
  }
  if (!owner.uid) return;
  if (::fchownat(fd, name, *owner.uid, *owner.gid, flags) < 0) fail_errno("chown {}", name);
}

// Every extended attribute of `from` onto `to` (both real fds), but overlayfs' own (an opaque
// mark is the merge's business, not the copy's).
void copy_xattrs(int from, int to, const std::string& shown) {
  std::string names(4096, '\0');
  ssize_t n;
  while ((n = ::flistxattr(from, names.data(), names.size())) < 0 && errno == ERANGE)
    names.resize(names.size() * 4);
  if (n < 0) {
    if (errno == ENOTSUP) return;
    fail_errno("list the xattrs of {}", shown);
  }
  for (size_t at = 0; at < static_cast<size_t>(n);) {
    std::string name(names.c_str() + at);
    at += name.size() + 1;
    if (name.rfind("trusted.overlay.", 0) == 0) continue;
    std::string value(256, '\0');
    ssize_t v;
    while ((v = ::fgetxattr(from, name.c_str(), value.data(), value.size())) < 0 && errno == ERANGE)
      value.resize(value.size() * 4);
    if (v < 0) fail_errno("read xattr {} of {}", name, shown);
    if (::fsetxattr(to, name.c_str(), value.data(), static_cast<size_t>(v), 0) < 0)
      fail_errno("set xattr {} on {}", name, shown);
  }
}

// Owner before mode (a chown clears setuid bits and file capabilities), xattrs after both,
// times last.
void set_meta(int fd, const Owner& owner, const struct stat& st, int src,
              const std::string& shown) {
  set_owner(fd, "", owner, AT_EMPTY_PATH, st);
  if (::fchmod(fd, st.st_mode & 07777) < 0) fail_errno("chmod {}", shown);
  if (!owner.preserve) return;
  copy_xattrs(src, fd, shown);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(fd, times) < 0) fail_errno("set the times of {}", shown);
}

void copy_entry(int sdir, const std::string& sname, int ddir, const std::string& dname,
                Owner& owner, const std::string& shown, const std::string& rel) {
  struct stat st;
  if (::fstatat(sdir, sname.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) fail_errno("{}", shown);
  mode_t perm = st.st_mode & 07777;
  if (owner.preserve && !S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto [it, fresh] = owner.links.try_emplace({st.st_dev, st.st_ino}, rel);
    if (!fresh) {
      ::unlinkat(ddir, dname.c_str(), 0);
      if (::linkat(owner.dest_root, it->second.c_str(), ddir, dname.c_str(), 0) < 0)
        fail_errno("link {} to {}", rel, it->second);
      return;
    }
  }
  if (S_ISREG(st.st_mode)) {
    Fd in(::openat(sdir, sname.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) fail_errno("{}", shown);
    Fd out(::openat(ddir, dname.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                    perm & 0777));
    if (!out) fail_errno("create {}", dname);
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(in.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("read {}", shown);
      if (n == 0) break;
      write_all(out.get(), std::string_view(buf, static_cast<size_t>(n)), dname.c_str());
    }
    set_meta(out.get(), owner, st, in.get(), shown);
  } else if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(ddir, dname.c_str(), perm | 0700) < 0 && errno != EEXIST)
      fail_errno("create {}", dname);
    Fd s(::openat(sdir, sname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) fail_errno("{}", shown);
    Fd d(::openat(ddir, dname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) fail_errno("open {}", dname);
    copy_children(s.get(), d.get(), owner, shown, rel);
    set_meta(d.get(), owner, st, s.get(), shown);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlinkat(sdir, sname.c_str(), target, sizeof target - 1);
    if (n < 0) fail_errno("readlink {}", shown);
    target[n] = '\0';
    ::unlinkat(ddir, dname.c_str(), 0);
    if (::symlinkat(target, ddir, dname.c_str()) < 0) fail_errno("create {}", dname);
    set_owner(ddir, dname.c_str(), owner, AT_SYMLINK_NOFOLLOW, st);
    if (owner.preserve) {
      struct timespec times[2] = {st.st_atim, st.st_mtim};
      ::utimensat(ddir, dname.c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
  } else if (owner.preserve &&
             (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))) {
    ::unlinkat(ddir, dname.c_str(), 0);
    if (::mknodat(ddir, dname.c_str(), (st.st_mode & S_IFMT) | perm, st.st_rdev) < 0)
      fail_errno("create {}", dname);
    Fd made(::openat(ddir, dname.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!made) fail_errno("open {}", dname);
    set_owner(made.get(), "", owner, AT_EMPTY_PATH, st);
    if (::fchmodat(ddir, dname.c_str(), perm, 0) < 0) fail_errno("chmod {}", dname);
  } else {
    log::warn("cp: {}: not a file, directory or symlink: skipped", shown);
  }
}

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_opaque(int dirfd) {
  char v[2] = {};
  return ::fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

// One directory of the merged view of layers (top first) into `dest`: a name is decided by the
// topmost layer that has it (a whiteout hides it), directories merge down to the first opaque
// one, as overlayfs shows them.
void merge_dir(const std::vector<int>& layers, int dest, Owner& owner, const std::string& shown,
               const std::string& rel) {
  std::vector<std::string> seen;
  for (int layer : layers) {
    for (const auto& n : list_dir(layer, shown)) {
      if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
      seen.push_back(n);
      struct stat st;
      if (::fstatat(layer, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) fail_errno("{}/{}", shown, n);
      if (is_whiteout(st)) continue;
      if (!S_ISDIR(st.st_mode)) {
        copy_entry(layer, n, dest, n, owner, shown + "/" + n, rel + "/" + n);
        continue;
      }
      // The same directory in the layers below, down to an opaque one or one that hides it.
      std::vector<Fd> held;
      std::vector<int> below;
      for (auto it = std::find(layers.begin(), layers.end(), layer); it != layers.end(); ++it) {
        struct stat s2;
        if (::fstatat(*it, n.c_str(), &s2, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (!S_ISDIR(s2.st_mode)) break;
        Fd sub(::openat(*it, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) fail_errno("{}/{}", shown, n);
        bool opaque = is_opaque(sub.get());
        below.push_back(sub.get());
        held.push_back(std::move(sub));
        if (opaque) break;
      }
      if (::mkdirat(dest, n.c_str(), 0700) < 0 && errno != EEXIST) fail_errno("create {}", n);
      Fd out(::openat(dest, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!out) fail_errno("open {}", n);
      merge_dir(below, out.get(), owner, shown + "/" + n, rel + "/" + n);
      set_meta(out.get(), owner, st, below.front(), shown + "/" + n);
    }
  }
}

}  // namespace

bool copy_up(const std::vector<std::string>& lowers, const std::string& path,
             const std::string& dest, const std::optional<std::pair<uint32_t, uint32_t>>& shift) {
  std::vector<Fd> held;
  std::vector<int> layers;
  std::optional<struct stat> top;
  for (const auto& l : lowers) {
    Fd root(::open(l.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) fail_errno("open layer {}", l);
    Fd dir = linux::open_in_root(root.get(), path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir) {
      struct stat st;
      // Something else (a file, a whiteout) there hides what lies below.
      Fd any = linux::open_in_root(root.get(), path, O_PATH | O_NOFOLLOW);
      if (any && ::fstat(any.get(), &st) == 0) break;
      continue;
    }
    bool opaque = is_opaque(dir.get());
    if (!top) {
      struct stat st;
      if (::fstat(dir.get(), &st) == 0) top = st;
    }
    layers.push_back(dir.get());
    held.push_back(std::move(dir));
    if (opaque) break;
  }
  if (layers.empty()) return false;
  Fd out(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!out) fail_errno("open {}", dest);
  Owner owner;
  owner.preserve = true;
  owner.dest_root = out.get();
  if (shift) std::tie(owner.uid_shift, owner.gid_shift) = *shift;
  merge_dir(layers, out.get(), owner, path, ".");
  if (top) set_meta(out.get(), owner, *top, layers.front(), path);
  return true;
}

namespace {

// The container's side of a copy: a root to resolve the path in, the path there, and the
// host ids of the container's root (what is copied in belongs to it).
struct Side {
  Fd root;
  std::string path;
  uint32_t uid = 0, gid = 0;
  std::vector<Fd> held;  // the id-mapped layer clones of a stopped container's overlay
  Fd lock;               // a stopped container's: `start` waits while its root is in use here
};

uint32_t host_root(const std::vector<oci::IdMapping>& maps) {
  for (const auto& m : maps)
    if (m.container_id == 0 && m.size > 0) return m.host_id;
  return 0;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         (dir == "/" || path[dir.size()] == '/'));
}

// A stopped container (docker's cp works on one too): an image container's root is its
// overlay, mounted detached here (its layers id-mapped as the runtime does them, with a user
// namespace); a --rootfs one's is that directory. A path under one of its directory binds
// (volumes) goes to the bind's source, as it would be inside. The host sandbox's root was a
// throw-away overlay: nothing is left to copy from or into.
Side stopped_side(const Env& env, const std::string& ref, const std::string& id,
                  const std::string& inner) {
  Store store(env);
  Side side;
  side.lock = store.lock(id);
  if (alive(oci_state(env, id))) fail("cp: container {} started meanwhile: copy again", ref);
  log::debug("cp: container {} is stopped: its root is reached under its lock", ref);
  Meta m = store.load(id);
  oci::Spec spec = with_context("stored config.json",
                                [&] { return oci::parse_spec(read_file(store.config_path(id))); });
  side.uid = host_root(spec.linux.uid_mappings);
  side.gid = host_root(spec.linux.gid_mappings);
  std::string path = clean_path("/" + inner);
  const oci::Mount* best = nullptr;
  for (const auto& mnt : spec.mounts) {
    bool bind = mnt.type == "bind" ||
                std::find(mnt.options.begin(), mnt.options.end(), "bind") != mnt.options.end() ||
                std::find(mnt.options.begin(), mnt.options.end(), "rbind") != mnt.options.end();
    std::string dest = clean_path("/" + mnt.destination);
    if (bind && under(path, dest) && is_dir(mnt.source) &&
        (!best || dest.size() > clean_path("/" + best->destination).size()))
      best = &mnt;
  }
  if (best) {
    std::string dest = clean_path("/" + best->destination);
    side.root = Fd(::open(best->source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!side.root) fail_errno("open {} (container {}'s {})", best->source, ref, dest);
    side.path = dest == "/" ? path : path.substr(dest.size());
    if (side.path.empty()) side.path = "/";
    return side;
  }
  side.path = path;
  if (!m.image_id.empty()) {
    image::Store images = image_store(env);
    std::vector<std::string> lowers;
    for (auto it = m.image_layers.rbegin(); it != m.image_layers.rend(); ++it)
      lowers.push_back(images.layer_root(*it));
    std::vector<linux::IdRange> uids, gids;
    for (const auto& r : spec.linux.uid_mappings)
      uids.push_back({r.container_id, r.host_id, r.size});
    for (const auto& r : spec.linux.gid_mappings)
      gids.push_back({r.container_id, r.host_id, r.size});
    side.root = linux::detached_overlay(lowers, store.dir(id) + "/layer", uids, gids, side.held);
    return side;
  }
  if (!m.rootfs.empty()) {
    side.root = Fd(::open(m.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!side.root) fail_errno("open {} (container {}'s root)", m.rootfs, ref);
    return side;
  }
  fail(
      "cp: container {} is not running, and its root was the host's under an overlay that went "
      "when it stopped: start it, or copy from the host's own files",
      ref);
}

Side container_side_root(const Env& env, const std::string& ref, const std::string& inner) {
  Store store(env);
  std::string id = store.resolve(ref);
  auto st = oci_state(env, id);
  // Being created (`run`, `start`): its init is not in its own root yet, and /proc/PID/root
  // would be the host's. Wait until it is created or gone.
  for (int64_t deadline = monotonic_ms() + 10000; alive(st) && st->status == oci::Status::creating;
       st = oci_state(env, id)) {
    if (monotonic_ms() > deadline) fail("cp: container {} is still being created: copy again", ref);
    sleep_ms(20);
  }
  if (!alive(st)) return stopped_side(env, ref, id, inner);
  Side side;
  try {
    side.root = runtime::open_container_root(env.ctx(), id);
  } catch (const Error& e) {
    // Ended since the look above: stopped, or already deleted by its monitor (not_found, which
    // named the runtime's full id, as test_start_waits_for_a_cp_into_the_stopped_container saw).
    if (e.is(ErrorKind::invalid_state) || e.is(ErrorKind::not_found))
      fail_as(ErrorKind::invalid_state, "container {} is not running", ref);
    throw;
  }
  side.path = inner;
  side.uid = outside_root(st->pid, "uid_map");
  side.gid = outside_root(st->pid, "gid_map");
  return side;
}

}  // namespace

void copy(const Env& env, const std::string& source, const std::string& destination) {
  auto from = container_side(source), to = container_side(destination);
  if (from && to) fail("cp: copying between containers is not supported");
  if (!from && !to)
    fail("cp: one side must be CONTAINER:PATH (hull cp CONTAINER:SRC DEST, or SRC CONTAINER:DEST)");
  const auto& [ref, inner] = from ? *from : *to;
  if (inner.empty()) fail("cp: {}: no path after the colon", from ? source : destination);
  Side side = container_side_root(env, ref, inner);
  std::string src = from ? side.path : source, dst = to ? side.path : destination;
  // A trailing slash says "a directory": kept through the bind mapping.
  if (to && inner.back() == '/' && dst.back() != '/') dst += '/';
  int sroot = from ? side.root.get() : -1, droot = to ? side.root.get() : -1;
  std::string src_shown = from ? ref + ":" + inner : src, dst_shown = to ? ref + ":" + inner : dst;
  std::string name = base_of(src);
  if (name == "/" || name == "." || name == "..")
    fail("cp: {}: name a file or directory, not {}", src_shown, quote(name));
  Fd sdir = open_dir(sroot, parent_of(src), src_shown);
  struct stat sst;
  if (::fstatat(sdir.get(), name.c_str(), &sst, AT_SYMLINK_NOFOLLOW) < 0)
    fail_errno("cp: {}", src_shown);
  // DEST an existing directory: the source goes into it under its own name; else DEST is the
  // new name (its parent must exist), docker's rules.
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  Fd into = droot >= 0 ? linux::open_in_root(droot, dst, flags) : Fd(::open(dst.c_str(), flags));
  std::string dname = name;
  if (!into) {
    if (!dst.empty() && dst.back() == '/') fail("cp: {}: no such directory", dst_shown);
    into = open_dir(droot, parent_of(dst), dst_shown + ": its directory");
    dname = base_of(dst);
  }
  Owner owner;
  if (to) {
    owner.uid = side.uid;
    owner.gid = side.gid;
  }
  copy_entry(sdir.get(), name, into.get(), dname, owner, src_shown, dname);
}

}  // namespace hull::frontend
