// linux.resources.unified: cgroup v2 files by name, written last so they win.
#include <cerrno>

#include "cgroup/controller.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) {
  return !r.unified.empty();
}

// v1, and hybrid too: there the v1 hierarchies own the resources, and a v2 file set beside
// them would not limit what the container uses.
void apply_v1(const std::string&, const oci::Resources& r, bool) {
  fail_as(
      ErrorKind::invalid_config,
      "linux.resources.unified.{}: cgroup v2 files need a pure cgroup v2 host; this host has v1 "
      "controllers",
      r.unified.begin()->first);
}

void apply_v2(const std::string& dir, const oci::Resources& r, bool) {
  for (const auto& [key, value] : r.unified) {
    std::string path = fmt::format("linux.resources.unified.{}", key);
    if (key.find('/') != std::string::npos || key == "." || key == ".." ||
        (key.rfind("cgroup.", 0) == 0 && key != "cgroup.max.depth" &&
         key != "cgroup.max.descendants"))
      fail_as(ErrorKind::invalid_config, "{}: not a controller file of the container's cgroup",
              path);
    try {
      write_value(dir, key.c_str(), value, path, quote(value));
    } catch (const Error& e) {
      if (e.err() != ENOENT) throw;
      fail_as(ErrorKind::invalid_config, "{}: {}: no such file in {} (is its controller enabled?)",
              path, quote(value), dir);
    }
  }
}

}  // namespace

extern const Controller kUnifiedController = {
    "unified", nullptr, "linux.resources.unified", applies, apply_v1, apply_v2, nullptr, nullptr};

}  // namespace hull::cgroup
