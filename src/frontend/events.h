// docker's event stream: each container's create, start, die (with its exit code), oom,
// destroy, rename, pause and unpause, appended as one JSON line each to
// $HULL_STATE/events.log by whichever hull process made it happen; `hull events` reads it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frontend/store.h"

namespace hull::frontend {

// Appends one event (docker's JSON: status, id, from, Type, Action, Actor{ID, Attributes},
// scope, time, timeNano). Never throws: an event that cannot be written is logged and lost.
void record_event(const Env& env, const std::string& action, const Meta& meta,
                  const std::map<std::string, std::string>& extra = {});

// record_event keeps events.log open; a process that closed every fd of its own (the monitor,
// close_range) says so here, and the next event opens the file again.
void forget_events_fd();

// The exit code of the container's last "die" event, if there is one.
std::optional<int> last_exit_code(const Env& env, const std::string& id);

struct EventOptions {
  std::optional<double> since, until;  // seconds since the epoch
  std::vector<std::string> filters;    // container=, event=, type=, label=, image=
  std::string format;                  // "" (docker's text line), json, or a template
};
// Prints the events: without --since only the new ones, as they happen; with --since those
// from then on first; it returns once --until has passed (or never without it).
void print_events(const Env& env, const EventOptions& options);

}  // namespace hull::frontend
