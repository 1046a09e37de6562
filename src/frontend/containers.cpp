#include "frontend/containers.h"

#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cgroup/systemd.h"
#include "frontend/human.h"
#include "frontend/images.h"
#include "frontend/stdio_relay.h"
#include "frontend/volumes.h"
#include "linux/syscalls.h"
#include "net/options.h"
#include "oci/parse.h"
#include "oci/serialize.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"
#include "runtime/state_store.h"
#include "runtime/sync.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/log_divert.h"
#include "util/proc.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

// The runtime context a container is created with: --systemd-cgroup when its config names a
// systemd slice:prefix:name (run_spec.cpp writes one for --cgroup-manager systemd).
runtime::Context create_context(const Env& env, const oci::Spec& spec) {
  runtime::Context ctx = env.ctx();
  const std::string& p = spec.linux.cgroups_path;
  ctx.systemd_cgroup = !p.empty() && p.front() != '/' && std::count(p.begin(), p.end(), ':') == 2;
  return ctx;
}

// podman's rule: systemd when it is the host's init and we are root; a parent given as a
// cgroupfs path (HULL_CGROUP_PARENT, --cgroup-parent /x) keeps cgroupfs.
std::string default_cgroup_manager(const std::string& parent) {
  bool slice = parent.size() > 6 && parent.compare(parent.size() - 6, 6, ".slice") == 0;
  bool systemd = cgroup::systemd_running() && ::geteuid() == 0 && (parent == "/hull" || slice);
  return systemd ? "systemd" : "cgroupfs";
}

struct Launch {
  std::string id, name;
  std::shared_ptr<const oci::Spec> spec;
  std::string json;
  // The command holds the container's lock until the monitor reports (`start`): the monitor
  // must not take it again.
  bool locked = false;
};

uint64_t start_time_of(pid_t pid) {
  auto st = read_proc_stat(pid);
  return st ? st->start_time : 0;
}

bool monitor_alive(const Meta& m) {
  return m.monitor_pid > 0 && process_matches(m.monitor_pid, m.monitor_start);
}

}  // namespace

std::optional<oci::State> oci_state(const Env& env, const std::string& id) {
  try {
    return runtime::state(env.ctx(), id);
  } catch (const Error&) {
    return std::nullopt;
  }
}

bool alive(const std::optional<oci::State>& s) {
  return s && s->status != oci::Status::stopped;
}

namespace {

// The monitor's logger (frontend/logs.h): a thread of the monitor that copies the container's
// stdout and stderr pipes into its log, not a process of its own (issue 17: a forked logger
// per detached container was a second process with a copy of the command's heap; conmon does
// both in one). It starts once the container has started, so the container's init was
// cloned while the monitor had one thread (a raw clone3 runs no fork handlers: a lock another
// thread held in malloc would stay locked in the child); and it is gone again before the
// monitor forks anything (hooks at delete): end_logger() waits for it first.
struct Logger {
  int out = -1, err = -1, log = -1;
  Fd done;  // an eventfd the thread signals as it ends
  pthread_t thread{};
  bool running = false;
  pid_t pid = 0;  // a logger process instead, when no thread could be started
};
Logger g_logger;

void* logger_main(void*) {
  try {
    copy_to_log(g_logger.out, g_logger.err, g_logger.log);
  } catch (...) {
    // Nothing to tell (no memory, a pipe that failed): the container's output goes nowhere
    // from here, but it is still read, so that its writers neither block nor die of SIGPIPE.
    drain(g_logger.out, g_logger.err);
  }
  uint64_t one = 1;
  if (::write(g_logger.done.get(), &one, sizeof one) < 0) {
    // The monitor waits at most its grace period for it.
  }
  return nullptr;
}

// Never throws: the container runs already, and its output must be read.
void start_logger() noexcept {
  g_logger.done.reset(::eventfd(0, EFD_CLOEXEC));
  if (g_logger.done) {
    // The thread uses the monitor's malloc arena (no arena of its own, one less heap per
    // container), and a small stack: copy_to_log's 64 KiB buffer and little else.
    ::mallopt(M_ARENA_MAX, 1);
    pthread_attr_t attr;
    ::pthread_attr_init(&attr);
    ::pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = fault_at("monitor.logger-thread")
                 ? EAGAIN
                 : ::pthread_create(&g_logger.thread, &attr, logger_main, nullptr);
    ::pthread_attr_destroy(&attr);
    if (rc == 0) {
      g_logger.running = true;
      return;
    }
    log::warn("logger thread: {}", std::strerror(rc));
  }
  // A process of its own then, as hull had before (the monitor still has one thread): the
  // read ends and the log, nothing that holds a pipe's write end (0-3: null, the pipes, the
  // report socket).
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_NAME, "hull-logger", 0, 0, 0);
    ::close_range(0, 3, 0);
    ::close_range(7, ~0U, 0);  // the monitor's log too: the logger itself says nothing
    try {
      copy_to_log(g_logger.out, g_logger.err, g_logger.log);
    } catch (const Error&) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  if (pid < 0) log::warn("fork the logger: {}", std::strerror(errno));
  g_logger.pid = pid > 0 ? pid : 0;
}

// In the monitor, once the container is gone: our own ends of its pipes go too, and the
// logger, seeing the end of both, writes what is left (a last line without a newline) before
// the exit is recorded, so that whoever sees "exited" sees the whole log.
void end_logger() {
  if (g_logger.out < 0) return;
  Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (null) {
    ::dup2(null.get(), 1);
    ::dup2(null.get(), 2);
  }
  if (g_logger.running) {
    // At most 2 s: a process of the container that outlived it could hold a pipe open.
    pollfd p = {g_logger.done.get(), POLLIN, 0};
    int64_t deadline = monotonic_ms() + 2000;
    for (int64_t left; (left = deadline - monotonic_ms()) > 0;)
      if (::poll(&p, 1, static_cast<int>(left)) >= 0 || errno != EINTR) break;
    if (p.revents & POLLIN) ::pthread_join(g_logger.thread, nullptr);
    g_logger.running = false;
  }
  if (g_logger.pid > 0) reap_within(g_logger.pid, 2000);
  g_logger.pid = 0;
  g_logger.out = -1;
}

// The end of a run, by whoever waited for it: the exit code into meta.json, the OCI state
// deleted, and with --rm everything else too.
void finish_run(const Env& env, const Store& store, const std::string& id, int code) {
  end_logger();
  uint64_t ooms = 0;
  try {
    ooms = runtime::oom_kills(env.ctx(), id);
  } catch (const Error& e) {
    log::debug("oom count: {}", e.what());
  }
  Meta m;
  try {
    Fd lock = store.lock(id);
    m = store.load(id);
    m.exit_code = code;
    m.finished = rfc3339_now();
    m.oom_killed = ooms > 0;
    m.monitor_pid = 0;
    m.monitor_start = 0;
    // With --rm the directory goes below: the code is in the "die" event (what `wait` reads
    // once the container is gone), and a crash before the release leaves a meta.json whose
    // waiter is dead, which `settle` cleans up as it did one with the code.
    if (!m.auto_remove) store.save(m);
    if (m.oom_killed) record_event(env, "oom", m);
    record_event(env, "die", m, {{"exitCode", std::to_string(code)}});
  } catch (const Error& e) {
    log::debug("record exit: {}", e.what());  // `rm -f` removed it under us
  }
  // Nothing slow after this: once the runtime state is gone, `rm` takes the rest and whoever
  // checks finds this process gone too.
  leave_networks(env, m);
  try {
    runtime::remove(env.ctx(), id, true);
  } catch (const Error& e) {
    log::debug("delete after exit: {}", e.what());
  }
  if (m.auto_remove) {
    store.release(id, m.name);
    record_event(env, "destroy", m);
  }
}

// Joins the container's networks around create: addresses now, interfaces in on_created.
std::unique_ptr<ContainerNetworks> join_networks(const Env& env, const Store& store,
                                                 const Launch& l, const Meta& meta,
                                                 runtime::CreateOptions& c) {
  auto nets = std::make_unique<ContainerNetworks>(env, meta, l.spec->hostname);
  nets->join(store.dir(l.id) + "/hosts", store.dir(l.id) + "/resolv.conf");
  c.on_created = [n = nets.get()](const runtime::Created& created) {
    n->attach(created.pid, created.state.pid_start_time);
  };
  return nets;
}

// Names `monitor` as the one that waits for the container; returns the record as saved.
Meta mark_started(const Store& store, const std::string& id, pid_t monitor, bool locked) {
  Fd lock = locked ? Fd() : store.lock(id);
  Meta m = store.load(id);
  m.monitor_pid = monitor;
  m.monitor_start = start_time_of(monitor);
  m.started = rfc3339_now();
  m.finished.clear();
  m.exit_code.reset();
  m.oom_killed = false;
  store.save(m);
  return m;
}

runtime::CreateOptions create_options(const Store& store, const Launch& l) {
  runtime::CreateOptions c;
  c.id = l.id;
  c.bundle = store.dir(l.id);
  // Reports (the OOM kill) name the container as its user does: by name, else the short id.
  c.display_name = l.name.empty() ? l.id.substr(0, 12) : l.name;
  return c;
}

// The monitor's report to the command that forked it: runtime/sync.h's typed packets over a
// SOCK_SEQPACKET pair. kReady once the container runs, or kError with the error's kind, errno
// and message (so `hull run -d` exits 126/127 by the kind, as the foreground run does); EOF
// before either means the monitor died.
// Never throws: a command killed before the report (EPIPE) leaves the container to the
// monitor all the same, which records its exit as for any other.
void report_started(int fd) noexcept {
  if (fd < 0) return;
  try {
    runtime::send_msg(fd, runtime::Msg::kReady);
  } catch (const Error&) {
    // The command is gone: nobody to tell.
  }
}

void report_error(int fd, const Error& e) {
  if (fd < 0) return;
  try {
    runtime::send_error(fd, e, e.message());
  } catch (const Error&) {
    // The command is gone: nobody to tell.
  }
}

void (*g_monitor_release)() = nullptr;

// hull's own code and read-only data stay mapped in the monitor as the command faulted them
// in (the kernel maps 64 KiB around each fault): megabytes of a 5 MB binary, for a process
// that then sleeps until the container exits. MADV_DONTNEED drops those page table entries;
// the pages stay in the page cache and fault back in when the monitor runs again. Only the
// segments nothing ever writes (no PF_W, outside PT_GNU_RELRO: text and .rodata), and only
// whole pages inside them: a page of such a mapping is always the file's own (issue 17: the
// monitor's RSS and PSS against conmon's).
void drop_own_code_pages() {
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) -> int {
        uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
        uintptr_t relro_lo = 0, relro_hi = 0;
        for (int i = 0; i < info->dlpi_phnum; ++i)
          if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
            relro_lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
            relro_hi = relro_lo + info->dlpi_phdr[i].p_memsz;
          }
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W)) continue;
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr, hi = lo + ph.p_memsz;
          if (lo < relro_hi && relro_lo < hi) continue;
          lo = (lo + page - 1) & ~(page - 1);
          hi &= ~(page - 1);
          if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
        }
        return 1;  // the first object is the executable: only hull's own
      },
      nullptr);
}

// The monitor of a detached container (see containers.h). Runs in the forked child; the
// report socket gets one packet (report_started or report_error), then closes.
[[noreturn]] void monitor_main(const Env& env, const Store& store, const Launch& l, int report,
                               int log_fd, int null_fd, int own_log_fd) {
  try {
    fault_point("monitor.forked");
    ::setsid();
    ::prctl(PR_SET_NAME, "hull-monitor", 0, 0, 0);
    if (::chdir("/") < 0) fail_errno("chdir /");
    // Out of the way of 0-3 first, whatever numbers they had.
    report = ::fcntl(report, F_DUPFD_CLOEXEC, 10);
    log_fd = ::fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
    null_fd = ::fcntl(null_fd, F_DUPFD_CLOEXEC, 10);
    own_log_fd = ::fcntl(own_log_fd, F_DUPFD_CLOEXEC, 10);
    if (report < 0 || log_fd < 0 || null_fd < 0 || own_log_fd < 0)
      fail_errno("dup the monitor's fds");
    // stdio becomes the container's: nothing from the terminal in; stdout and stderr into
    // pipes that the logger thread writes to the log a line at a time, each with its stream
    // and time (docker's json-file driver). The logger ends when every writer is gone.
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) fail_errno("pipe");
    // The read ends and the log, out of the way of 0-3, for the logger thread.
    g_logger.out = ::fcntl(out[0], F_DUPFD_CLOEXEC, 10);
    g_logger.err = ::fcntl(err[0], F_DUPFD_CLOEXEC, 10);
    g_logger.log = ::fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
    if (g_logger.out < 0 || g_logger.err < 0 || g_logger.log < 0) fail_errno("dup the log's fds");
    ::close(out[0]);
    ::close(err[0]);
    if (::dup2(null_fd, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0)
      fail_errno("dup2");
    ::close(out[1]);
    ::close(err[1]);
    if (::dup3(report, 3, O_CLOEXEC) < 0) fail_errno("dup3");
    report = 3;
    // Nothing else of the command's stays open here (its caller may wait for EOF on a pipe):
    // only the logger's three, as 4, 5, 6, and the monitor's own log as 7 (their copies are
    // all 10 or above).
    if (::dup3(g_logger.out, 4, O_CLOEXEC) < 0 || ::dup3(g_logger.err, 5, O_CLOEXEC) < 0 ||
        ::dup3(g_logger.log, 6, O_CLOEXEC) < 0 || ::dup3(own_log_fd, 7, O_CLOEXEC) < 0)
      fail_errno("dup3");
    g_logger.out = 4;
    g_logger.err = 5;
    g_logger.log = 6;
    ::close_range(8, ~0U, 0);
    // Its stderr is the container's now, and what goes there is the container's log: hull's
    // own lines (a warning, the OOM report, --debug's) go to monitor.log instead, which
    // `hull inspect` shows (docker keeps its daemon's diagnostics out of `docker logs` too).
    log::divert_to(7);
    forget_events_fd();
    // What the command built and the monitor never uses goes, and the heap pages it leaves
    // wholly free go back to the kernel.
    if (g_monitor_release) g_monitor_release();
    ::malloc_trim(0);
    Meta meta = mark_started(store, l.id, ::getpid(), l.locked);
    runtime::CreateOptions c = create_options(store, l);
    auto nets = join_networks(env, store, l, meta, c);
    c.on_started = [&] {
      fault_point("monitor.started");  // the container runs, the command not told yet
      start_logger();
      record_event(env, "start", meta);
      if (fault_at("monitor.command-gone")) {
        // The command killed (a script's timeout, Ctrl-C) before it hears that the container
        // runs: the report below finds nobody, and the monitor goes on as ever.
        pid_t command = ::getppid();
        ::kill(command, SIGKILL);
        for (int i = 0; i < 5000 && ::getppid() == command; ++i) sleep_ms(1);
      }
      report_started(report);
      ::close(report);
      report = -1;
      drop_own_code_pages();
      ::malloc_trim(0);  // what creating the container allocated and freed
    };
    int code = runtime::run(create_context(env, *l.spec), c, l.spec, l.json, false, true);
    finish_run(env, store, l.id, code);
    ::_exit(0);
  } catch (const Error& e) {
    report_error(report, e);
  } catch (const std::exception& e) {
    report_error(report, Error(fmt::format("internal error: {}", e.what())));
  }
  ::_exit(125);
}

// The monitor died before its report (killed: the OOM killer, a kill by pid): what it made
// goes, the container too if it runs already, since nobody waits for it and the command says
// it did not start. The record stays for `start` (it was there before), `run` releases it.
void discard_unreported(const Env& env, const Store& store, const Launch& l) {
  try {
    runtime::remove(env.ctx(), l.id, true);
  } catch (const Error& e) {
    log::debug("delete after the monitor died: {}", e.what());
  }
  try {
    Fd lock = l.locked ? Fd() : store.lock(l.id);
    Meta m = store.load(l.id);
    leave_networks(env, m);
    m.monitor_pid = 0;
    m.monitor_start = 0;
    if (!m.started.empty() && m.finished.empty()) m.finished = rfc3339_now();
    store.save(m);
  } catch (const Error& e) {
    log::debug("record after the monitor died: {}", e.what());
  }
}

void run_detached(const Env& env, const Store& store, const Launch& l) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
  Fd rd(sv[0]), wr(sv[1]);
  Fd log = open_or_fail(store.log_path(l.id), O_WRONLY | O_CREAT | O_APPEND, 0640);
  Fd null = open_or_fail("/dev/null", O_RDWR);
  Fd own_log = open_or_fail(store.monitor_log_path(l.id), O_WRONLY | O_CREAT | O_APPEND, 0640);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork the monitor of container {}", l.name);
  if (pid == 0) {
    rd.reset();
    monitor_main(env, store, l, wr.release(), log.release(), null.release(), own_log.release());
  }
  wr.reset();
  auto m = runtime::recv_msg(rd.get());
  if (m && m->type == runtime::Msg::kReady) return;
  if (m && m->type == runtime::Msg::kError) throw runtime::error_from(*m);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  discard_unreported(env, store, l);
  if (WIFSIGNALED(status))
    fail("the monitor of container {} died before the container started (signal {})", l.name,
         WTERMSIG(status));
  fail("the monitor of container {} died before the container started (exit {})", l.name,
       WEXITSTATUS(status));
}

// A foreground run's output, as docker's attached run: to our stdout and stderr as it comes,
// and into the container's log too (`hull logs` after `hull run` without -d). A logger
// process between the container's pipes and our terminal does both; finish() puts our own
// stdout and stderr back and waits for it to write the last of it.
class ForegroundLog {
 public:
  explicit ForegroundLog(const std::string& path) {
    Fd log = open_or_fail(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    out_.reset(::fcntl(1, F_DUPFD_CLOEXEC, 3));
    err_.reset(::fcntl(2, F_DUPFD_CLOEXEC, 3));
    if (!out_ || !err_) fail_errno("dup stdout and stderr");
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) < 0) fail_errno("pipe");
    if (::pipe2(err, O_CLOEXEC) < 0) {
      ::close(out[0]);
      ::close(out[1]);
      fail_errno("pipe");
    }
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) fail_errno("fork the logger");
    if (pid_ == 0) {
      ::prctl(PR_SET_NAME, "hull-logger", 0, 0, 0);
      // Ctrl-C, Ctrl-Z and friends are for the container (hull forwards them), not for us.
      for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTOU, SIGTTIN, SIGPIPE})
        ::signal(sig, SIG_IGN);
      int fds[5] = {out[0], err[0], log.get(), out_.get(), err_.get()};
      int high[5];
      for (int i = 0; i < 5; ++i)
        if ((high[i] = ::fcntl(fds[i], F_DUPFD, 100)) < 0) ::_exit(1);
      for (int i = 0; i < 5; ++i)
        if (::dup2(high[i], i) < 0) ::_exit(1);
      ::close_range(5, ~0U, 0);
      try {
        copy_to_log(0, 1, 2, 3, 4);
      } catch (const Error&) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    ::close(out[0]);
    ::close(err[0]);
    bool ok = ::dup2(out[1], 1) >= 0 && ::dup2(err[1], 2) >= 0;
    ::close(out[1]);
    ::close(err[1]);
    if (!ok) {
      finish();
      fail_errno("dup2");
    }
  }
  ~ForegroundLog() { finish(); }
  ForegroundLog(const ForegroundLog&) = delete;
  ForegroundLog& operator=(const ForegroundLog&) = delete;

  void finish() {
    if (pid_ <= 0) return;
    std::fflush(nullptr);
    ::dup2(out_.get(), 1);
    ::dup2(err_.get(), 2);
    // At most a few seconds: a process of the container that outlived it could hold a pipe.
    reap_within(pid_, 5000);
    pid_ = 0;
  }

 private:
  Fd out_, err_;
  pid_t pid_ = 0;
};

// A foreground `run --rm` whose stdout and stderr are no terminal (a pipe, a file, /dev/null)
// hands them to the container as they are: its log would go with it at the exit, so the
// logger process and the log file are work nobody can read back (issue 17: the fork and a new
// file per run). On a terminal the logger stays, so the container writes to a pipe, as under
// docker without -t.
bool pass_output_through(const Meta& m, const oci::Spec& spec) {
  // The caller's own (open, and not a close-on-exec fd of hull's that took a free number), and
  // a pipe or /dev/null: a file or a socket would give the container more (stdio_relay.h).
  auto callers = [](int fd) { return ::fcntl(fd, F_GETFD) == 0 && safe_to_hand_over(fd); };
  return m.auto_remove && !spec.process->terminal && callers(1) && callers(2);
}

// `meta` is the container's record as run() saved it, already naming this process as the one
// that waits (no second save before the start).
int run_foreground(const Env& env, const Store& store, const Launch& l, const Meta& meta,
                   bool interactive) {
  // With -t the terminal is relayed as it is (docker logs that too; hull does not yet).
  std::optional<ForegroundLog> tee;
  if (!l.spec->process->terminal && !pass_output_through(meta, *l.spec))
    tee.emplace(store.log_path(l.id));
  if (!interactive) {
    // docker without -i: the container reads nothing from our stdin.
    Fd null = open_or_fail("/dev/null", O_RDONLY);
    if (::dup2(null.get(), 0) < 0) fail_errno("dup2 /dev/null");
  }
  // With -i (and no -t, whose terminal hull relays itself) a stdin that is a file or a
  // terminal reaches the container through a pipe.
  std::optional<StdioRelay> relay;
  if (interactive && !l.spec->process->terminal) relay.emplace(true, false);
  runtime::CreateOptions c = create_options(store, l);
  c.on_started = [&] { record_event(env, "start", meta); };
  auto nets = join_networks(env, store, l, meta, c);
  int code = runtime::run(create_context(env, *l.spec), c, l.spec, l.json, false, true);
  nets.reset();
  if (relay) relay->finish();
  if (tee) tee->finish();
  finish_run(env, store, l.id, code);
  return code;
}

// Waits until the exit is recorded and the OCI state deleted by whoever waits for the
// container; does it itself when nobody is left to (the monitor was killed).
void settle(const Env& env, const Store& store, const std::string& id, int timeout_ms) {
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    auto st = oci_state(env, id);
    Meta m;
    try {
      m = store.load(id);
    } catch (const Error&) {
      return;  // --rm: gone entirely
    }
    // The runtime state gone, the monitor may still be recording the exit and ending: the
    // container is settled only once it has (rm -f must not return with it still there).
    if (!st) {
      if (!monitor_alive(m)) return;
    } else if (!alive(st) && !monitor_alive(m)) {
      leave_networks(env, m);
      try {
        runtime::remove(env.ctx(), id, true);
      } catch (const Error& e) {
        log::debug("delete stale state: {}", e.what());
      }
      Fd lock = store.lock(id);
      m = store.load(id);
      if (m.finished.empty()) m.finished = rfc3339_now();
      m.monitor_pid = 0;
      store.save(m);
      return;
    }
    if (monotonic_ms() > deadline) {
      if (alive(st)) fail("container {} is still running", m.name);
      fail("container {}: its monitor (pid {}) has not recorded the exit", m.name, m.monitor_pid);
    }
    sleep_ms(20);
  }
}

bool wait_stopped(const Env& env, const std::string& id, int timeout_ms) {
  int64_t deadline = monotonic_ms() + timeout_ms;
  while (alive(oci_state(env, id))) {
    if (monotonic_ms() >= deadline) return false;
    sleep_ms(20);
  }
  return true;
}

}  // namespace

const char* state_name(State s) {
  switch (s) {
    case State::created:
      return "created";
    case State::running:
      return "running";
    case State::paused:
      return "paused";
    case State::exited:
      return "exited";
  }
  return "?";
}

int exit_code_for(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::no_command:
      return 127;
    case ErrorKind::not_executable:
      return 126;
    default:
      return 125;
  }
}

namespace {

// The container's own layer (upper/, work/) and a directory per anonymous volume (with the
// image's files at its path), under its state dir: they outlive stop/start and go with rm. The
// image's layers are only read.
ImageRoot image_root(const image::Store& store, const ResolvedImage& img, const std::string& dir,
                     const std::optional<std::pair<uint32_t, uint32_t>>& owner) {
  ImageRoot root;
  for (auto it = img.record.layers.rbegin(); it != img.record.layers.rend(); ++it)
    root.lowers.push_back(store.layer_root(it->chain_id));
  if (root.lowers.empty()) fail("image {} has no layers", img.record.config_digest);
  root.layer_dir = dir + "/layer";
  mkdir_p(root.layer_dir + "/upper", 0755);
  mkdir_p(root.layer_dir + "/work", 0700);
  // In a user namespace the overlay's / is upper/: its root's.
  auto chown_to_root = [&](const std::string& path) {
    if (owner && ::chown(path.c_str(), owner->first, owner->second) < 0)
      fail_errno("chown {} to the container's root", path);
  };
  chown_to_root(root.layer_dir + "/upper");
  root.config = img.config;
  for (size_t i = 0; i < img.config.volumes.size(); i++) {
    std::string source = fmt::format("{}/volumes/{}", dir, i);
    mkdir_p(source, 0755);
    chown_to_root(source);
    // docker's copy-up: the volume starts with what the image has at that path, once.
    with_context(fmt::format("the image's volume {}: copy its files in", img.config.volumes[i]),
                 [&] { copy_up(root.lowers, img.config.volumes[i], source, owner); });
    root.volumes.push_back({img.config.volumes[i], source});
  }
  return root;
}

}  // namespace

void set_monitor_release(void (*release)()) {
  g_monitor_release = release;
}

RunResult run(const Env& env, const RunOptions& o) {
  Store store(env);
  auto r = store.reserve(o.name);
  bool keep = false;
  ScopeGuard undo([&] {
    if (!keep) store.release(r.id, r.name);
  });
  RunOptions opts = o;
  if (opts.cgroup_parent.empty()) opts.cgroup_parent = env.cgroup_parent;
  if (opts.cgroup_manager.empty()) opts.cgroup_manager = default_cgroup_manager(opts.cgroup_parent);
  std::string dir = store.dir(r.id);
  bool bridged = check_network_options(o.net) == NetMode::bridge;
  ContainerFiles files{r.id, dir + "/hostname", dir + "/hosts",
                       bridged ? dir + "/resolv.conf" : ""};
  std::optional<ResolvedImage> img;
  std::optional<ImageRoot> root;
  // Held shared from finding the image until this container's record names its layers:
  // rmi and prune (exclusive) then see it as a user, or it finds the image gone.
  Fd image_lock;
  if (o.rootfs.empty() && o.image != "host") {
    image::Store images = image_store(env);
    image_lock = images.writer_lock();
    img = resolve_image(env, images, o.image, o.pull);
    root = image_root(images, *img, dir, private_root(opts));
  }
  // -v NAME:/path: the named volume, made on first use and then given what the image has at
  // that path (docker's copy-up), bound like a host directory.
  std::vector<std::string> volume_names;
  for (auto& v : opts.volumes) {
    Volume vol = parse_volume(v);
    if (!vol.named) continue;
    bool made = false;
    VolumeInfo info = Volumes(env).create(vol.source, {}, &made);
    // A volume this run makes for a user-namespaced container is its root's (the image's
    // copy below, if any, then sets the owner the image has there).
    if (auto owner = private_root(opts); made && owner)
      if (::chown(info.mountpoint.c_str(), owner->first, owner->second) < 0)
        fail_errno("chown volume {} to the container's root", info.name);
    if (root) {
      // docker's rule: an empty volume (new, or created empty) gets the image's files; under
      // the volume's lock, so two runs at once copy once.
      std::string vdir = info.mountpoint.substr(0, info.mountpoint.rfind('/'));
      Fd lock(::open(vdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!lock) fail_errno("open volume {}", info.name);
      lock_fd(lock.get(), LockMode::exclusive, fmt::format("volume {}", info.name));
      if (list_dir(info.mountpoint).empty())
        with_context(
            fmt::format("-v {}: copy the image's {} into the empty volume", v, vol.destination),
            [&] { copy_up(root->lowers, vol.destination, info.mountpoint, private_root(opts)); });
    }
    v = info.mountpoint + v.substr(v.find(':'));
    if (std::find(volume_names.begin(), volume_names.end(), info.name) == volume_names.end())
      volume_names.push_back(info.name);
  }
  BuiltSpec built = build_run_spec(opts, files, root ? &*root : nullptr);
  for (const auto& w : built.warnings) log::warn("{}", w);
  write_file(files.hostname_file, built.hostname + "\n", 0644);
  write_file(files.hosts_file, built.hosts, 0644);
  // Filled in when the container joins its networks, each time it starts.
  if (bridged) write_file(files.resolv_file, "", 0644);
  Launch l{r.id, r.name, nullptr, oci::serialize_spec(built.spec)};
  // Exactly what the OCI face would run from this config.json.
  l.spec = std::make_shared<const oci::Spec>(oci::parse_spec(l.json));
  write_file(store.config_path(r.id), l.json, 0600);

  Meta m;
  m.id = r.id;
  m.name = r.name;
  m.created = rfc3339_now();
  m.command = l.spec->process->args;
  m.rootfs = o.rootfs;
  m.image = o.rootfs.empty() ? o.image : "";
  if (img) {
    m.image_id = img->record.config_digest;
    m.image_manifest = img->record.manifest_digest;
    for (const auto& l : img->record.layers) m.image_layers.push_back(l.chain_id);
    m.exposed_ports = img->config.exposed_ports;
    m.stop_signal = img->config.stop_signal;
  }
  m.detached = o.detach;
  if (!o.detach) {
    // In the foreground this process waits for the container: named here, in the one save
    // before the start (a monitor names itself once it is forked).
    m.monitor_pid = ::getpid();
    m.monitor_start = start_time_of(m.monitor_pid);
    m.started = rfc3339_now();
  }
  m.auto_remove = o.remove;
  m.tty = o.tty;
  m.network = network_summary(o.net);
  m.net = o.net;
  m.volumes = volume_names;
  for (const auto& l : o.labels) {
    auto eq = l.find('=');
    std::string key = l.substr(0, eq);
    if (key.empty()) fail("--label: {} has no key (KEY=VALUE)", quote(l));
    m.labels[key] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  store.save(m);
  image_lock.reset();
  record_event(env, "create", m);
  r.lock.reset();
  RunResult result{r.id, r.name, 0};
  if (o.detach) {
    run_detached(env, store, l);
    keep = true;
    return result;
  }
  // A container that could not start is removed, name and all (runtime::run already
  // deleted what the runtime made).
  result.exit_code = run_foreground(env, store, l, m, o.interactive);
  keep = true;
  return result;
}

void start(const Env& env, const std::string& ref) {
  Store store(env);
  std::string id = store.resolve(ref);
  if (alive(oci_state(env, id))) return;  // docker: starting a running container is a no-op
  settle(env, store, id, 10000);
  // The container's lock from here until it runs (its root mounted, its state alive): a
  // `hull cp` into the stopped container holds it while it has the overlay mounted, and
  // another `start` waits here, then finds it running.
  Fd lock = store.lock(id);
  if (alive(oci_state(env, id))) return;
  Meta m = store.load(id);
  Launch l{id, m.name, nullptr, read_file(store.config_path(id)), true};
  l.spec = std::make_shared<const oci::Spec>(
      with_context("stored config.json", [&] { return oci::parse_spec(l.json); }));
  run_detached(env, store, l);
}

void stop(const Env& env, const std::string& ref, int timeout) {
  Store store(env);
  std::string id = store.resolve(ref);
  auto st = oci_state(env, id);
  if (alive(st)) {
    if (st->status == oci::Status::paused || st->status == oci::Status::created) {
      // A frozen process cannot act on SIGTERM, a created one has nothing to stop gracefully.
      runtime::remove(env.ctx(), id, true);
    } else {
      try {
        std::string sig = store.load(id).stop_signal;  // the image's StopSignal
        runtime::kill(env.ctx(), id, sig.empty() ? SIGTERM : runtime::parse_signal(sig), false);
      } catch (const Error& e) {
        log::debug("stop: {}", e.what());
      }
      if (!wait_stopped(env, id, timeout * 1000)) runtime::kill(env.ctx(), id, SIGKILL, false);
    }
  }
  settle(env, store, id, 10000);
}

void kill(const Env& env, const std::string& ref, int sig) {
  Store store(env);
  std::string id = store.resolve(ref);
  auto st = oci_state(env, id);
  // An exit already recorded is final, whatever the runtime state still says while its
  // monitor deletes it.
  if (!alive(st) || store.load(id).exit_code) fail("container {} is not running", ref);
  try {
    runtime::kill(env.ctx(), id, sig, false);
  } catch (const Error&) {
    if (!alive(oci_state(env, id))) fail("container {} is not running", ref);
    throw;
  }
}

void remove(const Env& env, const std::string& ref, bool force) {
  Store store(env);
  std::string id = store.resolve(ref);
  auto st = oci_state(env, id);
  // Its exit recorded, its runtime state being deleted by whoever waited for it: let them.
  if (st && st->status == oci::Status::creating && store.load(id).exit_code) {
    settle(env, store, id, 10000);
    st = oci_state(env, id);
  }
  if (alive(st)) {
    if (!force)
      fail("container {} is {}: stop it first, or use rm -f", ref, oci::status_name(st->status));
    if (st->status == oci::Status::running) {
      try {
        runtime::kill(env.ctx(), id, SIGKILL, false);
      } catch (const Error& e) {
        log::debug("rm -f: {}", e.what());
      }
    } else {
      runtime::remove(env.ctx(), id, true);
    }
  }
  settle(env, store, id, 10000);
  if (!path_exists(store.dir(id))) return;  // --rm: its monitor removed it
  Fd lock = store.lock(id);
  Meta m = store.load(id);
  store.release(id, m.name);
  record_event(env, "destroy", m);
}

void pause(const Env& env, const std::string& ref) {
  std::string id = running_id(env, ref);
  if (oci_state(env, id)->status == oci::Status::paused)
    fail("container {} is already paused", ref);
  runtime::pause(env.ctx(), id);
  record_event(env, "pause", Store(env).load(id));
}

void unpause(const Env& env, const std::string& ref) {
  std::string id = running_id(env, ref);
  if (oci_state(env, id)->status != oci::Status::paused) fail("container {} is not paused", ref);
  runtime::resume(env.ctx(), id);
  record_event(env, "unpause", Store(env).load(id));
}

namespace {

// docker's flag for a linux.resources field `hull update` sets.
std::string flag_of(const std::string& field) {
  static const std::pair<const char*, const char*> kFlags[] = {
      {"memory.limit", "--memory"},
      {"memory.swap", "--memory-swap"},
      {"memory.reservation", "--memory-reservation"},
      {"cpu.shares", "--cpu-shares"},
      {"cpu.quota", "--cpu-quota/--cpus"},
      {"cpu.period", "--cpu-period"},
      {"cpu.cpus", "--cpuset-cpus"},
      {"cpu.mems", "--cpuset-mems"},
      {"pids.limit", "--pids-limit"},
      {"blockIO.weight", "--blkio-weight"}};
  for (const auto& [f, flag] : kFlags)
    if (field == f) return flag;
  return field;
}

// A cgroup write the kernel refused, in the words of the flag that asked for it instead of
// "linux.resources.memory.limit: 4194304: write /sys/fs/cgroup/...: Device or resource busy":
// the error's kind says what happened, its field() and value() what was refused (cgroup/
// write_value). Rethrows anything else as it is.
[[noreturn]] void explain_update_failure(const Env& env, const std::string& id,
                                         const std::string& ref, const Error& e) {
  constexpr std::string_view kPrefix = "linux.resources.";
  bool refused = e.err() != 0 && (e.is(ErrorKind::busy) || e.is(ErrorKind::invalid_config));
  if (e.is(ErrorKind::invalid_config) && e.err() == 0) {
    // The runtime's own check of the merged limits (its message names the JSON paths, after
    // the runtime's "update container ID: "): its words, with the flags' names.
    const std::string& msg = e.message();
    std::string text = msg.substr(std::min(msg.find(kPrefix), msg.size()));
    if (text.empty()) text = msg;
    static const char* kFields[] = {
        "memory.reservation", "memory.limit", "memory.swap", "cpu.shares", "cpu.quota",
        "cpu.period",         "cpu.cpus",     "cpu.mems",    "pids.limit", "blockIO.weight"};
    for (const char* f : kFields) {
      for (const std::string& from : {std::string(kPrefix) + f, std::string(f)}) {
        for (size_t pos; (pos = text.find(from)) != std::string::npos;)
          text.replace(pos, from.size(), flag_of(f));
      }
    }
    fail_as(ErrorKind::invalid_config, "update {}: {}", ref, text);
  }
  if (!refused || e.field().rfind(kPrefix, 0) != 0) throw e;
  bool busy = e.is(ErrorKind::busy);
  std::string field = e.field().substr(kPrefix.size());
  const std::string& value = e.value();
  std::string flag = flag_of(field);
  auto bytes = [&] {
    auto n = parse_u64(value);
    return n ? human_bytes(static_cast<double>(*n)) : value;
  };
  if (busy && (field == "memory.limit" || field == "memory.swap")) {
    std::string usage = "more";
    try {
      usage = human_bytes(static_cast<double>(runtime::stats(env.ctx(), id).memory.usage.usage));
    } catch (const Error& s) {
      log::debug("usage of {}: {}", ref, s.what());
    }
    fail_as(ErrorKind::busy,
            "update {}: {} {}: the container uses {} now and the kernel could not reclaim "
            "enough to fit (memory in use and nowhere to swap it); give a limit above its "
            "usage, or free memory in the container first",
            ref, flag, bytes(), usage);
  }
  std::string why;
  if (field == "memory.limit" && !busy)
    why = "above the memory+swap limit in force: raise --memory-swap with it (or -1)";
  else if (field == "memory.swap" && !busy)
    why = "--memory-swap is memory plus swap: it must be at least --memory";
  else if (field == "cpu.cpus" || field == "cpu.mems")
    why = busy ? "a cgroup below uses CPUs or nodes outside it"
               : "not CPUs or nodes this host (or the parent cgroup) has";
  else if (field == "cpu.quota" || field == "cpu.period")
    why = "the period must be 1000..1000000 microseconds and the quota at least 1000";
  else
    why = busy ? "the resource is busy" : "a value this kernel does not take";
  bool sized = field.rfind("memory.", 0) == 0;
  throw Error(e.kind(), fmt::format("update {}: {} {}: the kernel refused it: {}", ref, flag,
                                    sized ? bytes() : value, why));
}

}  // namespace

void update(const Env& env, const std::string& ref, const oci::Resources& resources) {
  Store store(env);
  std::string id = store.resolve(ref);
  std::string change = oci::serialize_resources(resources);
  std::string config;
  Fd lock = store.lock(id);
  if (alive(oci_state(env, id))) {
    try {
      runtime::update(env.ctx(), id, change);
    } catch (const Error& e) {
      explain_update_failure(env, id, ref, e);
    }
    // The runtime merged the change into its config copy: the one a later `start` uses too.
    runtime::StateStore oci_store(env.oci_root);
    Fd dir = oci_store.open_unlocked(id);
    config = oci_store.load_config(dir.get());
  } else {
    // docker updates a stopped container too: its next start gets the limits.
    try {
      config = runtime::merge_resources(read_file(store.config_path(id)), change);
    } catch (const Error& e) {
      explain_update_failure(env, id, ref, e);
    }
  }
  atomic_write(store.config_path(id), config, 0600);
}

void logs(const Env& env, const std::string& ref, const LogOptions& o) {
  Store store(env);
  std::string id = store.resolve(ref);
  std::string path = store.log_path(id);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno != ENOENT) fail_errno("open {}", path);
  std::string rest;  // a line the writer has not finished yet
  auto read_more = [&] {
    if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::vector<LogEntry>{};
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0) break;
      rest.append(buf, static_cast<size_t>(n));
    }
    size_t end = rest.rfind('\n');
    if (end == std::string::npos) return std::vector<LogEntry>{};
    auto entries = parse_log(rest.substr(0, end + 1));
    rest.erase(0, end + 1);
    return entries;
  };
  auto wanted = [&](const LogEntry& e) {
    if (!o.since && !o.until) return true;
    auto t = parse_rfc3339(e.time);
    if (!t) return !o.since;  // an old log without times: before anything
    return (!o.since || *t >= *o.since) && (!o.until || *t <= *o.until);
  };
  auto emit = [&](const LogEntry& e) {
    std::string line = o.timestamps ? e.time + " " + e.text : e.text;
    write_all(e.stderr_stream ? 2 : 1, line, e.stderr_stream ? "stderr" : "stdout");
  };
  std::vector<LogEntry> first;
  for (auto& e : read_more())
    if (wanted(e)) first.push_back(std::move(e));
  size_t skip = o.tail && *o.tail < first.size() ? first.size() - *o.tail : 0;
  for (size_t i = skip; i < first.size(); ++i) emit(first[i]);
  if (!o.follow) return;
  auto past_until = [&] { return o.until && now_seconds() > *o.until; };
  while (alive(oci_state(env, id)) && !past_until()) {
    sleep_ms(100);
    for (const auto& e : read_more())
      if (wanted(e)) emit(e);
  }
  // The container is gone; its monitor records the exit once the logger has written the
  // last lines: wait for that (or for a monitor that is no more), then read them.
  for (int64_t deadline = monotonic_ms() + (past_until() ? 0 : 3000); monotonic_ms() < deadline;
       sleep_ms(20)) {
    try {
      Meta m = store.load(id);
      if (m.exit_code || !monitor_alive(m)) break;
    } catch (const Error&) {
      break;  // --rm: removed
    }
  }
  for (const auto& e : read_more())
    if (wanted(e)) emit(e);
}

void rename(const Env& env, const std::string& ref, const std::string& name) {
  Store store(env);
  std::string id = store.resolve(ref);
  Fd lock = store.lock(id);
  Meta m = store.load(id);
  if (m.name == name) fail("rename {}: the container is called {} already", ref, quote(name));
  store.rename(id, m.name, name);
  std::string old = m.name;
  m.name = name;
  store.save(m);
  record_event(env, "rename", m, {{"oldName", "/" + old}});
}

int wait(const Env& env, const std::string& ref) {
  Store store(env);
  std::string id = store.resolve(ref);
  int64_t going_since = 0;
  for (;;) {
    Status s;
    try {
      s = status(env, id);
    } catch (const Error&) {
      // Gone while we waited (--rm), or going (its directory without meta.json, Store::release
      // under way): its "die" event, recorded before the removal, still has the code.
      // A release that crashed half way leaves such a directory for good: not waited for long.
      bool exists = path_exists(store.dir(id));
      bool going = exists && !path_exists(store.meta_path(id));
      if (exists && !going) throw;
      if (auto code = last_exit_code(env, id)) return *code;
      if (going && going_since == 0) going_since = monotonic_ms();
      if (going && monotonic_ms() - going_since < 10000) {
        sleep_ms(50);
        continue;
      }
      fail("container {} was removed before its exit code could be read", ref);
    }
    if (s.state == State::exited && (s.meta.exit_code || !monitor_alive(s.meta))) {
      if (s.meta.exit_code) return *s.meta.exit_code;
      settle(env, store, id, 10000);
      return store.load(id).exit_code.value_or(-1);
    }
    sleep_ms(50);
  }
}

std::vector<std::string> ports(const Env& env, const std::string& ref, const std::string& port) {
  Store store(env);
  Meta m = store.load(store.resolve(ref));
  std::string want = port;
  if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
  std::vector<std::string> out;
  for (const auto& p : m.net.publish) {
    net::Port pp = net::parse_publish(p);
    std::string key = fmt::format("{}/{}", pp.container_port, pp.proto);
    std::string host = fmt::format("{}:{}", pp.host_ip.str(), pp.host_port);
    if (want.empty())
      out.push_back(key + " -> " + host);
    else if (key == want)
      out.push_back(host);
  }
  if (!want.empty() && out.empty()) fail("no public port {} published for {}", quote(want), ref);
  return out;
}

Status status(const Env& env, const std::string& id) {
  Store store(env);
  Status s;
  s.meta = store.load(id);
  s.oci = oci_state(env, id);
  const Meta& m = s.meta;
  std::string up = human_duration(
      std::max(0.0, now_seconds() - parse_rfc3339(m.started).value_or(now_seconds())));
  if (s.oci && s.oci->status != oci::Status::stopped) {
    switch (s.oci->status) {
      case oci::Status::running:
        s.state = State::running;
        s.text = "Up " + up;
        break;
      case oci::Status::paused:
        s.state = State::paused;
        s.text = "Up " + up + " (Paused)";
        break;
      default:
        s.state = State::created;
        s.text = "Created";
    }
    return s;
  }
  s.state = State::exited;
  if (m.exit_code) {
    s.text = fmt::format("Exited ({}) {}", *m.exit_code, human_ago(m.finished));
  } else if (m.started.empty()) {
    s.state = State::created;
    s.text = "Created";
  } else if (s.oci && monitor_alive(m)) {
    s.text = "Exited";  // its monitor is recording the code right now
  } else {
    s.text = "Exited (unknown: nobody was left to wait for it)";
  }
  return s;
}

std::vector<Status> list(const Env& env, bool all) {
  Store store(env);
  std::vector<Status> out;
  for (const auto& id : store.list()) {
    try {
      Status s = status(env, id);
      if (all || s.state != State::exited) out.push_back(std::move(s));
    } catch (const Error& e) {
      log::debug("ps: {}: {}", id, e.what());  // removed while we looked
    }
  }
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.meta.created > b.meta.created; });
  return out;
}

std::string running_id(const Env& env, const std::string& ref) {
  Store store(env);
  std::string id = store.resolve(ref);
  if (!alive(oci_state(env, id))) fail("container {} is not running", ref);
  return id;
}

}  // namespace hull::frontend
