// What the docker-like face hands a container of the caller's stdin, stdout and stderr.
//
// A process reopens the file behind any of its fds through /proc/self/fd/N, with any mode the
// file's permissions allow: given `hull exec c cmd > notes` as it is, the container's root
// could read the host file `notes` whole and truncate it; given the caller's terminal, it
// could push keystrokes into it (TIOCSTI). docker never hands them over (its daemon copies
// the streams); runc's `exec` does, and engines give it pipes. hull hands over a pipe or
// /dev/null as it is (nothing more to reach through them) and puts a relay process between
// the container and anything else.
#pragma once

#include <sys/types.h>

#include "util/fd.h"

namespace hull::frontend {

// A pipe or /dev/null: nothing reachable through it but what the fd itself gives.
bool safe_to_hand_over(int fd);

// Reaps the child `pid` if it ends within `ms`, woken by its exit (a pidfd). True once reaped.
bool reap_within(pid_t pid, int ms);

class StdioRelay {
 public:
  // Which of 0 (`input`), 1 and 2 (`output`) the container gets from this process. Each that is
  // open and not safe_to_hand_over() is replaced by a pipe, copied from (0) or to (1, 2) the
  // caller's file by a relay process. No process when every one is safe (a script's pipes).
  StdioRelay(bool input, bool output);
  ~StdioRelay() { finish(); }
  StdioRelay(const StdioRelay&) = delete;
  StdioRelay& operator=(const StdioRelay&) = delete;

  // Puts the caller's fds back, lets the relay copy the rest of the output (at most a few
  // seconds: a process that outlived the container could hold a pipe) and ends it.
  void finish() noexcept;

 private:
  Fd saved_[3];
  pid_t pid_ = 0;
  bool output_ = false;  // the relay copies output (it ends by itself once that is done)
};

}  // namespace hull::frontend
