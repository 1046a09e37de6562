#include "util/strings.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace hull {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

template <typename T>
static std::optional<T> parse_int(std::string_view s, int base) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  T v{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_i64(std::string_view s, int base) { return parse_int<int64_t>(s, base); }
std::optional<uint64_t> parse_u64(std::string_view s, int base) {
  if (!s.empty() && s.front() == '-') return std::nullopt;
  return parse_int<uint64_t>(s, base);
}

std::optional<int64_t> parse_size(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  int64_t mult = 1;
  std::string lower = to_lower(s);
  std::string_view num = lower;
  if (num.size() > 1 && num.back() == 'b') num.remove_suffix(1);
  if (!num.empty()) {
    switch (num.back()) {
      case 'k': mult = 1LL << 10; break;
      case 'm': mult = 1LL << 20; break;
      case 'g': mult = 1LL << 30; break;
      case 't': mult = 1LL << 40; break;
      default: break;
    }
    if (mult != 1) num.remove_suffix(1);
  }
  auto v = parse_i64(num);
  if (!v || *v < 0) return std::nullopt;
  if (*v > INT64_MAX / mult) return std::nullopt;
  return *v * mult;
}

size_t utf8_sequence(std::string_view s) {
  if (s.empty()) return 0;
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0 || s.size() < n) return 0;
  for (size_t i = 1; i < n; i++)
    if ((b(i) & 0xc0) != 0x80) return 0;
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
  if (c == 0xe0 && b(1) < 0xa0) return 0;
  if (c == 0xed && b(1) > 0x9f) return 0;
  if (c == 0xf0 && b(1) < 0x90) return 0;
  if (c == 0xf4 && b(1) > 0x8f) return 0;
  return n;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    size_t n = utf8_sequence(s.substr(i));
    if (n == 0) {
      out += fmt::format("\\\\x{:02x}", static_cast<unsigned char>(c));
      i++;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += fmt::format("\\u{:04x}", c);
        else out += c;
    }
    i++;
  }
  out += '"';
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = utf8_sequence(s.substr(i));
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
      out += fmt::format("\\x{:02x}", c);
      i++;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace hull
