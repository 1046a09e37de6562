#include "linux/idmap.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "linux/clone.h"

#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::linux {
namespace {

bool single_self_map(const std::vector<IdRange>& r, uint32_t self) {
  return r.size() == 1 && r[0].count == 1 && r[0].outside == self;
}

void run_helper(const char* helper, pid_t pid, const std::vector<IdRange>& ranges) {
  std::vector<std::string> args = {helper, std::to_string(pid)};
  for (const auto& r : ranges) {
    args.push_back(std::to_string(r.inside));
    args.push_back(std::to_string(r.outside));
    args.push_back(std::to_string(r.count));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = ::fork();
  if (child < 0) fail_errno("fork {}", helper);
  if (child == 0) {
    ::execvp(helper, argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      fail("{} not found: install Debian's uidmap package for several id ranges", helper);
    fail("{} {} failed (does /etc/sub{}id grant these ranges?)", helper, pid,
         std::string(helper) == "newuidmap" ? "u" : "g");
  }
}

}  // namespace

std::string format_id_map(const std::vector<IdRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) out += fmt::format("{} {} {}\n", r.inside, r.outside, r.count);
  return out;
}

void write_id_maps(pid_t pid, const std::vector<IdRange>& uids, const std::vector<IdRange>& gids) {
  std::string proc = fmt::format("/proc/{}", pid);
  bool root = ::geteuid() == 0;
  if (root) {
    with_context("write uid_map", [&] { write_existing(proc + "/uid_map", format_id_map(uids)); });
    with_context("write gid_map", [&] { write_existing(proc + "/gid_map", format_id_map(gids)); });
    return;
  }
  if (single_self_map(uids, ::geteuid())) {
    with_context("write uid_map", [&] { write_existing(proc + "/uid_map", format_id_map(uids)); });
  } else {
    run_helper("newuidmap", pid, uids);
  }
  if (single_self_map(gids, ::getegid())) {
    // An unprivileged process may map its own gid only after denying setgroups.
    with_context("deny setgroups", [&] { write_existing(proc + "/setgroups", "deny"); });
    with_context("write gid_map", [&] { write_existing(proc + "/gid_map", format_id_map(gids)); });
  } else {
    run_helper("newgidmap", pid, gids);
  }
}

Fd user_namespace_with_maps(const std::vector<IdRange>& uids, const std::vector<IdRange>& gids) {
  // A child in a new user namespace holds it while its maps are written and its ns file is
  // opened; the open fd keeps the namespace alive after the child is gone.
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) fail_errno("pipe");
  Fd rd(p[0]), wr(p[1]);
  CloneResult cr = clone_process(CLONE_NEWUSER, -1);
  if (cr.pid == 0) {
    char c;
    ::close(p[1]);
    while (::read(p[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  rd.reset();
  ScopeGuard reap([&] {
    wr.reset();  // the child's read returns: it exits
    while (::waitpid(cr.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  });
  write_id_maps(cr.pid, uids, gids);
  return open_or_fail(fmt::format("/proc/{}/ns/user", cr.pid), O_RDONLY | O_CLOEXEC);
}

uint32_t map_to_host(const std::vector<IdRange>& ranges, uint32_t id) {
  for (const auto& r : ranges)
    if (id >= r.inside && id - r.inside < r.count) return r.outside + (id - r.inside);
  return id;
}

}  // namespace hull::linux
