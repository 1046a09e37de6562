// IPv4 addresses and subnets as numbers (IPAM does arithmetic on them), parsed from and
// printed as dotted quads. hull's networks are IPv4 only; containers get no IPv6 addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hull::net {

struct Ipv4 {
  uint32_t v = 0;  // host byte order

  static std::optional<Ipv4> parse(std::string_view s);
  std::string str() const;
  uint32_t network_order() const;
  auto operator<=>(const Ipv4&) const = default;
};

struct Subnet {
  Ipv4 base;  // the network address: no host bits set
  int prefix = 0;

  // "10.88.0.0/16". nullopt on junk; host bits set are an error the caller reports.
  static std::optional<Subnet> parse(std::string_view s);
  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  Ipv4 broadcast() const { return {base.v | ~mask()}; }
  Ipv4 first_host() const { return {base.v + 1}; }
  Ipv4 last_host() const { return {broadcast().v - 1}; }
  // A usable host address: inside, and neither the network nor the broadcast address.
  bool is_host(Ipv4 a) const { return contains(a) && a != base && a != broadcast(); }
  bool contains(Ipv4 a) const { return (a.v & mask()) == base.v; }
  bool overlaps(const Subnet& o) const { return contains(o.base) || o.contains(base); }
  std::string str() const;
  auto operator<=>(const Subnet&) const = default;
};

// Parses "a.b.c.d/N" where host bits may be set ("10.88.0.5/16"): the address and its subnet.
std::optional<std::pair<Ipv4, Subnet>> parse_interface_cidr(std::string_view s);

}  // namespace hull::net
