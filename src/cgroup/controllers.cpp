#include "cgroup/controller.h"

namespace hull::cgroup {

extern const Controller kCpusetController, kMemoryController, kCpuController, kCpuacctController,
    kPidsController, kBlkioController, kHugetlbController, kNetClsController, kNetPrioController,
    kRdmaController, kUnifiedController, kDevicesController;

// The order writes happen in: cpuset first (a task may need its CPUs before anything else),
// unified last (its raw files override what the typed fields wrote).
const std::vector<const Controller*>& controllers() {
  static const std::vector<const Controller*> all = {
      &kCpusetController,  &kMemoryController, &kCpuController,     &kCpuacctController,
      &kPidsController,    &kBlkioController,  &kHugetlbController, &kNetClsController,
      &kNetPrioController, &kRdmaController,   &kUnifiedController, &kDevicesController};
  return all;
}

}  // namespace hull::cgroup
