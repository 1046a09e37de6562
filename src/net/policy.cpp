#include "net/policy.h"

#include <fmt/format.h>

#include <set>

#include "util/strings.h"

namespace hull::net {
namespace {

std::string set_name(const Network& net, const Rule& r, bool source) {
  return fmt::format("n{}_r{}_{}", net.id, r.id, source ? 's' : 'd');
}

std::string port_element(const Lease& l, const Port& p) {
  return fmt::format("{} . {} . {} : {} . {}", p.host_ip.str(), p.proto, p.host_port, l.ip.str(),
                     p.container_port);
}

std::string rule_match(const Network& net, const Rule& r) {
  std::string m = fmt::format("oifname \"{}\" ip saddr {} ip daddr {}", net.bridge,
                              rule_endpoint(net, r, true), rule_endpoint(net, r, false));
  if (r.proto == "icmp")
    m += " meta l4proto icmp";
  else if (!r.proto.empty() && r.port)
    m += fmt::format(" {} dport {}", r.proto, r.port);
  else if (!r.proto.empty())
    m += fmt::format(" meta l4proto {}", r.proto);
  return m;
}

void network_chains(std::string& out, const Network& n, const std::vector<Network>& all) {
  std::string br = fmt::format("\"{}\"", n.bridge);
  out += fmt::format("  chain fwd_{} {{\n", n.id);
  out += fmt::format("    oifname {} ct state established,related accept\n", br);
  for (bool allow : {false, true})
    for (const auto& r : n.rules)
      if (r.allow == allow)
        out += fmt::format("    {} {}\n", rule_match(n, r), allow ? "accept" : "drop");
  out += fmt::format("    oifname {} {}\n", br, n.isolated ? "drop" : "accept");
  if (all.size() > 1) out += "    oifname @bridges drop\n";
  out += n.internal ? "    drop\n" : "    accept\n";
  out += "  }\n";

  out += fmt::format("  chain out_{} {{\n", n.id);
  if (!n.internal) out += "    ct state established,related accept\n    ct status dnat accept\n";
  out += "    drop\n  }\n";

  out += fmt::format("  chain in_{} {{\n", n.id);
  if (n.internal)
    out += fmt::format("    ip daddr != {} drop\n", n.gateway.str());
  else if (all.size() > 1)
    out += fmt::format("    ip daddr != {} ip daddr @gateways drop\n", n.gateway.str());
  out += "  }\n";
}

std::string elements(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  return fmt::format(" elements = {{ {} }};", join(items, ", "));
}

}  // namespace

bool is_name(const std::string& e) {
  return !parse_interface_cidr(e) && !Ipv4::parse(e);
}

std::string rule_endpoint(const Network& net, const Rule& r, bool source) {
  const std::string& e = source ? r.from : r.to;
  if (is_name(e)) return "@" + set_name(net, r, source);
  return e;
}

bool needs_bridge_filtering(const Network& net) {
  return net.isolated || !net.rules.empty();
}

std::string table_script(const std::vector<Network>& nets,
                         const std::map<std::string, std::vector<Lease>>& leases) {
  // "table" then "delete table": the delete never fails on a missing table, and the new
  // table replaces the old in the same transaction.
  std::string out = fmt::format("table {0}\ndelete table {0}\n", kTable);
  if (nets.empty()) return out;

  std::vector<std::string> bridges, gateways, ports;
  std::set<std::string> port_keys;
  for (const auto& n : nets) {
    bridges.push_back(fmt::format("\"{}\"", n.bridge));
    gateways.push_back(n.gateway.str());
    auto it = leases.find(n.name);
    if (it == leases.end()) continue;
    for (const auto& l : it->second)
      for (const auto& p : l.ports) {
        // One holder per host port; a second claim would fail the whole transaction.
        if (port_keys.insert(fmt::format("{} {} {}", p.host_ip.str(), p.proto, p.host_port)).second)
          ports.push_back(port_element(l, p));
      }
  }

  out += fmt::format("table {} {{\n", kTable);
  out += fmt::format("  set bridges {{ type ifname;{} }}\n", elements(bridges));
  out += fmt::format("  set gateways {{ type ipv4_addr;{} }}\n", elements(gateways));
  out += fmt::format(
      "  map ports {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;{} "
      "}}\n",
      elements(ports));
  for (const auto& n : nets) {
    auto it = leases.find(n.name);
    for (const auto& r : n.rules)
      for (bool source : {true, false}) {
        const std::string& e = source ? r.from : r.to;
        if (!is_name(e)) continue;
        std::vector<std::string> members;
        if (it != leases.end())
          for (const auto& l : it->second)
            if (l.answers_to(e)) members.push_back(l.ip.str());
        out += fmt::format("  set {} {{ type ipv4_addr;{} }}\n", set_name(n, r, source),
                           elements(members));
      }
  }
  std::vector<std::string> fwd_in, fwd_out, inp;
  for (const auto& n : nets) {
    network_chains(out, n, nets);
    fwd_in.push_back(fmt::format("\"{}\" : jump fwd_{}", n.bridge, n.id));
    fwd_out.push_back(fmt::format("\"{}\" : jump out_{}", n.bridge, n.id));
    inp.push_back(fmt::format("\"{}\" : jump in_{}", n.bridge, n.id));
  }
  out += fmt::format("  map fwd_in {{ type ifname : verdict;{} }}\n", elements(fwd_in));
  out += fmt::format("  map fwd_out {{ type ifname : verdict;{} }}\n", elements(fwd_out));
  out += fmt::format("  map inp {{ type ifname : verdict;{} }}\n", elements(inp));
  out +=
      "  chain forward {\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    iifname vmap @fwd_in\n"
      "    oifname vmap @fwd_out\n"
      "  }\n"
      "  chain input {\n"
      "    type filter hook input priority filter; policy accept;\n"
      "    iifname @bridges ip daddr 127.0.0.0/8 ct status dnat accept\n"
      "    iifname @bridges ip daddr 127.0.0.0/8 drop\n"
      "    iifname vmap @inp\n"
      "  }\n"
      "  chain nat_output {\n"
      "    type nat hook output priority -100; policy accept;\n"
      "    dnat ip to ip daddr . meta l4proto . th dport map @ports\n"
      "  }\n"
      "  chain nat_prerouting {\n"
      "    type nat hook prerouting priority dstnat; policy accept;\n"
      "    dnat ip to ip daddr . meta l4proto . th dport map @ports\n"
      "  }\n"
      "  chain nat_postrouting {\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n"
      "    oifname @bridges ip saddr 127.0.0.0/8 masquerade\n"
      "  }\n"
      "}\n";
  return out;
}

std::vector<std::string> lease_elements(const Network& net, const Lease& l) {
  std::vector<std::string> out;
  for (const auto& p : l.ports)
    out.push_back(fmt::format("add element {} ports {{ {} }}", kTable, port_element(l, p)));
  for (const auto& r : net.rules)
    for (bool source : {true, false}) {
      const std::string& e = source ? r.from : r.to;
      if (is_name(e) && l.answers_to(e))
        out.push_back(fmt::format("add element {} {} {{ {} }}", kTable, set_name(net, r, source),
                                  l.ip.str()));
    }
  return out;
}

std::string remove_elements_script(const std::vector<std::string>& add_lines) {
  std::string out;
  for (const auto& line : add_lines) {
    out += line + "\n";
    out += "delete" + line.substr(3) + "\n";  // "add element ..." -> "delete element ..."
  }
  return out;
}

}  // namespace hull::net
