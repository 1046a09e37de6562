#include "net/hosts.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "util/error.h"
#include "util/fd.h"
#include "util/lock.h"
#include "util/strings.h"

namespace hull::net {

std::string hosts_content(const std::vector<HostEntry>& entries) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n";
  std::set<uint32_t> seen;
  for (const auto& e : entries) {
    if (e.names.empty() || !seen.insert(e.ip.v).second) continue;
    out += e.ip.str() + "\t" + join(e.names, " ") + "\n";
  }
  return out;
}

std::string resolv_content(std::string_view host, bool internal) {
  std::string out = "# written by hull\n";
  for (const auto& raw : split(host, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.rfind("nameserver", 0) == 0) {
      if (internal) continue;
      std::string_view addr = trim(line.substr(10));
      if (addr.rfind("127.", 0) == 0 || addr == "::1") continue;
    }
    out += std::string(line) + "\n";
  }
  return out;
}

void write_in_place(const std::string& path, std::string_view data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) fail_errno("open {}", path);
  lock_fd(fd.get(), LockMode::exclusive, path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::pwrite(fd.get(), data.data() + off, data.size() - off, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write {}", path);
    }
    off += static_cast<size_t>(n);
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(data.size())) < 0) fail_errno("truncate {}", path);
}

}  // namespace hull::net
