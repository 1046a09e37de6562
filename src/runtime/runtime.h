// The lifecycle (runtime-spec runtime.md): create, start, kill, delete, state, list, run.
// Both faces call these; nothing here parses argv or prints for people.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "oci/spec.h"
#include "oci/state.h"
#include "util/fd.h"

namespace hull::runtime {

struct Context {
  std::string root = "/run/hull";
};

struct CreateOptions {
  std::string id;
  std::string bundle;  // absolute
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  // `run`: the init is started through the sync socket; no start.sock is made.
  bool for_run = false;
  // Where a relayed foreground terminal's master goes (hull keeps it instead of a console socket).
  Fd* terminal_master = nullptr;
};

// A container just created by this process: its init is our child until we exit.
struct Created {
  std::string id;
  pid_t pid = 0;
  Fd pidfd;
  Fd sync;
  oci::State state;
  std::shared_ptr<const oci::Spec> spec;
};

Created create(const Context& ctx, const CreateOptions& opts, std::shared_ptr<const oci::Spec> spec,
               const std::string& config_json);
// `run`: starts a container created by this process (kStart on the sync socket).
void start_created(const Context& ctx, Created& c);
// Waits for the init to exit: its exit code, or 128+N when killed by signal N.
int wait_exit(Created& c);

// create + start + (unless detached) wait + delete, forwarding signals to the init and relaying
// a terminal when process.terminal is set and no console socket was given. Returns the
// container's exit code (128+N for signal N); 0 when detached.
int run(const Context& ctx, CreateOptions opts, std::shared_ptr<const oci::Spec> spec, const std::string& config_json,
        bool detach, bool keep);

void start(const Context& ctx, const std::string& id);
void kill(const Context& ctx, const std::string& id, int sig, bool all);
void remove(const Context& ctx, const std::string& id, bool force);
oci::State state(const Context& ctx, const std::string& id);
std::vector<oci::State> list(const Context& ctx);

// "KILL", "SIGKILL", "9" -> 9; throws on anything else.
int parse_signal(const std::string& s);
std::string signal_name(int sig);

}  // namespace hull::runtime
