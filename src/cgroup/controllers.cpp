#include "cgroup/controller.h"

namespace hull::cgroup {

const std::vector<const Controller*>& controllers() {
  static const std::vector<const Controller*> all = {};
  return all;
}

}  // namespace hull::cgroup
