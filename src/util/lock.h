// flock(2), one way everywhere: shared or exclusive, retried when a signal interrupts the
// wait, and held by an Fd (RAII: the lock goes with the open file, when the Fd closes).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/fd.h"

namespace hull {

enum class LockMode { shared, exclusive };

// Waits for the lock on fd. `what` names the file in the error: "lock /run/hull/web: ...".
void lock_fd(int fd, LockMode mode, std::string_view what);

// Opens path (open(2)'s flags and mode; O_CLOEXEC is added) and waits for its lock: the
// returned Fd holds it.
Fd open_locked(const std::string& path, int flags, mode_t mode, LockMode lock_mode);

}  // namespace hull
