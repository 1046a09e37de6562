// `create`: the parent side of the protocol in sync.h.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cgroup/manager.h"
#include "cgroup/systemd.h"
#include "linux/clone.h"
#include "linux/idmap.h"
#include "linux/namespaces.h"
#include "linux/process_attrs.h"
#include "linux/rootfs.h"
#include "linux/syscalls.h"
#include "linux/terminal.h"
#include "oci/state.h"
#include "runtime/annotations.h"
#include "runtime/hooks.h"
#include "runtime/plan.h"
#include "runtime/runtime.h"
#include "runtime/state_store.h"
#include "runtime/sync.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"

namespace hull::runtime {
namespace {

Fd listen_start_socket(int dir_fd) {
  Fd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) fail_errno("start socket");
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  // Through the dir fd: the state dir's own path may be longer than sun_path allows.
  std::string path = fmt::format("/proc/self/fd/{}/start.sock", dir_fd);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail_errno("bind start socket");
  if (::listen(s.get(), 4) < 0) fail_errno("listen on start socket");
  return s;
}

void write_pid_file(const std::string& path, pid_t pid) {
  with_context("write --pid-file", [&] { atomic_write(path, std::to_string(pid), 0644); });
}

// Kills the init (and so its PID namespace) and reaps it if it is our child.
void kill_and_reap(pid_t pid, int pidfd, bool our_child) {
  if (pid <= 0) return;
  if (pidfd >= 0) sys::pidfd_send_signal(pidfd, SIGKILL);
  else ::kill(pid, SIGKILL);
  if (our_child) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  } else if (pidfd >= 0) {
    pollfd p = {pidfd, POLLIN, 0};
    ::poll(&p, 1, 5000);
  }
}

// Both paths name the same inode; false if either is missing.
bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) < 0 || ::stat(b.c_str(), &sb) < 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return "stopped";
}

// A cgroup is delegated when the first existing directory on the way to the container's
// one is writable to us in every hierarchy (we create the rest).
bool cgroup_delegated(const cgroup::Manager& cg) {
  for (const auto& h : cg.layout().hierarchies) {
    std::string d = cg.dir(h);
    while (d.size() > h.mount_point.size() && !path_exists(d)) d = dirname_of(d);
    if (::access(d.c_str(), W_OK | X_OK) < 0) return false;
  }
  return true;
}

// --console-socket goes with process.terminal, and a terminal needs one (or the foreground).
void check_console_flags(const oci::Spec& spec, const CreateOptions& opts) {
  if (spec.process->terminal && opts.console_socket.empty() && !opts.terminal_master)
    fail("process.terminal is true: --console-socket is required (or run in the foreground)");
  if (!spec.process->terminal && !opts.console_socket.empty())
    fail("--console-socket given but process.terminal is false");
}

// The container's cgroup, not made yet: systemd's scope (--systemd-cgroup) or hull's own
// driver; none for an unprivileged creator where no cgroup is delegated to it.
std::unique_ptr<cgroup::Manager> open_cgroup(const Context& ctx, const oci::Spec& spec,
                                             const CreateOptions& opts) {
  std::unique_ptr<cgroup::Manager> cg;
  if (ctx.systemd_cgroup) {
    // Checked before anything exists: without systemd there is nothing to ask for a scope.
    if (!cgroup::systemd_running())
      fail("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); "
           "drop the flag for hull's cgroupfs driver");
    if (::geteuid() != 0)
      fail("--systemd-cgroup: only root can have systemd make a container's scope (a user's "
           "systemd is not supported)");
    auto name = cgroup::parse_systemd_path(spec.linux.cgroups_path, opts.id);
    cg = cgroup::Manager::open_systemd(cgroup::systemd_cgroup_path(name), name.unit, name.slice,
                                       spec.annotations);
  } else {
    cg = cgroup::Manager::open(cgroup::resolve_path(spec.linux.cgroups_path, opts.id));
  }
  // Rootless: an unprivileged creator gets a cgroup only where one is delegated to it.
  if (::geteuid() != 0 && !cgroup_delegated(*cg)) {
    log::warn("cgroups are not delegated to uid {} here: the container runs without a cgroup{}", ::geteuid(),
              spec.linux.resources ? ", and linux.resources is ignored" : "");
    cg.reset();
  }
  return cg;
}

// The state as saved while the init is set up: no pid yet.
oci::State initial_state(const CreateOptions& opts, const std::string& rootfs, const oci::Spec& spec,
                         const cgroup::Manager* cg) {
  oci::State state;
  state.id = opts.id;
  state.bundle = opts.bundle;
  state.rootfs = rootfs;
  state.created = rfc3339_now();
  state.annotations = spec.annotations;
  state.cgroup_path = cg ? cg->path() : "";
  state.cgroup_unit = cg ? cg->unit() : "";
  state.own_pid_namespace = [&] {
    const oci::Namespace* p = spec.linux.find_namespace(oci::NamespaceType::pid);
    return p && p->path.empty();
  }();
  return state;
}

// What a delete after a killed create must end, recorded before the cgroup exists: a create
// killed from here on leaves a delete that knows which cgroup to end and remove (an engine's
// cgroupsPath, not /hull/<id>). A cgroup that already holds processes is shared (runc's
// rule, make_cgroup) and never recorded: neither a delete after a killed create nor this
// create's undo may end what runs there.
Recovery record_cgroup(cgroup::Manager* cg, const oci::Spec& spec, oci::State& state) {
  Recovery recovery;
  size_t already_in_cgroup = cg ? cg->pids().size() : 0;
  if (already_in_cgroup && wants_exclusive_cgroup(spec))
    fail("linux.cgroupsPath: cgroup {} is not empty: {} process(es) run in it ({}=true)",
         cg->path(), already_in_cgroup, kExclusiveCgroupAnnotation);
  if (cg && !already_in_cgroup) {
    recovery.has_cgroup = true;
    recovery.cgroup_path = cg->path();
    recovery.cgroup_unit = cg->unit();
    // systemd makes (and removes) a scope's directories and its slices' itself.
    recovery.cgroup_made_from = recovery.cgroup_unit.empty() ? cg->missing_from() : "";
    cg->set_made_from(recovery.cgroup_made_from);
    state.cgroup_made_from = recovery.cgroup_made_from;
  }
  return recovery;
}

// Makes the cgroup and applies linux.resources. `made`: this create made it, so its undo
// removes it (set before the resources are applied, which may fail); not when it is shared.
void make_cgroup(cgroup::Manager& cg, const oci::Spec& spec, oci::State& state, bool& made) {
  with_context("create cgroup", [&] { cg.create(); });
  fault_point("create.cgroup");
  // A frozen cgroup would freeze the container before it ran: always refused. One that
  // already holds processes is shared with a warning, as runc does (engines put a pod's
  // containers in one), unless the config asks for its own; this create's undo then leaves
  // it and what runs there alone.
  if (cg.frozen()) fail("linux.cgroupsPath: cgroup {} is frozen", cg.path());
  auto n = cg.pids().size();
  if (n && wants_exclusive_cgroup(spec))
    fail("linux.cgroupsPath: cgroup {} is not empty: {} process(es) run in it ({}=true)",
         cg.path(), n, kExclusiveCgroupAnnotation);
  if (n)
    log::warn(
        "linux.cgroupsPath: cgroup {} is not empty: {} process(es) already run in it; "
        "sharing it",
        cg.path(), n);
  made = n == 0;
  state.cgroup_shared = n > 0;
  // The units' errors name the field (linux.resources.memory.limit) themselves.
  if (spec.linux.resources) cg.apply(cgroup_resources(spec), false);
}

// The init's fds to the world: the sync socket (sync.h), the console (--console-socket, or a
// socket pair on which a foreground run receives the terminal's master), start.sock.
struct Channels {
  Fd parent_end, child_end, console, console_peer, start_listen;
};

Channels open_channels(const CreateOptions& opts, const oci::Spec& spec, InitPlan& plan, int dir_fd) {
  Channels ch;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
  ch.parent_end.reset(sv[0]);
  ch.child_end.reset(sv[1]);
  plan.sync_fd = ch.child_end.get();
  if (!opts.console_socket.empty()) {
    ch.console = linux::connect_unix(opts.console_socket, "--console-socket");
    plan.console_fd = ch.console.get();
  } else if (spec.process->terminal && opts.terminal_master) {
    // Foreground without a console socket: hull itself receives the master and relays it.
    int tv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tv) < 0) fail_errno("socketpair");
    ch.console.reset(tv[0]);
    ch.console_peer.reset(tv[1]);
    plan.console_fd = ch.console.get();
  }
  if (!opts.for_run) {
    ch.start_listen = listen_start_socket(dir_fd);
    plan.start_listen_fd = ch.start_listen.get();
  }
  return ch;
}

// A PID namespace given by path: joined for our children only; the returned fd is our own,
// to come back to after the clone (none when the spec joins no PID namespace).
Fd join_pid_namespace_for_children(InitPlan& plan) {
  Fd own_pidns;
  for (auto it = plan.join.begin(); it != plan.join.end(); ++it) {
    if (it->second != CLONE_NEWPID) continue;
    own_pidns = open_or_fail("/proc/self/ns/pid_for_children", O_RDONLY);
    linux::join_namespace(it->first.get(), CLONE_NEWPID, "pid");
    plan.join.erase(it);
    break;
  }
  return own_pidns;
}

// The init builds the container; it asks for the prestart and createRuntime hooks on the
// way (kHooks) and ends with kReady, or a kError thrown here with its kind (sync.h).
template <typename Died>
void wait_until_ready(int sync_fd, const oci::Spec& spec, const oci::State& state, Died init_died) {
  for (;;) {
    auto m = recv_msg(sync_fd);
    if (!m) init_died();
    if (m->type == Msg::kError) throw error_from(*m);
    if (m->type == Msg::kHooks) {
      // runc's states: prestart (the deprecated hook that stood for "after create") is
      // told "created", createRuntime "creating", as the spec has it.
      oci::State prestart = state;
      prestart.status = oci::Status::created;
      run_hooks(spec.hooks.prestart, "prestart", oci::state_to_public_json(prestart, false));
      run_hooks(spec.hooks.create_runtime, "createRuntime",
                oci::state_to_public_json(state, false));
      send_msg(sync_fd, Msg::kHooksDone);
      continue;
    }
    if (m->type == Msg::kReady) return;
    fail("unexpected message {} from the container init", static_cast<int>(m->type));
  }
}

}  // namespace

Created create(const Context& ctx, const CreateOptions& opts, std::shared_ptr<const oci::Spec> spec_ptr,
               const std::string& config_json) {
  const oci::Spec& spec = *spec_ptr;
  log::step("parsed");
  std::string rootfs = resolve_rootfs(spec, opts.bundle);
  check_console_flags(spec, opts);

  StateStore store(ctx.root);
  std::unique_ptr<cgroup::Manager> cg = open_cgroup(ctx, spec, opts);
  InitPlan plan;
  build_plan(plan, spec, opts, rootfs, cg.get(), seccomp_cache_dir(ctx.root));
  bool overlay = plan.rootfs.overlay;
  // The host's own root cannot be pivoted away from (pivot_root: EBUSY); only a throw-away
  // overlay on top of it (the friendly face's default) makes it a container's root. In the
  // caller's own mount namespace there is no pivot_root: the host's root is then the root.
  if (!overlay && plan.new_mount_ns && same_file(rootfs, "/"))
    fail("root.path: {} is the host's root; a container needs a root file system of its own",
         rootfs);
  if (overlay) plan.rootfs.overlay_scratch = path_join(store.dir(opts.id), kOverlayScratchDir);
  log::step("planned");

  // From here on, things exist: undo them all on failure.
  Fd dir = store.create_locked(opts.id);
  bool committed = false;
  pid_t init_pid = -1;
  Fd pidfd;
  bool our_child = true;
  bool cgroup_made = false;
  ScopeGuard undo([&] {
    if (committed) return;
    kill_and_reap(init_pid, pidfd.get(), our_child);
    if (cgroup_made) {
      try {
        cg->destroy();
      } catch (const Error& e) {
        log::warn("cleanup: {}", e.what());
      }
    }
    try {
      store.remove(opts.id);
    } catch (const Error& e) {
      log::warn("cleanup: {}", e.what());
    }
  });

  if (overlay && ::mkdirat(dir.get(), kOverlayScratchDir, 0700) < 0)
    fail_errno("create {}", plan.rootfs.overlay_scratch);

  oci::State state = initial_state(opts, rootfs, spec, cg.get());
  Recovery recovery = record_cgroup(cg.get(), spec, state);
  store.save_recovery(dir.get(), recovery);
  fault_point("create.recorded");
  if (cg) make_cgroup(*cg, spec, state, cgroup_made);
  log::step("cgroup");
  // After the cgroup exists: podman binds the container's own cgroup directory into a
  // user-namespaced container, and that source must be there to be cloned. Only root clones
  // the sources from the host (the container's root may not reach them); an unprivileged
  // creator cannot clone mounts of the host, and its init can reach what it can.
  if (plan.rootfs.bind_devices && ::geteuid() == 0)
    with_context("open mount sources", [&] { linux::open_sources(plan.rootfs, plan.source_fds); });

  Channels ch = open_channels(opts, spec, plan, dir.get());
  Fd &parent_end = ch.parent_end, &child_end = ch.child_end, &console = ch.console,
     &console_peer = ch.console_peer, &start_listen = ch.start_listen;
  Fd own_pidns = join_pid_namespace_for_children(plan);
  bool slow = plan.join_user_first || plan.unshare_after_join;
  if (slow) ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // the init will be a grandchild
  int flags = clone_flags(plan, spec);
  // The init joins a cgroupfs v1 cgroup itself (cgroup/manager.h: the parent's writes wait for
  // the kernel); not with a user namespace, whose root the host's cgroup files do not know.
  cgroup::Manager::SelfJoin self_join;
  if (cg && !slow && !plan.new_user_ns) self_join = cg->self_join();
  bool self_joins = !self_join.tasks.empty();
  for (auto& [fd, path] : self_join.tasks) plan.cgroup_tasks.emplace_back(fd.get(), path);
  int cgroup_fd = slow || !cg ? -1 : self_joins ? self_join.clone_fd : cg->clone_fd();
  // The init finds its rootfs as its cwd, translated into its new mount namespace
  // (linux::prepare_rootfs).
  Fd old_cwd;
  if (plan.rootfs.rootfs_tree >= 0) {
    old_cwd = open_or_fail(".", O_PATH | O_DIRECTORY);
    if (::chdir(rootfs.c_str()) < 0) fail_errno("chdir {}", rootfs);
  }
  linux::CloneResult cr =
      with_context("start the container init", [&] { return linux::clone_process(flags, cgroup_fd); });
  if (cr.pid == 0) {
    // Our copies of the parent's fds: the state dir lock must stay with the parent only.
    parent_end.reset();
    dir.reset();
    container_init(plan);  // never returns
  }
  if (old_cwd) ::fchdir(old_cwd.get());
  init_pid = cr.pid;
  pidfd = std::move(cr.pidfd);
  fault_point("create.cloned");
  if (own_pidns) ::setns(own_pidns.get(), CLONE_NEWPID);
  child_end.reset();
  start_listen.reset();
  console.reset();
  log::step("cloned");

  auto fail_from_init = [&](const Message& m) -> void {
    throw error_from(m);
  };
  auto init_died = [&]() -> void {
    int status = 0;
    if (our_child) ::waitpid(init_pid, &status, 0);
    init_pid = -1;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && cg && cg->oom_kills() > 0) {
      std::string oom = oom_report(opts.id, cg->path());
      fail("container init was killed before it was ready: {}", oom.substr(oom.find(": ") + 2));
    }
    fail("container init {} before it was ready", describe_exit(status));
  };

  if (slow) {
    auto m = recv_msg(parent_end.get());
    if (!m) init_died();
    if (m->type == Msg::kError) fail_from_init(*m);
    if (m->value > 0) {
      // The intermediate process forked the real init into the new PID namespace and left.
      ::waitpid(init_pid, nullptr, 0);
      init_pid = m->value;
      our_child = false;
      pidfd.reset(sys::pidfd_open(init_pid));
      if (!pidfd) fail_errno("pidfd_open container init {}", init_pid);
    }
  }
  if (plan.new_user_ns) {
    auto u = id_ranges(spec.linux.uid_mappings), g = id_ranges(spec.linux.gid_mappings);
    with_context("linux.uidMappings", [&] { linux::write_id_maps(init_pid, u, g); });
  }
  self_join.tasks.clear();  // the init has its copies
  if (cg && self_joins)
    with_context("join cgroup", [&] { cg->add_rest(init_pid, cr.into_cgroup); });
  else if (cg && (!cr.into_cgroup || slow))
    with_context("join cgroup", [&] { cg->add(init_pid); });
  if (spec.process->oom_score_adj) linux::set_oom_score_adj(init_pid, *spec.process->oom_score_adj);
  // From here, as runc: in its user namespace the init could not raise a hard limit above
  // ours, whatever privilege we have on the host. It sets them again itself (a no-op then).
  linux::apply_rlimits_to(init_pid, plan.process.rlimits);
  auto st = read_proc_stat(init_pid);
  if (!st) init_died();
  state.pid = init_pid;
  state.pid_start_time = st->start_time;
  state.status = oci::Status::creating;
  // Saved now: if this create is killed (an engine's timeout), delete finds the init and
  // the cgroup it must end, not only the default /hull/<id>. recovery.json, for a state.json
  // lost or damaged later, gets the init's pid only where there is no cgroup: a cgroup's
  // every process ends with it (the init joined it above), and on a disk file system each
  // rewrite is a file made and one freed per container (bench/README.md "warmrun").
  if (!recovery.has_cgroup) {
    recovery.pid = init_pid;
    recovery.pid_start_time = st->start_time;
    store.save_recovery(dir.get(), recovery);
  }
  store.save(dir.get(), state);
  fault_point("create.saved");
  send_msg(parent_end.get(), Msg::kGo, 0, oci::state_to_public_json(state, false));
  log::step("released init");

  wait_until_ready(parent_end.get(), spec, state, init_died);
  log::step("init ready");
  if (console_peer) *opts.terminal_master = linux::recv_fd(console_peer.get(), "terminal master");

  fault_point("create.ready");
  state.status = oci::Status::created;
  store.save_config(dir.get(), config_json);
  // `run` starts it at once and saves "running" then: one state.json (new file and rename)
  // fewer per container; until then it reads "creating", with the init's pid.
  if (!opts.for_run) store.save(dir.get(), state);
  if (!opts.pid_file.empty()) write_pid_file(opts.pid_file, init_pid);
  committed = true;
  log::step("state saved");

  Created c;
  c.id = opts.id;
  c.pid = init_pid;
  c.pidfd = std::move(pidfd);
  c.sync = std::move(parent_end);
  c.state = state;
  c.spec = std::move(spec_ptr);
  return c;
}

}  // namespace hull::runtime
