#include "cgroup/manager.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cgroup/drivers.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::cgroup {

std::string resolve_path(const std::string& cgroups_path, const std::string& id) {
  if (cgroups_path.empty()) return "/hull/" + id;
  if (cgroups_path.front() != '/' && std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2)
    fail("linux.cgroupsPath: {} is a systemd slice:prefix:name path: it needs --systemd-cgroup",
         quote(cgroups_path));
  // ".." may not climb above the hierarchy root: clean the path as if it were absolute.
  std::string p = clean_path("/" + cgroups_path);
  if (p == "/") fail("linux.cgroupsPath: {} is the root cgroup", quote(cgroups_path));
  return p;
}

std::string Manager::dir(const Hierarchy& h) const { return path_join(h.mount_point, path_); }

std::string Manager::missing_from() const {
  std::string top;
  for (const auto& h : layout_.hierarchies) {
    std::string missing = first_missing(h.mount_point, path_);
    if (!missing.empty() && (top.empty() || missing.size() < top.size())) top = missing;
  }
  return top;
}

void Manager::remove_made_parents(const Hierarchy& h) const {
  // "/hull/<id>": "/hull" is hull's own, shared by every container with a default path; the
  // last one out removes it, whoever made it.
  std::string top = made_from_;
  if (path_.rfind("/hull/", 0) == 0 && std::count(path_.begin(), path_.end(), '/') == 2)
    top = "/hull";
  if (top.empty() || top == path_) return;
  for (std::string p = dirname_of(path_); p.size() >= top.size() && p != "/"; p = dirname_of(p)) {
    if (p.compare(0, top.size(), top) != 0) break;
    if (::rmdir(path_join(h.mount_point, p).c_str()) < 0 && errno != ENOENT) break;
  }
}

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
