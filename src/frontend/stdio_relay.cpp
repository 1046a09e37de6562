#include "frontend/stdio_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "linux/syscalls.h"
#include "util/clock.h"
#include "util/error.h"

namespace hull::frontend {

bool safe_to_hand_over(int fd) {
  struct stat st;
  if (::fstat(fd, &st) < 0) return false;
  if (S_ISFIFO(st.st_mode)) return true;
  return S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(1, 3);  // /dev/null
}

bool reap_within(pid_t pid, int ms) {
  if (::waitpid(pid, nullptr, WNOHANG) != 0) return true;
  Fd fd(sys::pidfd_open(pid));
  int64_t deadline = monotonic_ms() + ms;
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) break;
    if (fd) {
      pollfd p = {fd.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) fd.reset();
    } else {
      sleep_ms(std::min<int64_t>(left, 10));
    }
    if (::waitpid(pid, nullptr, WNOHANG) != 0) return true;
  }
  return ::waitpid(pid, nullptr, WNOHANG) != 0;
}

namespace {

// One direction: `from` read, `to` written. The input's `to` is non-blocking, so that a
// container that reads nothing never stalls its output behind its stdin.
struct Stream {
  int from, to;
  bool input;
  std::string pending;
  bool done = false;
};

[[noreturn]] void relay_main(std::vector<Stream> streams) {
  char buf[65536];
  // Done when every output is (the container has nothing more to say: what it did not read of
  // its stdin it never will), or with the input when there is no output to copy.
  const bool outputs =
      std::any_of(streams.begin(), streams.end(), [](auto& s) { return !s.input; });
  for (;;) {
    if (std::all_of(streams.begin(), streams.end(),
                    [&](auto& s) { return s.done || (outputs && s.input); }))
      ::_exit(0);
    std::vector<pollfd> fds;
    std::vector<Stream*> of;
    for (auto& s : streams) {
      if (s.done) continue;
      fds.push_back(s.pending.empty() ? pollfd{s.from, POLLIN, 0} : pollfd{s.to, POLLOUT, 0});
      of.push_back(&s);
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      ::_exit(1);
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      Stream& s = *of[i];
      if (!fds[i].revents) continue;
      if (s.pending.empty()) {
        ssize_t n = ::read(s.from, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {
          s.done = true;
          ::close(s.to);  // the container's stdin: its EOF
          continue;
        }
        s.pending.assign(buf, static_cast<size_t>(n));
      }
      while (!s.pending.empty()) {
        ssize_t n = ::write(s.to, s.pending.data(), s.pending.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) {
          // The reader is gone (the container closed its stdin; whoever read our stdout
          // quit): the writer's next write fails as it would have without us.
          s.done = true;
          s.pending.clear();
          ::close(s.from);
          ::close(s.to);
          break;
        }
        s.pending.erase(0, static_cast<size_t>(n));
      }
    }
  }
}

}  // namespace

StdioRelay::StdioRelay(bool input, bool output) {
  struct Pair {
    int fd;       // 0, 1 or 2
    int mine[2];  // the pipe: [0] read end, [1] write end
  };
  std::vector<Pair> pairs;
  auto cleanup = [&] {
    for (auto& p : pairs) {
      ::close(p.mine[0]);
      ::close(p.mine[1]);
    }
    for (auto& s : saved_) s.reset();
  };
  for (int fd = 0; fd < 3; ++fd) {
    if ((fd == 0 && !input) || (fd > 0 && !output)) continue;
    if (::fcntl(fd, F_GETFD) < 0 || safe_to_hand_over(fd)) continue;
    Pair p{fd, {-1, -1}};
    if (::pipe2(p.mine, O_CLOEXEC) < 0) {
      cleanup();
      fail_errno("pipe");
    }
    pairs.push_back(p);
    saved_[fd].reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!saved_[fd]) {
      cleanup();
      fail_errno("dup fd {}", fd);
    }
    if (fd > 0) output_ = true;
  }
  if (pairs.empty()) return;
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) {
    cleanup();
    fail_errno("fork the stdio relay");
  }
  if (pid_ == 0) {
    ::prctl(PR_SET_NAME, "hull-relay", 0, 0, 0);
    // Ctrl-C and friends are the container's (hull forwards them); a terminal read from the
    // background ends the input (EIO) rather than stopping the relay.
    for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTOU, SIGTTIN, SIGPIPE})
      ::signal(sig, SIG_IGN);
    // Only the relay's own ends stay open here: the container's end of an output pipe held by
    // the relay would keep it from ever seeing the end.
    std::vector<int> keep;
    for (auto& p : pairs) {
      keep.push_back(saved_[p.fd].get());
      keep.push_back(p.fd == 0 ? p.mine[1] : p.mine[0]);
    }
    std::vector<int> high;
    for (int fd : keep) {
      int h = ::fcntl(fd, F_DUPFD, 100);
      if (h < 0) ::_exit(1);
      high.push_back(h);
    }
    for (size_t i = 0; i < high.size(); ++i)
      if (::dup2(high[i], static_cast<int>(i)) < 0) ::_exit(1);
    ::close_range(static_cast<unsigned>(high.size()), ~0U, 0);
    std::vector<Stream> streams;
    for (size_t i = 0; i < pairs.size(); ++i) {
      int caller = static_cast<int>(2 * i), pipe_end = caller + 1;
      if (pairs[i].fd == 0) {
        ::fcntl(pipe_end, F_SETFL, O_NONBLOCK);
        streams.push_back({caller, pipe_end, true, {}});
      } else {
        streams.push_back({pipe_end, caller, false, {}});
      }
    }
    relay_main(std::move(streams));
  }
  // Ours: the container's ends, as 0, 1 and 2; the relay's ends are the relay's alone.
  bool ok = true;
  for (auto& p : pairs) {
    int theirs = p.fd == 0 ? p.mine[0] : p.mine[1];
    if (::dup2(theirs, p.fd) < 0) ok = false;
    ::close(p.mine[0]);
    ::close(p.mine[1]);
  }
  if (!ok) {
    int err = errno;
    finish();
    fail_err(err, "dup2");
  }
}

void StdioRelay::finish() noexcept {
  std::fflush(nullptr);
  for (int fd = 0; fd < 3; ++fd)
    if (saved_[fd]) {
      ::dup2(saved_[fd].get(), fd);
      saved_[fd].reset();
    }
  if (pid_ <= 0) return;
  // Output: all of it, as the container's processes close their ends (at most a few seconds:
  // one that outlived the container could hold a pipe). Input alone: nothing left to do, and
  // the relay may wait on a terminal for keys nobody will read.
  if (!output_ || !reap_within(pid_, 5000)) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = 0;
}

}  // namespace hull::frontend
