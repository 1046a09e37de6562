// Networks: create, remove, list, rules, and hull's nftables table.
#include "net/network.h"

#include <linux/ip.h>

#include <algorithm>
#include <cstdlib>

#include "net/hosts.h"
#include "net/ipam.h"
#include "net/nftables.h"
#include "net/policy.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::net {
namespace {

// Where networks without --subnet come from: /24s from 10.89.0.0 up, skipping any that
// overlap another network or a route of this host.
constexpr uint32_t kPoolFirst = (10u << 24) | (89u << 16);
constexpr uint32_t kPoolLast = (10u << 24) | (99u << 16) | (255u << 8);
const Subnet kDefaultSubnet{{(10u << 24) | (88u << 16)}, 16};

bool overlaps_any(const Subnet& s, const std::vector<Subnet>& taken) {
  return std::any_of(taken.begin(), taken.end(), [&](const Subnet& t) { return t.overlaps(s); });
}

}  // namespace

std::string default_state_dir() {
  const char* env = std::getenv("HULL_STATE");
  return env && *env ? env : "/var/lib/hull";
}

Networks::Networks(std::string state_dir) : state_dir_(std::move(state_dir)), store_(state_dir_) {}

Network Networks::load_or_fail(const std::string& name) {
  auto n = store_.load(name);
  if (!n) fail_as(ErrorKind::not_found, "network {} does not exist", name);
  return *n;
}

std::string Networks::resolv_path(const Network& net) {
  std::string path = path_join(path_join(store_.dir(), net.name), "resolv.conf");
  std::string want = resolv_content(read_file_if_exists("/etc/resolv.conf").value_or(""),
                                    net.internal, read_file_if_exists(kSystemdResolvConf));
  if (read_file_if_exists(path) != want) write_in_place(path, want);
  return path;
}

Network Networks::create(const CreateOptions& opts) {
  validate_network_name(opts.name);
  Fd lock = store_.lock_all(true);
  Netlink host;
  Network n = create_locked(opts, host);
  return n;
}

Network Networks::create_locked(const CreateOptions& opts, Netlink& host) {
  if (store_.load(opts.name))
    fail_as(ErrorKind::already_exists, "network {} already exists", opts.name);
  auto existing = store_.list();
  std::vector<Subnet> taken;
  for (const auto& e : existing) taken.push_back(e.subnet);
  std::vector<Subnet> routes = host.ipv4_routes();

  Network n;
  n.name = opts.name;
  n.isolated = opts.isolated;
  n.internal = opts.internal;
  n.created = rfc3339_now();
  if (!opts.subnet.empty()) {
    auto s = Subnet::parse(opts.subnet);
    if (!s) {
      auto iface = parse_interface_cidr(opts.subnet);
      if (iface)
        fail("--subnet {}: host bits set (did you mean {}?)", opts.subnet, iface->second.str());
      fail("--subnet {}: not an IPv4 subnet like 10.89.0.0/24", quote(opts.subnet));
    }
    if (s->prefix < 8 || s->prefix > 30)
      fail("--subnet {}: prefix must be between /8 and /30", opts.subnet);
    for (const auto& e : existing)
      if (e.subnet.overlaps(*s))
        fail("--subnet {}: overlaps network {} ({})", opts.subnet, e.name, e.subnet.str());
    for (const auto& r : routes)
      if (r.overlaps(*s))
        fail("--subnet {}: overlaps {}, a route of this host", opts.subnet, r.str());
    n.subnet = *s;
  } else if (opts.name == kDefaultNetwork && !overlaps_any(kDefaultSubnet, taken) &&
             !overlaps_any(kDefaultSubnet, routes)) {
    n.subnet = kDefaultSubnet;
  } else {
    bool found = false;
    for (uint32_t base = kPoolFirst; base <= kPoolLast && !found; base += 256) {
      Subnet s{{base}, 24};
      if (!overlaps_any(s, taken) && !overlaps_any(s, routes)) {
        n.subnet = s;
        found = true;
      }
    }
    if (!found) fail("no free subnet left in 10.89.0.0-10.99.255.0: give one with --subnet");
  }
  if (!opts.gateway.empty()) {
    auto g = Ipv4::parse(opts.gateway);
    if (!g) fail("--gateway {}: not an IPv4 address", quote(opts.gateway));
    if (!n.subnet.is_host(*g))
      fail("--gateway {}: not a host address of {}", opts.gateway, n.subnet.str());
    n.gateway = *g;
  } else {
    n.gateway = n.subnet.first_host();
  }
  if (opts.name == kDefaultNetwork) {
    n.id = 0;
  } else {
    std::vector<int> ids;
    for (const auto& e : existing) ids.push_back(e.id);
    n.id = 1;
    while (std::find(ids.begin(), ids.end(), n.id) != ids.end()) ++n.id;
    if (n.id > 9999) fail("too many networks");
  }
  n.bridge = fmt::format("hull{}", n.id);

  store_.save(n);
  ScopeGuard undo([&] {
    try {
      host.delete_link(n.bridge);
      store_.remove(n.name);
      rebuild_table();
    } catch (const Error& e) {
      log::warn("cleanup of network {}: {}", n.name, e.what());
    }
  });
  resolv_path(n);
  bring_up(n, host);
  rebuild_table();
  undo.dismiss();
  return n;
}

void Networks::bring_up(const Network& n, Netlink& host) {
  // A bridge of that name without a definition using it is a leftover of hull's own
  // (a crash between creating it and writing the definition, or a removed network).
  host.delete_link(n.bridge);
  host.create_bridge(n.bridge, needs_bridge_filtering(n));
  host.add_address(n.bridge, n.gateway, n.subnet.prefix);
  // Published ports DNAT 127.0.0.1 to containers: such packets may only leave by the
  // bridge when it routes loopback sources (the input chain keeps containers off the
  // host's loopback in return, CVE-2020-8558).
  host.set_ipv4_conf(n.bridge, IPV4_DEVCONF_ROUTE_LOCALNET, 1);
}

void Networks::rebuild_table() {
  auto nets = store_.list();
  std::map<std::string, std::vector<Lease>> leases;
  for (const auto& n : nets) {
    auto& live = leases[n.name];
    for (auto& l : store_.leases(n.name))
      if (lease_alive(l)) live.push_back(std::move(l));
  }
  Nftables::get().run(table_script(nets, leases));
}

void Networks::ensure_live(const std::vector<std::string>& names) {
  Netlink host;
  bool need = false;
  for (const auto& name : names) {
    auto n = store_.load(name);
    if (!n && name != kDefaultNetwork)
      fail_as(ErrorKind::not_found, "network {} does not exist", name);
    if (!n || !host.exists(n->bridge)) need = true;
  }
  if (!need && host.nft_inet_table_exists("hull")) return;
  // After a reboot (bridges and rules are gone, definitions are not), a crash during
  // create, or the first use of the default network.
  Fd lock = store_.lock_all(true);
  for (const auto& name : names) {
    auto n = store_.load(name);
    if (!n) {
      CreateOptions o;
      o.name = name;
      create_locked(o, host);
      log::debug("created the default network {}", name);
    } else if (!host.exists(n->bridge)) {
      bring_up(*n, host);
    }
  }
  rebuild_table();
}

void Networks::remove(const std::string& name) {
  Fd lock = store_.lock_all(true);
  Network n = load_or_fail(name);
  Netlink host;
  {
    Fd nl = store_.lock_network(name);
    auto live = sweep(n, host);
    if (!live.empty()) {
      std::vector<std::string> who;
      for (const auto& l : live) who.push_back(l.display_name());
      fail("network {} is in use by {}: disconnect them first", name, join(who, ", "));
    }
    store_.remove(name);
  }
  host.delete_link(n.bridge);
  rebuild_table();
}

std::vector<NetworkStatus> Networks::list() {
  std::vector<NetworkStatus> out;
  Netlink host;
  for (auto& n : store_.list()) {
    NetworkStatus st;
    st.bridge_present = host.exists(n.bridge);
    for (auto& l : store_.leases(n.name))
      if (lease_alive(l)) st.leases.push_back(std::move(l));
    st.def = std::move(n);
    out.push_back(std::move(st));
  }
  return out;
}

NetworkStatus Networks::inspect(const std::string& name) {
  Fd lock = store_.lock_all(false);
  NetworkStatus st;
  st.def = load_or_fail(name);
  Netlink host;
  Fd nl = store_.lock_network(name);
  st.leases = sweep(st.def, host);
  st.bridge_present = host.exists(st.def.bridge);
  return st;
}

RuleChange Networks::change_rule(const std::string& network, Rule rule) {
  for (const std::string* e : {&rule.from, &rule.to}) {
    if (e->empty()) fail("rule: empty FROM or TO");
    if (e->find('/') != std::string::npos && !Subnet::parse(*e))
      fail("rule: {} is not a subnet like 10.89.0.0/24", quote(*e));
  }
  if (rule.port && rule.proto != "tcp" && rule.proto != "udp")
    fail("rule: a port needs tcp or udp");
  if (!rule.proto.empty() && rule.proto != "tcp" && rule.proto != "udp" && rule.proto != "icmp")
    fail("rule: protocol {} is not tcp, udp or icmp", quote(rule.proto));

  Fd lock = store_.lock_all(true);
  Network n = load_or_fail(network);
  RuleChange change;
  auto opposite = std::find_if(n.rules.begin(), n.rules.end(), [&](const Rule& r) {
    return r.allow != rule.allow && r.same_flow(rule);
  });
  auto same = std::find_if(n.rules.begin(), n.rules.end(), [&](const Rule& r) {
    return r.allow == rule.allow && r.same_flow(rule);
  });
  if (opposite != n.rules.end()) {
    change.rule = *opposite;
    n.rules.erase(opposite);
  } else if (same != n.rules.end()) {
    change.rule = *same;
    return change;  // already so
  } else {
    rule.id = n.next_rule++;
    n.rules.push_back(rule);
    change.added = true;
    change.rule = rule;
  }
  store_.save(n);
  Netlink host;
  if (host.exists(n.bridge)) host.set_bridge_nf_call(n.bridge, needs_bridge_filtering(n));
  rebuild_table();
  return change;
}

std::vector<InterfaceInfo> container_interfaces(pid_t pid, uint64_t start_time) {
  Fd ns = open_netns_of(pid, start_time);
  Netlink inside(ns.get());
  return inside.interfaces();
}

}  // namespace hull::net
