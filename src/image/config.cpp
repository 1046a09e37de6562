#include "image/config.h"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace hull::image {

using nlohmann::json;

namespace {

std::vector<std::string> strings(const json& j, const char* key, const char* where) {
  std::vector<std::string> out;
  if (!j.contains(key) || j.at(key).is_null()) return out;
  const json& v = j.at(key);
  if (!v.is_array()) fail("image config: {}.{}: not an array", where, key);
  for (const auto& s : v) {
    if (!s.is_string()) fail("image config: {}.{}: not an array of strings", where, key);
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::string text(const json& j, const char* key, const char* where) {
  if (!j.contains(key) || j.at(key).is_null()) return "";
  if (!j.at(key).is_string()) fail("image config: {}.{}: not a string", where, key);
  return j.at(key).get<std::string>();
}

std::vector<std::string> keys(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j.at(key).is_object())
    for (const auto& [k, v] : j.at(key).items()) out.push_back(k);
  return out;
}

}  // namespace

ImageConfig parse_image_config(const std::string& input) {
  json j;
  try {
    j = json::parse(input);
  } catch (const json::exception& e) {
    fail("image config: {}", e.what());
  }
  if (!j.is_object()) fail("image config: not a JSON object");
  ImageConfig c;
  c.architecture = text(j, "architecture", "");
  c.os = text(j, "os", "");
  c.variant = text(j, "variant", "");
  c.created = text(j, "created", "");
  c.author = text(j, "author", "");
  if (j.contains("rootfs") && j["rootfs"].is_object())
    c.diff_ids = strings(j["rootfs"], "diff_ids", "rootfs");
  if (j.contains("config") && j["config"].is_object()) {
    const json& cfg = j["config"];
    c.entrypoint = strings(cfg, "Entrypoint", "config");
    c.cmd = strings(cfg, "Cmd", "config");
    c.env = strings(cfg, "Env", "config");
    c.working_dir = text(cfg, "WorkingDir", "config");
    c.user = text(cfg, "User", "config");
    c.stop_signal = text(cfg, "StopSignal", "config");
    c.exposed_ports = keys(cfg, "ExposedPorts");
    c.volumes = keys(cfg, "Volumes");
    if (cfg.contains("Labels") && cfg["Labels"].is_object())
      for (const auto& [k, v] : cfg["Labels"].items())
        if (v.is_string()) c.labels[k] = v.get<std::string>();
  }
  return c;
}

std::string host_architecture() {
  struct utsname u;
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "i686" || m == "i386") return "386";
  if (m.rfind("arm", 0) == 0) return "arm";
  return m;
}

}  // namespace hull::image
