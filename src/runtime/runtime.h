// The lifecycle (runtime-spec runtime.md): create, start, kill, delete, state, list, run.
// Both faces call these; nothing here parses argv or prints for people.
#pragma once

#include <sys/types.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "oci/spec.h"
#include "oci/state.h"
#include "util/fd.h"

namespace hull::runtime {

struct Context {
  std::string root = "/run/hull";  // the CLI sets default_state_root() when --root is absent
  // --systemd-cgroup: create puts the container in a systemd scope (cgroup/systemd.h); the
  // other verbs find the unit in the state, whatever the flag says then.
  bool systemd_cgroup = false;
};

struct Created;

struct CreateOptions {
  std::string id;
  std::string bundle;  // absolute
  std::string pid_file;
  std::string console_socket;
  // How reports name the container (the friendly face's name); the id when empty.
  std::string display_name;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  // `run`: the init is started through the sync socket; no start.sock is made.
  bool for_run = false;
  // Where a relayed foreground terminal's master goes (hull keeps it instead of a console socket).
  Fd* terminal_master = nullptr;
  // `run`: called once the process runs, before waiting for it (the friendly face's monitor
  // tells the command that forked it that the container started).
  std::function<void()> on_started;
  // `run`: called once the container is created, before it starts (the friendly face wires
  // its networks into the init's namespace); when it throws, the container is removed.
  std::function<void(const Created&)> on_created;
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

// runc's exec flags that change the process (on top of --process, or of the container's own).
struct ExecChanges {
  std::vector<std::string> args;  // replace process.args
  std::vector<std::string> env;   // -e NAME=VALUE: added, replacing the same NAME
  std::string cwd;
  std::optional<uint32_t> uid, gid;
  std::vector<uint32_t> additional_gids;  // added to the process's
  // Replaces the process's supplementary groups before additional_gids are added (the friendly
  // face's -u: another user must not keep the groups of the container's).
  std::optional<std::vector<uint32_t>> groups;
  std::vector<std::string> caps;  // --cap: added to bounding, effective and permitted
  bool tty = false;
  bool no_new_privs = false;
  std::string apparmor, process_label;
};

struct ExecOptions {
  std::string id;
  std::optional<oci::Process> process;  // --process; else the container's process.args & co.
  ExecChanges changes;
  std::string console_socket;
  std::string pid_file;
  bool detach = false;
  int preserve_fds = 0;
  bool ignore_paused = false;
  std::vector<std::string> cgroups;  // --cgroup [controllers:]path
  // The process's stdin, stdout and stderr; -1 keeps hull's (the friendly face's `exec -d`
  // gives /dev/null, as docker discards a detached process's output).
  std::array<int, 3> stdio{-1, -1, -1};
};

// Runs a new process in a created or running container: it joins every namespace of the
// init and its cgroup, and gets the container's rlimits, capabilities and seccomp unless the
// process says otherwise. Returns its exit code (128+N for signal N); 0 when detached, once
// it has exec'ed (and --pid-file is written).
int exec(const Context& ctx, const ExecOptions& opts);

void start(const Context& ctx, const std::string& id);
void kill(const Context& ctx, const std::string& id, int sig, bool all);
void remove(const Context& ctx, const std::string& id, bool force);
oci::State state(const Context& ctx, const std::string& id);
std::vector<oci::State> list(const Context& ctx);

// The verbs that work through the cgroup (resources.cpp).
// pause/resume: freeze and thaw every process (v1 freezer, v2 cgroup.freeze).
void pause(const Context& ctx, const std::string& id);
void resume(const Context& ctx, const std::string& id);
// `resources_json` is a linux.resources object: its fields are merged into the container's
// stored ones (absent fields keep their values), applied, and kept for the next update.
void update(const Context& ctx, const std::string& id, const std::string& resources_json);
// The config with `resources_json` merged into its linux.resources as update does (objects
// key by key, anything else replaced); `merged`, when given, gets the result parsed.
std::string merge_resources(const std::string& config_json, const std::string& resources_json,
                            oci::Resources* merged = nullptr);
// Host PIDs of every process in the container's cgroup.
std::vector<pid_t> container_pids(const Context& ctx, const std::string& id);
// runc's `ps` table: `ps ARGS` (default -ef) run on the host, filtered to these PIDs.
std::string ps_table(const std::vector<pid_t>& pids, const std::vector<std::string>& ps_args);
// One runc-format {"type":"stats","id":...,"data":{...}} line.
std::string stats_json(const Context& ctx, const std::string& id);
// Emits a stats line every interval_ms and an {"type":"oom"} line whenever the OOM killer
// strikes in the container; returns when its init exits.
void events(const Context& ctx, const std::string& id, int interval_ms,
            const std::function<void(const std::string&)>& emit);
// "container web: out of memory: killed by the kernel at its 256 MiB limit" when the OOM
// killer struck in the cgroup; "" otherwise.
std::string oom_report(const std::string& id, const std::string& cgroup_path);

// "KILL", "SIGKILL", "9" -> 9; throws on anything else.
int parse_signal(const std::string& s);
std::string signal_name(int sig);

}  // namespace hull::runtime
