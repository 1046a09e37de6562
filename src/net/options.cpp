#include "net/options.h"

#include <fmt/format.h>

#include "util/error.h"
#include "util/strings.h"

namespace hull::net {
namespace {

uint16_t port_or_fail(std::string_view s, std::string_view whole, const char* what) {
  auto v = parse_u64(s);
  if (!v || *v == 0 || *v > 65535) fail("{}: {} {} is not a port (1-65535)", whole, what, quote(s));
  return static_cast<uint16_t>(*v);
}

}  // namespace

Port parse_publish(std::string_view text) {
  std::string whole = fmt::format("-p {}", text);
  Port p;
  std::string_view s = text;
  if (auto slash = s.rfind('/'); slash != std::string_view::npos) {
    p.proto = to_lower(s.substr(slash + 1));
    if (p.proto != "tcp" && p.proto != "udp")
      fail("{}: protocol {} is not tcp or udp", whole, quote(p.proto));
    s = s.substr(0, slash);
  }
  auto parts = split(s, ':');
  if (parts.size() == 3) {
    auto ip = Ipv4::parse(parts[0]);
    if (!ip) fail("{}: {} is not an IPv4 address", whole, quote(parts[0]));
    if (ip->v == 0)
      fail("{}: give the host address to publish on (127.0.0.1, or one of the host's)", whole);
    p.host_ip = *ip;
    parts.erase(parts.begin());
  }
  if (parts.size() != 2) fail("{}: expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]", whole);
  p.host_port = port_or_fail(parts[0], whole, "host port");
  p.container_port = port_or_fail(parts[1], whole, "container port");
  return p;
}

void parse_rule_proto(std::string_view text, Rule& r) {
  if (text.empty()) return;
  std::string s = to_lower(text);
  auto slash = s.find('/');
  r.proto = s.substr(0, slash);
  if (r.proto != "tcp" && r.proto != "udp" && r.proto != "icmp")
    fail("rule: protocol {} is not tcp, udp or icmp", quote(r.proto));
  if (slash != std::string::npos) {
    if (r.proto == "icmp") fail("rule: icmp has no ports");
    r.port = port_or_fail(s.substr(slash + 1), "rule", "port");
  }
}

std::string describe_rule(const Rule& r) {
  std::string out = fmt::format("{} {} -> {}", r.allow ? "allow" : "deny", r.from, r.to);
  if (!r.proto.empty()) out += " " + r.proto;
  if (r.port) out += fmt::format("/{}", r.port);
  return out;
}

}  // namespace hull::net
