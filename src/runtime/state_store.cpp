#include "runtime/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

// Replaces NAME in a container's state dir, atomically for readers, without taking an inode
// from the file system or giving one back after the second write. The text goes into NAME.next
// (rewritten in place: pwrite, then ftruncate, so its data block stays too), and
// renameat2(RENAME_EXCHANGE) swaps the two names: NAME is the new text, NAME.next keeps the
// previous version's inode for the next write. A temporary file renamed over NAME instead
// allocates an inode and frees the old one (and its block) at every write: on an ext4 without
// a journal (/run on this project's hosts) every later inode allocation in that block group
// scans past each inode freed in the last 5 s (5 minutes while its table block is dirty), so
// each container made and removed slowed every next one (bench/README.md, "live containers").
// A crash before the exchange leaves NAME whole and a stray NAME.next, removed with the dir.
// Readers take no lock: one that opened NAME just before two exchanges can read the inode
// being rewritten; read_whole() retries what does not parse.
void replace_file(int dir_fd, const std::string& name, std::string_view data) {
  std::string next = name + ".next";
  {
    Fd fd(::openat(dir_fd, next.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) fail_errno("write {}", next);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          ::pwrite(fd.get(), data.data() + done, data.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        ::unlinkat(dir_fd, next.c_str(), 0);
        fail_err(err, "write {}", next);
      }
      done += static_cast<size_t>(n);
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(data.size())) < 0) {
      int err = errno;
      ::unlinkat(dir_fd, next.c_str(), 0);
      fail_err(err, "truncate {}", next);
    }
  }
  if (::renameat2(dir_fd, next.c_str(), dir_fd, name.c_str(), RENAME_EXCHANGE) == 0) return;
  // ENOENT: the first write (no NAME yet); EINVAL: a file system without exchange (NFS).
  if ((errno == ENOENT || errno == EINVAL || errno == ENOSYS) &&
      ::renameat(dir_fd, next.c_str(), dir_fd, name.c_str()) == 0)
    return;
  int err = errno;
  ::unlinkat(dir_fd, next.c_str(), 0);
  fail_err(err, "rename {} to {}", next, name);
}

// NAME's text, or nullopt if it does not exist. `parses` says whether a text is whole: one that
// is not is read again (a reader racing two replace_file()s, above) before it is returned.
template <typename Parses>
std::optional<std::string> read_whole(int dir_fd, const char* name, const std::string& path,
                                      Parses parses) {
  std::string text;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Fd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) return std::nullopt;
      fail_errno("open {}", path);
    }
    text = read_fd(fd.get());
    if (parses(text)) break;
  }
  return text;
}

bool json_parses(const std::string& text) {
  return nlohmann::json::accept(text);
}

}  // namespace

void validate_id(const std::string& id) {
  if (id.empty()) fail("container id: required");
  // The id is a directory name (the state dir, the cgroup /hull/<id>): NAME_MAX bytes.
  if (id.size() > 255) fail("container id: {} bytes is longer than 255", id.size());
  auto ok = [](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return !first && (c == '_' || c == '.' || c == '+' || c == '-');
  };
  for (size_t i = 0; i < id.size(); ++i)
    if (!ok(id[i], i == 0))
      fail("container id {}: invalid (letters, digits and _.+- only, not first)", quote(id));
}

std::string default_state_root() {
  uid_t uid = ::geteuid();
  if (uid == 0) return "/run/hull";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && xdg[0] == '/') return path_join(xdg, "hull");
  return fmt::format("/tmp/hull-{}", uid);
}

std::string seccomp_cache_dir(const std::string& root) {
  if (::geteuid() != 0) return path_join(root, ".seccomp");
  std::string def = default_state_root();
  // As create makes it: 0711, not mkdir -p's 0700 for the cache's parents.
  ::mkdir(def.c_str(), 0711);
  return path_join(def, ".seccomp");
}

std::string StateStore::dir(const std::string& id) const {
  return path_join(root_, id);
}

Fd StateStore::create_locked(const std::string& id) {
  validate_id(id);
  uid_t uid = ::geteuid();
  if (::mkdir(root_.c_str(), uid == 0 ? 0711 : 0700) < 0 && errno != EEXIST) {
    if (errno != ENOENT) fail_errno("create state root {}", root_);
    mkdir_p(root_, uid == 0 ? 0711 : 0700);
  }
  if (uid != 0) {
    // An unprivileged root may sit in a shared directory (/tmp): it must be ours alone, or
    // someone else could plant state, sockets or seccomp filters in it.
    struct stat st;
    if (::lstat(root_.c_str(), &st) < 0) fail_errno("stat state root {}", root_);
    if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 022))
      fail("state root {} is not a directory of uid {} alone: pass --root", root_, uid);
  }
  std::string d = dir(id);
  if (::mkdir(d.c_str(), 0711) < 0) {
    // "container with id exists" is runc's wording, which engines may match.
    if (errno == EEXIST)
      fail_as(
          ErrorKind::already_exists,
          "container {} already exists: container with id exists (delete it or choose another id)",
          id);
    fail_errno("create state dir {}", d);
  }
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("open {}", d);
  Fd owned(fd);
  lock_fd(fd, LockMode::exclusive, d);
  return owned;
}

Fd StateStore::open_locked(const std::string& id, bool exclusive) {
  validate_id(id);
  std::string d = dir(id);
  for (;;) {
    int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) fail_as(ErrorKind::not_found, "container {} does not exist", id);
      fail_errno("open {}", d);
    }
    Fd owned(fd);
    lock_fd(fd, exclusive ? LockMode::exclusive : LockMode::shared, d);
    // The holder before us may have deleted it: a lock on an unlinked dir protects nothing.
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_nlink == 0)
      fail_as(ErrorKind::not_found, "container {} does not exist", id);
    return owned;
  }
}

Fd StateStore::open_unlocked(const std::string& id) {
  validate_id(id);
  std::string d = dir(id);
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail_as(ErrorKind::not_found, "container {} does not exist", id);
    fail_errno("open {}", d);
  }
  return Fd(fd);
}

bool StateStore::exists(const std::string& id) const {
  return path_exists(dir(id));
}

void StateStore::save(int dir_fd, const oci::State& state) {
  replace_file(dir_fd, "state.json", oci::state_to_json(state));
}

std::optional<oci::State> StateStore::load(int dir_fd, const std::string& id) {
  std::string path = path_join(dir(id), "state.json");
  std::optional<std::string> text;
  // Whole means a state of this container, not only JSON: a read torn between two versions of
  // the same length can still be JSON ("created" and "running" are both 7 letters).
  std::optional<oci::State> parsed;
  auto whole = [&](const std::string& t) {
    try {
      oci::State s = oci::state_from_json(t);
      if (s.id != id) return false;
      parsed = std::move(s);
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  try {
    text = read_whole(dir_fd, "state.json", path, whole);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("container {}: {}", id, e.message()), e.err());
  }
  if (!text) return std::nullopt;
  if (parsed) return parsed;
  try {
    oci::State s = oci::state_from_json(*text);
    if (s.id != id) fail("state.json: id: {} is not this container's", quote(s.id));
    return s;
  } catch (const Error& e) {
    // "state.json: invalid JSON: ..." -> "container ID: /run/hull/ID/state.json: invalid JSON: ..."
    std::string what = e.message();
    if (what.rfind("state.json", 0) == 0) what = what.substr(10);
    if (!what.empty() && what[0] == '.')
      what = what.substr(1);
    else if (what.rfind(": ", 0) == 0)
      what = what.substr(2);
    throw Error(e.kind(), fmt::format("container {}: {}: {}", id, path, what), e.err());
  }
}

void StateStore::save_recovery(int dir_fd, const Recovery& r) {
  nlohmann::json j = {
      {"cgroupPath", r.has_cgroup ? nlohmann::json(r.cgroup_path) : nlohmann::json()},
      {"cgroupMadeFrom", r.cgroup_made_from},
      {"cgroupUnit", r.cgroup_unit},
      {"pid", r.pid},
      {"pidStartTime", r.pid_start_time}};
  replace_file(dir_fd, "recovery.json", j.dump());
}

std::optional<Recovery> StateStore::load_recovery(int dir_fd) {
  try {
    auto text = read_whole(dir_fd, "recovery.json", "recovery.json", json_parses);
    if (!text) return std::nullopt;
    auto j = nlohmann::json::parse(*text);
    Recovery r;
    r.has_cgroup = j.at("cgroupPath").is_string();
    if (r.has_cgroup) r.cgroup_path = j.at("cgroupPath").get<std::string>();
    r.cgroup_made_from = j.at("cgroupMadeFrom").get<std::string>();
    r.cgroup_unit = j.value("cgroupUnit", "");
    r.pid = j.at("pid").get<int>();
    r.pid_start_time = j.at("pidStartTime").get<uint64_t>();
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void StateStore::save_config(int dir_fd, const std::string& config_json) {
  Fd fd(
      ::openat(dir_fd, "config.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) fail_errno("write config.json copy");
  write_all(fd.get(), config_json, "config.json");
}

std::string StateStore::load_config(int dir_fd) {
  Fd fd(::openat(dir_fd, "config.json", O_RDONLY | O_CLOEXEC));
  if (!fd) fail_errno("open config.json copy");
  return read_fd(fd.get());
}

void StateStore::remove(const std::string& id) {
  remove_all(dir(id));
}

std::vector<std::string> StateStore::list() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    fail_errno("open {}", root_);
  }
  while (dirent* de = ::readdir(d)) {
    if (de->d_name[0] == '.') continue;
    if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) out.emplace_back(de->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hull::runtime
