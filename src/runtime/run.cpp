// `run`: create + start + wait + delete in one process, forwarding signals and relaying a
// terminal in the foreground.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "linux/syscalls.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::runtime {
namespace {

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig < 32; ++sig) {
    switch (sig) {
      case SIGKILL: case SIGSTOP: case SIGCHLD: case SIGPIPE: case SIGSEGV: case SIGBUS:
      case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS: case SIGTTIN: case SIGTTOU:
      case SIGURG: case SIGPROF: case SIGVTALRM:
        continue;
      default:
        sigaddset(&set, sig);
    }
  }
  return set;
}

// Puts the caller's terminal in raw mode for the relay and restores it on scope exit.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;  // keep newlines sane for the host terminal
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

void copy_winsize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Moves bytes from one fd to another; false on EOF or error of the source.
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return true;  // the reader went away; keep draining the source
    }
    off += w;
  }
  return true;
}

}  // namespace

int run(const Context& ctx, CreateOptions opts, std::shared_ptr<const oci::Spec> spec, const std::string& config_json,
        bool detach, bool keep) {
  opts.for_run = true;
  Fd master;
  bool relay = spec->process->terminal && opts.console_socket.empty() && !detach;
  if (relay) opts.terminal_master = &master;
  sigset_t fwd = forwarded_signals(), old;
  if (!detach) ::sigprocmask(SIG_BLOCK, &fwd, &old);
  Created c = create(ctx, opts, spec, config_json);
  try {
    if (relay) copy_winsize(0, master.get());
    start_created(ctx, c);
    log::step("started");
  } catch (...) {
    try {
      remove(ctx, c.id, true);
    } catch (const Error& e) {
      log::warn("cleanup: {}", e.what());
    }
    throw;
  }
  if (opts.on_started) opts.on_started();
  if (detach) return 0;

  Fd sigfd(::signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) fail_errno("signalfd");
  std::optional<RawTerminal> raw;
  if (relay) raw.emplace(0);
  bool stdin_open = relay, master_open = relay;
  for (;;) {
    pollfd fds[4] = {{c.pidfd.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
    if (master_open) fds[2].fd = master.get();
    if (stdin_open) fds[3].fd = 0;
    int r = ::poll(fds, 4, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll");
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH && relay) copy_winsize(0, master.get());
        else sys::pidfd_send_signal(c.pidfd.get(), sig);
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) master_open = pump(master.get(), 1);
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(0, master.get())) stdin_open = false;
    }
    if (fds[0].revents & POLLIN) {
      // Drain what the container wrote last before reporting.
      while (master_open && pump(master.get(), 1)) {
        pollfd p = {master.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
      }
      break;
    }
  }
  raw.reset();
  int code = wait_exit(c);
  log::step("exited");
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  // Read before delete removes the cgroup and its counters.
  if (std::string oom = oom_report(c.id, c.state.cgroup_path); !oom.empty()) log::error(oom);
  if (!keep) {
    try {
      remove(ctx, c.id, true);
    } catch (const Error& e) {
      log::warn("delete after exit: {}", e.what());
    }
    log::step("deleted");
  }
  return code;
}

}  // namespace hull::runtime
