#include "util/proc.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "util/fd.h"
#include "util/strings.h"

namespace hull {

std::vector<std::string> read_proc_stat_fields(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  char buf[2048];  // 52 fields of at most 20 digits, and a comm of at most 64 bytes
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string_view s(buf, static_cast<size_t>(n));
  // comm may hold spaces and parentheses: fields start after the last ')'.
  auto close = s.rfind(')');
  if (close == std::string_view::npos || close + 2 >= s.size()) return {};
  s.remove_prefix(close + 2);
  std::vector<std::string> fields(3);
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find_first_of(" \n", pos);
    if (end == std::string_view::npos) end = s.size();
    fields.emplace_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return fields;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  std::vector<std::string> f = read_proc_stat_fields(pid);
  if (f.size() <= 22 || f[3].empty()) return std::nullopt;
  ProcStat st;
  st.state = f[3][0];
  st.ppid = static_cast<pid_t>(parse_i64(f[4]).value_or(0));
  st.start_time = parse_u64(f[22]).value_or(0);
  return st;
}

bool process_matches(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = read_proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X' && st->start_time == start_time;
}

}  // namespace hull
