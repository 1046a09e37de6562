#include "cgroup/placement.h"

#include <fcntl.h>

#include <algorithm>

#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::cgroup {

Placement placement(const Manager& cg, const std::vector<std::string>& subs) {
  const HostLayout& layout = cg.layout();
  Placement p;
  p.single_v2 = layout.layout == Layout::v2;
  for (const auto& h : layout.hierarchies) {
    if (h.v2 && !p.single_v2) p.unified = static_cast<int>(p.dirs.size());
    if (!h.v2 && h.has("freezer")) p.freezer = static_cast<int>(p.dirs.size());
    p.dirs.push_back(cg.dir(h));
  }
  for (const auto& s : subs) {
    auto colon = s.find(':');
    std::string path = colon == std::string::npos ? s : s.substr(colon + 1);
    std::vector<std::string> ctrls =
        colon == std::string::npos ? std::vector<std::string>{} : split(s.substr(0, colon), ',');
    auto parts = split(path, '/');
    std::string rel = clean_path("/" + path);
    if (rel == "/" || std::find(parts.begin(), parts.end(), "..") != parts.end())
      fail("--cgroup {}: need a sub-cgroup path below the container's cgroup", quote(s));
    if (p.single_v2 && !ctrls.empty())
      fail("--cgroup {}: controllers name cgroup v1 hierarchies; this host has cgroup v2 only",
           quote(s));
    bool matched = false;
    for (size_t i = 0; i < layout.hierarchies.size(); ++i) {
      const Hierarchy& h = layout.hierarchies[i];
      bool wanted = ctrls.empty() ||
                    std::any_of(ctrls.begin(), ctrls.end(), [&](auto& c) { return h.has(c); });
      if (!wanted) continue;
      matched = true;
      p.dirs[i] = cg.dir(h) + rel;
      if (!path_exists(p.dirs[i])) fail("--cgroup {}: {} does not exist", quote(s), p.dirs[i]);
    }
    if (!matched) fail("--cgroup {}: no mounted hierarchy has these controllers", quote(s));
  }
  return p;
}

void join(const Placement& p, pid_t pid) {
  std::string text = std::to_string(pid);
  for (const auto& d : p.dirs)
    with_context(fmt::format("join cgroup {}", d),
                 [&] { write_existing(path_join(d, "cgroup.procs"), text); });
}

}  // namespace hull::cgroup

namespace hull::cgroup {

SelfJoin self_join(const Placement& p) {
  SelfJoin j;
  if (p.single_v2) return j;
  for (size_t i = 0; i < p.dirs.size(); ++i) {
    int n = static_cast<int>(i);
    if (n == p.freezer) continue;
    if (n == p.unified) {
      j.clone_dir = open_or_fail(p.dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      continue;
    }
    std::string tasks = path_join(p.dirs[i], "tasks");
    j.tasks.emplace_back(open_or_fail(tasks, O_WRONLY | O_CLOEXEC), tasks);
  }
  if (p.freezer >= 0) {
    std::string tasks = path_join(p.dirs[static_cast<size_t>(p.freezer)], "tasks");
    j.tasks.emplace_back(open_or_fail(tasks, O_WRONLY | O_CLOEXEC), tasks);
  }
  return j;
}

void join_rest(const Placement& p, pid_t pid, bool into_cgroup) {
  if (p.unified < 0 || into_cgroup) return;
  const std::string& d = p.dirs[static_cast<size_t>(p.unified)];
  with_context(fmt::format("join cgroup {}", d),
               [&] { write_existing(path_join(d, "cgroup.procs"), std::to_string(pid)); });
}

}  // namespace hull::cgroup
