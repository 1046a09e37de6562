// Containers joining and leaving networks: leases, veths, addresses, routes, shaping,
// ports, /etc/hosts.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "net/hosts.h"
#include "net/ipam.h"
#include "net/network.h"
#include "net/nftables.h"
#include "net/policy.h"
#include "net/shaping.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::net {
namespace {

// A published port must not shadow a service of the host: DNAT would silently steal its
// traffic. Binding it for a moment tells whether someone listens there.
void check_port_free(const Port& p) {
  bool tcp = p.proto == "tcp";
  Fd s(::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!s) fail_errno("socket");
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(p.host_port);
  a.sin_addr.s_addr = p.host_ip.network_order();
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return;
  if (errno == EADDRINUSE) fail("-p {}: port {} is in use on this host", p.str(), p.host_port);
  if (errno == EADDRNOTAVAIL)
    fail("-p {}: {} is not an address of this host", p.str(), p.host_ip.str());
  fail_errno("-p {}: bind", p.str());
}

void disable_ipv6_for_new_links(int netns_fd) {
  // hull's networks are IPv4: without this, eth0 would get an IPv6 link-local address and
  // containers could talk past the IPv4 rules. New links only: lo keeps ::1.
  in_netns(netns_fd, [] {
    Fd fd(::open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC));
    if (fd) write_all(fd.get(), "1", "disable_ipv6");
  });
}

std::vector<std::string> all_elements(const std::vector<std::pair<Network, Lease>>& items) {
  std::vector<std::string> out;
  for (const auto& [n, l] : items)
    for (auto& e : lease_elements(n, l)) out.push_back(std::move(e));
  return out;
}

}  // namespace

Reservation::Reservation(Reservation&& o) noexcept
    : state_dir_(std::move(o.state_dir_)),
      container_(std::move(o.container_)),
      hosts_path_(std::move(o.hosts_path_)),
      resolv_path_(std::move(o.resolv_path_)),
      attachments_(std::move(o.attachments_)),
      done_(std::exchange(o.done_, true)) {}

Reservation::~Reservation() {
  try {
    release();
  } catch (const Error& e) {
    log::warn("release addresses of {}: {}", container_, e.what());
  }
}

void Reservation::release() {
  if (done_) return;
  done_ = true;
  Networks(state_dir_).detach_all(container_);
}

void Networks::check_ports(const AttachRequest& req) {
  for (size_t i = 0; i < req.ports.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (req.ports[i].host_ip == req.ports[j].host_ip &&
          req.ports[i].host_port == req.ports[j].host_port &&
          req.ports[i].proto == req.ports[j].proto)
        fail("-p {}: given twice", req.ports[i].str());
  // Published ports are one map for the whole host: look through every network's leases
  // (only when publishing, and only to name the holder in the error).
  for (const auto& n : store_.list())
    for (const auto& l : store_.leases(n.name)) {
      if (l.container == req.container || !lease_alive(l)) continue;
      for (const auto& held : l.ports)
        for (const auto& p : req.ports)
          if (held.host_ip == p.host_ip && held.host_port == p.host_port && held.proto == p.proto)
            fail("-p {}: {}:{}/{} is published by container {}", p.str(), p.host_ip.str(),
                 p.host_port, p.proto, l.container);
    }
  for (const auto& p : req.ports) check_port_free(p);
}

Reservation Networks::reserve(const AttachRequest& req) {
  if (req.endpoints.empty()) fail("no network to attach {} to", req.container);
  std::vector<std::string> names;
  for (const auto& ep : req.endpoints) {
    std::string name = ep.network.empty() ? kDefaultNetwork : ep.network;
    if (std::find(names.begin(), names.end(), name) != names.end())
      fail("--network {} given twice", name);
    names.push_back(name);
  }
  ensure_live(names);
  if (!req.ports.empty()) check_ports(req);
  log::step("net: networks live");

  Reservation r;
  r.state_dir_ = state_dir_;
  r.container_ = req.container;
  r.done_ = false;  // from here on, the destructor gives back what was taken
  Fd lock = store_.lock_all(false);
  Netlink host;
  bool route_taken = false;
  r.hosts_path_ = req.hosts_file.empty() ? path_join(store_.container_dir(req.container), "hosts")
                                         : req.hosts_file;
  for (size_t i = 0; i < req.endpoints.size(); ++i) {
    const Endpoint& ep = req.endpoints[i];
    Network n = load_or_fail(names[i]);
    Lease l;
    l.container = req.container;
    l.name = req.name;
    l.aliases = ep.aliases;
    l.ifname = fmt::format("eth{}", i);
    own_lease(l);
    if (i == 0) l.ports = req.ports;
    l.rate = req.rate;
    l.burst = req.burst;
    l.default_route = !n.internal && !route_taken;
    l.hosts_file = r.hosts_path_;
    route_taken = route_taken || l.default_route;
    if (!ep.ip.empty()) {
      auto ip = Ipv4::parse(ep.ip);
      if (!ip) fail("--ip {}: not an IPv4 address", quote(ep.ip));
      l.ip = *ip;
    }
    Fd nl = store_.lock_network(n.name);
    if (!nl) fail_as(ErrorKind::not_found, "network {} does not exist", n.name);
    allocate(store_, n, l, [&](const Lease& stale) { reclaim(n, stale, host); });
    store_.index_add(req.container, n.name, l.ip);
    r.attachments_.push_back({n.name, l.ip, n.subnet, n.gateway, l.ifname, host_link(n, l.ip), l});
    if (i == 0) r.resolv_path_ = resolv_path(n);
  }
  // The container's own /etc/hosts now, so that it can be bind-mounted; its peers learn
  // of it once it is attached.
  std::map<std::string, std::vector<Lease>> members;
  auto entries = hosts_entries(req.container, members);
  write_in_place(r.hosts_path_, hosts_content(entries));
  log::step("net: addresses leased");
  return r;
}

void Networks::attach(Reservation& r, pid_t pid, uint64_t start_time) {
  Fd ns = open_netns_of(pid, start_time);
  Netlink host;
  disable_ipv6_for_new_links(ns.get());
  Netlink inside(ns.get());
  inside.set_up("lo");
  log::step("net: namespace open");

  Fd lock = store_.lock_all(false);
  std::vector<std::string> made;
  std::vector<std::pair<Network, Lease>> wired;
  ScopeGuard undo([&] {
    for (const auto& link : made) {
      try {
        host.delete_link(link);
      } catch (const Error& e) {
        log::warn("cleanup: {}", e.what());
      }
    }
  });
  for (auto& a : r.attachments_) {
    Network n = load_or_fail(a.network);
    int bridge = host.index(n.bridge);
    if (bridge == 0) fail("network {}: bridge {} is gone", n.name, n.bridge);
    std::string ifb = ifb_link(n, a.ip);
    // Left by a stale lease of the same address whose namespace is still being torn
    // down (hull never waits for that).
    host.delete_link(a.host_link);
    host.delete_link(ifb);
    host.create_veth(a.host_link, bridge, a.ifname, ns.get());
    made.push_back(a.host_link);
    inside.add_address(a.ifname, a.ip, n.subnet.prefix);
    inside.set_up(a.ifname);
    if (a.lease.default_route) inside.add_default_route(a.ifname, n.gateway);
    if (a.lease.rate) {
      made.push_back(ifb);
      apply_shaping(host, a.host_link, ifb, a.lease.rate, a.lease.burst);
    }
    wired.emplace_back(n, a.lease);
    log::step("net: interface wired");
  }
  auto elements = all_elements(wired);
  if (!elements.empty()) {
    try {
      Nftables::get().run(join(elements, "\n"));
    } catch (Error& e) {
      if (e.is(ErrorKind::already_exists))
        e.add_context("a published port is taken by another container");
      throw;
    }
  }
  ScopeGuard undo_elements([&] {
    if (!elements.empty()) Nftables::get().try_run(remove_elements_script(elements));
  });
  for (auto& [n, l] : wired) {
    Fd nl = store_.lock_network(n.name);
    auto held = store_.read_lease(n.name, l.ip);
    if (!held || held->container != r.container_)
      fail("network {}: the lease of {} for {} was lost", n.name, l.ip.str(), r.container_);
    l.pid = pid;
    l.start_time = start_time;
    l.attached = true;
    store_.write_lease(n.name, l);
    refresh_hosts(n, sweep(n, host));
  }
  undo_elements.dismiss();
  undo.dismiss();
  r.done_ = true;
  log::step("net: attached");
}

Attachment Networks::connect(const AttachRequest& request, pid_t pid, uint64_t start_time) {
  if (request.endpoints.size() != 1) fail("connect: one network at a time");
  const std::string& container = request.container;
  std::string name =
      request.endpoints[0].network.empty() ? kDefaultNetwork : request.endpoints[0].network;
  auto current = store_.index(container);
  if (current.count(name)) fail("container {} is already on network {}", container, name);
  std::set<std::string> used;
  for (const auto& i : container_interfaces(pid, start_time)) used.insert(i.name);
  int k = 0;
  while (used.count(fmt::format("eth{}", k))) ++k;

  AttachRequest req = request;
  req.endpoints[0].network = name;
  // Keep writing the /etc/hosts the container already has (from hull run or an earlier
  // connect), so the new peers show up in it.
  for (const auto& a : attachments(container))
    if (req.hosts_file.empty()) req.hosts_file = a.lease.hosts_file;
  Reservation r = reserve(req);
  // The reservation named the interface eth0 and gave it the default route as if this
  // were the container's first network; it is not necessarily.
  auto& a = r.attachments_[0];
  a.ifname = a.lease.ifname = fmt::format("eth{}", k);
  a.lease.default_route = a.lease.default_route && current.empty();
  {
    Fd nl = store_.lock_network(name);
    store_.write_lease(name, a.lease);
  }
  attach(r, pid, start_time);
  return r.attachments_[0];
}

void Networks::teardown(const Network& n, const Lease& l, Netlink& host) {
  // Deleting the host end deletes the pair; the ifb and nftables elements are separate.
  host.delete_link(ifb_link(n, l.ip));
  host.delete_link(host_link(n, l.ip));
  auto elements = lease_elements(n, l);
  if (!elements.empty() && host.nft_inet_table_exists("hull"))
    Nftables::get().try_run(remove_elements_script(elements));
}

void Networks::reclaim(const Network& n, const Lease& l, Netlink& host) {
  log::debug("network {}: reclaiming {} of {} (owner {} is gone)", n.name, l.ip.str(), l.container,
             l.pid);
  teardown(n, l, host);
  if (!l.container.empty()) {
    store_.index_remove(l.container, n.name, l.ip);
    store_.drop_container_dir_if_unused(l.container);
  }
}

std::vector<Lease> Networks::sweep(const Network& n, Netlink& host) {
  store_.remove_stale_temp_files(n.name);
  std::vector<Lease> live;
  for (auto& l : store_.leases(n.name)) {
    if (lease_alive(l)) {
      live.push_back(std::move(l));
      continue;
    }
    reclaim(n, l, host);
    store_.release_lease(n.name, l.ip);
  }
  return live;
}

std::vector<HostEntry> Networks::hosts_entries(const std::string& container,
                                               std::map<std::string, std::vector<Lease>>& members) {
  std::vector<HostEntry> own, peers;
  for (const auto& [net, ip] : store_.index(container)) {
    auto it = members.find(net);
    if (it == members.end()) {
      std::vector<Lease> live;
      for (auto& l : store_.leases(net))
        if (lease_alive(l)) live.push_back(std::move(l));
      it = members.emplace(net, std::move(live)).first;
    }
    for (const auto& l : it->second)
      (l.container == container ? own : peers).push_back({l.ip, l.host_names()});
  }
  own.insert(own.end(), peers.begin(), peers.end());
  return own;
}

void Networks::refresh_hosts(const Network& n, const std::vector<Lease>& live) {
  std::map<std::string, std::vector<Lease>> members = {{n.name, live}};
  for (const auto& m : live) {
    // Only where the file's directory still exists: a container being removed may have
    // taken it already, and hull never recreates a directory of someone else's.
    if (m.hosts_file.empty() || !path_exists(dirname_of(m.hosts_file))) continue;
    write_in_place(m.hosts_file, hosts_content(hosts_entries(m.container, members)));
  }
}

void Networks::disconnect(const std::string& network, const std::string& container) {
  Fd lock = store_.lock_all(false);
  Network n = load_or_fail(network);
  auto index = store_.index(container);
  auto it = index.find(network);
  if (it == index.end()) fail("container {} is not on network {}", container, network);
  Netlink host;
  Fd nl = store_.lock_network(network);
  auto l = store_.read_lease(network, it->second);
  if (l && l->container == container) {
    teardown(n, *l, host);
    store_.release_lease(network, l->ip);
  }
  store_.index_remove(container, network, it->second);
  refresh_hosts(n, sweep(n, host));
  store_.drop_container_dir_if_unused(container);
}

void Networks::detach_all(const std::string& container) {
  auto index = store_.index(container);
  if (index.empty()) {
    store_.drop_container_dir_if_unused(container);
    return;
  }
  Fd lock = store_.lock_all(false);
  Netlink host;
  for (const auto& [network, ip] : index) {
    auto n = store_.load(network);
    if (!n) {
      store_.index_remove(container, network, ip);
      continue;
    }
    Fd nl = store_.lock_network(network);
    auto l = store_.read_lease(network, ip);
    if (l && l->container == container) {
      teardown(*n, *l, host);
      store_.release_lease(network, ip);
    }
    store_.index_remove(container, network, ip);
    refresh_hosts(*n, sweep(*n, host));
  }
  store_.drop_container_dir_if_unused(container);
}

void Networks::set_rate(const std::string& container, uint64_t rate, uint32_t burst) {
  auto index = store_.index(container);
  if (index.empty()) fail("container {} is on no hull network", container);
  Fd lock = store_.lock_all(false);
  Netlink host;
  for (const auto& [network, ip] : index) {
    Network n = load_or_fail(network);
    Fd nl = store_.lock_network(network);
    auto l = store_.read_lease(network, ip);
    if (!l || l->container != container || !l->attached) continue;
    if (rate)
      apply_shaping(host, host_link(n, ip), ifb_link(n, ip), rate, burst);
    else
      remove_shaping(host, host_link(n, ip), ifb_link(n, ip));
    l->rate = rate;
    l->burst = burst;
    store_.write_lease(network, *l);
  }
}

std::vector<Attachment> Networks::attachments(const std::string& container) {
  std::vector<Attachment> out;
  for (const auto& [network, ip] : store_.index(container)) {
    auto n = store_.load(network);
    if (!n) continue;
    auto l = store_.read_lease(network, ip);
    if (!l || l->container != container) continue;
    out.push_back({n->name, ip, n->subnet, n->gateway, l->ifname, host_link(*n, ip), *l});
  }
  return out;
}

}  // namespace hull::net
