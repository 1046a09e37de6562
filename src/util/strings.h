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

// JSON-style quoting for error messages: "netw" -> "\"netw\"". Bytes that are not valid
// UTF-8 come out as the text \xNN, so the result is always valid JSON.
std::string quote(std::string_view s);

// A message as one line of valid UTF-8: control characters and bytes that are not valid UTF-8
// (a hostile config echoed in an error) come out as the text \xNN; valid UTF-8 is kept.
std::string printable(std::string_view s);

// The length of the valid UTF-8 sequence at the start of s (1-4), or 0 if it is not one.
size_t utf8_sequence(std::string_view s);

}  // namespace hull
