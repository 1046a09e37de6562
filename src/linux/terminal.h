// Terminals: a pty made inside the container's devpts whose master is sent to the caller's
// --console-socket (SCM_RIGHTS, as runc does), and the foreground relay when hull keeps it.
#pragma once

#include <string>
#include <string_view>

#include "util/fd.h"

namespace hull::linux {

struct Pty {
  Fd master, slave;
};

// Opens /dev/pts/ptmx of the current root — never through a symlink (CVE-2025-52565) — and
// the slave through the master (TIOCGPTPEER), so no path is trusted.
Pty open_pty_in_container();
void set_window_size(int fd, unsigned rows, unsigned cols);
// setsid, the slave as controlling terminal and as stdin/stdout/stderr.
void make_controlling_terminal(int slave);

// Connects to a unix socket path (SOCK_STREAM); errors name the path and `what`.
Fd connect_unix(const std::string& path, const char* what);
// Sends `fd` (SCM_RIGHTS) with `payload` as the data (one zero byte when empty).
void send_fd(int sock, int fd, const char* what, std::string_view payload = {});
Fd recv_fd(int sock, const char* what);

}  // namespace hull::linux
