// cgroup::Manager: one container's cgroup in every hierarchy of the host, behind one
// interface with a driver per layout (v1, v2, hybrid). Takes oci::Resources, the plain
// structs of oci/spec.h, never JSON.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cgroup/layout.h"
#include "cgroup/stats.h"
#include "oci/spec.h"
#include "util/fd.h"

namespace hull::cgroup {

// A file system the container sees under /sys/fs/cgroup.
struct ContainerMount {
  std::string subdir;     // "" for v2 (the whole /sys/fs/cgroup), "memory", "unified", ...
  std::string fstype;     // "cgroup" or "cgroup2"; "symlink" for co-mount aliases
  std::string data;       // v1 mount data: "memory", "none,name=systemd"; symlink target
  std::string host_path;  // the container's cgroup dir on the host, to bind without a cgroupns
};

// The container's cgroup path from linux.cgroupsPath: absolute as given, relative under the
// hierarchy root, empty -> "/hull/<id>". Refuses ".." escapes and systemd's "slice:prefix:name"
// (cgroup/systemd.h reads those, for --systemd-cgroup).
std::string resolve_path(const std::string& cgroups_path, const std::string& id);

class Manager {
 public:
  static std::unique_ptr<Manager> open(const std::string& path);
  static std::unique_ptr<Manager> open(const HostLayout& layout, const std::string& path);
  // The systemd driver (cgroup/systemd.h): the cgroup at `path` is systemd's scope `unit`.
  // With a `slice`, the scope is yet to be made: add() of the init starts it there (with the
  // resources apply() was given, and the annotations' org.systemd.property.*), and the files
  // are written after. Without, it exists.
  static std::unique_ptr<Manager> open_systemd(
      const std::string& path, const std::string& unit, const std::string& slice = "",
      const std::map<std::string, std::string>& annotations = {});
  // A container's cgroup as its state records it: systemd's scope `unit`, or cgroupfs.
  static std::unique_ptr<Manager> open(const std::string& path, const std::string& unit) {
    return unit.empty() ? open(path) : open_systemd(path, unit);
  }
  virtual ~Manager() = default;

  const std::string& path() const { return path_; }
  // The systemd unit that owns the cgroup; empty for cgroupfs.
  virtual std::string unit() const { return ""; }
  const HostLayout& layout() const { return layout_; }
  // The container's directory in a hierarchy.
  std::string dir(const Hierarchy& h) const;

  // The highest directory on path() that is missing in some hierarchy: what create() will
  // make. Empty when the path exists everywhere.
  std::string missing_from() const;
  // Tells destroy() to remove the parents of path() up to this one once they are empty (what
  // an earlier create made, as missing_from() said then).
  void set_made_from(std::string top) { made_from_ = std::move(top); }
  const std::string& made_from() const { return made_from_; }

  // Creates the directories (v2: enables the needed controllers along the path). On failure
  // it removes what it made before throwing.
  virtual void create() = 0;
  // v2: an fd of the cgroup directory for clone3(CLONE_INTO_CGROUP); -1 when not possible.
  virtual int clone_fd() { return -1; }
  // Moves pid into the cgroup in every hierarchy.
  virtual void add(pid_t pid) = 0;

  // For a fresh, single-threaded child to move itself in, instead of add() from its parent.
  // Each cgroup.procs write takes the kernel's global threadgroup lock for writing, which
  // waits for an RCU grace period when no attach ran in the last few milliseconds (5-15 ms,
  // the "first attach" wait of a cgroup v1 host); a task writing "0" (itself, one thread) into
  // a v1 hierarchy's `tasks` file does not take it. v1 driver: `tasks` holds each v1
  // hierarchy's file, opened for writing (the child writes "0" to each and closes them);
  // clone_fd, on a hybrid host, the cgroup2 directory for clone3(CLONE_INTO_CGROUP), which
  // takes that lock only for reading. Empty for the other drivers (v2 clones into the
  // cgroup, systemd starts a scope).
  struct SelfJoin {
    std::vector<std::pair<Fd, std::string>> tasks;  // (fd, path for errors)
    int clone_fd = -1;                              // owned by the manager
  };
  virtual SelfJoin self_join() { return {}; }
  // After a clone with self_join(): joins pid to what the child did not join itself (the
  // cgroup2 directory, when the clone could not go into it).
  virtual void add_rest(pid_t /*pid*/, bool /*into_cgroup*/) {}
  // Applies linux.resources. `update` is true for `update`, where absent fields stay as they are.
  virtual void apply(const oci::Resources& resources, bool update) = 0;
  virtual void freeze() = 0;
  virtual void thaw() = 0;
  virtual bool frozen() = 0;
  virtual std::vector<pid_t> pids() = 0;
  // Signals every process in the cgroup (v2 SIGKILL: cgroup.kill).
  virtual void kill_all(int sig) = 0;
  // Kills what is left and removes the directories in every hierarchy, and the parents up to
  // made_from(). Goes on past a hierarchy that fails; throws the first failure at the end.
  virtual void destroy() = 0;
  virtual std::vector<ContainerMount> container_mounts() = 0;
  virtual Stats stats() = 0;
  // memory.events / memory.oom_control: how many times the OOM killer struck.
  virtual uint64_t oom_kills() = 0;
  // An fd (non-blocking) that polls readable when the OOM killer may have struck: v1 an
  // eventfd registered on memory.oom_control, v2 inotify on memory.events. Read it empty and
  // compare oom_kills() to be sure (v1 also signals when the cgroup goes away).
  virtual Fd oom_notify_fd() = 0;

 protected:
  Manager(const HostLayout& layout, std::string path) : layout_(layout), path_(std::move(path)) {}
  // rmdir of the parents of path_ in `h` up to made_from_ (and of /hull, hull's own parent of
  // default paths, once empty); stops at the first that is not empty.
  void remove_made_parents(const Hierarchy& h) const;
  const HostLayout& layout_;
  std::string path_;
  std::string made_from_;
};

}  // namespace hull::cgroup
