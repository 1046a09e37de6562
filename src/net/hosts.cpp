#include "net/hosts.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

namespace {

bool loopback_server(std::string_view addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1";
}

// The nameserver addresses of a resolv.conf.
std::vector<std::string> nameservers(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& raw : split(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.rfind("nameserver", 0) == 0) out.emplace_back(trim(line.substr(10)));
  }
  return out;
}

}  // namespace

std::string resolv_content(std::string_view host, bool internal,
                           const std::optional<std::string>& systemd) {
  std::string out = "# written by hull\n";
  auto servers = nameservers(host);
  bool only_loopback =
      !servers.empty() &&
      std::all_of(servers.begin(), servers.end(), [](const auto& a) { return loopback_server(a); });
  if (only_loopback && systemd && !nameservers(*systemd).empty()) {
    // systemd-resolved's stub (127.0.0.53) is the host's own: its upstream servers, as docker.
    out += "# the upstream servers of systemd-resolved (" + std::string(kSystemdResolvConf) + ")\n";
    host = *systemd;
  }
  int kept = 0;
  for (const auto& raw : split(host, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.rfind("nameserver", 0) == 0) {
      if (internal) continue;
      if (loopback_server(trim(line.substr(10)))) continue;
      kept++;
    }
    out += std::string(line) + "\n";
  }
  if (!internal && kept == 0) {
    // Nothing a container could reach: docker's default public servers, said so.
    out += "# the host names no resolver a container can reach: docker's defaults\n";
    for (const char* s : kDefaultNameservers) out += fmt::format("nameserver {}\n", s);
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
