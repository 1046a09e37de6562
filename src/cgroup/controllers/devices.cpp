// devices: which device nodes the container may create and open (linux.resources.devices,
// plus runc's default devices). v1 writes devices.deny/devices.allow; v2 has no files for it:
// hull assembles an eBPF program (device_filter.h) and attaches it to the cgroup before the
// init is cloned into it. A removed cgroup releases its programs with it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "cgroup/controller.h"
#include "cgroup/device_filter.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) { return !r.devices.empty(); }

void apply_v1(const std::string& dir, const oci::Resources& r, bool update) {
  DeviceRules rules = device_rules(r.devices);
  if (update) {
    // Rewriting starts with "a" (deny all): a moment in which the running container could
    // not even open /dev/null. Leave the controller alone when it enforces these rules already.
    auto want = v1_expected_list(rules);
    auto have = read_value(dir, "devices.list");
    if (want && have) {
      auto lines = split(*have, '\n');
      std::sort(lines.begin(), lines.end());
      lines.erase(std::remove(lines.begin(), lines.end(), ""), lines.end());
      if (lines == *want) return;
    }
  }
  // One open of each file for all the rules (a dozen by default): the kernel reads every
  // write(2) as one rule.
  Fd files[2];
  for (const auto& w : v1_device_writes(rules)) {
    const char* name = w.allow ? "devices.allow" : "devices.deny";
    Fd& f = files[w.allow ? 1 : 0];
    std::string path = path_join(dir, name);
    if (!f) f.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!f || ::write(f.get(), w.line.data(), w.line.size()) != static_cast<ssize_t>(w.line.size()))
      fail_errno("linux.resources.devices: {}: write {}", w.line, path);
  }
}

void apply_v2(const std::string& dir, const oci::Resources& r, bool) {
  with_context("linux.resources.devices", [&] { attach_device_filter(dir, device_filter_program(device_rules(r.devices))); });
}

}  // namespace

extern const Controller kDevicesController = {
    "devices", nullptr, "linux.resources.devices", applies, apply_v1, apply_v2, nullptr, nullptr};

}  // namespace hull::cgroup
