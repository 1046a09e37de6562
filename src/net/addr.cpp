#include "net/addr.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "util/strings.h"

namespace hull::net {

std::optional<Ipv4> Ipv4::parse(std::string_view s) {
  // inet_pton accepts exactly four decimal octets: no "10.1", no octal, no hex.
  std::string text(s);
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return Ipv4{ntohl(a.s_addr)};
}

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

uint32_t Ipv4::network_order() const {
  return htonl(v);
}

std::optional<std::pair<Ipv4, Subnet>> parse_interface_cidr(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Ipv4::parse(s.substr(0, slash));
  auto prefix = parse_i64(s.substr(slash + 1));
  if (!addr || !prefix || *prefix < 0 || *prefix > 32) return std::nullopt;
  Subnet net{{0}, static_cast<int>(*prefix)};
  net.base.v = addr->v & net.mask();
  return std::pair{*addr, net};
}

std::optional<Subnet> Subnet::parse(std::string_view s) {
  auto parsed = parse_interface_cidr(s);
  if (!parsed || parsed->first != parsed->second.base) return std::nullopt;
  return parsed->second;
}

std::string Subnet::str() const {
  return fmt::format("{}/{}", base.str(), prefix);
}

}  // namespace hull::net
