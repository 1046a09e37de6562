// rdma: HCA handles and objects per device; rdma.max has one format on v1 and v2.
#include "cgroup/controller.h"
#include "util/error.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) {
  return !r.rdma.empty();
}

void apply(const std::string& dir, const oci::Resources& r, bool) {
  for (const auto& [dev, l] : r.rdma) {
    if (!l.hca_handles && !l.hca_objects) continue;
    auto v = [](const std::optional<uint32_t>& x) {
      return x ? std::to_string(*x) : std::string("max");
    };
    write_value(
        dir, "rdma.max",
        fmt::format("{} hca_handle={} hca_object={}", dev, v(l.hca_handles), v(l.hca_objects)),
        fmt::format("linux.resources.rdma.{}", dev));
  }
}

}  // namespace

extern const Controller kRdmaController = {
    "rdma", "rdma", "linux.resources.rdma", applies, apply, apply, nullptr, nullptr};

}  // namespace hull::cgroup
