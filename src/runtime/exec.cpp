// `exec`: a new process in a created or running container. Like create, one clone and no
// re-exec; the parent stays on the host and only its children enter the PID namespace.
//
//   hull exec (parent)                                  exec child
//   ------------------                                  ----------
//   pidfd of the init; join its PID namespace for
//   our children only; clone3 (CLONE_INTO_CGROUP
//   on cgroup v2); back to our own PID namespace ----->  non-dumpable (CVE-2019-5736)
//   join the v1 cgroups (paused container only),
//   oomScoreAdj
//   ---------------------------------- kGo ----------->  join own v1 cgroups (`tasks` files
//                                                        the parent opened: cgroup/placement.h),
//                                                        setns(pidfd, every other namespace),
//                                                        terminal, rlimits, user, caps, cwd,
//                                                        no_new_privs, seccomp, execve
//                 <------------ EOF (exec'd) or kError
//   --pid-file; -d: return; else forward signals (relay the pty), wait, exit code
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
#include "runtime/sync.h"
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
  auto m = recv_msg(c.sync_fd);
  if (!m) ::_exit(1);  // the parent gave up on us
  if (m->type != Msg::kGo)
    fail("exec: unexpected message {} from the runtime", static_cast<int>(m->type));
  join_own_cgroups(c.cgroup_tasks);
  linux::join_namespaces_of(c.init_pidfd, c.init_pid, c.ns_flags);
  ::close(c.init_pidfd);
  if (c.console_fd >= 0) {
    setup_terminal(c.console_fd, c.process.process, false);
    ::close(c.console_fd);
  }
  // Made before any filter is in place: a profile need not allow memfd_create.
  Fd stub = linux::open_exec_stub();
  std::string exe = prepare_process(c.process);
  exec_process(c.process, exe, c.sync_fd, stub.get());
}

[[noreturn]] void exec_child(ExecChild& c) {
  try {
    run_child(c);
  } catch (const Error& e) {
    try {
      send_msg(c.sync_fd, Msg::kError, e.err(), child_error_message(c.process, e, "process"));
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

}  // namespace

int exec(const Context& ctx, const ExecOptions& o) {
  StateStore store(ctx.root);
  // Shared: execs run side by side, but the container is not deleted under us.
  Fd dir = store.open_locked(o.id, false);
  oci::State st = state(ctx, o.id);
  if (st.status == oci::Status::creating) fail("container {} is still being created", o.id);
  if (st.status == oci::Status::stopped) fail("cannot exec in a stopped container {}", o.id);
  bool paused = st.status == oci::Status::paused;
  if (paused && !o.ignore_paused)
    fail("cannot exec in a paused container {} (--ignore-paused starts the process frozen)", o.id);
  Fd init(sys::pidfd_open(st.pid));
  if (!init || !process_matches(st.pid, st.pid_start_time))
    fail("cannot exec in container {}: its init has exited", o.id);

  auto spec = oci::parse_spec(store.load_config(dir.get()));
  oci::Process proc = process_for_exec(spec, o);
  if (proc.terminal && o.console_socket.empty() && o.detach)
    fail("a terminal for a detached process needs --console-socket");
  if (!proc.terminal && !o.console_socket.empty())
    fail("--console-socket given but the process has no terminal (process.terminal or --tty)");

  bool relay = proc.terminal && o.console_socket.empty();
  struct winsize ws;
  // The relayed pty starts with the caller's size, before the process can ask for it.
  if (relay && !proc.console_size && ::ioctl(0, TIOCGWINSZ, &ws) == 0)
    proc.console_size = oci::ConsoleSize{ws.ws_row, ws.ws_col};

  ExecChild child;
  build_process_plan(child.process, proc, spec, seccomp_cache_dir(ctx.root),
                     o.process ? "process.json" : "process");
  child.process.preserve_fds = o.preserve_fds;
  if (child.process.seccomp.notify)
    child.process.listener_state = oci::container_process_state_json(
        oci::state_to_public_json(st, false), st.pid, spec.linux.seccomp->listener_metadata);
  child.process.set_groups = setgroups_allowed(st.pid);
  bool pid_ns = false;
  for (const auto& ns : spec.linux.namespaces) {
    if (ns.type == oci::NamespaceType::pid)
      pid_ns = true;
    else
      child.ns_flags |= namespace_flag(ns.type);
  }
  // No cgroup path: the container has none (an unprivileged create without delegation).
  bool has_cgroup = !st.cgroup_path.empty();
  if (!has_cgroup && !o.cgroups.empty())
    fail("--cgroup: container {} runs without a cgroup", o.id);
  cgroup::Placement place;
  cgroup::SelfJoin self_join;
  Fd cgroup_fd;
  if (has_cgroup) {
    auto cg = cgroup::Manager::open(st.cgroup_path);
    place = cgroup::placement(*cg, o.cgroups);
    if (place.single_v2) cgroup_fd = open_or_fail(place.dirs[0], O_RDONLY | O_DIRECTORY);
    // cgroupfs v1 as root: the process joins itself (no wait for the kernel's lock), before it
    // answers. Not into a paused container: we return without an answer there, and the
    // process must be in its cgroups by then.
    else if (st.cgroup_unit.empty() && ::geteuid() == 0 && !paused)
      self_join = cgroup::self_join(place);
    if (self_join.clone_dir) cgroup_fd = std::move(self_join.clone_dir);
  }
  bool self_joins = !self_join.tasks.empty();
  for (auto& [fd, path] : self_join.tasks) child.cgroup_tasks.emplace_back(fd.get(), path);

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
  Fd parent_end(sv[0]), child_end(sv[1]);
  Fd console, console_peer, master;
  if (!o.console_socket.empty()) {
    console = linux::connect_unix(o.console_socket, "--console-socket");
  } else if (relay) {
    // Foreground without a console socket: hull receives the master and relays it.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
    console.reset(sv[0]);
    console_peer.reset(sv[1]);
  }
  child.sync_fd = child_end.get();
  child.console_fd = console.get();
  child.init_pidfd = init.get();
  child.init_pid = st.pid;
  child.cgroup_fd = cgroup_fd.get();
  child.stdio = o.stdio;

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

  linux::CloneResult cr;
  {
    Fd own_pidns;
    if (pid_ns) {
      own_pidns = open_or_fail("/proc/self/ns/pid", O_RDONLY);
      linux::join_namespaces_of(init.get(), st.pid, CLONE_NEWPID);
    }
    ScopeGuard back([&] {
      if (own_pidns) ::setns(own_pidns.get(), CLONE_NEWPID);
    });
    cr = with_context("start the exec process",
                      [&] { return linux::clone_process(0, cgroup_fd.get()); });
    if (cr.pid == 0) {
      back.dismiss();
      parent_end.reset();
      console_peer.reset();
      dir.reset();
      exec_child(child);
    }
  }
  pid_t pid = cr.pid;
  Fd pidfd = std::move(cr.pidfd);
  fault_point("exec.cloned");
  bool started = false;
  ScopeGuard reap([&] {
    if (started) return;
    sys::pidfd_send_signal(pidfd.get(), SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  });
  child_end.reset();
  console.reset();
  init.reset();

  self_join.tasks.clear();  // the child has its copies
  if (has_cgroup && self_joins)
    cgroup::join_rest(place, pid, cr.into_cgroup);
  else if (has_cgroup && !cr.into_cgroup)
    cgroup::join(place, pid);
  if (proc.oom_score_adj) linux::set_oom_score_adj(pid, *proc.oom_score_adj);
  if (affinity && !affinity->final.empty())
    with_context("process.execCPUAffinity.final",
                 [&] { linux::set_cpu_affinity(pid, affinity->final); });
  linux::apply_rlimits_to(pid, child.process.rlimits);  // as create does, for the same reason
  send_msg(parent_end.get(), Msg::kGo);
  // A process joining a frozen cgroup stops before it can answer: it runs on resume.
  if (!paused) {
    auto m = recv_msg(parent_end.get());
    if (m && m->type == Msg::kError) throw Error(m->text, m->value);
    if (m) fail("unexpected message {} from the exec process", static_cast<int>(m->type));
  }
  // Still unstarted for the guard: a --pid-file that cannot be written ends the process, as
  // with runc. The lock goes first: a frozen (--ignore-paused) process sends its pty master
  // only after `resume`, which needs the lock.
  dir.reset();
  if (!o.pid_file.empty())
    with_context("write --pid-file", [&] { atomic_write(o.pid_file, std::to_string(pid), 0644); });
  started = true;
  if (console_peer) master = linux::recv_fd(console_peer.get(), "terminal master");
  if (o.detach) return 0;

  relay_until_exit(pidfd.get(), master.get(), fwd);
  return wait_child(pid);
}

}  // namespace hull::runtime
