#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull {

std::vector<std::string> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);

// Whole-string integer parsing: nullopt on junk, sign errors or overflow.
std::optional<int64_t> parse_i64(std::string_view s, int base = 10);
std::optional<uint64_t> parse_u64(std::string_view s, int base = 10);

// "256m", "1g", "512k", "1024" (bytes); docker's units, powers of 1024. nullopt when invalid.
std::optional<int64_t> parse_size(std::string_view s);

// JSON-style quoting for error messages: "netw" -> "\"netw\"".
std::string quote(std::string_view s);

}  // namespace hull
