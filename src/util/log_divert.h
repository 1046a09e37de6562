// A process whose stderr is not its user's any more (the friendly face's monitor: its stderr
// is the container's, which the container's log records) sends its own lines elsewhere.
#pragma once

namespace hull::log {

// Every later line, errors too, goes to `fd` only (in the logrus layout, with its time), never
// to stderr. The caller keeps `fd` open for the rest of the process.
void divert_to(int fd);

}  // namespace hull::log
