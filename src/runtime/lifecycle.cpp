// start, kill, delete, state, list, and what `run` needs after create.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cgroup/manager.h"
#include "linux/syscalls.h"
#include "oci/parse.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
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
// The status as it is now, not as it was written: the init may have died, or been frozen.
void refresh(oci::State& s) {
  if (s.status == oci::Status::creating) return;
  if (!process_matches(s.pid, s.pid_start_time)) {
    s.status = oci::Status::stopped;
    return;
  }
  if (!s.started) {
    s.status = oci::Status::created;
    return;
  }
  s.status = oci::Status::running;
  if (!s.cgroup_path.empty()) {
    try {
      if (cgroup::Manager::open(s.cgroup_path)->frozen()) s.status = oci::Status::paused;
    } catch (const Error&) {
    }
  }
}

oci::State load_state(StateStore& store, int dir, const std::string& id) {
  auto s = store.load(dir, id);
  if (!s) {
    oci::State creating;
    creating.id = id;
    creating.status = oci::Status::creating;
    return creating;
  }
  refresh(*s);
  return *s;
}

// Opens a pidfd for the init only if it is still the process we started (start time).
Fd open_init(const oci::State& s) {
  Fd fd(sys::pidfd_open(s.pid));
  if (!fd) return fd;
  if (!process_matches(s.pid, s.pid_start_time)) return Fd();
  return fd;
}

namespace {

bool wait_gone(int pidfd, int timeout_ms) {
  pollfd p = {pidfd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

std::shared_ptr<oci::Spec> stored_spec(StateStore& store, int dir) {
  try {
    return std::make_shared<oci::Spec>(oci::parse_spec(store.load_config(dir)));
  } catch (const Error& e) {
    log::debug("stored config: {}", e.what());
    return nullptr;
  }
}

void mark_started(StateStore& store, int dir, oci::State& s) {
  s.started = true;
  s.status = oci::Status::running;
  store.save(dir, s);
}

}  // namespace

int parse_signal(const std::string& text) {
  std::string s = to_upper(trim(text));
  if (auto n = parse_i64(s)) {
    // 0 is the existence probe (kill(2)): accepted as runc does; it delivers nothing.
    if (*n < 0 || *n > 64) fail("invalid signal {}", quote(text));
    return static_cast<int>(*n);
  }
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  for (int sig = 1; sig < 32; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && s == abbrev) return sig;
  }
  if (s == "IOT") return SIGABRT;
  if (s == "POLL") return SIGIO;
  if (s.rfind("RTMIN", 0) == 0 || s.rfind("RTMAX", 0) == 0) {
    int base = s[3] == 'I' ? SIGRTMIN : SIGRTMAX;
    std::string rest = s.substr(5);
    if (rest.empty()) return base;
    if (auto off = parse_i64(rest); off && ((base == SIGRTMIN && *off > 0) || (base == SIGRTMAX && *off < 0))) {
      int sig = base + static_cast<int>(*off);
      if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
    }
  }
  fail("unknown signal {}", quote(text));
}

std::string signal_name(int sig) {
  const char* a = sigabbrev_np(sig);
  return a ? fmt::format("SIG{}", a) : std::to_string(sig);
}

void start_created(const Context& ctx, Created& c) {
  StateStore store(ctx.root);
  // "running" before the go, not after the exec: `run` left the state "creating", and once the
  // process runs (it prints, a caller signals it at once) `kill` must not be refused as for a
  // container still being created. A start that fails below leaves the init dead: stopped.
  {
    Fd dir = store.open_locked(c.id);
    mark_started(store, dir.get(), c.state);
  }
  send_msg(c.sync.get(), Msg::kStart);
  // EOF: the sync socket was closed by execve, so the process runs. Anything else is why not.
  auto m = recv_msg(c.sync.get());
  if (fault_at("run.started-late")) sleep_ms(1000);  // a loaded machine's late wakeup
  if (m && m->type == Msg::kError) throw error_from(*m);
  c.sync.reset();
  run_hooks_warn(c.spec->hooks.poststart, "poststart", oci::state_to_public_json(c.state, false));
}

int wait_exit(Created& c) { return wait_child(c.pid); }

void start(const Context& ctx, const std::string& id) {
  StateStore store(ctx.root);
  Fd dir = store.open_locked(id);
  oci::State s = load_state(store, dir.get(), id);
  require(Verb::start, s);
  Fd conn(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!conn) fail_errno("socket");
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::string path = fmt::format("/proc/self/fd/{}/start.sock", dir.get());
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(conn.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    fail_errno("start container {}: connect to its init", id);
  send_msg(conn.get(), Msg::kStart);
  fault_point("start.sent");
  auto m = recv_msg(conn.get());
  if (m && m->type == Msg::kError) {
    Error e = error_from(*m);
    e.add_context(fmt::format("start container {}", id));
    throw e;
  }
  ::unlinkat(dir.get(), "start.sock", 0);
  mark_started(store, dir.get(), s);
  auto spec = stored_spec(store, dir.get());
  dir.reset();
  if (spec) run_hooks_warn(spec->hooks.poststart, "poststart", oci::state_to_public_json(s, false));
}

void kill(const Context& ctx, const std::string& id, int sig, bool all) {
  StateStore store(ctx.root);
  Fd dir = store.open_locked(id, false);
  oci::State s = load_state(store, dir.get(), id);
  require(all ? Verb::kill_all : Verb::kill, s);
  if (all) {
    // Every process of the container is in its cgroup, the init included. A stopped container
    // may still have some there (its init shared a PID namespace and left children behind):
    // containerd's shim runs `kill --all ID KILL` after every exit for that, and, as runc, it
    // is not an error when nothing is left or the cgroup is already gone.
    if (s.cgroup_path.empty()) {
      if (s.status == oci::Status::stopped) return;
      fail("container {} has no cgroup: --all cannot find its processes", id);
    }
    auto cg = cgroup::Manager::open(s.cgroup_path, s.cgroup_unit);
    if (s.status == oci::Status::stopped && cg->pids().empty()) {
      log::debug("kill --all: container {} is stopped and nothing is left in its cgroup", id);
      return;
    }
    cg->kill_all(sig);
    return;
  }
  // A stopped container was refused above in runc's words "container not running", which
  // containerd's shim and podman match to tell "already stopped" from a failure.
  Fd pidfd = open_init(s);
  if (!pidfd)
    fail_as(ErrorKind::invalid_state,
            "cannot signal container {}: container not running (its init is gone)", id);
  if (sys::pidfd_send_signal(pidfd.get(), sig) < 0) fail_errno("send {} to container {}", signal_name(sig), id);
}

namespace {

// A container without a readable state.json: a create killed before its first save, or a
// state.json damaged since. What create recorded beside it (recovery.json) names the init
// (trusted only with its start time) and the cgroup; every process left in that cgroup ends
// with it. Without even that record, the default cgroup /hull/<id> is all there is to try.
void remove_unrecorded(StateStore& store, int dir, const std::string& id) {
  auto rec = store.load_recovery(dir);
  if (rec && rec->pid > 0) {
    oci::State init;
    init.pid = rec->pid;
    init.pid_start_time = rec->pid_start_time;
    if (Fd pidfd = open_init(init)) {
      sys::pidfd_send_signal(pidfd.get(), SIGKILL);
      if (!wait_gone(pidfd.get(), 10000))
        fail("container {}: its init did not die after SIGKILL", id);
    }
  }
  if (!rec || rec->has_cgroup) {
    auto cg = rec && !rec->cgroup_unit.empty()
                  ? cgroup::Manager::open_systemd(rec->cgroup_path, rec->cgroup_unit)
                  : cgroup::Manager::open(cgroup::resolve_path(rec ? rec->cgroup_path : "", id));
    if (rec) cg->set_made_from(rec->cgroup_made_from);
    with_context(fmt::format("delete container {}", id), [&] { cg->destroy(); });
  }
  fault_point("delete.cgroup");
  store.remove(id);
}

}  // namespace

void remove(const Context& ctx, const std::string& id, bool force) {
  StateStore store(ctx.root);
  // runc and crun: --force of a container that does not exist succeeds; engines call it in
  // their cleanup paths (podman after every failed create) and treat an error as a failure.
  validate_id(id);
  Fd dir;
  try {
    dir = store.open_locked(id);
  } catch (const Error& e) {
    if (!force || !e.is(ErrorKind::not_found)) throw;
    log::debug("delete --force: container {} does not exist: nothing to do", id);
    return;
  }
  std::optional<oci::State> saved;
  try {
    saved = store.load(dir.get(), id);
  } catch (const Error& e) {
    if (!force)
      fail("{} (delete --force ends what it can find of the container and removes it)",
           e.message());
    log::warn("{}: ending what can be found", e.message());
    remove_unrecorded(store, dir.get(), id);
    return;
  }
  if (!saved) {
    // A create that died half way, or is still under way in a process that ignores the lock.
    log::debug("container {} has no state: removing what is left", id);
    remove_unrecorded(store, dir.get(), id);
    return;
  }
  oci::State s = *saved;
  refresh(s);
  require(force ? Verb::remove_force : Verb::remove, s);
  auto cg = s.cgroup_path.empty() ? nullptr : cgroup::Manager::open(s.cgroup_path, s.cgroup_unit);
  if (s.status != oci::Status::stopped) {
    if (cg && s.status == oci::Status::paused) cg->kill_all(SIGKILL);
    Fd pidfd = open_init(s);
    if (pidfd) {
      sys::pidfd_send_signal(pidfd.get(), SIGKILL);
      if (cg && !s.own_pid_namespace) cg->kill_all(SIGKILL);
      if (cg && s.status == oci::Status::paused) cg->thaw();
      if (!wait_gone(pidfd.get(), 10000)) fail("container {}: its init did not die after SIGKILL", id);
    }
  }
  fault_point("delete.killed");
  // A cgroup shared at create (runc's rule) still holds the others' processes: theirs to end.
  if (cg && s.cgroup_shared && !cg->pids().empty()) {
    log::debug("delete container {}: cgroup {} is shared and still in use: left in place", id,
               s.cgroup_path);
  } else if (cg) {
    cg->set_made_from(s.cgroup_made_from);
    with_context(fmt::format("delete container {}", id), [&] { cg->destroy(); });
  }
  fault_point("delete.cgroup");
  auto spec = stored_spec(store, dir.get());
  s.status = oci::Status::stopped;
  store.remove(id);
  dir.reset();
  if (spec) run_hooks_warn(spec->hooks.poststop, "poststop", oci::state_to_public_json(s, false));
}

// state and list take no lock (state.json is replaced atomically), so they never wait for a
// create or delete in progress; runc behaves the same.
oci::State state(const Context& ctx, const std::string& id) {
  StateStore store(ctx.root);
  Fd dir = store.open_unlocked(id);
  return load_state(store, dir.get(), id);
}

std::vector<oci::State> list(const Context& ctx) {
  StateStore store(ctx.root);
  std::vector<oci::State> out;
  for (const auto& id : store.list()) {
    Fd dir;
    try {
      dir = store.open_unlocked(id);
    } catch (const Error& e) {
      log::debug("list: {}: {}", id, e.what());  // deleted meanwhile
      continue;
    }
    try {
      out.push_back(load_state(store, dir.get(), id));
    } catch (const Error& e) {
      // Shown, not dropped: a container nobody can see is one nobody deletes.
      log::warn("{}", e.message());
      oci::State unknown;
      unknown.id = id;
      unknown.status = oci::Status::unknown;
      out.push_back(unknown);
    }
  }
  return out;
}

}  // namespace hull::runtime
