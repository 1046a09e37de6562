// `hull run`'s network flags: checked before anything exists, kept in meta.json so that
// `start` joins the same networks, and turned into the net library's calls around create
// (net/network.h: reserve before, attach once the init's namespace exists, detach_all after).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hull::net {
struct Endpoint;
struct Port;
class Reservation;
}  // namespace hull::net

namespace hull::frontend {

struct Env;
struct Meta;

// The flags as given (and as meta.json keeps them).
struct NetworkOptions {
  std::vector<std::string> networks;  // empty: none
  std::string ip;                     // on the first network
  std::vector<std::string> aliases;   // on every network
  std::vector<std::string> publish;   // [HOST_IP:]HOST_PORT:PORT[/tcp|udp]
  std::string rate, burst;
};

enum class NetMode { none, host, bridge };

// none and host alone; anything else names hull networks. Throws on a bad flag, naming it.
NetMode check_network_options(const NetworkOptions& o);
// "none", "host", or the networks' names joined by commas (ps, inspect).
std::string network_summary(const NetworkOptions& o);

// The container's side of its networks, in the process that calls runtime::run: addresses
// are leased and /etc/hosts and /etc/resolv.conf written by join(); attach() wires the
// interfaces into the created init's namespace. Dropped before attach, the addresses go back.
class ContainerNetworks {
 public:
  ContainerNetworks(const Env& env, const Meta& meta, const std::string& hostname);
  ~ContainerNetworks();
  // Writes the resolv.conf the spec binds (beside hosts). A no-op without hull networks.
  void join(const std::string& hosts_file, const std::string& resolv_file);
  void attach(int pid, uint64_t start_time);

 private:
  std::string state_dir_, id_, name_, hostname_;
  NetworkOptions opts_;
  std::unique_ptr<net::Reservation> reservation_;
};

// `hull update --net-rate RATE|none [--net-burst SIZE]`: live on a running container, and
// kept for its next start.
void update_net_rate(const Env& env, const std::string& ref, const std::string& rate,
                     const std::string& burst);

// One of a container's interfaces on a hull network, with its counters as the container
// sees them (zero when it does not run).
struct NetInterface {
  std::string network, ifname, host_link, address, gateway, mac, rate;
  std::vector<std::string> ports;
  uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
};
std::vector<NetInterface> container_networks(const Env& env, const std::string& id, int pid,
                                             uint64_t start_time);

// Gives back the container's addresses and deletes its interfaces; errors are logged.
void leave_networks(const Env& env, const Meta& meta);

}  // namespace hull::frontend
