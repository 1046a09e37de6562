// A process hull waits for in the foreground (`run`, `exec` without -d): the signals hull
// receives go on to it, and with a terminal but no console socket hull relays the pty.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace hull::runtime {

// The signals a foreground run/exec forwards: all the catchable ones but those that report
// on hull itself (SIGCHLD, SIGPIPE, faults, job-control reads and writes).
sigset_t forwarded_signals();

// Until the process behind `pidfd` exits: forwards the signals in `fwd` (which the caller
// has blocked) to it and, when `master` is a pty master, relays stdin to it and it to stdout
// with the caller's terminal in raw mode (restored on return) and the window size following.
void relay_until_exit(int pidfd, int master, const sigset_t& fwd);

// Reaps our child: its exit code, or 128+N when killed by signal N.
int wait_child(pid_t pid);

// Copies the caller's terminal size (fd `from`) onto a pty.
void copy_winsize(int from, int to);

}  // namespace hull::runtime
