// `run`: create + start + wait + delete in one process, forwarding signals and relaying a
// terminal in the foreground.
#include <signal.h>

#include "runtime/foreground.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::runtime {

int run(const Context& ctx, CreateOptions opts, std::shared_ptr<const oci::Spec> spec,
        const std::string& config_json, bool detach, bool keep) {
  opts.for_run = true;
  Fd master;
  bool relay = spec->process->terminal && opts.console_socket.empty() && !detach;
  if (relay) opts.terminal_master = &master;
  sigset_t fwd = forwarded_signals(), old;
  if (!detach) ::sigprocmask(SIG_BLOCK, &fwd, &old);
  Created c = create(ctx, opts, spec, config_json);
  try {
    if (relay) copy_winsize(0, master.get());
    if (opts.on_created) opts.on_created(c);
    start_created(ctx, c);
    log::step("started");
  } catch (...) {
    try {
      remove(ctx, c.id, true);
    } catch (const Error& e) {
      log::warn("cleanup: {}", e.what());
    }
    throw;
  }
  // The container runs: whatever fails in the caller's bookkeeping from here (the command that
  // waits for the monitor's report is gone: EPIPE) must not leave it with nobody waiting for it.
  if (opts.on_started) {
    try {
      opts.on_started();
    } catch (const std::exception& e) {
      log::warn("{}", e.what());
    }
  }
  if (detach) return 0;

  relay_until_exit(c.pidfd.get(), relay ? master.get() : -1, fwd);
  int code = wait_exit(c);
  log::step("exited");
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  // Read before delete removes the cgroup and its counters.
  const std::string& shown = opts.display_name.empty() ? c.id : opts.display_name;
  if (std::string oom = oom_report(shown, c.state.cgroup_path); !oom.empty()) log::error(oom);
  if (!keep) {
    try {
      remove(ctx, c.id, true);
    } catch (const Error& e) {
      log::warn("delete after exit: {}", e.what());
    }
    log::step("deleted");
  }
  return code;
}

}  // namespace hull::runtime
