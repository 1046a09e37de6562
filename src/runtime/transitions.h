// Which OCI verb is allowed in which status: one table (transitions.cpp), used by every verb.
//
//                   creating   created   running   paused    stopped   unknown
//   start           -          yes       -         -         -         -
//   kill            -          yes       yes       yes       -         yes
//   kill --all      -          yes       yes       yes       yes       yes
//   delete          yes        yes       -         -         yes       yes
//   delete --force  yes        yes       yes       yes       yes       yes
//   pause           -          -         yes       -         -         -
//   resume          -          -         -         yes       -         -
//   update, stats,  -          yes       yes       yes       -         yes
//   events
//   exec            -          yes       yes       -         -         yes
//   exec --ignore-  -          yes       yes       yes       -         yes
//   paused
//   ps              -          yes       yes       yes       yes       yes
//
// A refusal is an Error of kind invalid_state in runc's words where engines match them:
// "container not running" (containerd's shim and podman tell an exited container from a
// failure by it), "is still being created", "not stopped". The status is the one refresh()
// computed from the init, never the one written in state.json.
#pragma once

#include "oci/state.h"

namespace hull::runtime {

enum class Verb {
  start,
  kill,
  kill_all,
  remove,
  remove_force,
  pause,
  resume,
  update,  // and stats, events: they need a live cgroup
  exec,
  exec_ignore_paused,
  ps,
};

// Whether `verb` may run on a container in `status`.
bool allowed(Verb verb, oci::Status status);
// Throws the table's refusal (ErrorKind::invalid_state) unless `verb` may run on s.
void require(Verb verb, const oci::State& s);
// The refusal for a container found dead beyond its status (its init gone): "container ID has
// exited: container not running", ErrorKind::invalid_state.
[[noreturn]] void fail_not_running(const std::string& id);

}  // namespace hull::runtime
