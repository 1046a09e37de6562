#include "frontend/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "frontend/docker_values.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kAdjectives[] = {"brave", "calm",  "clever",  "eager",  "fancy",  "gentle",
                                       "happy", "jolly", "keen",    "lively", "merry",  "nimble",
                                       "proud", "quiet", "rapid",   "shy",    "sturdy", "tidy",
                                       "vivid", "witty", "zealous", "bold",   "cosy",   "deft"};
constexpr const char* kNames[] = {
    "babbage",  "bell",     "cerf",     "dijkstra", "hamming", "hopper", "kahan",   "knuth",
    "lamport",  "liskov",   "lovelace", "mccarthy", "noether", "pike",   "ritchie", "shannon",
    "thompson", "torvalds", "turing",   "wirth",    "hoare",   "backus", "allen",   "goldberg"};

void random_bytes(void* out, size_t size) {
  if (::getrandom(out, size, 0) != static_cast<ssize_t>(size)) fail_errno("getrandom");
}

uint64_t random_u64() {
  uint64_t v = 0;
  random_bytes(&v, sizeof v);
  return v;
}

std::string random_id() {
  uint64_t v[4];  // one getrandom for the 256 bits
  random_bytes(v, sizeof v);
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", v[0], v[1], v[2], v[3]);
}

std::string random_name() {
  uint64_t r = random_u64();
  return fmt::format("{}_{}", kAdjectives[r % std::size(kAdjectives)],
                     kNames[(r >> 16) % std::size(kNames)]);
}

bool is_hex_id(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) &&
           !std::isupper(static_cast<unsigned char>(c));
  });
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

Env Env::from_environment() {
  Env e;
  e.state_dir = env_or("HULL_STATE", e.state_dir);
  e.oci_root = env_or("HULL_ROOT", e.oci_root);
  e.cgroup_parent = env_or("HULL_CGROUP_PARENT", e.cgroup_parent);
  return e;
}

std::string Store::dir(const std::string& id) const {
  return path_join(env_.state_dir, "containers/" + id);
}

Store::Reserved Store::reserve(const std::string& wanted) const {
  if (!wanted.empty()) check_container_name(wanted);
  // 0711: a container in a user namespace reaches the files bound into it as an unmapped
  // user, which may pass through but not list. Made when the first container needs them.
  auto make_dirs = [&] {
    mkdir_p(path_join(env_.state_dir, "containers"), 0711);
    mkdir_p(path_join(env_.state_dir, "names"), 0700);
  };
  Reserved r;
  r.id = random_id();
  // A name is reserved by creating its link: of two runs with one name exactly one wins.
  for (int attempt = 0;; ++attempt) {
    r.name = wanted.empty() ? random_name() : wanted;
    if (wanted.empty() && attempt >= 8) r.name += fmt::format("_{}", attempt);
    std::string link = path_join(env_.state_dir, "names/" + r.name);
    if (::symlink(r.id.c_str(), link.c_str()) == 0) break;
    if (errno == ENOENT && attempt == 0) {
      make_dirs();
      if (::symlink(r.id.c_str(), link.c_str()) == 0) break;
    }
    if (errno != EEXIST) fail_errno("reserve name {}", r.name);
    if (!wanted.empty()) {
      char target[128] = {};
      ::readlink(link.c_str(), target, sizeof target - 1);
      fail("the name {} is already in use by container {}", quote(r.name),
           std::string(target).substr(0, 12));
    }
  }
  std::string d = dir(r.id);
  int made = ::mkdir(d.c_str(), 0711);
  if (made < 0 && errno == ENOENT) {
    make_dirs();  // containers/ removed while names/ stayed
    made = ::mkdir(d.c_str(), 0711);
  }
  if (made < 0) {
    int err = errno;
    ::unlink(path_join(env_.state_dir, "names/" + r.name).c_str());
    fail_err(err, "create {}", d);
  }
  r.lock = lock(r.id);
  return r;
}

void Store::release(const std::string& id, const std::string& name) const {
  std::string link = path_join(env_.state_dir, "names/" + name);
  char target[128] = {};
  // Only our own link: the name may belong to someone else by now.
  if (!name.empty() && ::readlink(link.c_str(), target, sizeof target - 1) > 0 && id == target)
    ::unlink(link.c_str());
  // meta.json first: a directory without it is one going away (what `wait` looks for).
  ::unlink((meta_path(id)).c_str());
  if (fault_at("release.half-removed")) sleep_ms(1000);
  remove_all(dir(id));
}

void Store::rename(const std::string& id, const std::string& from, const std::string& to) const {
  check_container_name(to);
  std::string link = path_join(env_.state_dir, "names/" + to);
  if (::symlink(id.c_str(), link.c_str()) < 0) {
    if (errno != EEXIST) fail_errno("reserve name {}", to);
    char target[128] = {};
    ::readlink(link.c_str(), target, sizeof target - 1);
    fail("the name {} is already in use by container {}", quote(to),
         std::string(target).substr(0, 12));
  }
  std::string old_link = path_join(env_.state_dir, "names/" + from);
  char target[128] = {};
  if (::readlink(old_link.c_str(), target, sizeof target - 1) > 0 && id == target)
    ::unlink(old_link.c_str());
}

std::string Store::resolve(const std::string& ref) const {
  if (ref.empty()) fail("no container given");
  char target[128] = {};
  std::string link = path_join(env_.state_dir, "names/" + ref);
  if (ref.find('/') == std::string::npos &&
      ::readlink(link.c_str(), target, sizeof target - 1) > 0 && path_exists(dir(target)))
    return target;
  if (is_hex_id(ref)) {
    std::vector<std::string> hits;
    for (const auto& id : list())
      if (id.compare(0, ref.size(), ref) == 0) hits.push_back(id);
    if (hits.size() == 1) return hits.front();
    if (hits.size() > 1)
      fail("{} matches {} containers: give more of the id", quote(ref), hits.size());
  }
  fail_as(ErrorKind::not_found, "no such container: {}", ref);
}

Fd Store::lock(const std::string& id) const {
  std::string d = dir(id);
  Fd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) fail_as(ErrorKind::not_found, "no such container: {}", id.substr(0, 12));
    fail_errno("open {}", d);
  }
  lock_fd(fd.get(), LockMode::exclusive, d);
  struct stat st;
  // Removed while we waited for the lock.
  if (::fstat(fd.get(), &st) == 0 && st.st_nlink == 0)
    fail_as(ErrorKind::not_found, "no such container: {}", id.substr(0, 12));
  return fd;
}

std::vector<std::string> Store::list() const {
  auto names = list_dir(path_join(env_.state_dir, "containers"));
  std::erase_if(names, [](const std::string& n) { return n[0] == '.'; });
  return names;
}

Meta Store::load(const std::string& id) const {
  auto text = read_file_if_exists(meta_path(id));
  if (!text) fail_as(ErrorKind::not_found, "no such container: {}", id.substr(0, 12));
  return with_context(meta_path(id), [&] { return meta_from_json(*text); });
}

void Store::save(const Meta& meta) const {
  atomic_write(meta_path(meta.id), meta_to_json(meta), 0644);
}

std::string meta_to_json(const Meta& m) {
  ojson j;
  j["id"] = m.id;
  j["name"] = m.name;
  j["created"] = m.created;
  j["command"] = m.command;
  j["rootfs"] = m.rootfs;
  if (!m.image.empty()) j["image"] = m.image;
  if (!m.image_id.empty())
    j["imageInfo"] = {{"id", m.image_id},
                      {"manifest", m.image_manifest},
                      {"layers", m.image_layers},
                      {"exposedPorts", m.exposed_ports},
                      {"stopSignal", m.stop_signal}};
  j["detached"] = m.detached;
  j["autoRemove"] = m.auto_remove;
  j["tty"] = m.tty;
  j["network"] = m.network;
  const NetworkOptions& n = m.net;
  if (!n.networks.empty())
    j["net"] = {{"networks", n.networks}, {"ip", n.ip},     {"aliases", n.aliases},
                {"publish", n.publish},   {"rate", n.rate}, {"burst", n.burst}};
  if (!m.labels.empty()) j["labels"] = m.labels;
  if (!m.volumes.empty()) j["volumes"] = m.volumes;
  j["started"] = m.started;
  j["finished"] = m.finished;
  if (m.exit_code) j["exitCode"] = *m.exit_code;
  j["oomKilled"] = m.oom_killed;
  j["monitor"] = {{"pid", m.monitor_pid}, {"startTime", m.monitor_start}};
  return j.dump(2) + "\n";
}

Meta meta_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("invalid JSON");
  Meta m;
  m.id = j.value("id", "");
  m.name = j.value("name", "");
  m.created = j.value("created", "");
  m.command = j.value("command", std::vector<std::string>{});
  m.rootfs = j.value("rootfs", "");
  m.image = j.value("image", "");
  if (j.contains("imageInfo") && j["imageInfo"].is_object()) {
    const auto& i = j["imageInfo"];
    using strings = std::vector<std::string>;
    m.image_id = i.value("id", "");
    m.image_manifest = i.value("manifest", "");
    m.image_layers = i.value("layers", strings{});
    m.exposed_ports = i.value("exposedPorts", strings{});
    m.stop_signal = i.value("stopSignal", "");
  }
  m.detached = j.value("detached", false);
  m.auto_remove = j.value("autoRemove", false);
  m.tty = j.value("tty", false);
  m.network = j.value("network", "none");
  if (j.contains("net") && j["net"].is_object()) {
    const auto& n = j["net"];
    using strings = std::vector<std::string>;
    m.net.networks = n.value("networks", strings{});
    m.net.ip = n.value("ip", "");
    m.net.aliases = n.value("aliases", strings{});
    m.net.publish = n.value("publish", strings{});
    m.net.rate = n.value("rate", "");
    m.net.burst = n.value("burst", "");
  }
  if (j.contains("labels") && j["labels"].is_object())
    for (const auto& [k, v] : j["labels"].items())
      if (v.is_string()) m.labels[k] = v.get<std::string>();
  m.volumes = j.value("volumes", std::vector<std::string>{});
  m.started = j.value("started", "");
  m.finished = j.value("finished", "");
  if (j.contains("exitCode") && j["exitCode"].is_number_integer())
    m.exit_code = j["exitCode"].get<int>();
  m.oom_killed = j.value("oomKilled", false);
  if (j.contains("monitor") && j["monitor"].is_object()) {
    m.monitor_pid = j["monitor"].value("pid", 0);
    m.monitor_start = j["monitor"].value("startTime", uint64_t{0});
  }
  return m;
}

}  // namespace hull::frontend
