#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "cgroup/drivers.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::cgroup {

std::vector<pid_t> read_pids(const std::string& procs_file) {
  std::vector<pid_t> out;
  auto text = read_file_if_exists(procs_file);
  if (!text) return out;
  for (const auto& line : split(*text, '\n'))
    if (auto v = parse_i64(trim(line)); v && *v > 0) out.push_back(static_cast<pid_t>(*v));
  return out;
}

bool remove_cgroup_dir(const std::string& dir) {
  // Tasks that were just killed may still be exiting: retry for up to ~2 s.
  for (int attempt = 0; attempt < 400; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) fail_errno("remove cgroup {}", dir);
    struct timespec ts = {0, attempt < 20 ? 500000L : 5000000L};
    ::nanosleep(&ts, nullptr);
  }
  return false;
}

bool make_cgroup_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  if (errno != ENOENT) fail_errno("create cgroup {}", dir);
  make_cgroup_dir(dirname_of(dir));
  if (::mkdir(dir.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  fail_errno("create cgroup {}", dir);
}

}  // namespace hull::cgroup
