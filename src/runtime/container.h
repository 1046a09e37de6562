// What the lifecycle verbs share about an existing container (lifecycle.cpp).
#pragma once

#include <string>

#include "oci/state.h"
#include "runtime/state_store.h"
#include "util/fd.h"

namespace hull::runtime {

// The status as it is now, not as it was written: the init may have died, or been frozen.
void refresh(oci::State& s);
// state.json refreshed; "creating" while there is none yet.
oci::State load_state(StateStore& store, int dir, const std::string& id);
// A pidfd for the init only if it is still the process we started (start time).
Fd open_init(const oci::State& s);

}  // namespace hull::runtime
