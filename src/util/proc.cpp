#include "util/proc.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "util/fd.h"
#include "util/strings.h"

namespace hull {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<size_t>(n));
  // comm may hold spaces and parentheses: fields start after the last ')'.
  auto close = s.rfind(')');
  if (close == std::string_view::npos || close + 2 >= s.size()) return std::nullopt;
  s.remove_prefix(close + 2);
  ProcStat st;
  // Field 3 is the state; start time is field 22, i.e. the 20th after the state.
  int field = 3;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view tok = s.substr(pos, end - pos);
    if (field == 3 && !tok.empty()) st.state = tok[0];
    if (field == 4) st.ppid = static_cast<pid_t>(parse_i64(tok).value_or(0));
    if (field == 22) {
      st.start_time = parse_u64(tok).value_or(0);
      return st;
    }
    ++field;
    pos = end + 1;
  }
  return std::nullopt;
}

bool process_matches(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = read_proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X' && st->start_time == start_time;
}

}  // namespace hull
