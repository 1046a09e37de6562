#include "runtime/state_store.h"

#include <dirent.h>
#include <fcntl.h>
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

std::string StateStore::dir(const std::string& id) const { return path_join(root_, id); }

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
      fail_as(ErrorKind::already_exists,
              "container {} already exists: container with id exists (delete it or choose another id)", id);
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

bool StateStore::exists(const std::string& id) const { return path_exists(dir(id)); }

void StateStore::save(int dir_fd, const oci::State& state) {
  std::string d = fmt::format("/proc/self/fd/{}", dir_fd);
  atomic_write(path_join(d, "state.json"), oci::state_to_json(state), 0600);
}

std::optional<oci::State> StateStore::load(int dir_fd, const std::string& id) {
  std::string path = path_join(dir(id), "state.json");
  int fd = ::openat(dir_fd, "state.json", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("container {}: open {}", id, path);
  }
  Fd owned(fd);
  try {
    oci::State s = oci::state_from_json(read_fd(fd));
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
  atomic_write(path_join(fmt::format("/proc/self/fd/{}", dir_fd), "recovery.json"), j.dump(), 0600);
}

std::optional<Recovery> StateStore::load_recovery(int dir_fd) {
  Fd fd(::openat(dir_fd, "recovery.json", O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(read_fd(fd.get()));
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
  Fd fd(::openat(dir_fd, "config.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) fail_errno("write config.json copy");
  write_all(fd.get(), config_json, "config.json");
}

std::string StateStore::load_config(int dir_fd) {
  Fd fd(::openat(dir_fd, "config.json", O_RDONLY | O_CLOEXEC));
  if (!fd) fail_errno("open config.json copy");
  return read_fd(fd.get());
}

void StateStore::remove(const std::string& id) { remove_all(dir(id)); }

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
