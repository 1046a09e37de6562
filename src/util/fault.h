// Fault injection for the test suite: fault_point("create.cgroup") ends the process with
// SIGKILL when HULL_FAULT_AT names that step, as an engine's timeout or the OOM killer
// would; fault_fails("monitor.logger-thread") makes a step fail instead. Only the test binary
// (build/hull-fault, fault.cpp compiled with HULL_FAULT_INJECTION) reads the variable; in hull
// itself the call does nothing.
#pragma once

namespace hull {

void fault_point(const char* step);

// For a step that can fail without ending the process (no thread to be had, say): true when
// HULL_FAULT_AT names it, and the caller then takes the path of that failure. Always false
// in hull itself.
bool fault_fails(const char* step);

}  // namespace hull
