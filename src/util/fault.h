// Fault injection for the test suite: fault_point("create.cgroup") ends the process with
// SIGKILL when HULL_FAULT_AT names that step, as an engine's timeout or the OOM killer
// would. Only the test binary (build/hull-fault, fault.cpp compiled with
// HULL_FAULT_INJECTION) reads the variable; in hull itself the call does nothing.
#pragma once

namespace hull {

void fault_point(const char* step);

}  // namespace hull
