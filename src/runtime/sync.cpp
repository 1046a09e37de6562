#include "runtime/sync.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace hull::runtime {

namespace {
constexpr size_t kMax = 8192;
struct Header {
  uint8_t type;
  uint8_t kind;  // ErrorKind
  uint8_t pad[2];
  int32_t value;
};
}  // namespace

void send_msg(int fd, Msg type, int32_t value, const std::string& text, ErrorKind kind) {
  char buf[kMax];
  Header h{static_cast<uint8_t>(type), static_cast<uint8_t>(kind), {}, value};
  size_t n = std::min(text.size(), kMax - sizeof h);
  std::memcpy(buf, &h, sizeof h);
  std::memcpy(buf + sizeof h, text.data(), n);
  for (;;) {
    if (::send(fd, buf, sizeof h + n, MSG_NOSIGNAL) >= 0) return;
    if (errno != EINTR) fail_errno("send to container init");
  }
}

std::optional<Message> recv_msg(int fd) {
  char buf[kMax];
  ssize_t n;
  do {
    n = ::recv(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ECONNRESET) return std::nullopt;
    fail_errno("receive from container init");
  }
  if (n == 0) return std::nullopt;
  if (static_cast<size_t>(n) < sizeof(Header)) fail("short message from container init");
  Header h;
  std::memcpy(&h, buf, sizeof h);
  Message m;
  m.type = static_cast<Msg>(h.type);
  m.value = h.value;
  m.kind = kind_from_wire(h.kind);
  m.text.assign(buf + sizeof h, static_cast<size_t>(n) - sizeof h);
  return m;
}

void send_error(int fd, const Error& e, const std::string& text) {
  send_msg(fd, Msg::kError, e.err(), text, e.kind());
}

Error error_from(const Message& m) {
  ErrorKind kind = m.kind != ErrorKind::other ? m.kind : kind_of_errno(m.value);
  return Error(kind, m.text, m.value);
}

}  // namespace hull::runtime
