#include "linux/mountinfo.h"

#include "util/fs.h"
#include "util/strings.h"

namespace hull::linux {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto v = parse_u64(s.substr(i + 1, 3), 8);
      if (v && *v < 256) {
        out += static_cast<char>(*v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::vector<MountInfo> parse_mountinfo(const std::string& text) {
  std::vector<MountInfo> out;
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    auto f = split(line, ' ');
    if (f.size() < 10) continue;
    MountInfo m;
    m.id = static_cast<int>(parse_i64(f[0]).value_or(0));
    m.parent = static_cast<int>(parse_i64(f[1]).value_or(0));
    m.root = unescape(f[3]);
    m.mount_point = unescape(f[4]);
    m.options = f[5];
    size_t i = 6;
    std::vector<std::string> opt;
    while (i < f.size() && f[i] != "-") opt.push_back(f[i++]);
    m.optional = join(opt, " ");
    if (i + 2 >= f.size()) continue;
    m.fstype = f[i + 1];
    m.source = unescape(f[i + 2]);
    m.super_options = i + 3 < f.size() ? f[i + 3] : "";
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<MountInfo> read_mountinfo(const std::string& path) { return parse_mountinfo(read_file(path)); }

const MountInfo* mount_containing(const std::vector<MountInfo>& mounts, const std::string& path) {
  const MountInfo* best = nullptr;
  for (const auto& m : mounts) {
    const auto& mp = m.mount_point;
    bool prefix = path == mp || mp == "/" ||
                  (path.size() > mp.size() && path.compare(0, mp.size(), mp) == 0 && path[mp.size()] == '/');
    // Later entries shadow earlier ones mounted on the same point.
    if (prefix && (!best || mp.size() >= best->mount_point.size())) best = &m;
  }
  return best;
}

}  // namespace hull::linux
