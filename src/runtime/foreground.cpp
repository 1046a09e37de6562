#include "runtime/foreground.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fd.h"

namespace hull::runtime {
namespace {

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
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

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

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig < 32; ++sig) {
    switch (sig) {
      case SIGKILL:
      case SIGSTOP:
      case SIGCHLD:
      case SIGPIPE:
      case SIGSEGV:
      case SIGBUS:
      case SIGFPE:
      case SIGILL:
      case SIGTRAP:
      case SIGSYS:
      case SIGTTIN:
      case SIGTTOU:
      case SIGURG:
      case SIGPROF:
      case SIGVTALRM:
        continue;
      default:
        sigaddset(&set, sig);
    }
  }
  return set;
}

void copy_winsize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

void relay_until_exit(int pidfd, int master, const sigset_t& fwd) {
  Fd sigfd(::signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) fail_errno("signalfd");
  bool relay = master >= 0;
  std::optional<RawTerminal> raw;
  if (relay) {
    raw.emplace(0);
    copy_winsize(0, master);
  }
  bool stdin_open = relay, master_open = relay;
  for (;;) {
    pollfd fds[4] = {
        {pidfd, POLLIN, 0}, {sigfd.get(), POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
    if (master_open) fds[2].fd = master;
    if (stdin_open) fds[3].fd = 0;
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll");
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH && relay)
          copy_winsize(0, master);
        else
          sys::pidfd_send_signal(pidfd, sig);
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) master_open = pump(master, 1);
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(0, master)) stdin_open = false;
    }
    if (fds[0].revents & POLLIN) {
      // Drain what the process wrote last before reporting.
      while (master_open && pump(master, 1)) {
        pollfd p = {master, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
      }
      return;
    }
  }
}

int wait_child(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail_errno("wait for process {}", pid);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace hull::runtime
