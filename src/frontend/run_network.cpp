#include "frontend/run_network.h"

#include <algorithm>

#include "frontend/docker_values.h"
#include "frontend/store.h"
#include "net/network.h"
#include "net/options.h"
#include "net/shaping.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

bool special(const std::string& n) {
  return n == "none" || n == "host";
}

bool bridged(const NetworkOptions& o) {
  return !o.networks.empty() && !special(o.networks[0]);
}

}  // namespace

NetMode check_network_options(const NetworkOptions& o) {
  NetMode mode = NetMode::none;
  if (o.networks.size() == 1 && o.networks[0] == "host") mode = NetMode::host;
  if (!o.networks.empty() && !special(o.networks[0])) mode = NetMode::bridge;
  for (const auto& n : o.networks) {
    if (special(n) && o.networks.size() > 1)
      fail("--network {}: cannot be combined with other networks", n);
    if (!special(n))
      with_context(fmt::format("--network {}", quote(n)), [&] { net::validate_network_name(n); });
  }
  if (mode != NetMode::bridge) {
    const char* flag = !o.ip.empty()        ? "--ip"
                       : !o.aliases.empty() ? "--network-alias"
                       : !o.publish.empty() ? "-p"
                       : !o.rate.empty()    ? "--net-rate"
                       : !o.burst.empty()   ? "--net-burst"
                                            : nullptr;
    if (flag) fail("{}: needs a hull network (--network NAME), not --network none or host", flag);
    return mode;
  }
  auto seen = o.networks;
  std::sort(seen.begin(), seen.end());
  if (auto d = std::adjacent_find(seen.begin(), seen.end()); d != seen.end())
    fail("--network {}: given twice", *d);
  if (!o.ip.empty() && !net::Ipv4::parse(o.ip)) fail("--ip {}: not an IPv4 address", quote(o.ip));
  for (const auto& a : o.aliases)
    with_context(fmt::format("--network-alias {}", quote(a)),
                 [&] { net::validate_network_name(a); });
  for (const auto& p : o.publish) net::parse_publish(p);
  uint32_t burst = 0;
  parse_net_rate(o.rate, o.burst, burst);
  return mode;
}

std::string network_summary(const NetworkOptions& o) {
  return o.networks.empty() ? "none" : join(o.networks, ",");
}

ContainerNetworks::ContainerNetworks(const Env& env, const Meta& meta, const std::string& hostname)
    : state_dir_(env.state_dir),
      id_(meta.id),
      name_(meta.name),
      hostname_(hostname),
      opts_(meta.net) {}

ContainerNetworks::~ContainerNetworks() = default;

void ContainerNetworks::join(const std::string& hosts_file, const std::string& resolv_file) {
  if (check_network_options(opts_) != NetMode::bridge) return;
  for (const auto& n : opts_.networks)
    if (n != net::kDefaultNetwork &&
        !path_exists(path_join(state_dir_, fmt::format("networks/{}.json", n))))
      fail("--network {}: unknown network (hull network create {} makes it)", quote(n), n);
  net::AttachRequest req;
  req.container = id_;
  req.name = name_;
  req.hosts_file = hosts_file;
  std::vector<std::string> aliases = opts_.aliases;
  // As docker: peers reach it by its host name too.
  if (!hostname_.empty() && hostname_ != name_ &&
      std::find(aliases.begin(), aliases.end(), hostname_) == aliases.end())
    aliases.push_back(hostname_);
  for (size_t i = 0; i < opts_.networks.size(); ++i) {
    net::Endpoint ep;
    ep.network = opts_.networks[i];
    if (i == 0) ep.ip = opts_.ip;
    ep.aliases = aliases;
    req.endpoints.push_back(ep);
  }
  for (const auto& p : opts_.publish) req.ports.push_back(net::parse_publish(p));
  req.rate = parse_net_rate(opts_.rate, opts_.burst, req.burst);
  net::Networks nets(state_dir_);
  reservation_ = std::make_unique<net::Reservation>(nets.reserve(req));
  write_file(resolv_file, read_file(reservation_->resolv_path()), 0644);
}

void ContainerNetworks::attach(int pid, uint64_t start_time) {
  if (!reservation_) return;
  net::Networks(state_dir_).attach(*reservation_, pid, start_time);
}

void update_net_rate(const Env& env, const std::string& ref, const std::string& rate,
                     const std::string& burst) {
  Store store(env);
  std::string id = store.resolve(ref);
  Fd lock = store.lock(id);
  Meta m = store.load(id);
  if (!bridged(m.net)) fail("--net-rate: container {} is on no hull network", ref);
  bool off = rate == "none" || rate == "0";
  if (off && !burst.empty())
    fail("--net-burst {}: there is no rate (--net-rate none)", quote(burst));
  uint32_t burst_bytes = 0;
  uint64_t bytes = off ? 0 : parse_net_rate(rate, burst, burst_bytes);
  bool running = false;
  try {
    oci::State s = runtime::state(env.ctx(), id);
    running = s.status != oci::Status::stopped;
  } catch (const Error&) {
  }
  if (running) net::Networks(env.state_dir).set_rate(id, bytes, burst_bytes);
  m.net.rate = off ? "" : rate;
  m.net.burst = off ? "" : burst;
  store.save(m);
}

std::vector<NetInterface> container_networks(const Env& env, const std::string& id, int pid,
                                             uint64_t start_time) {
  std::vector<NetInterface> out;
  // Looking must not make the networks' state dir.
  if (!path_exists(path_join(env.state_dir, "networks/.containers/" + id))) return out;
  std::vector<net::InterfaceInfo> live;
  if (pid > 0) {
    try {
      live = net::container_interfaces(pid, start_time);
    } catch (const Error& e) {
      log::debug("interfaces of {}: {}", id, e.what());  // it stopped meanwhile
    }
  }
  for (const auto& a : net::Networks(env.state_dir).attachments(id)) {
    NetInterface& n = out.emplace_back();
    n.network = a.network;
    n.ifname = a.ifname;
    n.host_link = a.host_link;
    n.address = fmt::format("{}/{}", a.ip.str(), a.subnet.prefix);
    n.gateway = a.gateway.str();
    if (a.lease.rate) n.rate = net::format_rate(a.lease.rate);
    for (const auto& p : a.lease.ports) n.ports.push_back(p.str());
    for (const auto& i : live)
      if (i.name == a.ifname) {
        n.mac = i.mac;
        n.rx_bytes = i.stats.rx_bytes;
        n.tx_bytes = i.stats.tx_bytes;
        n.rx_packets = i.stats.rx_packets;
        n.tx_packets = i.stats.tx_packets;
      }
  }
  return out;
}

void leave_networks(const Env& env, const Meta& meta) {
  // Also those it joined later (hull network connect).
  bool joined = path_exists(path_join(env.state_dir, "networks/.containers/" + meta.id));
  if (meta.id.empty() || (!bridged(meta.net) && !joined)) return;
  try {
    net::Networks(env.state_dir).detach_all(meta.id);
  } catch (const Error& e) {
    log::warn("container {}: leave its networks: {}", meta.name, e.what());
  }
}

}  // namespace hull::frontend
