// `hull network ...`: create, ls, inspect, rm, connect, disconnect, allow, deny, rules, shape.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/friendly.h"
#include "frontend/docker_values.h"
#include "frontend/store.h"

#include "net/network.h"
#include "net/options.h"
#include "net/shaping.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::cli {
namespace {

using json = nlohmann::json;

// The interface's MAC and counters as seen inside the container (its init owns the lease
// once attached); nothing when the container went away meanwhile.
void add_counters(json& c, const net::Lease& l) {
  std::vector<net::InterfaceInfo> ifs;
  try {
    ifs = net::container_interfaces(l.pid, l.start_time);
  } catch (const Error&) {
    return;
  }
  for (const auto& i : ifs)
    if (i.name == l.ifname) {
      c["mac"] = i.mac;
      c["rx_bytes"] = i.stats.rx_bytes;
      c["tx_bytes"] = i.stats.tx_bytes;
      c["rx_packets"] = i.stats.rx_packets;
      c["tx_packets"] = i.stats.tx_packets;
    }
}

json network_json(const net::NetworkStatus& st) {
  const net::Network& n = st.def;
  json containers = json::array();
  for (const auto& l : st.leases) {
    json ports = json::array();
    for (const auto& p : l.ports) ports.push_back(p.str());
    json c = {{"name", l.display_name()},
              {"id", l.container},
              {"address", fmt::format("{}/{}", l.ip.str(), n.subnet.prefix)},
              {"interface", l.ifname},
              {"host_interface", net::host_link(n, l.ip)},
              {"aliases", l.aliases},
              {"attached", l.attached},
              {"ports", ports}};
    if (l.rate) c["rate"] = net::format_rate(l.rate);
    if (l.attached) add_counters(c, l);
    containers.push_back(c);
  }
  json j = net::network_to_json(n);
  j.erase("next_rule");
  j["bridge_present"] = st.bridge_present;
  j["containers"] = containers;
  return j;
}

// The container's init, which must be alive to join or leave a network.
oci::State running_container(const runtime::Context& ctx, const std::string& id) {
  oci::State s = runtime::state(ctx, id);
  if (s.status != oci::Status::running && s.status != oci::Status::created &&
      s.status != oci::Status::paused)
    fail("container {} is {}: it must be running", id, oci::status_name(s.status));
  return s;
}

// A container by friendly name or id prefix (its /etc/hosts is the friendly face's), else an
// OCI container's id as given.
struct Target {
  std::string id, name, hosts_file;
};

Target target(const FriendlyEnv& env, const std::string& ref) {
  frontend::Store store(env.env);
  try {
    std::string id = store.resolve(ref);
    return {id, store.load(id).name, store.dir(id) + "/hosts"};
  } catch (const Error& e) {
    if (!e.is(ErrorKind::not_found)) throw;  // an ambiguous id prefix says so
    return {ref, "", ""};
  }
}

// `network create NAME`: a bridge with a subnet.
void add_network_create(CLI::App* network, FriendlyEnv& env) {
  static net::CreateOptions create;
  auto* c = network->add_subcommand("create", "create a network (a bridge with a subnet)");
  c->add_option("name", create.name, "network name")->required();
  c->add_option("--subnet", create.subnet, "IPv4 subnet, e.g. 10.89.5.0/24 (default: a free /24)");
  c->add_option("--gateway", create.gateway,
                "the host's address on the bridge (default: the first)");
  c->add_flag("--isolated", create.isolated, "containers cannot reach each other unless allowed");
  c->add_flag("--internal", create.internal, "no route beyond the bridge");
  env.add(c, [] {
    net::Network n = net::Networks().create(create);
    std::printf("%s\n", n.name.c_str());
    return 0;
  });
}

// `network ls`: one line per network.
void add_network_ls(CLI::App* network, FriendlyEnv& env) {
  static bool quiet = false;
  auto* ls = network->add_subcommand("ls", "list networks");
  ls->alias("list");
  ls->add_flag("-q,--quiet", quiet, "names only");
  env.add(ls, [] {
    auto all = net::Networks().list();
    if (quiet) {
      for (const auto& st : all) std::printf("%s\n", st.def.name.c_str());
      return 0;
    }
    std::printf("%-16s %-9s %-18s %-15s %-10s %s\n", "NAME", "BRIDGE", "SUBNET", "GATEWAY",
                "CONTAINERS", "OPTIONS");
    for (const auto& st : all) {
      std::vector<std::string> flags;
      if (st.def.isolated) flags.push_back("isolated");
      if (st.def.internal) flags.push_back("internal");
      if (!st.def.rules.empty()) flags.push_back(fmt::format("{} rules", st.def.rules.size()));
      if (!st.bridge_present) flags.push_back("down");
      std::printf("%-16s %-9s %-18s %-15s %-10zu %s\n", st.def.name.c_str(), st.def.bridge.c_str(),
                  st.def.subnet.str().c_str(), st.def.gateway.str().c_str(), st.leases.size(),
                  join(flags, ",").c_str());
    }
    return 0;
  });
}

// `network inspect NAME...`: JSON, with each container's address and counters.
void add_network_inspect(CLI::App* network, FriendlyEnv& env) {
  static std::vector<std::string> names;
  auto* inspect = network->add_subcommand("inspect", "show networks as JSON");
  inspect->add_option("name", names, "network names")->required();
  env.add(inspect, [] {
    net::Networks nets;
    json out = json::array();
    for (const auto& n : names) out.push_back(network_json(nets.inspect(n)));
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  });
}

// `network rm NAME...`: only networks no container is on.
void add_network_rm(CLI::App* network, FriendlyEnv& env) {
  static std::vector<std::string> rm_names;
  auto* rm = network->add_subcommand("rm", "remove networks (no container may be on them)");
  rm->alias("remove");
  rm->add_option("name", rm_names, "network names")->required();
  env.add(rm, [] {
    net::Networks nets;
    for (const auto& n : rm_names) {
      nets.remove(n);
      std::printf("%s\n", n.c_str());
    }
    return 0;
  });
}

// `network connect NET CONTAINER`: attach a running container.
void add_network_connect(CLI::App* network, FriendlyEnv& env) {
  static std::string conn_net, conn_container, conn_rate, conn_burst;
  static std::vector<std::string> conn_ports;
  static net::Endpoint ep;
  auto* conn = network->add_subcommand("connect", "attach a running container to a network");
  conn->add_option("network", conn_net, "network")->required();
  conn->add_option("container", conn_container, "container")->required();
  conn->add_option("--ip", ep.ip, "address on the network (default: any free one)");
  conn->add_option("--alias", ep.aliases, "another name for the container on this network");
  conn->add_option("-p,--publish", conn_ports,
                   "publish a port: [HOST_IP:]HOST_PORT:PORT[/tcp|udp]");
  conn->add_option("--net-rate", conn_rate, "shape this interface each way, e.g. 10mbit");
  conn->add_option("--net-burst", conn_burst, "token bucket size, e.g. 32k");
  env.add(conn, [&env] {
    Target t = target(env, conn_container);
    net::AttachRequest req;
    req.container = t.id;
    req.name = t.name;
    req.hosts_file = t.hosts_file;
    ep.network = conn_net;
    req.endpoints = {ep};
    for (const auto& p : conn_ports) req.ports.push_back(net::parse_publish(p));
    req.rate = frontend::parse_net_rate(conn_rate, conn_burst, req.burst);
    oci::State s = running_container(env.env.ctx(), t.id);
    auto a = net::Networks().connect(req, s.pid, s.pid_start_time);
    std::printf("%s %s/%d\n", a.ifname.c_str(), a.ip.str().c_str(), a.subnet.prefix);
    return 0;
  });
}

// `network disconnect NET CONTAINER`.
void add_network_disconnect(CLI::App* network, FriendlyEnv& env) {
  static std::string disc_net, disc_container;
  auto* disc = network->add_subcommand("disconnect", "detach a container from a network");
  disc->add_option("network", disc_net, "network")->required();
  disc->add_option("container", disc_container, "container")->required();
  env.add(disc, [&env] {
    net::Networks().disconnect(disc_net, target(env, disc_container).id);
    return 0;
  });
}

// `network shape CONTAINER RATE`: a container's rate on all its networks, live.
void add_network_shape(CLI::App* network, FriendlyEnv& env) {
  static std::string shape_container, shape_rate, shape_burst;
  auto* shape = network->add_subcommand(
      "shape",
      "change a container's rate on all its networks live (what hull update --net-rate does)");
  shape->add_option("container", shape_container, "container")->required();
  shape->add_option("rate", shape_rate, "each way, e.g. 10mbit; none removes the shaping")
      ->required();
  shape->add_option("--net-burst", shape_burst, "token bucket size, e.g. 32k");
  env.add(shape, [&env] {
    uint32_t burst = 0;
    uint64_t rate = 0;
    if (shape_rate != "none") {
      rate = net::parse_rate(shape_rate).value_or(0);
      if (!rate)
        fail("rate {}: expected a rate like 10mbit, 512kbit or 1gbit, or none", quote(shape_rate));
      frontend::parse_net_rate(shape_rate, shape_burst, burst);
    } else if (!shape_burst.empty()) {
      fail("--net-burst {}: there is no rate to burst above (rate none)", quote(shape_burst));
    }
    net::Networks().set_rate(target(env, shape_container).id, rate, burst);
    std::printf("%s %s\n", shape_container.c_str(), rate ? net::format_rate(rate).c_str() : "none");
    return 0;
  });
}

// `network allow|deny NET FROM TO [PROTO]`: add a rule, or undo its opposite.
void add_network_allow_deny(CLI::App* network, FriendlyEnv& env) {
  for (bool allow : {true, false}) {
    struct Args {
      std::string net, from, to, proto;
    };
    static Args args[2];
    Args& a = args[allow ? 0 : 1];
    auto* r = network->add_subcommand(
        allow ? "allow" : "deny",
        allow ? "allow traffic FROM -> TO (containers, addresses or subnets)"
              : "deny traffic FROM -> TO (or undo an allow)");
    r->add_option("network", a.net, "network")->required();
    r->add_option("from", a.from, "container name or alias, address, or subnet")->required();
    r->add_option("to", a.to, "container name or alias, address, or subnet")->required();
    r->add_option("proto", a.proto, "tcp, udp or icmp, with /PORT for tcp and udp (default: all)");
    env.add(r, [&a, allow] {
      net::Rule rule;
      rule.allow = allow;
      rule.from = a.from;
      rule.to = a.to;
      net::parse_rule_proto(a.proto, rule);
      auto change = net::Networks().change_rule(a.net, rule);
      std::printf("%s rule %d: %s\n", change.added ? "added" : "removed", change.rule.id,
                  net::describe_rule(change.rule).c_str());
      return 0;
    });
  }
}

// `network rules NET`: a network's rules, denies first.
void add_network_rules(CLI::App* network, FriendlyEnv& env) {
  static std::string rules_net;
  auto* rules = network->add_subcommand("rules", "list a network's allow and deny rules");
  rules->add_option("network", rules_net, "network")->required();
  env.add(rules, [] {
    auto st = net::Networks().inspect(rules_net);
    const auto& n = st.def;
    std::printf("%-4s %s\n", "ID", "RULE");
    for (bool allow : {false, true})
      for (const auto& r : n.rules)
        if (r.allow == allow) std::printf("%-4d %s\n", r.id, net::describe_rule(r).c_str());
    std::printf("     default: %s\n",
                n.isolated ? "deny between containers (isolated)" : "allow between containers");
    return 0;
  });
}

}  // namespace

// The network verbs, one registrar each (above).
void register_network(CLI::App& app, FriendlyEnv& env) {
  auto* network = app.add_subcommand("network", "container networks: bridges, addresses, rules");
  network->require_subcommand(1);
  add_network_create(network, env);
  add_network_ls(network, env);
  add_network_inspect(network, env);
  add_network_rm(network, env);
  add_network_connect(network, env);
  add_network_disconnect(network, env);
  add_network_shape(network, env);
  add_network_allow_deny(network, env);
  add_network_rules(network, env);
}

}  // namespace hull::cli
