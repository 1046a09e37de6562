#include "frontend/volumes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "frontend/docker_values.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

using ojson = nlohmann::ordered_json;

std::string random_name() {
  Fd fd = open_or_fail("/dev/urandom", O_RDONLY | O_CLOEXEC);
  unsigned char b[32];
  if (::read(fd.get(), b, sizeof b) != static_cast<ssize_t>(sizeof b))
    fail_errno("read /dev/urandom");
  std::string out;
  for (unsigned char c : b) out += fmt::format("{:02x}", c);
  return out;
}

}  // namespace

ojson VolumeInfo::to_json() const {
  return {{"CreatedAt", created},     {"Driver", "local"}, {"Labels", labels},
          {"Mountpoint", mountpoint}, {"Name", name},      {"Options", ojson::object()},
          {"Scope", "local"}};
}

Volumes::Volumes(const Env& env) : env_(env), dir_(path_join(env.state_dir, "volumes")) {}

VolumeInfo Volumes::create(const std::string& wanted,
                           const std::map<std::string, std::string>& labels, bool* made) const {
  std::string name = wanted.empty() ? random_name() : wanted;
  if (!valid_volume_name(name))
    fail("volume name {}: want [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least)", quote(name));
  mkdir_p(dir_, 0711);
  std::string d = path_join(dir_, name);
  if (made) *made = false;
  if (::mkdir(d.c_str(), 0711) < 0) {
    if (errno != EEXIST) fail_errno("create volume {}", name);
    // Another hull may be making it this moment: its record comes last.
    for (int i = 0; i < 100 && !path_exists(d + "/volume.json"); ++i) sleep_ms(10);
    return get(name);
  }
  try {
    mkdir_p(d + "/_data", 0755);
    VolumeInfo v{name, d + "/_data", rfc3339_now(), labels};
    atomic_write(d + "/volume.json", v.to_json().dump(2) + "\n", 0644);
    if (made) *made = true;
    return v;
  } catch (...) {
    remove_all(d);
    throw;
  }
}

VolumeInfo Volumes::get(const std::string& name) const {
  std::string d = path_join(dir_, name);
  auto text = valid_volume_name(name) ? read_file_if_exists(d + "/volume.json") : std::nullopt;
  if (!text) fail("no such volume: {}", name);
  auto j = ojson::parse(*text, nullptr, false);
  VolumeInfo v{name, d + "/_data", "", {}};
  if (j.is_object()) {
    v.created = j.value("CreatedAt", "");
    if (j.contains("Labels") && j["Labels"].is_object())
      for (const auto& [k, val] : j["Labels"].items())
        if (val.is_string()) v.labels[k] = val.get<std::string>();
  }
  return v;
}

std::vector<VolumeInfo> Volumes::list() const {
  std::vector<VolumeInfo> out;
  if (!path_exists(dir_)) return out;
  auto names = list_dir(dir_);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    try {
      out.push_back(get(n));
    } catch (const Error&) {
      // half made, or removed while we looked
    }
  }
  return out;
}

std::vector<std::string> Volumes::users(const std::string& name) const {
  Store store(env_);
  std::vector<std::string> out;
  for (const auto& id : store.list()) {
    try {
      Meta m = store.load(id);
      if (std::find(m.volumes.begin(), m.volumes.end(), name) != m.volumes.end()) out.push_back(id);
    } catch (const Error&) {
    }
  }
  return out;
}

void Volumes::remove(const std::string& name) const {
  get(name);
  auto used = users(name);
  if (!used.empty()) {
    for (auto& id : used) id = id.substr(0, 12);
    fail("remove {}: volume is in use - [{}]", name, join(used, ", "));
  }
  // Renamed away first, so that no half-removed volume is ever found by its name.
  std::string d = path_join(dir_, name);
  std::string gone = path_join(dir_, ".rm-" + name + "-" + std::to_string(::getpid()));
  if (::rename(d.c_str(), gone.c_str()) < 0) fail_errno("remove volume {}", name);
  remove_all(gone);
}

std::vector<std::string> Volumes::prune() const {
  std::vector<std::string> out;
  for (const auto& v : list()) {
    if (!users(v.name).empty()) continue;
    remove(v.name);
    out.push_back(v.name);
  }
  return out;
}

}  // namespace hull::frontend
