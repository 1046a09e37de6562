// The friendly face's container verbs: run, start, stop, kill, rm, ps, logs. Each builds on
// the runtime's lifecycle (runtime/runtime.h) and the friendly store (store.h).
//
// Who waits for a container and records its exit code: the process that created it, because
// only a parent can wait(2) for its exit status. In the foreground that is `hull run` itself.
// For `run -d` and `start`, hull forks a small monitor (the forked hull, no exec, not on the
// OCI path) that detaches from the terminal, creates the container with the log file as its
// stdout/stderr, tells the command it started (or why not), waits, records the exit code,
// deletes the OCI state, and for --rm removes everything. A monitor that was killed leaves a
// stopped OCI state behind: the next command that looks at the container cleans it up and
// shows the exit code as unknown.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frontend/copy.h"
#include "frontend/docker_values.h"
#include "frontend/events.h"
#include "frontend/logs.h"
#include "frontend/run_spec.h"
#include "frontend/store.h"
#include "oci/state.h"
#include "util/error.h"

namespace hull::frontend {

struct RunResult {
  std::string id, name;
  int exit_code = 0;  // the foreground's (128+N for signal N); 0 when detached
};
// Runs a container: in the foreground until it exits, or detached until it started.
RunResult run(const Env& env, const RunOptions& options);
// Called in a detached container's monitor once it is forked: the caller frees there what only
// the command needed (its command-line table), so that the monitor, which lives as long as
// the container, does not keep it (issue 17: the monitor's memory against conmon's).
void set_monitor_release(void (*release)());
// Starts a stopped container again, detached, with the spec it was created with.
void start(const Env& env, const std::string& ref);
// SIGTERM, then SIGKILL after `timeout` seconds; returns once the exit is recorded.
void stop(const Env& env, const std::string& ref, int timeout);
void kill(const Env& env, const std::string& ref, int sig);
void remove(const Env& env, const std::string& ref, bool force);
void pause(const Env& env, const std::string& ref);
void unpause(const Env& env, const std::string& ref);
// Changes a running container's limits now, and in the config `start` will use again.
void update(const Env& env, const std::string& ref, const oci::Resources& resources);
// Prints the log, stdout lines on fd 1 and stderr lines on fd 2 (docker's json-file driver);
// with follow, keeps printing until the container stops.
void logs(const Env& env, const std::string& ref, const LogOptions& options);

// docker rename: the container answers to `name` from now on (its old name is free).
void rename(const Env& env, const std::string& ref, const std::string& name);
// docker wait: blocks until the container has exited and its exit code is recorded; returns
// the code (-1 when nobody could record it).
int wait(const Env& env, const std::string& ref);
// docker port: "80/tcp -> 127.0.0.1:8080" for each published port, or for PORT[/PROTO] only.
std::vector<std::string> ports(const Env& env, const std::string& ref, const std::string& port);

enum class State { created, running, paused, exited };
const char* state_name(State s);

struct Status {
  Meta meta;
  std::optional<oci::State> oci;  // while the runtime knows the container
  State state = State::exited;
  std::string text;  // "Up 3 minutes", "Exited (0) 2 seconds ago"
};
Status status(const Env& env, const std::string& id);
std::vector<Status> list(const Env& env, bool all);

// The runtime's state of a container; nullopt when the runtime does not know it.
std::optional<oci::State> oci_state(const Env& env, const std::string& id);
// Its processes are there (created, running or paused).
bool alive(const std::optional<oci::State>& s);

// The id of a container that must be running (for inspect, top, stats, exec).
std::string running_id(const Env& env, const std::string& ref);

// Exit code for an error that kept the container from starting, as docker maps them:
// 127 command not found, 126 not executable, 125 anything else.
int exit_code_for(const Error& e);

}  // namespace hull::frontend
