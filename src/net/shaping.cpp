#include "net/shaping.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "util/rounding.h"
#include "util/strings.h"

namespace hull::net {

std::optional<uint64_t> parse_rate(std::string_view text) {
  std::string s = to_lower(trim(text));
  struct Unit {
    const char* suffix;
    double bytes;  // bytes per second per unit
  };
  // Longest suffixes first: "kbit" before "bit", "kbps" before "bps".
  static const Unit units[] = {{"kbit", 1e3 / 8}, {"mbit", 1e6 / 8}, {"gbit", 1e9 / 8},
                               {"kbps", 1e3},     {"mbps", 1e6},     {"gbps", 1e9},
                               {"bit", 1.0 / 8},  {"bps", 1}};
  double mult = 1.0 / 8;
  for (const auto& u : units) {
    std::string_view suf = u.suffix;
    if (s.size() > suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) {
      mult = u.bytes;
      s.resize(s.size() - suf.size());
      break;
    }
  }
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])))) return std::nullopt;
  size_t used = 0;
  double v;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    return std::nullopt;
  }
  if (used != s.size() || !std::isfinite(v) || v <= 0) return std::nullopt;
  double bytes = v * mult;
  if (bytes < 1 || bytes > 1e15) return std::nullopt;
  return static_cast<uint64_t>(round_to_ll(bytes));
}

std::string format_rate(uint64_t bps) {
  double bits = static_cast<double>(bps) * 8;
  auto fmt1 = [](double v, const char* unit) {
    return std::fabs(v - static_cast<double>(round_to_ll(v))) < 0.05
               ? fmt::format("{}{}", round_to_ll(v), unit)
               : fmt::format("{:.1f}{}", v, unit);
  };
  if (bits >= 1e9) return fmt1(bits / 1e9, "gbit");
  if (bits >= 1e6) return fmt1(bits / 1e6, "mbit");
  if (bits >= 1e3) return fmt1(bits / 1e3, "kbit");
  return fmt::format("{}bit", round_to_ll(bits));
}

Tbf tbf_for(uint64_t rate, uint32_t burst) {
  Tbf t;
  t.rate = rate;
  t.burst = burst ? burst : static_cast<uint32_t>(std::max<uint64_t>(rate / 100, 16 * 1024));
  t.limit = static_cast<uint32_t>(std::min<uint64_t>(rate / 20 + t.burst, UINT32_MAX));
  return t;
}

void apply_shaping(Netlink& host, const std::string& host_link, const std::string& ifb,
                   uint64_t rate, uint32_t burst) {
  Tbf t = tbf_for(rate, burst);
  if (host.exists(ifb)) {
    // Shaped already (hull update --net-rate): the tbfs change in place, nothing is dropped.
    host.set_tbf(host_link, t);
    host.set_tbf(ifb, t);
    return;
  }
  host.clear_qdiscs(host_link);
  host.create_ifb(ifb);
  host.set_tbf(ifb, t);
  host.set_tbf(host_link, t);
  host.redirect_ingress(host_link, ifb);
}

void remove_shaping(Netlink& host, const std::string& host_link, const std::string& ifb) {
  host.clear_qdiscs(host_link);
  host.delete_link(ifb);
}

}  // namespace hull::net
