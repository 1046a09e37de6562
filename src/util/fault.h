// Fault injection for the test suite: fault_point("create.cgroup") ends the process with
// SIGKILL when HULL_FAULT_AT names that step, as an engine's timeout or the OOM killer
// would; where fault_at("monitor.logger-thread") is true, the caller fails or delays the step
// instead. Only the test binary (build/hull-fault, fault.cpp compiled with
// HULL_FAULT_INJECTION) reads the variable; in hull itself the calls do nothing.
#pragma once

namespace hull {

void fault_point(const char* step);

// For a fault that does not end the process (no thread to be had, a process not scheduled
// for a while): true when HULL_FAULT_AT names the step, and the caller then takes the path of
// that fault. Always false in hull itself.
bool fault_at(const char* step);

}  // namespace hull
