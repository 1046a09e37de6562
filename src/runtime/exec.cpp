// `exec`: a new process in a created or running container. Like create, one clone and no
// re-exec; the parent stays on the host and only its children enter the PID namespace.
//
//   hull exec (parent)                                  exec child
//   ------------------                                  ----------
//   pidfd of the init; join its PID namespace for
//   our children only; clone3 (CLONE_INTO_CGROUP
//   on cgroup v2); back to our own PID namespace ----->  non-dumpable (CVE-2019-5736)
//   join the v1 cgroups (unless the child does),
//   oomScoreAdj
//   ---------------------------------- kGo ----------->  join own v1 cgroups (`tasks` files
//                                                        the parent opened: cgroup/placement.h),
//                                                        setns(pidfd, every other namespace),
//                                                        root of its user namespace, terminal,
//                                                        rlimits, user, caps, cwd,
//                                                        no_new_privs, seccomp, execve
//                 <------------ EOF (exec'd) or kError
//   --pid-file; -d: return; else forward signals (relay the pty), wait, exit code
//
// An unprivileged caller (rootless) may not join the PID namespace from the host: only from
// inside the container's user namespace does it hold CAP_SYS_ADMIN over it. Then, as runc
// does, a plain fork (setns into a user namespace refuses a shared mm) joins every namespace,
// the user one first, and clones the exec child with CLONE_PARENT, so that it is hull's own
// child as on the fast path; it reports the child's pid (kChildPid) and exits:
//
//   clone ---------------------------------------------> intermediate: non-dumpable,
//                                                        setns(pidfd, user + all others),
//                                                        clone(CLONE_PARENT) -> exec child
//                 <------------ kChildPid (or kError) --  exit
//   reap it, pidfd_open the child; on as above (the child has joined already)
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cgroup/placement.h"
#include "linux/caps.h"
#include "linux/clone.h"
#include "linux/exec_seal.h"
#include "linux/namespaces.h"
#include "linux/syscalls.h"
#include "linux/terminal.h"
#include "oci/parse.h"
#include "oci/state.h"
#include "runtime/foreground.h"
#include "runtime/plan.h"
#include "runtime/process.h"
#include "runtime/runtime.h"
#include "runtime/state_store.h"
#include "runtime/transitions.h"
#include "runtime/sync.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

// What the child needs; everything is prepared by the parent before the clone.
struct ExecChild {
  ProcessPlan process;
  int sync_fd = -1;
  int console_fd = -1;
  int init_pidfd = -1;
  int cgroup_fd = -1;  // a host directory: closed before anything else happens
  // v1 `tasks` files (cgroup::self_join): the process joins them itself after kGo.
  std::vector<std::pair<int, std::string>> cgroup_tasks;
  pid_t init_pid = 0;
  int ns_flags = 0;  // every namespace of the container but PID (the clone put us there)
  bool joined = false;  // the intermediate joined them all (the unprivileged path)
  // Into a paused container: kReady first, once it holds nothing of the parent's (below).
  bool paused = false;
  // The init's root, when the container has no mount namespace of its own (it shares one,
  // and its root is a chroot there): entered the same way.
  Fd root;
  std::array<int, 3> stdio{-1, -1, -1};
};

void run_child(ExecChild& c) {
  if (c.cgroup_fd >= 0) ::close(c.cgroup_fd);
  for (int i = 0; i < 3; ++i)
    if (c.stdio[i] >= 0 && ::dup2(c.stdio[i], i) < 0) fail_errno("give the process fd {}", i);
  // Until execve this process runs hull's binary inside the container's namespaces: nothing
  // in there may trace it or open its /proc/PID/exe (CVE-2019-5736). execve of the user's
  // program sets dumpable afresh. A container with CAP_SYS_PTRACE passes that check; for it the
  // exe is on a read-only mount (the CLI re-executed hull from one, linux/self_image.h).
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail_errno("make the exec process non-dumpable");
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // The parent waits for this before it joins us to the container's frozen cgroups: frozen
  // before we had run at all, we would hold its fds, the container's lock among them, and
  // `resume` waits for that lock (issue: a deadlock on a loaded machine). The parent's ends
  // are closed by now (start_child). The unprivileged path's intermediate closed them before
  // it cloned us, and the parent waits for it instead.
  if (c.paused && !c.joined) send_msg(c.sync_fd, Msg::kReady);
  auto m = recv_msg(c.sync_fd);
  if (!m) ::_exit(1);  // the parent gave up on us
  if (m->type != Msg::kGo)
    fail("exec: unexpected message {} from the runtime", static_cast<int>(m->type));
  join_own_cgroups(c.cgroup_tasks);
  if (!c.joined) linux::join_namespaces_of(c.init_pidfd, c.init_pid, c.ns_flags);
  ::close(c.init_pidfd);
  // What the process makes before it switches to its user (its pty: `exec -t`) belongs to
  // the container's root, as the init's does, not to an id the namespace does not map.
  if (c.ns_flags & CLONE_NEWUSER) linux::become_user_ns_root();
  if (c.root) {
    check_chroot_holds(c.process, c.root.get());
    if (::fchdir(c.root.get()) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0)
      fail_errno("enter the container's root");
    c.root.reset();
  }
  if (c.console_fd >= 0) {
    setup_terminal(c.console_fd, c.process.process, false);
    ::close(c.console_fd);
  }
  // Made before any filter is in place: a profile need not allow memfd_create.
  Fd stub = linux::open_exec_stub();
  std::string exe = prepare_process(c.process);
  exec_process(c.process, exe, c.sync_fd, stub.get());
}

// Reports a failure of the child (or of the intermediate) to the parent and exits.
template <typename F>
[[noreturn]] void child_main(ExecChild& c, F&& body) {
  try {
    body();
  } catch (const Error& e) {
    try {
      send_error(c.sync_fd, e, child_error_message(c.process, e, "process"));
    } catch (...) {
    }
  } catch (const std::exception& e) {
    try {
      send_msg(c.sync_fd, Msg::kError, 0, fmt::format("internal error: {}", e.what()));
    } catch (...) {
    }
  }
  ::_exit(1);
}

[[noreturn]] void exec_child(ExecChild& c) {
  child_main(c, [&] { run_child(c); });
}

// The unprivileged path's intermediate (diagram above): joins the user namespace with the
// others, so that it may join the PID one, then clones the exec child as a sibling.
[[noreturn]] void join_then_clone_child(ExecChild& c, int pid_ns_flag) {
  child_main(c, [&] {
    if (c.cgroup_fd >= 0) ::close(c.cgroup_fd);
    c.cgroup_fd = -1;
    // Host files too; here the parent joins the exec child to its cgroups.
    for (auto& task : c.cgroup_tasks) ::close(task.first);
    c.cgroup_tasks.clear();
    // From setns on, the container's root could trace us: not before we are non-dumpable.
    linux::make_undumpable();
    // One setns on the pidfd enters the user namespace first and checks the others with its
    // privileges; the per-file fallback joins it first.
    linux::join_namespaces_of(c.init_pidfd, c.init_pid, c.ns_flags | pid_ns_flag);
    c.joined = true;
    auto cr = with_context("start the exec process",
                           [&] { return linux::clone_process(CLONE_PARENT, -1); });
    if (cr.pid == 0) exec_child(c);
    send_msg(c.sync_fd, Msg::kChildPid, cr.pid);
    ::_exit(0);
  });
}

void set_env(std::vector<std::string>& env, const std::string& entry) {
  auto eq = entry.find('=');
  std::string prefix = entry.substr(0, eq == std::string::npos ? entry.size() : eq + 1);
  auto same = std::find_if(env.begin(), env.end(),
                           [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
  if (same != env.end())
    *same = entry;
  else
    env.push_back(entry);
}

void add_unique(std::vector<std::string>& list, const std::string& v) {
  if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
}

// The process to run: process.json as given (what it leaves out comes from the container, as
// with runc), or the container's own process with the CLI's args; then the CLI's changes.
oci::Process process_for_exec(const oci::Spec& spec, const ExecOptions& o) {
  const oci::Process& container = *spec.process;
  const ExecChanges& c = o.changes;
  oci::Process p;
  if (o.process) {
    p = *o.process;
    if (p.rlimits.empty()) p.rlimits = container.rlimits;
    if (!p.capabilities) p.capabilities = container.capabilities;
    // A process.json without a label must not run unconfined in a confined container.
    if (p.apparmor_profile.empty()) p.apparmor_profile = container.apparmor_profile;
    if (p.selinux_label.empty()) p.selinux_label = container.selinux_label;
  } else {
    if (c.args.empty()) fail("a command is required (arguments, or --process)");
    p = container;
    p.terminal = false;
    p.console_size.reset();
  }
  if (!c.args.empty()) p.args = c.args;
  for (const auto& e : c.env) set_env(p.env, e);
  if (!c.cwd.empty()) p.cwd = c.cwd;
  if (c.uid) p.user.uid = *c.uid;
  if (c.gid) p.user.gid = *c.gid;
  if (c.groups) p.user.additional_gids = *c.groups;
  for (auto g : c.additional_gids) p.user.additional_gids.push_back(g);
  if (!c.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const auto& name : c.caps) {
      std::string cap = to_upper(name);
      if (cap.rfind("CAP_", 0) != 0) cap = "CAP_" + cap;
      // As unknown names in a config (runtime-spec 1.1+): a warning, not a failure.
      if (linux::capability_from_name(cap) < 0) {
        log::warn("--cap {}: unknown capability: skipped", quote(name));
        continue;
      }
      add_unique(p.capabilities->bounding, cap);
      add_unique(p.capabilities->effective, cap);
      add_unique(p.capabilities->permitted, cap);
    }
  }
  if (c.tty) p.terminal = true;
  if (c.no_new_privs) p.no_new_privileges = true;
  if (!c.apparmor.empty()) p.apparmor_profile = c.apparmor;
  if (!c.process_label.empty()) p.selinux_label = c.process_label;
  oci::validate_process(p, o.process ? "process.json" : "process");
  return p;
}

// A user namespace made by an unprivileged creator denies setgroups to everyone in it.
bool setgroups_allowed(pid_t init) {
  auto v = read_file_if_exists(fmt::format("/proc/{}/setgroups", init));
  return !v || trim(*v) != "deny";
}

// The container as exec finds it, locked shared: execs run side by side, but the container is
// not deleted under us.
struct Target {
  Fd dir;
  oci::State state;
  Fd init;  // pidfd of the init, trusted with its start time
  oci::Spec spec;
  bool paused = false;
};

Target open_target(const Context& ctx, const ExecOptions& o) {
  StateStore store(ctx.root);
  Target t;
  t.dir = store.open_locked(o.id, false);
  t.state = state(ctx, o.id);
  const oci::State& st = t.state;
  require(o.ignore_paused ? Verb::exec_ignore_paused : Verb::exec, st);
  t.paused = st.status == oci::Status::paused;
  t.init.reset(sys::pidfd_open(st.pid));
  if (!t.init || !process_matches(st.pid, st.pid_start_time))
    fail("cannot exec in container {}: its init has exited", o.id);
  t.spec = oci::parse_spec(store.load_config(t.dir.get()));
  return t;
}

// The process and how its terminal is reached: the console socket, hull's relay, or none.
oci::Process plan_process(const oci::Spec& spec, const ExecOptions& o, bool& relay) {
  oci::Process proc = process_for_exec(spec, o);
  if (proc.terminal && o.console_socket.empty() && o.detach)
    fail("a terminal for a detached process needs --console-socket");
  if (!proc.terminal && !o.console_socket.empty())
    fail("--console-socket given but the process has no terminal (process.terminal or --tty)");
  relay = proc.terminal && o.console_socket.empty();
  struct winsize ws;
  // The relayed pty starts with the caller's size, before the process can ask for it.
  if (relay && !proc.console_size && ::ioctl(0, TIOCGWINSZ, &ws) == 0)
    proc.console_size = oci::ConsoleSize{ws.ws_row, ws.ws_col};
  return proc;
}

// The child's plan, built before the clone. Returns whether the container has a PID
// namespace (joined by the parent for its children, or by the intermediate).
bool plan_child(ExecChild& child, const Context& ctx, const ExecOptions& o, const Target& t,
                const oci::Process& proc) {
  const oci::Spec& spec = t.spec;
  build_process_plan(child.process, proc, spec, seccomp_cache_dir(ctx.root),
                     o.process ? "process.json" : "process");
  child.process.preserve_fds = o.preserve_fds;
  if (child.process.seccomp.notify)
    child.process.listener_state = oci::container_process_state_json(
        oci::state_to_public_json(t.state, false), t.state.pid, spec.linux.seccomp->listener_metadata);
  child.process.set_groups = setgroups_allowed(t.state.pid);
  bool pid_ns = false;
  for (const auto& ns : spec.linux.namespaces) {
    if (ns.type == oci::NamespaceType::pid)
      pid_ns = true;
    else
      child.ns_flags |= namespace_flag(ns.type);
  }
  // A user namespace joined by path may be our own (the host's): setns into it says EINVAL.
  if (child.ns_flags & CLONE_NEWUSER) {
    Fd theirs =
        linux::open_namespace(fmt::format("/proc/{}/ns/user", t.state.pid), CLONE_NEWUSER);
    if (linux::is_own_namespace(theirs.get(), CLONE_NEWUSER)) child.ns_flags &= ~CLONE_NEWUSER;
  }
  const oci::Namespace* mnt = spec.linux.find_namespace(oci::NamespaceType::mount);
  if (!mnt || !mnt->path.empty())
    child.root = open_or_fail(fmt::format("/proc/{}/root", t.state.pid), O_PATH | O_DIRECTORY);
  child.init_pidfd = t.init.get();
  child.init_pid = t.state.pid;
  child.stdio = o.stdio;
  return pid_ns;
}

// Where the process goes: the container's cgroup (or --cgroup's sub-cgroup), if it has one.
struct CgroupTarget {
  bool has = false;
  cgroup::Placement place;
  Fd fd;  // the single v2 directory (or a hybrid host's cgroup2 one), for CLONE_INTO_CGROUP
  cgroup::SelfJoin self_join;  // cgroupfs v1 as root: for the process to join itself
};

CgroupTarget open_cgroup_target(const ExecOptions& o, const oci::State& st, bool paused) {
  CgroupTarget c;
  // No cgroup path: the container has none (an unprivileged create without delegation).
  c.has = !st.cgroup_path.empty();
  if (!c.has && !o.cgroups.empty()) fail("--cgroup: container {} runs without a cgroup", o.id);
  if (!c.has) return c;
  auto cg = cgroup::Manager::open(st.cgroup_path);
  c.place = cgroup::placement(*cg, o.cgroups);
  if (c.place.single_v2 && !paused) {
    // (Not into a paused one: the clone would be frozen at once, holding our fds.)
    c.fd = open_or_fail(c.place.dirs[0], O_RDONLY | O_DIRECTORY);
  } else if (st.cgroup_unit.empty() && ::geteuid() == 0 && !paused) {
    // The process joins itself (no wait for the kernel's lock, cgroup/manager.h), before it
    // answers. Not into a paused container: we return without an answer there, and the
    // process must be in its cgroups by then.
    c.self_join = cgroup::self_join(c.place);
    c.fd = std::move(c.self_join.clone_dir);
  }
  return c;
}

// The sync socketpair, and the console: --console-socket, or a socketpair over which hull
// receives the master to relay it in the foreground.
struct Channels {
  Fd parent_end, child_end;
  Fd console, console_peer;
};

Channels open_channels(const ExecOptions& o, bool relay) {
  Channels ch;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
  ch.parent_end.reset(sv[0]);
  ch.child_end.reset(sv[1]);
  if (!o.console_socket.empty()) {
    ch.console = linux::connect_unix(o.console_socket, "--console-socket");
  } else if (relay) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
    ch.console.reset(sv[0]);
    ch.console_peer.reset(sv[1]);
  }
  return ch;
}

struct Started {
  pid_t pid = -1;
  Fd pidfd;
  bool into_cgroup = false;
  bool self_joined = false;  // the child joins its v1 cgroups itself (ExecChild::cgroup_tasks)
  bool says_ready = false;   // it sends kReady first (ExecChild::paused)
};

// The unprivileged path (diagram at the top): the intermediate's report, then its exit.
Started start_through_user_ns(ExecChild& child, Channels& ch, Target& t, int cgroup_fd) {
  linux::CloneResult cr =
      with_context("start the exec process", [&] { return linux::clone_process(0, -1); });
  if (cr.pid == 0) {
    ch.parent_end.reset();
    ch.console_peer.reset();
    t.dir.reset();
    child.cgroup_fd = cgroup_fd;
    join_then_clone_child(child, CLONE_NEWPID);
  }
  // Our end of the child's socket goes first: EOF then means the intermediate died.
  ch.child_end.reset();
  auto m = recv_msg(ch.parent_end.get());
  int status = 0;
  while (::waitpid(cr.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (m && m->type == Msg::kError) throw error_from(*m);
  if (!m || m->type != Msg::kChildPid || m->value <= 0)
    fail("exec: the process joining the container's namespaces ended without starting the "
         "exec process (status {:#x})",
         status);
  Started s;
  s.pid = m->value;
  // Our child (CLONE_PARENT) and not reaped: its pid cannot be reused under us.
  s.pidfd.reset(sys::pidfd_open(s.pid));
  if (!s.pidfd) fail_errno("pidfd_open exec process {}", s.pid);
  return s;
}

// Clones the exec child into the container's PID namespace (and cgroup, on v2).
Started start_child(ExecChild& child, Channels& ch, Target& t, bool pid_ns, int cgroup_fd) {
  child.sync_fd = ch.child_end.get();
  child.console_fd = ch.console.get();
  Fd own_pidns;
  if (pid_ns) {
    own_pidns = open_or_fail("/proc/self/ns/pid", O_RDONLY);
    // Outside the container's user namespace an unprivileged caller has no privilege over
    // its PID namespace: it goes through that user namespace first.
    try {
      linux::join_namespaces_of(t.init.get(), t.state.pid, CLONE_NEWPID);
    } catch (const Error& e) {
      if (e.err() != EPERM || !(child.ns_flags & CLONE_NEWUSER)) throw;
      return start_through_user_ns(child, ch, t, cgroup_fd);
    }
  }
  ScopeGuard back([&] {
    if (own_pidns) ::setns(own_pidns.get(), CLONE_NEWPID);
  });
  linux::CloneResult cr =
      with_context("start the exec process", [&] { return linux::clone_process(0, cgroup_fd); });
  if (cr.pid == 0) {
    // hull-fault: the clone not scheduled for a while, as on a loaded machine.
    if (fault_at("exec.child-late")) sleep_ms(500);
    back.dismiss();
    ch.parent_end.reset();
    ch.console_peer.reset();
    t.dir.reset();
    child.cgroup_fd = cgroup_fd;
    exec_child(child);
  }
  ch.child_end.reset();
  return Started{cr.pid, std::move(cr.pidfd), cr.into_cgroup, !child.cgroup_tasks.empty(),
                 child.paused};
}

// From the host, before the process may go on: its cgroup, OOM score, final CPU affinity and
// rlimits; then kGo, and its answer.
void release_child(const Started& s, const ExecChild& child, const oci::Process& proc,
                   const CgroupTarget& cgt, Channels& ch, bool paused) {
  if (s.says_ready) {
    auto m = recv_msg(ch.parent_end.get());
    if (m && m->type == Msg::kError) throw error_from(*m);
    if (!m || m->type != Msg::kReady) fail("exec: the process ended before it was ready");
  }
  if (cgt.has && s.self_joined)
    cgroup::join_rest(cgt.place, s.pid, s.into_cgroup);
  else if (cgt.has && !s.into_cgroup)
    cgroup::join(cgt.place, s.pid);
  if (proc.oom_score_adj) linux::set_oom_score_adj(s.pid, *proc.oom_score_adj);
  const auto& affinity = proc.exec_cpu_affinity;
  if (affinity && !affinity->final.empty())
    with_context("process.execCPUAffinity.final",
                 [&] { linux::set_cpu_affinity(s.pid, affinity->final); });
  linux::apply_rlimits_to(s.pid, child.process.rlimits);  // as create does, for the same reason
  send_msg(ch.parent_end.get(), Msg::kGo);
  // A process joining a frozen cgroup stops before it can answer: it runs on resume.
  if (paused) return;
  auto m = recv_msg(ch.parent_end.get());
  if (m && m->type == Msg::kError) throw error_from(*m);
  if (m) fail("unexpected message {} from the exec process", static_cast<int>(m->type));
}

}  // namespace

int exec(const Context& ctx, const ExecOptions& o) {
  Target t = open_target(ctx, o);
  bool relay = false;
  oci::Process proc = plan_process(t.spec, o, relay);
  ExecChild child;
  bool pid_ns = plan_child(child, ctx, o, t, proc);
  CgroupTarget cgt = open_cgroup_target(o, t.state, t.paused);
  child.paused = t.paused;
  for (auto& [fd, path] : cgt.self_join.tasks) child.cgroup_tasks.emplace_back(fd.get(), path);
  Channels ch = open_channels(o, relay);

  sigset_t fwd = forwarded_signals(), old;
  if (!o.detach) ::sigprocmask(SIG_BLOCK, &fwd, &old);
  ScopeGuard restore_mask([&] {
    if (!o.detach) ::sigprocmask(SIG_SETMASK, &old, nullptr);
  });

  // execCPUAffinity (runtime-spec, exec only): "initial" while the process joins the
  // container (set on hull itself; the clone inherits it), "final" once it is in the cgroup.
  const auto& affinity = proc.exec_cpu_affinity;
  if (affinity && !affinity->initial.empty())
    with_context("process.execCPUAffinity.initial",
                 [&] { linux::set_cpu_affinity(0, affinity->initial); });

  Started s = start_child(child, ch, t, pid_ns, cgt.fd.get());
  fault_point("exec.cloned");
  bool started = false;
  ScopeGuard reap([&] {
    if (started) return;
    sys::pidfd_send_signal(s.pidfd.get(), SIGKILL);
    while (::waitpid(s.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  });
  ch.console.reset();
  t.init.reset();

  release_child(s, child, proc, cgt, ch, t.paused);
  // Still unstarted for the guard: a --pid-file that cannot be written ends the process, as
  // with runc. The lock goes first: a frozen (--ignore-paused) process sends its pty master
  // only after `resume`, which needs the lock.
  t.dir.reset();
  if (!o.pid_file.empty())
    with_context("write --pid-file", [&] { atomic_write(o.pid_file, std::to_string(s.pid), 0644); });
  started = true;
  Fd master;
  if (ch.console_peer) master = linux::recv_fd(ch.console_peer.get(), "terminal master");
  if (o.detach) return 0;

  relay_until_exit(s.pidfd.get(), master.get(), fwd);
  return wait_child(s.pid);
}

}  // namespace hull::runtime
