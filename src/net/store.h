// Networks on disk, under BASE/networks (BASE: $HULL_STATE or /var/lib/hull):
//   .lock                 flock: shared while containers attach, exclusive to create or remove
//                         networks and change rules (those rebuild the nftables table)
//   NAME.json             the definition (written atomically)
//   NAME/                 flock on the directory: the IPAM lock of that network
//   NAME/leases/A.B.C.D   one file per address in use, made with O_EXCL (the claim itself)
//   NAME/free/A.B.C.D     released addresses, reused once the cursor has passed the end
//   NAME/next             the IPAM cursor: the next never-used address
//   NAME/resolv.conf
//   .containers/ID/NAME.net  the address container ID holds on network NAME (an index, so a
//                         container's leases are found without scanning)
//   .containers/ID/hosts  its /etc/hosts, bind-mounted into the container
// Every file is replaced atomically or created exclusively, so a hull killed at any point
// leaves leases that name their owner; a lease whose owner process is gone is stale and is
// reclaimed by the next sweep (ipam.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/addr.h"
#include "util/fd.h"

namespace hull::net {

// An allow or deny rule of a network. from/to: a container name or alias, an address or a
// subnet. proto: "" (any), "tcp", "udp" or "icmp"; port only with tcp/udp.
struct Rule {
  int id = 0;
  bool allow = true;
  std::string from, to, proto;
  uint16_t port = 0;
  bool same_flow(const Rule& o) const {
    return from == o.from && to == o.to && proto == o.proto && port == o.port;
  }
};

struct Network {
  std::string name;
  int id = 0;  // bridge "hull<id>"; 0 is the default network's
  std::string bridge;
  Subnet subnet;
  Ipv4 gateway;
  bool isolated = false;  // no container-to-container traffic unless allowed
  bool internal = false;  // no route beyond the bridge
  std::string created;
  std::vector<Rule> rules;
  int next_rule = 1;
};

struct Port {
  Ipv4 host_ip{0x7f000001};
  uint16_t host_port = 0, container_port = 0;
  std::string proto = "tcp";
  std::string str() const;
};

struct Lease {
  Ipv4 ip;
  std::string container;  // the id: what the container's index and cleanup go by
  std::string name;       // what peers call it (/etc/hosts, rules); empty = the id
  std::vector<std::string> aliases;
  std::string ifname;  // inside the container: eth0, eth1, ...
  // The owner: hull itself while it sets the container up, then the container's init.
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string boot_id;
  bool attached = false;
  std::vector<Port> ports;
  uint64_t rate = 0;  // bytes/s each way; 0 = not shaped
  uint32_t burst = 0;
  bool default_route = false;
  std::string hosts_file;  // the container's /etc/hosts (bind-mounted), kept current

  const std::string& display_name() const { return name.empty() ? container : name; }
  // Its name first, then its aliases: the names /etc/hosts gives its address.
  std::vector<std::string> host_names() const;
  bool answers_to(const std::string& n) const;
};

// Host-side names, derived from the lease so that a reclaim finds them: "hv<id>-<n>" for
// the veth end on the bridge, "hs<id>-<n>" for the ifb that shapes container egress, where
// n is the address's offset in the subnet (unique while the lease exists).
std::string host_link(const Network& net, Ipv4 ip);
std::string ifb_link(const Network& net, Ipv4 ip);

void validate_network_name(const std::string& name);

// The definition as NAME.json holds it (and `hull network inspect` shows it).
nlohmann::json network_to_json(const Network& net);

class Store {
 public:
  explicit Store(const std::string& base);  // BASE; networks live in BASE/networks
  const std::string& dir() const { return dir_; }

  Fd lock_all(bool exclusive);
  // Locks the network's directory; nullopt-like invalid Fd when the network is gone.
  Fd lock_network(const std::string& name);

  std::optional<Network> load(const std::string& name);
  std::vector<Network> list();
  void save(const Network& net);  // creates NAME/ on first save
  void remove(const std::string& name);

  std::optional<Lease> read_lease(const std::string& net, Ipv4 ip);
  // Creates the lease file exclusively: false when the address is taken.
  bool create_lease(const std::string& net, const Lease& lease);
  void write_lease(const std::string& net, const Lease& lease);
  // Removes temporary files a killed hull left in the network's directories.
  void remove_stale_temp_files(const std::string& net);
  // Marks the address free first, then drops the lease: a crash in between leaves both,
  // and the allocator treats a free mark beside a live lease as stale.
  void release_lease(const std::string& net, Ipv4 ip);
  std::vector<Lease> leases(const std::string& net);
  // O(1): one directory entry of NAME/free, removed; nullopt when empty.
  std::optional<Ipv4> pop_free(const std::string& net);
  void unmark_free(const std::string& net, Ipv4 ip);
  uint32_t cursor(const std::string& net, uint32_t initial);
  void set_cursor(const std::string& net, uint32_t value);

  std::string container_dir(const std::string& container) const;
  void index_add(const std::string& container, const std::string& net, Ipv4 ip);
  void index_remove(const std::string& container, const std::string& net, Ipv4 ip);
  std::map<std::string, Ipv4> index(const std::string& container);
  // Removes .containers/ID when it holds no network any more.
  void drop_container_dir_if_unused(const std::string& container);

 private:
  std::string net_dir(const std::string& net) const;
  std::string dir_;
};

}  // namespace hull::net
