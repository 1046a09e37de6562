#include "registry/credhelper.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/strings.h"

extern char** environ;

namespace hull::registry {

using nlohmann::json;

namespace {

constexpr const char* kNotFound = "credentials not found in native keychain";

struct Outcome {
  int status = 0;  // exit status; -1 when killed by a signal
  std::string out, err;
};

// "credential helper docker-credential-NAME, registry R: VERB: WHAT"
[[noreturn]] void helper_fail(const std::string& name, const std::string& domain,
                              const std::string& verb, const std::string& what) {
  fail("credential helper docker-credential-{}, registry {}: {}: {}", name, domain, verb, what);
}

// The helper's own words for a failure: its first line of output (helpers write their errors
// to stdout, as docker's do), else of stderr.
std::string said(const Outcome& o) {
  for (const std::string* s : {&o.out, &o.err}) {
    std::string_view t = trim(*s);
    if (!t.empty()) return std::string(trim(t.substr(0, t.find('\n'))));
  }
  return o.status < 0 ? "killed by a signal" : fmt::format("exited with status {}", o.status);
}

Outcome run_helper(const std::string& name, const std::string& verb, const std::string& input,
                   const std::string& domain) {
  for (char c : name)
    if (c == '/' || c == '\0')
      helper_fail(name, domain, verb, "not a helper name (a program docker-credential-NAME)");
  std::string program = "docker-credential-" + name;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) < 0) fail_errno("pipe");
  Fd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) < 0) fail_errno("pipe");
  Fd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) < 0) fail_errno("pipe");
  Fd err_r(err[0]), err_w(err[1]);
  // The input is small: all of it is in the pipe before the helper runs, so a helper that
  // exits without reading cannot make us take SIGPIPE.
  if (input.size() > 60000) helper_fail(name, domain, verb, "the input is too large");
  write_all(in_w.get(), input, "the credential helper's stdin");
  in_w.reset();

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  std::string verb_arg = verb;
  char* argv[] = {program.data(), verb_arg.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc == ENOENT)
    fail("credential helper docker-credential-{} (for registry {}) is not in $PATH", name, domain);
  if (rc != 0)
    fail_err(rc, "credential helper docker-credential-{}, registry {}: run it", name, domain);
  in_r.reset();
  out_w.reset();
  err_w.reset();

  Outcome o;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* bufs[2] = {&o.out, &o.err};
  int open = 2;
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fail_errno("wait for the credential helper");
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        open--;
      } else if (bufs[i]->size() < (1 << 20)) {
        bufs[i]->append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail_errno("wait for the credential helper");
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

bool not_found(const Outcome& o) {
  return o.out.find(kNotFound) != std::string::npos || o.err.find(kNotFound) != std::string::npos;
}

}  // namespace

std::optional<HelperCredentials> helper_get(const std::string& name, const std::string& server,
                                            const std::string& domain) {
  Outcome o = run_helper(name, "get", server, domain);
  if (o.status != 0) {
    if (not_found(o)) return std::nullopt;
    helper_fail(name, domain, "get", said(o));
  }
  json j;
  try {
    j = json::parse(o.out);
  } catch (const json::exception&) {
    helper_fail(name, domain, "get", "its answer is not JSON: " + quote(said(o)));
  }
  if (!j.is_object() || !j.contains("Secret") || !j["Secret"].is_string() ||
      (j.contains("Username") && !j["Username"].is_string()))
    helper_fail(name, domain, "get", "its answer has no \"Username\" and \"Secret\" strings");
  HelperCredentials c{j.value("Username", ""), j["Secret"].get<std::string>()};
  if (c.secret.empty()) return std::nullopt;
  return c;
}

void helper_store(const std::string& name, const std::string& server, const std::string& user,
                  const std::string& secret, const std::string& domain) {
  json j = {{"ServerURL", server}, {"Username", user}, {"Secret", secret}};
  Outcome o = run_helper(name, "store", j.dump(), domain);
  if (o.status != 0) helper_fail(name, domain, "store", said(o));
}

bool helper_erase(const std::string& name, const std::string& server, const std::string& domain) {
  Outcome o = run_helper(name, "erase", server, domain);
  if (o.status == 0) return true;
  if (not_found(o)) return false;
  helper_fail(name, domain, "erase", said(o));
}

}  // namespace hull::registry
