#include "frontend/exec.h"

#include <fcntl.h>
#include <unistd.h>

#include <optional>

#include "frontend/containers.h"
#include "frontend/docker_values.h"
#include "frontend/stdio_relay.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {

int exec(const Env& env, const ExecOptions& o) {
  if (o.command.empty()) fail("exec: a command is required after the container");
  if (o.detach && o.tty)
    fail("-t with -d: hull keeps no terminal for a detached process (drop -t, or -d)");
  if (!o.workdir.empty() && o.workdir.front() != '/')
    fail("-w: {} is not an absolute path", quote(o.workdir));
  std::string id = running_id(env, o.container);
  if (runtime::state(env.ctx(), id).status == oci::Status::paused)
    fail("container {} is paused: unpause it first", o.container);

  runtime::ExecOptions x;
  x.id = id;
  x.detach = o.detach;
  runtime::ExecChanges& c = x.changes;
  c.args = o.command;
  c.tty = o.tty;
  if (!o.workdir.empty()) c.cwd = clean_path(o.workdir);
  if (!o.user.empty()) {
    // Names mean what they mean inside the container, as its init sees them now.
    auto passwd = runtime::read_container_file(env.ctx(), id, "/etc/passwd").value_or("");
    auto group = runtime::read_container_file(env.ctx(), id, "/etc/group").value_or("");
    ResolvedUser u = resolve_user(o.user, passwd, group);
    c.uid = u.uid;
    c.gid = u.gid;
    c.groups = u.additional_gids;
    c.env.push_back("HOME=" + u.home);
  }
  if (o.tty) c.env.push_back("TERM=xterm");
  for (const auto& e : o.env)
    if (auto entry = parse_env("-e", e)) c.env.push_back(*entry);

  Fd null = open_or_fail("/dev/null", O_RDWR);
  if (o.detach) {
    // docker discards what a detached exec writes; holding our stdout would keep whoever
    // reads it waiting for the process.
    x.stdio = {null.get(), null.get(), null.get()};
  } else if (!o.interactive) {
    // Without -i the process reads nothing of ours (nor does the terminal relay).
    if (::dup2(null.get(), 0) < 0) fail_errno("dup2 /dev/null");
  }
  // Without -t the process gets our stdio: a file or a terminal only through a pipe
  // (stdio_relay.h). With -t hull relays the terminal itself.
  std::optional<StdioRelay> relay;
  if (!o.detach && !o.tty) relay.emplace(o.interactive, true);
  int code = runtime::exec(env.ctx(), x);
  if (relay) relay->finish();
  return code;
}

}  // namespace hull::frontend
