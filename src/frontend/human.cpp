#include "frontend/human.h"

#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "util/rounding.h"

namespace hull::frontend {

std::optional<double> parse_rfc3339(const std::string& text) {
  struct tm tm = {};
  const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return std::nullopt;
  double frac = 0;
  if (*rest == '.') {
    char* end = nullptr;
    frac = std::strtod(rest, &end);
    rest = end;
  }
  if (*rest != 'Z') return std::nullopt;
  return static_cast<double>(::timegm(&tm)) + frac;
}

double now_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string human_duration(double s) {
  auto plural = [](long n, const char* unit) {
    return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s");
  };
  if (s < 1) return "Less than a second";
  if (s < 60) return plural(static_cast<long>(s), "second");
  double m = s / 60;
  if (m < 2) return "About a minute";
  if (m < 60) return plural(static_cast<long>(m), "minute");
  double h = m / 60;
  if (round_to_ll(h) == 1) return "About an hour";
  if (h < 48) return plural(static_cast<long>(round_to_ll(h)), "hour");
  double d = h / 24;
  if (d < 14) return plural(static_cast<long>(d), "day");
  if (d < 60) return plural(static_cast<long>(d / 7), "week");
  if (d < 730) return plural(static_cast<long>(d / 30), "month");
  return plural(static_cast<long>(d / 365), "year");
}

std::string human_ago(const std::string& rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  if (!t) return "";
  return human_duration(std::max(0.0, now_seconds() - *t)) + " ago";
}

static std::string scaled(double v, double base, const char* const* units, size_t n) {
  size_t i = 0;
  while (v >= base && i + 1 < n) {
    v /= base;
    ++i;
  }
  if (i == 0) return fmt::format("{}{}", static_cast<long long>(v), units[0]);
  return fmt::format("{:.4g}{}", v, units[i]);
}

std::string human_bytes(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return scaled(bytes, 1024, units, 6);
}

std::string human_bytes_decimal(double bytes) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  return scaled(bytes, 1000, units, 6);
}

}  // namespace hull::frontend
