// exec: runc's flags. Exits with the process's code; 255 when it could not be started
// (runc's code, which engines tell apart from the process's own).
#include <cstdio>

#include "cli/oci.h"
#include "oci/parse.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cli {
namespace {

struct ExecFlags {
  runtime::ExecOptions opts;
  std::string process_file, user;
  std::vector<std::string> args;
};

uint32_t parse_id(const std::string& text, const std::string& whole) {
  auto v = parse_u64(text);
  if (!v) fail("--user {}: want numeric uid[:gid]", quote(whole));
  // (uid_t)-1 means "unchanged" to the kernel: root (oci::kMaxProcessId).
  if (*v > oci::kMaxProcessId)
    fail("--user {}: {} is out of range (at most {})", quote(whole), text, oci::kMaxProcessId);
  return static_cast<uint32_t>(*v);
}

int run_exec(OciEnv& env, ExecFlags& f) {
  runtime::ExecOptions o = f.opts;
  try {
    return with_context(fmt::format("exec {}", o.id), [&] {
      if (!f.process_file.empty()) {
        std::string path = absolute_path(f.process_file);
        auto text = read_file_if_exists(path);
        if (!text) fail_err(ENOENT, "--process {}", path);
        o.process = with_context(fmt::format("--process {}", path),
                                 [&] { return oci::parse_process(*text); });
      }
      o.changes.args = f.args;
      if (!f.user.empty()) {
        auto colon = f.user.find(':');
        o.changes.uid = parse_id(f.user.substr(0, colon), f.user);
        if (colon != std::string::npos) o.changes.gid = parse_id(f.user.substr(colon + 1), f.user);
      }
      for (uint32_t g : o.changes.additional_gids)
        if (g > oci::kMaxProcessId)
          fail("--additional-gids {}: out of range (at most {})", g, oci::kMaxProcessId);
      if (!o.pid_file.empty()) o.pid_file = absolute_path(o.pid_file);
      if (!o.console_socket.empty()) o.console_socket = absolute_path(o.console_socket);
      return runtime::exec(env.ctx, o);
    });
  } catch (const Error& e) {
    log::error(e.what());
    return 255;
  }
}

}  // namespace

void register_exec(CLI::App& app, OciEnv& env) {
  static ExecFlags f;
  auto* c = app.add_subcommand("exec", "run a new process in a container");
  c->add_option("--process,-p", f.process_file, "process.json to run (runtime-spec process)");
  c->add_flag("--tty,-t", f.opts.changes.tty, "allocate a pseudo-terminal");
  c->add_option("--console-socket", f.opts.console_socket, "unix socket to receive the pty master");
  c->add_flag("--detach,-d", f.opts.detach, "do not wait for the process");
  c->add_option("--pid-file", f.opts.pid_file, "write the process's PID here");
  c->add_option("--env,-e", f.opts.changes.env, "NAME=VALUE to set")->allow_extra_args(false);
  c->add_option("--cwd", f.opts.changes.cwd, "working directory in the container");
  c->add_option("--user,-u", f.user, "uid[:gid]");
  c->add_option("--additional-gids,-g", f.opts.changes.additional_gids, "supplementary group")
      ->allow_extra_args(false);
  c->add_option("--cap,-c", f.opts.changes.caps, "add a capability")->allow_extra_args(false);
  c->add_flag("--no-new-privs", f.opts.changes.no_new_privs, "set no_new_privs");
  c->add_option("--apparmor", f.opts.changes.apparmor, "AppArmor profile");
  c->add_option("--process-label", f.opts.changes.process_label, "SELinux label");
  c->add_option("--preserve-fds", f.opts.preserve_fds, "pass fds 3..3+N-1 on")
      ->check(CLI::NonNegativeNumber);
  c->add_flag("--ignore-paused", f.opts.ignore_paused, "exec even if the container is paused");
  c->add_option("--cgroup", f.opts.cgroups, "[controllers:]path: a sub-cgroup to run in")
      ->allow_extra_args(false);
  c->add_option("id", f.opts.id, "container id")->required();
  // The command and its arguments (without --process): everything after the id, even what
  // looks like a flag ("sh -c ...").
  c->prefix_command();
  c->fallthrough(false);
  env.add_entering(c, [&env, c] {
    f.args = c->remaining();
    return run_exec(env, f);
  });
}

}  // namespace hull::cli
