// hull's firewall: one nftables table, `inet hull`, generated from the network definitions
// and rewritten whole (in one transaction) when networks or rules change. What changes per
// container — published ports and the addresses behind rule names — are set and map
// elements, added and deleted on their own, so starting a container never rewrites rules.
//
//   forward: iifname vmap @fwd_in   each network's chain for traffic from its bridge:
//                                    same bridge -> established, deny rules, allow rules,
//                                    then drop (isolated) or accept; another hull bridge ->
//                                    drop; anything else -> drop if internal, else accept
//            oifname vmap @fwd_out  traffic into a bridge from elsewhere: replies and
//                                    published ports only (none if internal)
//   input:   from a bridge to 127/8 only as a published port's replies (CVE-2020-8558:
//            route_localnet must not open the host's loopback to containers); to another
//            network's gateway: drop; internal networks reach only their own gateway
//   nat:     output/prerouting DNAT by @ports (host ip . proto . port -> container ip .
//            port), postrouting masquerade of 127/8 sources leaving by a bridge
// Intra-bridge traffic reaches these hooks through br_netfilter, which hull turns on per
// bridge (nf_call_iptables) for networks that need it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "net/store.h"

namespace hull::net {

inline constexpr const char* kTable = "inet hull";

// Whether a rule endpoint names containers (rather than an address or subnet).
bool is_name(const std::string& endpoint);
// A rule's endpoint as nft text: "@n1_r2_s", "10.88.0.5" or "10.88.0.0/24".
std::string rule_endpoint(const Network& net, const Rule& rule, bool source);
// Whether a network's bridge needs br_netfilter to enforce it.
bool needs_bridge_filtering(const Network& net);

// The whole table, for these networks and the live leases of each; with no networks, a
// script that deletes the table.
std::string table_script(const std::vector<Network>& nets,
                         const std::map<std::string, std::vector<Lease>>& leases);

// The set/map elements a lease contributes: lines "add element inet hull NAME { ... }".
std::vector<std::string> lease_elements(const Network& net, const Lease& lease);
// Removal that tolerates absence: each element is added (a no-op when present with the
// same value, an error when another container holds the key) and then deleted.
std::string remove_elements_script(const std::vector<std::string>& add_lines);

}  // namespace hull::net
