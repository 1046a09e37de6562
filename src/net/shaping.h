// Bandwidth shaping of one container interface, done on the host end of its veth so the
// container cannot undo it: a tbf on the host end's egress shapes what the container
// receives; what the container sends arrives on the host end's ingress, where nothing can
// queue, so a u32 filter redirects it to an ifb device whose egress has the second tbf.
// (The kernel here has no police action, and policing drops instead of queueing anyway.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/netlink.h"

namespace hull::net {

// tc's units: "10mbit", "512kbit", "1gbit", "100kbps" (bytes), "1mbps"; a bare number is
// bits per second. Returns bytes per second; nullopt on junk or zero.
std::optional<uint64_t> parse_rate(std::string_view s);
// Bytes per second as tc would print it: "10mbit", "1.5mbit", "800kbit".
std::string format_rate(uint64_t bytes_per_sec);

// The token bucket for a rate: burst given, or 10 ms worth (at least 16 KiB); a queue of
// 50 ms worth on top of the burst, as tc's "latency 50ms".
Tbf tbf_for(uint64_t rate, uint32_t burst);

void apply_shaping(Netlink& host, const std::string& host_link, const std::string& ifb,
                   uint64_t rate, uint32_t burst);
void remove_shaping(Netlink& host, const std::string& host_link, const std::string& ifb);

}  // namespace hull::net
