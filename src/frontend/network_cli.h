// `hull network ...`: create, ls, inspect, rm, connect, disconnect, allow, deny, rules.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/friendly.h"

namespace hull::frontend {

void register_network(CLI::App& app, cli::FriendlyEnv& env);

// --net-rate / --net-burst text -> bytes per second (0: not given) and burst bytes.
uint64_t parse_net_rate(const std::string& rate, const std::string& burst, uint32_t& burst_bytes);

}  // namespace hull::frontend
