// Container networks (docs/architecture.md, Networks): the API the friendly face uses.
//
// A container joins its networks in two steps around `create`:
//   Reservation r = nets.reserve(request);   // addresses leased, /etc/hosts and
//                                            // /etc/resolv.conf written (bind-mount them)
//   ... runtime::create(...) ...             // the container's netns exists, init waits
//   nets.attach(r, init_pid, start_time);    // veths, addresses, routes, shaping, ports
//   ... start; later, when it is gone:
//   nets.detach_all(container);
// A Reservation dropped without attach() gives its addresses back. A hull killed at any
// point leaves leases naming a dead owner: the next sweep of that network reclaims them
// (and deletes any veth or ifb they left).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "net/hosts.h"
#include "net/netlink.h"
#include "net/store.h"

namespace hull::net {

inline constexpr const char* kDefaultNetwork = "hull0";

// $HULL_STATE, or /var/lib/hull.
std::string default_state_dir();

struct CreateOptions {
  std::string name;
  std::string subnet;  // empty: a free /24 from 10.89.0.0/16 up (the default network: 10.88.0.0/16)
  std::string gateway;  // empty: the subnet's first address
  bool isolated = false;
  bool internal = false;
};

struct Endpoint {
  std::string network;  // empty: the default network
  std::string ip;       // empty: any free address
  std::vector<std::string> aliases;
};

struct AttachRequest {
  std::string container;  // its id
  std::string name;       // what peers and rules call it (empty: the id); aliases add more
  std::vector<Endpoint> endpoints;
  std::vector<Port> ports;  // published on the first endpoint's address
  uint64_t rate = 0;        // bytes/s each way, 0: not shaped
  uint32_t burst = 0;
  // Where to keep the container's /etc/hosts: a file with the container's lifetime, owned
  // by the caller (hull keeps it current, never deletes it). Empty: hull keeps one beside
  // its index and deletes it with the container's last network.
  std::string hosts_file;
};

struct Attachment {
  std::string network;
  Ipv4 ip;
  Subnet subnet;
  Ipv4 gateway;
  std::string ifname;     // inside the container
  std::string host_link;  // the veth end on the bridge
  Lease lease;
};

class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& o) noexcept;
  Reservation& operator=(Reservation&&) = delete;
  ~Reservation();
  const std::string& container() const { return container_; }
  const std::vector<Attachment>& attachments() const { return attachments_; }
  // Files to bind-mount read-only at /etc/hosts and /etc/resolv.conf.
  const std::string& hosts_path() const { return hosts_path_; }
  const std::string& resolv_path() const { return resolv_path_; }
  // Gives the addresses back now (a failed create); a no-op after attach.
  void release();

 private:
  friend class Networks;
  std::string state_dir_, container_, hosts_path_, resolv_path_;
  std::vector<Attachment> attachments_;
  bool done_ = true;
};

struct NetworkStatus {
  Network def;
  std::vector<Lease> leases;  // live ones
  bool bridge_present = false;
};

// What `allow`/`deny` did: a rule added, or the opposite rule removed.
struct RuleChange {
  bool added = false;
  Rule rule;
};

class Networks {
 public:
  explicit Networks(std::string state_dir = default_state_dir());

  Network create(const CreateOptions& opts);
  void remove(const std::string& name);
  std::vector<NetworkStatus> list();
  NetworkStatus inspect(const std::string& name);

  // allow/deny FROM TO [proto[/port]] on a network: removes the exactly opposite rule if
  // there is one, otherwise adds this one (a no-op when present). Deny rules are checked
  // before allow rules; then the network's default (isolated: drop; otherwise accept).
  RuleChange change_rule(const std::string& network, Rule rule);

  Reservation reserve(const AttachRequest& req);
  void attach(Reservation& r, pid_t pid, uint64_t start_time);
  // Both steps for a running container (hull network connect); ports and rate as in
  // AttachRequest, for this interface only.
  Attachment connect(const AttachRequest& req, pid_t pid, uint64_t start_time);
  void disconnect(const std::string& network, const std::string& container);
  void detach_all(const std::string& container);
  // Changes the container's shaping on every interface live; rate 0 removes it.
  void set_rate(const std::string& container, uint64_t rate, uint32_t burst);
  std::vector<Attachment> attachments(const std::string& container);

 private:
  Network create_locked(const CreateOptions& opts, Netlink& host);
  void bring_up(const Network& net, Netlink& host);
  void rebuild_table();
  void ensure_live(const std::vector<std::string>& names);
  void check_ports(const AttachRequest& req);
  void teardown(const Network& net, const Lease& lease, Netlink& host);
  void reclaim(const Network& net, const Lease& lease, Netlink& host);
  std::vector<Lease> sweep(const Network& net, Netlink& host);
  // /etc/hosts of a container: itself first, then every live peer on each of its networks
  // (members caches each network's live leases across calls).
  std::vector<HostEntry> hosts_entries(const std::string& container,
                                       std::map<std::string, std::vector<Lease>>& members);
  void refresh_hosts(const Network& net, const std::vector<Lease>& live);
  Network load_or_fail(const std::string& name);
  std::string resolv_path(const Network& net);

  std::string state_dir_;
  Store store_;
};

// The container's interfaces (in its network namespace) with addresses and counters.
std::vector<InterfaceInfo> container_interfaces(pid_t pid, uint64_t start_time);

}  // namespace hull::net
