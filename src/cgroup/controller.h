// One small unit per controller (STYLE.md rule 6): does it apply to these resources, apply
// them on v1 and on v2, read its stats. v1/v2 differences live here, not in the drivers.
#pragma once

#include <string>
#include <vector>

#include "cgroup/stats.h"
#include "oci/spec.h"

namespace hull::cgroup {

struct Controller {
  const char* name;  // the v1 controller (and v2 controller, where it has one)
  bool (*applies)(const oci::Resources& r);
  void (*apply_v1)(const std::string& dir, const oci::Resources& r, bool update);
  void (*apply_v2)(const std::string& dir, const oci::Resources& r, bool update);
  void (*stats_v1)(const std::string& dir, Stats& s);
  void (*stats_v2)(const std::string& dir, Stats& s);
};

const std::vector<const Controller*>& controllers();

}  // namespace hull::cgroup
