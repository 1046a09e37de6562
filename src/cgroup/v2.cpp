// The v2 driver: one directory in the unified hierarchy; controllers enabled in
// cgroup.subtree_control along the path; the init cloned straight into it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cgroup/controller.h"
#include "cgroup/drivers.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

class V2Manager : public Manager {
 public:
  V2Manager(const HostLayout& layout, std::string path)
      : Manager(layout, std::move(path)), h_(*layout.unified()) {}

  void create() override {
    // Enable every available controller from the root down to our parent: a controller is
    // usable in a cgroup only if its parent delegates it.
    std::string wanted;
    for (const auto& c : h_.controllers) wanted += (wanted.empty() ? "+" : " +") + c;
    // A shared parent (/hull) can vanish under us when another container's delete removes
    // it while empty; recreated by a plain mkdir -p it would delegate nothing. Walk again.
    std::string made;  // the first directory this call created
    try {
      for (int attempt = 0;; ++attempt) {
        std::string cur = h_.mount_point;
        bool vanished = false;
        for (const auto& part : split(path_, '/')) {
          if (part.empty()) continue;
          enable_controllers(cur, wanted);
          cur = path_join(cur, part);
          if (::mkdir(cur.c_str(), 0755) == 0) {
            if (made.empty()) made = cur;
          } else if (errno != EEXIST) {
            if (errno != ENOENT || attempt == 3) fail_errno("create cgroup {}", cur);
            vanished = true;
            break;
          }
        }
        if (!vanished) return;
      }
    } catch (const Error&) {
      if (!made.empty()) remove_tree_of_empty_dirs(made);
      throw;
    }
  }

  int clone_fd() override {
    if (!dir_fd_) dir_fd_ = open_or_fail(dir(h_), O_RDONLY | O_DIRECTORY);
    return dir_fd_.get();
  }

  void add(pid_t pid) override {
    with_context(fmt::format("join cgroup {}", dir(h_)),
                 [&] { write_existing(path_join(dir(h_), "cgroup.procs"), std::to_string(pid)); });
  }

  void apply(const oci::Resources& r, bool update) override {
    for (const Controller* c : controllers()) {
      if (!c->applies(r) || !c->apply_v2) continue;
      if (c->v2_name && !h_.has(c->v2_name))
        fail("{}: the {} controller is not available on this host", c->json_path, c->v2_name);
      c->apply_v2(dir(h_), r, update);
    }
  }

  void freeze() override { set_frozen(true); }
  void thaw() override { set_frozen(false); }
  bool frozen() override {
    auto v = read_file_if_exists(path_join(dir(h_), "cgroup.freeze"));
    return v && trim(*v) == "1";
  }

  std::vector<pid_t> pids() override { return read_pids(path_join(dir(h_), "cgroup.procs")); }

  void kill_all(int sig) override {
    if (sig == SIGKILL && path_exists(path_join(dir(h_), "cgroup.kill"))) {
      write_existing(path_join(dir(h_), "cgroup.kill"), "1");
      return;
    }
    // Freeze so nothing forks between reading the list and signalling it; a paused
    // container stays paused.
    bool was_frozen = frozen();
    if (!was_frozen) freeze();
    for (pid_t p : pids()) ::kill(p, sig);
    if (!was_frozen) thaw();
  }

  void destroy() override {
    std::string d = dir(h_);
    if (!path_exists(d)) {
      remove_made_parents(h_);  // a delete killed between the two
      return;
    }
    if (!kill_all_and_wait(*this, 10000))
      log::debug("a process of cgroup {} was still exiting after 10 s", d);
    // Killed tasks take a while to exit, longer on a loaded or emulated machine than the
    // rmdir retries below allow: wait for the kernel to say the cgroup is empty.
    if (!wait_unpopulated(10000)) log::debug("cgroup {} still populated after 10 s", d);
    if (!remove_cgroup_dir(d)) {
      log::warn("cgroup {} is still busy; left in place", d);
      return;
    }
    remove_made_parents(h_);
  }

  std::vector<ContainerMount> container_mounts() override {
    return {{"", "cgroup2", "", dir(h_)}};
  }

  Stats stats() override {
    Stats s;
    for (const Controller* c : controllers())
      if (c->stats_v2) c->stats_v2(dir(h_), s);
    return s;
  }

  uint64_t oom_kills() override {
    auto text = read_file_if_exists(path_join(dir(h_), "memory.events"));
    if (!text) return 0;
    for (const auto& line : split(*text, '\n'))
      if (line.rfind("oom_kill ", 0) == 0) return parse_u64(trim(line.substr(9))).value_or(0);
    return 0;
  }

  Fd oom_notify_fd() override {
    Fd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!fd) fail_errno("inotify_init1");
    std::string events = path_join(dir(h_), "memory.events");
    if (::inotify_add_watch(fd.get(), events.c_str(), IN_MODIFY) < 0) fail_errno("watch {}", events);
    return fd;
  }

 private:
  static void enable_controllers(const std::string& dir, const std::string& wanted) {
    if (wanted.empty()) return;
    std::string file = path_join(dir, "cgroup.subtree_control");
    auto have = split(std::string(trim(read_file_if_exists(file).value_or(""))), ' ');
    bool all = true;
    for (const auto& w : split(wanted, ' '))
      if (std::find(have.begin(), have.end(), w.substr(1)) == have.end()) all = false;
    if (all) return;
    try {
      write_existing(file, wanted);
    } catch (const Error&) {
      // One at a time, so one controller the parent cannot delegate does not block the rest.
      for (const auto& w : split(wanted, ' ')) {
        try {
          write_existing(file, w);
        } catch (const Error& e) {
          log::debug("cannot enable {} in {}: {}", w, dir, e.what());
        }
      }
    }
  }

  // cgroup.events reads "populated 0" once no task is left in the cgroup or below; every
  // change of the file wakes pollers with POLLPRI.
  bool wait_unpopulated(int timeout_ms) {
    Fd fd(::open(path_join(dir(h_), "cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
      char buf[256];
      ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
      if (n < 0) return false;
      std::string_view events(buf, static_cast<size_t>(n));
      if (events.find("populated 0") != std::string_view::npos) return true;
      int64_t left = deadline - monotonic_ms();
      if (left <= 0) return false;
      pollfd p = {fd.get(), POLLPRI, 0};
      if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) return false;
    }
  }

  void set_frozen(bool on) {
    std::string d = dir(h_);
    write_existing(path_join(d, "cgroup.freeze"), on ? "1" : "0");
    // Wait for cgroup.events to say "frozen 1" (or 0).
    std::string want = on ? "frozen 1" : "frozen 0";
    for (int i = 0; i < 2000; ++i) {
      auto ev = read_file_if_exists(path_join(d, "cgroup.events")).value_or("");
      if (ev.find(want) != std::string::npos) return;
      sleep_ms(1);
    }
    fail("cgroup {} did not become {}", d, on ? "frozen" : "thawed");
  }

  const Hierarchy& h_;
  Fd dir_fd_;
};

}  // namespace

std::unique_ptr<Manager> make_v2_manager(const HostLayout& layout, const std::string& path) {
  return std::make_unique<V2Manager>(layout, path);
}

}  // namespace hull::cgroup
