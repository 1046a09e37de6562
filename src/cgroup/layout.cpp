#include "cgroup/layout.h"

#include <algorithm>

#include "linux/mountinfo.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::cgroup {

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::none: return "none";
    case Layout::v1: return "v1";
    case Layout::v2: return "v2";
    case Layout::hybrid: return "hybrid";
  }
  return "?";
}

std::string Hierarchy::dir_name() const { return basename_of(mount_point); }

bool Hierarchy::has(const std::string& c) const {
  return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
}

const Hierarchy* HostLayout::unified() const {
  for (const auto& h : hierarchies)
    if (h.v2) return &h;
  return nullptr;
}

const Hierarchy* HostLayout::v1(const std::string& controller) const {
  for (const auto& h : hierarchies)
    if (!h.v2 && h.has(controller)) return &h;
  return nullptr;
}

const Hierarchy* HostLayout::tracking() const {
  if (layout == Layout::v2 || layout == Layout::hybrid) return unified();
  if (auto* h = v1("pids")) return h;
  if (auto* h = v1("freezer")) return h;
  return hierarchies.empty() ? nullptr : &hierarchies.front();
}

static const std::string& read_v2_controllers(const std::string& mount_point) {
  static std::string text;
  text = read_file_if_exists(path_join(mount_point, "cgroup.controllers")).value_or("");
  return text;
}

HostLayout parse_layout(const std::string& mountinfo,
                        const std::string& (*read_controllers)(const std::string&)) {
  HostLayout out;
  std::vector<Hierarchy> v1s;
  std::vector<Hierarchy> v2s;
  for (const auto& m : linux::parse_mountinfo(mountinfo)) {
    if (m.fstype == "cgroup2") {
      Hierarchy h;
      h.mount_point = m.mount_point;
      h.root = m.root;
      h.v2 = true;
      for (const auto& c : split(std::string(trim(read_controllers(m.mount_point))), ' '))
        if (!c.empty()) h.controllers.push_back(c);
      // A hierarchy mounted twice (bind mounts) counts once.
      if (std::none_of(v2s.begin(), v2s.end(), [&](auto& o) { return o.mount_point == h.mount_point; }))
        v2s.push_back(std::move(h));
    } else if (m.fstype == "cgroup") {
      Hierarchy h;
      h.mount_point = m.mount_point;
      h.root = m.root;
      for (const auto& opt : split(m.super_options, ',')) {
        static const char* kKnown[] = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
                                       "blkio", "pids", "hugetlb", "net_cls", "net_prio",
                                       "perf_event", "rdma", "misc"};
        if (opt.rfind("name=", 0) == 0) h.name = opt.substr(5);
        for (const char* k : kKnown)
          if (opt == k) h.controllers.push_back(opt);
      }
      if (h.controllers.empty() && h.name.empty()) continue;
      bool dup = std::any_of(v1s.begin(), v1s.end(), [&](auto& o) {
        return o.controllers == h.controllers && o.name == h.name;
      });
      if (!dup) v1s.push_back(std::move(h));
    }
  }
  bool has_v1_controllers = std::any_of(v1s.begin(), v1s.end(), [](auto& h) { return !h.controllers.empty(); });
  if (has_v1_controllers) {
    out.layout = v2s.empty() ? Layout::v1 : Layout::hybrid;
  } else if (!v2s.empty()) {
    out.layout = Layout::v2;
    v1s.clear();
  }
  out.hierarchies = std::move(v1s);
  if (!v2s.empty()) out.hierarchies.push_back(v2s.front());
  if (out.layout == Layout::v2) {
    out.base = out.hierarchies.front().mount_point;
  } else if (!out.hierarchies.empty()) {
    out.base = dirname_of(out.hierarchies.front().mount_point);
  }
  return out;
}

const HostLayout& host_layout() {
  static HostLayout layout = parse_layout(read_file("/proc/self/mountinfo"), read_v2_controllers);
  return layout;
}

}  // namespace hull::cgroup
