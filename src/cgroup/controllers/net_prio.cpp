// net_prio (v1 only): the priority of the container's traffic per interface.
#include "cgroup/controller.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) {
  return r.network && !r.network->priorities.empty();
}

void apply_v1(const std::string& dir, const oci::Resources& r, bool) {
  const auto& p = r.network->priorities;
  for (size_t i = 0; i < p.size(); ++i) {
    std::string path = fmt::format("linux.resources.network.priorities[{}]", i);
    if (p[i].name.empty()) fail_as(ErrorKind::invalid_config, "{}.name: required", path);
    write_value(dir, "net_prio.ifpriomap", fmt::format("{} {}", p[i].name, p[i].priority), path);
  }
}

void apply_v2(const std::string&, const oci::Resources& r, bool) {
  fail_as(ErrorKind::invalid_config,
          "linux.resources.network.priorities[0]: {}: cgroup v2 has no net_prio controller",
          quote(r.network->priorities[0].name));
}

}  // namespace

extern const Controller kNetPrioController = {
    "net_prio", nullptr, "linux.resources.network.priorities", applies, apply_v1, apply_v2,
    nullptr,    nullptr};

}  // namespace hull::cgroup
