#include "cgroup/manager.h"

#include <algorithm>

#include "cgroup/drivers.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::cgroup {

std::string resolve_path(const std::string& cgroups_path, const std::string& id) {
  if (cgroups_path.empty()) return "/hull/" + id;
  if (cgroups_path.front() != '/' && std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2)
    fail("linux.cgroupsPath: {} is a systemd slice path; hull drives cgroupfs (--systemd-cgroup is not supported)",
         quote(cgroups_path));
  // ".." may not climb above the hierarchy root: clean the path as if it were absolute.
  std::string p = clean_path("/" + cgroups_path);
  if (p == "/") fail("linux.cgroupsPath: {} is the root cgroup", quote(cgroups_path));
  return p;
}

std::string Manager::dir(const Hierarchy& h) const { return path_join(h.mount_point, path_); }

std::unique_ptr<Manager> Manager::open(const std::string& path) { return open(host_layout(), path); }

std::unique_ptr<Manager> Manager::open(const HostLayout& layout, const std::string& path) {
  switch (layout.layout) {
    case Layout::v2: return make_v2_manager(layout, path);
    case Layout::v1:
    case Layout::hybrid: return make_v1_manager(layout, path);
    case Layout::none: break;
  }
  fail("no cgroup file system is mounted (see /proc/self/mountinfo)");
}

}  // namespace hull::cgroup
