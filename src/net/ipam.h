// Address allocation for one network, under its lock (Store::lock_network). A cursor walks
// the subnet once, handing out never-used addresses; released addresses go to a free
// list that is used once the cursor reached the end. Each allocation is O(1) amortised:
// the cursor passes each address once, and a free-list pop is one directory entry. When
// both are exhausted a sweep reclaims stale leases (owner gone) into the free list.
#pragma once

#include <functional>
#include <string>

#include "net/store.h"

namespace hull::net {

// This boot's id: leases from before a reboot are stale whatever their pid says.
const std::string& boot_id();
// The lease's owner (pid with its start time, this boot) still runs.
bool lease_alive(const Lease& lease);
// Fills pid, start_time and boot_id with the calling process.
void own_lease(Lease& lease);

// Takes an address for `lease` (lease.ip: requested address, or 0 for any). `reclaim`
// is called for a stale lease found in the way, to tear down what it left before its
// address is reused. Throws when the address is taken or the subnet is full.
using Reclaim = std::function<void(const Lease&)>;
void allocate(Store& store, const Network& net, Lease& lease, const Reclaim& reclaim);

}  // namespace hull::net
