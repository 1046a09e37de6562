#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "cgroup/controller.h"
#include "cgroup/drivers.h"
#include "linux/syscalls.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fd.h"
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

namespace {

// The child cgroups of a directory (a cgroup's own files are never directories).
std::vector<std::string> child_dirs(const std::string& dir) {
  std::vector<std::string> children;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* de = ::readdir(d))
      if (de->d_type == DT_DIR && de->d_name[0] != '.') children.emplace_back(de->d_name);
    ::closedir(d);
  }
  return children;
}

}  // namespace

bool kill_all_and_wait(Manager& m, int timeout_ms) {
  // A pidfd of each before the signal: it becomes readable once the process has exited (a
  // zombie counts), whoever reaps it. One forked after this list is killed, not waited for.
  std::vector<pid_t> pids = m.pids();
  if (pids.empty()) return true;
  std::vector<Fd> pidfds;
  for (pid_t p : pids)
    if (Fd fd(sys::pidfd_open(p)); fd) pidfds.push_back(std::move(fd));  // ESRCH: gone already
  m.kill_all(SIGKILL);
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (const auto& fd : pidfds) {
    pollfd p = {fd.get(), POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, deadline - monotonic_ms())));
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
  }
  return true;
}

bool remove_cgroup_dir(const std::string& dir) {
  // A container with a writable cgroup mount may have made child cgroups: they go first
  // (rmdir of a cgroup removes its control files, but not its child cgroups).
  for (const auto& c : child_dirs(dir))
    if (!remove_cgroup_dir(path_join(dir, c))) return false;
  // Tasks that were just killed may still be exiting: retry for up to ~2 s.
  for (int attempt = 0; attempt < 400; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) fail_errno("remove cgroup {}", dir);
    sleep_us(attempt < 20 ? 500 : 5000);
  }
  return false;
}

bool make_cgroup_dir(const std::string& dir) {
  // A concurrent delete of the last container removes the shared parent (/hull) between our
  // mkdir of it and of the child: make the parent again, a bounded number of times.
  for (int attempt = 0;; ++attempt) {
    if (::mkdir(dir.c_str(), 0755) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno != ENOENT || attempt == 5) fail_errno("create cgroup {}", dir);
    make_cgroup_dir(dirname_of(dir));
  }
}

std::string first_missing(const std::string& mount, const std::string& path) {
  std::string prefix;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (!path_exists(path_join(mount, prefix))) return prefix;
  }
  return "";
}

void remove_tree_of_empty_dirs(const std::string& top) {
  for (const auto& c : child_dirs(top)) remove_tree_of_empty_dirs(path_join(top, c));
  ::rmdir(top.c_str());
}

void write_value(const std::string& dir, const char* file, const std::string& value,
                 std::string_view json_path, std::string_view shown) {
  std::string path = path_join(dir, file);
  try {
    write_existing(path, value);
  } catch (const Error& e) {
    // write_existing's own message already names the file; put the field first. The kernel
    // refusing the value (EINVAL, ERANGE) makes it the config's error; EBUSY stays busy.
    ErrorKind kind = e.err() == EINVAL || e.err() == ERANGE ? ErrorKind::invalid_config : e.kind();
    throw Error(kind, fmt::format("{}: {}: write {}", json_path, shown, path), e.err())
        .about(std::string(json_path), std::string(shown));
  }
}

void write_value(const std::string& dir, const char* file, const std::string& value,
                 std::string_view json_path) {
  write_value(dir, file, value, json_path, value);
}

bool has_file(const std::string& dir, const char* file) {
  return ::access(path_join(dir, file).c_str(), F_OK) == 0;
}

std::optional<std::string> read_value(const std::string& dir, const char* file) {
  auto text = read_file_if_exists(path_join(dir, file));
  if (!text) return std::nullopt;
  return std::string(trim(*text));
}

uint64_t read_u64(const std::string& dir, const char* file) {
  auto v = read_value(dir, file);
  if (!v) return 0;
  if (*v == "max") return UINT64_MAX;
  return parse_u64(*v).value_or(0);
}

std::map<std::string, uint64_t> read_keyed(const std::string& dir, const char* file) {
  std::map<std::string, uint64_t> out;
  auto text = read_file_if_exists(path_join(dir, file));
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    if (auto v = parse_u64(trim(line.substr(sp + 1)))) out[line.substr(0, sp)] = *v;
  }
  return out;
}

std::vector<uint16_t> parse_cpu_list(std::string_view list) {
  std::vector<uint16_t> out;
  for (const auto& part : split(trim(list), ',')) {
    if (part.empty()) continue;
    auto dash = part.find('-');
    auto lo = parse_u64(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : parse_u64(part.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi > 65535) continue;
    for (uint64_t c = *lo; c <= *hi; ++c) out.push_back(static_cast<uint16_t>(c));
  }
  return out;
}

}  // namespace hull::cgroup
