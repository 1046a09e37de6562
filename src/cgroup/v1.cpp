// The v1 driver: one directory per hierarchy. On hybrid hosts the container also gets a
// directory in the cgroup2 mount, which tracks its processes (as systemd does).
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "cgroup/controller.h"
#include "cgroup/drivers.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

class V1Manager : public Manager {
 public:
  V1Manager(const HostLayout& layout, std::string path) : Manager(layout, std::move(path)) {}

  void create() override {
    // A failure part-way (a hierarchy that refuses the mkdir, a cpuset that cannot be
    // initialised) must not leave the directories of the hierarchies before it.
    std::vector<std::string> made;
    try {
      for (const auto& h : layout_.hierarchies) {
        std::string d = dir(h);
        std::string top = first_missing(h.mount_point, path_);
        if (!top.empty()) made.push_back(path_join(h.mount_point, top));
        make_cgroup_dir(d);
        // A new v1 cpuset starts with no cpus and no mems: tasks cannot join it until they
        // are copied from the parent, at every level we created.
        if (h.has("cpuset")) init_cpuset(h.mount_point, path_);
      }
    } catch (const Error&) {
      for (const auto& top : made) remove_tree_of_empty_dirs(top);
      throw;
    }
  }

  void add(pid_t pid) override {
    std::string p = std::to_string(pid);
    for (const auto& h : layout_.hierarchies)
      with_context(fmt::format("join cgroup {}", dir(h)), [&] { write_existing(path_join(dir(h), "cgroup.procs"), p); });
  }

  SelfJoin self_join() override {
    SelfJoin j;
    const Hierarchy* freezer = nullptr;
    auto add_tasks = [&](const Hierarchy& h) {
      std::string tasks = path_join(dir(h), "tasks");
      j.tasks.emplace_back(open_or_fail(tasks, O_WRONLY | O_CLOEXEC), tasks);
    };
    for (const auto& h : layout_.hierarchies) {
      if (h.v2) {
        if (!unified_fd_) unified_fd_ = open_or_fail(dir(h), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        j.clone_fd = unified_fd_.get();
      } else if (h.has("freezer")) {
        freezer = &h;
      } else {
        add_tasks(h);
      }
    }
    // Last: a task that joins a frozen cgroup stops there.
    if (freezer) add_tasks(*freezer);
    return j;
  }

  void add_rest(pid_t pid, bool into_cgroup) override {
    const Hierarchy* u = layout_.unified();
    if (!u || into_cgroup) return;
    with_context(fmt::format("join cgroup {}", dir(*u)),
                 [&] { write_existing(path_join(dir(*u), "cgroup.procs"), std::to_string(pid)); });
  }

  void apply(const oci::Resources& r, bool update) override {
    for (const Controller* c : controllers()) {
      if (!c->applies(r)) continue;
      if (const Hierarchy* h = layout_.v1(c->name)) {
        c->apply_v1(dir(*h), r, update);
      } else if (const Hierarchy* u = unified_with(c)) {
        // Hybrid: a controller no v1 hierarchy claimed is available in the cgroup2 mount.
        enable_along_path(*u, c->v2_name);
        c->apply_v2(dir(*u), r, update);
      } else if (std::string_view(c->name) == "unified") {
        c->apply_v1("", r, update);  // refuses, with its reason
      } else {
        fail("{}: the {} controller is not available on this host", c->json_path, c->name);
      }
    }
  }

  void freeze() override { set_freezer("FROZEN"); }
  void thaw() override { set_freezer("THAWED"); }
  bool frozen() override {
    const Hierarchy* h = layout_.v1("freezer");
    if (!h) return false;
    auto state = read_file_if_exists(path_join(dir(*h), "freezer.state"));
    return state && trim(*state) != "THAWED";
  }

  std::vector<pid_t> pids() override {
    const Hierarchy* h = layout_.tracking();
    return h ? read_pids(path_join(dir(*h), "cgroup.procs")) : std::vector<pid_t>{};
  }

  void kill_all(int sig) override {
    // Freeze first so nothing forks between reading the list and signalling it. A paused
    // container stays paused, except for SIGKILL: frozen v1 tasks only die once thawed.
    bool can_freeze = layout_.v1("freezer") != nullptr;
    bool was_frozen = can_freeze && frozen();
    if (can_freeze && !was_frozen) freeze();
    for (pid_t p : pids()) ::kill(p, sig);
    if (can_freeze && (!was_frozen || sig == SIGKILL)) thaw();
  }

  void destroy() override {
    std::optional<Error> first;
    try {
      if (!kill_all_and_wait(*this, 10000))
        log::debug("a process of cgroup {} was still exiting after 10 s", path());
    } catch (const Error& e) {
      first = e;
    }
    for (const auto& h : layout_.hierarchies) {
      std::string d = dir(h);
      try {
        if (!remove_cgroup_dir(d)) {
          log::warn("cgroup {} is still busy; left in place", d);
          continue;
        }
      } catch (const Error& e) {
        // One hierarchy that refuses must not keep the others' directories.
        if (!first) first = e;
        continue;
      }
      remove_made_parents(h);
    }
    if (first) throw *first;
  }

  std::vector<ContainerMount> container_mounts() override {
    std::vector<ContainerMount> out;
    for (const auto& h : layout_.hierarchies) {
      ContainerMount m;
      m.subdir = h.v2 ? "unified" : h.dir_name();
      m.fstype = h.v2 ? "cgroup2" : "cgroup";
      m.data = h.v2 ? "" : !h.name.empty() ? "none,name=" + h.name : join(h.controllers, ",");
      m.host_path = dir(h);
      out.push_back(m);
      // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name.
      if (!h.v2 && h.controllers.size() > 1 && m.subdir.find(',') != std::string::npos)
        for (const auto& c : h.controllers) out.push_back({c, "symlink", m.subdir, ""});
    }
    return out;
  }

  Stats stats() override {
    Stats s;
    for (const Controller* c : controllers()) {
      if (const Hierarchy* h = layout_.v1(c->name)) {
        if (c->stats_v1) c->stats_v1(dir(*h), s);
      } else if (const Hierarchy* u = unified_with(c); u && c->stats_v2) {
        c->stats_v2(dir(*u), s);
      }
    }
    return s;
  }

  uint64_t oom_kills() override {
    const Hierarchy* h = layout_.v1("memory");
    if (!h) return 0;
    auto text = read_file_if_exists(path_join(dir(*h), "memory.oom_control"));
    if (!text) return 0;
    for (const auto& line : split(*text, '\n'))
      if (line.rfind("oom_kill ", 0) == 0) return parse_u64(trim(line.substr(9))).value_or(0);
    return 0;
  }

  Fd oom_notify_fd() override {
    const Hierarchy* h = layout_.v1("memory");
    if (!h) fail("the memory controller is not mounted on this host");
    std::string d = dir(*h);
    Fd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!efd) fail_errno("eventfd");
    Fd ctl = open_or_fail(path_join(d, "memory.oom_control"), O_RDONLY | O_CLOEXEC);
    write_existing(path_join(d, "cgroup.event_control"), fmt::format("{} {}", efd.get(), ctl.get()));
    return efd;
  }

 private:
  Fd unified_fd_;  // self_join()'s CLONE_INTO_CGROUP target on a hybrid host

  const Hierarchy* unified_with(const Controller* c) const {
    const Hierarchy* u = layout_.unified();
    return u && c->v2_name && u->has(c->v2_name) ? u : nullptr;
  }

  // cgroup2 rule: a controller works in a cgroup only if every ancestor delegates it in
  // cgroup.subtree_control. Only our own directories get it (not the root's other children).
  void enable_along_path(const Hierarchy& u, const std::string& controller) {
    std::string cur = u.mount_point;
    for (const auto& part : split(path_, '/')) {
      if (part.empty()) continue;
      std::string file = path_join(cur, "cgroup.subtree_control");
      auto have = split(std::string(trim(read_file_if_exists(file).value_or(""))), ' ');
      if (std::find(have.begin(), have.end(), controller) == have.end())
        with_context(fmt::format("enable {} in {}", controller, cur), [&] { write_existing(file, "+" + controller); });
      cur = path_join(cur, part);
    }
  }

  void set_freezer(const char* state) {
    const Hierarchy* h = layout_.v1("freezer");
    if (!h) fail("the freezer controller is not mounted on this host");
    std::string file = path_join(dir(*h), "freezer.state");
    write_existing(file, state);
    // FREEZING -> FROZEN takes a moment while tasks reach the refrigerator.
    for (int i = 0; i < 2000; ++i) {
      // (The file's text must outlive the view trim returns: comparing a view of the
      // destroyed temporary read freed stack memory, found by the ASan suite.)
      std::string text = read_file(file);
      if (trim(text) == state) return;
      if (std::string_view(state) == "FROZEN" && i % 50 == 49) write_existing(file, state);
      sleep_ms(1);
    }
    fail("cgroup {} did not reach {}", dir(*h), state);
  }

  static void init_cpuset(const std::string& mount, const std::string& path) {
    std::string cur = mount;
    for (const auto& part : split(path, '/')) {
      if (part.empty()) continue;
      std::string parent = cur;
      cur = path_join(cur, part);
      for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
        std::string mine = std::string(trim(read_file(path_join(cur, f))));
        if (!mine.empty()) continue;
        std::string theirs = std::string(trim(read_file(path_join(parent, f))));
        with_context(fmt::format("initialise {}", path_join(cur, f)), [&] { write_existing(path_join(cur, f), theirs); });
      }
    }
  }
};

}  // namespace

std::unique_ptr<Manager> make_v1_manager(const HostLayout& layout, const std::string& path) {
  return std::make_unique<V1Manager>(layout, path);
}

}  // namespace hull::cgroup
