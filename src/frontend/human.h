// Numbers and times the way docker prints them: "Up 3 minutes", "12.5MiB", "2 hours ago".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hull::frontend {

// "2026-11-29T22:10:06.123456789Z" -> seconds since the epoch; nullopt when unparsable.
std::optional<double> parse_rfc3339(const std::string& text);
double now_seconds();
// 0.4 -> "Less than a second", 1 -> "1 second", 90 -> "About a minute", 3000 -> "50 minutes" ...
std::string human_duration(double seconds);
// "3 minutes ago"; "" when the time is unknown.
std::string human_ago(const std::string& rfc3339);
// Binary units as docker stats: "512KiB", "1.5GiB".
std::string human_bytes(double bytes);
// Decimal units as docker stats' block I/O: "1.05MB".
std::string human_bytes_decimal(double bytes);

}  // namespace hull::frontend
