// /etc/hosts and /etc/resolv.conf for containers on hull networks. Both are files of
// hull's, bind-mounted read-only into the container: a container cannot change what its
// peers see, and hull rewrites them in place as peers come and go (a bind mount pins the
// inode, so rename-into-place would never reach the container).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/addr.h"

namespace hull::net {

struct HostEntry {
  Ipv4 ip;
  std::vector<std::string> names;  // container name first, then aliases
};

// localhost lines, then one line per entry, duplicates (same address) dropped.
std::string hosts_content(const std::vector<HostEntry>& entries);
// The host's resolver configuration minus nameservers on loopback (unreachable from a
// container's namespace); an internal network gets none (nothing beyond the bridge). When the
// host's names only loopback servers (systemd-resolved's stub, 127.0.0.53), `systemd` (the
// content of /run/systemd/resolve/resolv.conf: the upstream servers) is used instead, as
// docker does; when no server is left, docker's defaults (8.8.8.8, 8.8.4.4), with a comment.
inline constexpr const char* kSystemdResolvConf = "/run/systemd/resolve/resolv.conf";
inline constexpr const char* kDefaultNameservers[] = {"8.8.8.8", "8.8.4.4"};
std::string resolv_content(std::string_view host_resolv_conf, bool internal,
                           const std::optional<std::string>& systemd = std::nullopt);
// Rewrites a file keeping its inode: new content first, then truncate to its length, under
// an flock so two writers do not interleave. Creates the file when missing.
void write_in_place(const std::string& path, std::string_view data);

}  // namespace hull::net
