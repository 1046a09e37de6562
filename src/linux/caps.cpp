#include "linux/caps.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>

#include "util/error.h"
#include "util/log.h"

namespace hull::linux {

int capability_from_name(const std::string& name) {
  cap_value_t v;
  if (cap_from_name(name.c_str(), &v) < 0) return -1;
  return v;
}

int kernel_capability_count() {
  static int count = [] {
    int n = static_cast<int>(cap_max_bits());
    return n > 0 ? n : CAP_LAST_CAP + 1;
  }();
  return count;
}

std::vector<int> capabilities_from_names(const std::vector<std::string>& names) {
  std::vector<int> out;
  for (const auto& n : names) {
    int v = capability_from_name(n);
    if (v < 0 || v >= kernel_capability_count()) {
      log::debug("capability {} is unknown to this kernel: skipped", n);
      continue;
    }
    out.push_back(v);
  }
  return out;
}

void drop_bounding_set(const std::vector<int>& keep) {
  for (int c = 0; c < kernel_capability_count(); ++c) {
    if (std::find(keep.begin(), keep.end(), c) != keep.end()) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      fail_errno("drop capability {} from the bounding set", cap_to_name(c));
  }
}

void apply_capabilities(const CapSets& caps) {
  cap_t c = cap_init();
  if (!c) fail_errno("cap_init");
  auto set = [&](cap_flag_t flag, const std::vector<int>& values) {
    if (values.empty()) return;
    std::vector<cap_value_t> v(values.begin(), values.end());
    cap_set_flag(c, flag, static_cast<int>(v.size()), v.data(), CAP_SET);
  };
  set(CAP_EFFECTIVE, caps.effective);
  set(CAP_PERMITTED, caps.permitted);
  set(CAP_INHERITABLE, caps.inheritable);
  int rc = cap_set_proc(c);
  int err = errno;
  cap_free(c);
  if (rc < 0) fail_err(err, "set capabilities");
  if (cap_reset_ambient() < 0 && errno != EINVAL) fail_errno("clear ambient capabilities");
  for (int a : caps.ambient) {
    // The kernel only raises an ambient capability that is permitted and inheritable.
    bool ok = std::find(caps.permitted.begin(), caps.permitted.end(), a) != caps.permitted.end() &&
              std::find(caps.inheritable.begin(), caps.inheritable.end(), a) != caps.inheritable.end();
    if (!ok) {
      log::debug("ambient {} is not both permitted and inheritable: skipped", cap_to_name(a));
      continue;
    }
    if (cap_set_ambient(a, CAP_SET) < 0) fail_errno("raise ambient capability {}", cap_to_name(a));
  }
}

}  // namespace hull::linux
