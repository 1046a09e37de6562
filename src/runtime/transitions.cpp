#include "runtime/transitions.h"

#include <fmt/format.h>

#include "util/error.h"

namespace hull::runtime {
namespace {

// runc's words, which engines match (docs/architecture.md, "The OCI state machine").
constexpr const char* kBeingCreated = "container {id} is still being created";
constexpr const char* kNotCreated = "cannot start container {id}: it is {status}, not created";
constexpr const char* kSignalExited =
    "cannot signal container {id}: container not running (it has exited)";
constexpr const char* kNotStopped = "cannot delete container {id} that is not stopped: {status}";
constexpr const char* kNotRunning = "cannot pause container {id}: it is {status}, not running";
constexpr const char* kNotPaused = "cannot resume container {id}: it is {status}, not paused";
constexpr const char* kExited = "container {id} has exited: container not running";
constexpr const char* kExecStopped = "cannot exec in a stopped container {id}";
constexpr const char* kExecPaused =
    "cannot exec in a paused container {id} (--ignore-paused starts the process frozen)";
constexpr const char* kOk = nullptr;

constexpr int kStatuses = 6;  // oci::Status: creating created running paused stopped unknown

struct Row {
  Verb verb;
  const char* refusal[kStatuses];  // per status: nullptr = allowed, else why not
};

// clang-format off
constexpr Row kTable[] = {
  //                         creating       created      running      paused       stopped        unknown
  {Verb::start,              {kBeingCreated, kOk,         kNotCreated, kNotCreated, kNotCreated,   kNotCreated}},
  {Verb::kill,               {kBeingCreated, kOk,         kOk,         kOk,         kSignalExited, kOk}},
  {Verb::kill_all,           {kBeingCreated, kOk,         kOk,         kOk,         kOk,           kOk}},
  {Verb::remove,             {kOk,           kOk,         kNotStopped, kNotStopped, kOk,           kOk}},
  {Verb::remove_force,       {kOk,           kOk,         kOk,         kOk,         kOk,           kOk}},
  {Verb::pause,              {kNotRunning,   kNotRunning, kOk,         kNotRunning, kNotRunning,   kNotRunning}},
  {Verb::resume,             {kNotPaused,    kNotPaused,  kNotPaused,  kOk,         kNotPaused,    kNotPaused}},
  {Verb::update,             {kBeingCreated, kOk,         kOk,         kOk,         kExited,       kOk}},
  {Verb::exec,               {kBeingCreated, kOk,         kOk,         kExecPaused, kExecStopped,  kOk}},
  {Verb::exec_ignore_paused, {kBeingCreated, kOk,         kOk,         kOk,         kExecStopped,  kOk}},
  {Verb::ps,                 {kBeingCreated, kOk,         kOk,         kOk,         kOk,           kOk}},
};
// clang-format on

const char* refusal(Verb verb, oci::Status status) {
  int column = static_cast<int>(status);
  if (column < 0 || column >= kStatuses) return kOk;
  for (const Row& row : kTable)
    if (row.verb == verb) return row.refusal[column];
  return kOk;
}

}  // namespace

bool allowed(Verb verb, oci::Status status) {
  return refusal(verb, status) == kOk;
}

void require(Verb verb, const oci::State& s) {
  const char* why = refusal(verb, s.status);
  if (why == kOk) return;
  throw Error(ErrorKind::invalid_state,
              fmt::format(fmt::runtime(why), fmt::arg("id", s.id),
                          fmt::arg("status", oci::status_name(s.status))));
}

void fail_not_running(const std::string& id) {
  throw Error(ErrorKind::invalid_state, fmt::format(fmt::runtime(kExited), fmt::arg("id", id)));
}

}  // namespace hull::runtime
