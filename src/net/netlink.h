// rtnetlink through libnl-route-3: links (bridge, veth, ifb), addresses, routes, link
// statistics and tc (tbf, ingress, u32 + mirred). A Netlink is one socket, and a socket
// belongs to the network namespace it was created in: Netlink(ns_fd) makes it inside
// another namespace, and every call on it acts there.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "net/addr.h"
#include "util/fd.h"

struct nl_sock;

namespace hull::net {

struct LinkStats {
  uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0, rx_dropped = 0,
           tx_dropped = 0;
};

struct InterfaceInfo {
  std::string name;
  std::string mac;
  bool up = false;
  unsigned mtu = 0;
  std::vector<std::string> addresses;  // "10.88.0.2/16"
  LinkStats stats;
};

// Token bucket parameters: rate in bytes per second, bucket (burst) and queue limit in bytes.
struct Tbf {
  uint64_t rate = 0;
  uint32_t burst = 0;
  uint32_t limit = 0;
};

// Runs f inside another network namespace and comes back (the whole process moves: hull
// has no threads). Failing to come back ends the process: the next host operation would
// otherwise land in the container.
void in_netns(int netns_fd, const std::function<void()>& f);

// Opens /proc/PID/ns/net and checks that PID is still the process that started at
// start_time (PIDs get reused).
Fd open_netns_of(pid_t pid, uint64_t start_time);

class Netlink {
 public:
  Netlink();                       // in the caller's network namespace
  explicit Netlink(int netns_fd);  // inside that namespace
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  // 0 when there is no such link.
  int index(const std::string& name);
  bool exists(const std::string& name) { return index(name) != 0; }

  // A bridge, up, with a fixed random MAC (otherwise it takes its lowest port's address
  // and changes as ports come and go). nf_call: bridged IPv4/IPv6 frames pass the inet
  // netfilter hooks (br_netfilter), which isolated networks need for their rules.
  void create_bridge(const std::string& name, bool nf_call);
  void set_bridge_nf_call(const std::string& name, bool nf_call);
  // A veth pair: `host` up and enslaved to `master`, `peer` created directly inside the
  // namespace peer_netns_fd (down: bring it up from a Netlink in that namespace).
  void create_veth(const std::string& host, int master, const std::string& peer, int peer_netns_fd);
  void create_ifb(const std::string& name);
  void set_up(const std::string& name);
  // Deletes a link; false when it did not exist.
  bool delete_link(const std::string& name);
  // IPv4 conf of one interface (IPV4_DEVCONF_*), e.g. route_localnet.
  void set_ipv4_conf(const std::string& name, int key, uint32_t value);

  void add_address(const std::string& link, Ipv4 addr, int prefix);
  void add_default_route(const std::string& link, Ipv4 gateway);
  // Destinations of every IPv4 route in the main table (for choosing free subnets).
  std::vector<Subnet> ipv4_routes();

  LinkStats stats(const std::string& name);
  // Every interface of this namespace with its IPv4 addresses and counters.
  std::vector<InterfaceInfo> interfaces();

  // tc: a tbf root qdisc (created or replaced in place), the ingress qdisc with a u32
  // filter that redirects everything to another link's egress, and their removal.
  void set_tbf(const std::string& link, const Tbf& tbf);
  void redirect_ingress(const std::string& link, const std::string& to);
  void clear_qdiscs(const std::string& link);

  // Whether nftables has the inet table, asked over nfnetlink directly so that checking
  // costs no libnftables load.
  bool nft_inet_table_exists(const std::string& table);

 private:
  void connect();
  int index_or_fail(const std::string& name);
  nl_sock* sk_ = nullptr;
};

}  // namespace hull::net
