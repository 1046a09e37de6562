#include "util/passwd.h"

#include "util/strings.h"

namespace hull {

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
  std::vector<PasswdEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 7) continue;
    auto uid = parse_u64(f[2]), gid = parse_u64(f[3]);
    if (!uid || !gid) continue;
    out.push_back({f[0], static_cast<uint32_t>(*uid), static_cast<uint32_t>(*gid), f[5], f[6]});
  }
  return out;
}

std::string home_of(const std::string& passwd_text, uint32_t uid) {
  for (const auto& e : parse_passwd(passwd_text))
    if (e.uid == uid) return e.home.empty() ? "/" : e.home;
  return "/";
}

}  // namespace hull
