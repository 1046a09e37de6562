// net_cls (v1 only): a class id on the container's packets, for tc and iptables.
#include "cgroup/controller.h"
#include "util/error.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) {
  return r.network && is_set(r.network->class_id);
}

void apply_v1(const std::string& dir, const oci::Resources& r, bool) {
  write_value(dir, "net_cls.classid", std::to_string(*r.network->class_id),
              "linux.resources.network.classID");
}

void apply_v2(const std::string&, const oci::Resources& r, bool) {
  fail_as(
      ErrorKind::invalid_config,
      "linux.resources.network.classID: {}: cgroup v2 has no net_cls controller (match the cgroup "
      "path instead)",
      *r.network->class_id);
}

}  // namespace

extern const Controller kNetClsController = {"net_cls", nullptr,  "linux.resources.network.classID",
                                             applies,   apply_v1, apply_v2,
                                             nullptr,   nullptr};

}  // namespace hull::cgroup
