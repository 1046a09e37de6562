// Text forms of network options, shared by `hull run` and `hull network`.
#pragma once

#include <string>
#include <string_view>

#include "net/store.h"

namespace hull::net {

// -p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]; HOST_IP defaults to 127.0.0.1.
Port parse_publish(std::string_view text);
// A rule's protocol part: "tcp", "udp", "icmp", "tcp/80", "udp/53"; empty = any.
void parse_rule_proto(std::string_view text, Rule& rule);
// "allow web -> db tcp/80" as `hull network rules` prints it.
std::string describe_rule(const Rule& rule);

}  // namespace hull::net
