#include "linux/terminal.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "linux/path.h"
#include "util/error.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace hull::linux {

Pty open_pty_in_container() {
  Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  Fd ptmx = open_in_root(root.get(), "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW);
  if (!ptmx) fail_errno("open /dev/pts/ptmx");
  struct stat st = stat_fd(ptmx.get(), "/dev/pts/ptmx");
  struct statfs sf;
  if (!S_ISCHR(st.st_mode) || ::fstatfs(ptmx.get(), &sf) < 0 || sf.f_type != DEVPTS_SUPER_MAGIC)
    fail("/dev/pts/ptmx is not the ptmx of a devpts file system");
  int unlock = 0;
  if (::ioctl(ptmx.get(), TIOCSPTLCK, &unlock) < 0) fail_errno("unlock pty");
  int slave = ::ioctl(ptmx.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail_errno("open pty slave");
  return Pty{std::move(ptmx), Fd(slave)};
}

void set_window_size(int fd, unsigned rows, unsigned cols) {
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (::ioctl(fd, TIOCSWINSZ, &ws) < 0) fail_errno("set terminal size");
}

void make_controlling_terminal(int slave) {
  if (::setsid() < 0 && errno != EPERM) fail_errno("setsid");
  if (::ioctl(slave, TIOCSCTTY, 0) < 0) fail_errno("set controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup3(slave, fd, 0) < 0) fail_errno("dup terminal to fd {}", fd);
}

Fd connect_unix(const std::string& path, const char* what) {
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) fail_errno("{}: socket", what);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) fail("{}: path {} is too long", what, path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail_errno("{}: connect {}", what, path);
  return s;
}

void send_fd(int sock, int fd, const char* what, std::string_view payload) {
  char data = 0;
  iovec iov = {&data, 1};
  if (!payload.empty()) iov = {const_cast<char*>(payload.data()), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) fail_errno("send {} fd", what);
}

Fd recv_fd(int sock, const char* what) {
  char data = 0;
  iovec iov = {&data, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) fail_errno("receive {} fd", what);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) fail("receive {} fd: no fd in the message", what);
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return Fd(fd);
}

}  // namespace hull::linux
