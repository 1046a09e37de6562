#include "util/fault.h"

#ifdef HULL_FAULT_INJECTION
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#endif

namespace hull {

#ifdef HULL_FAULT_INJECTION
void fault_point(const char* step) {
  const char* at = std::getenv("HULL_FAULT_AT");
  if (at && std::strcmp(at, step) == 0) ::kill(::getpid(), SIGKILL);
}

bool fault_at(const char* step) {
  const char* at = std::getenv("HULL_FAULT_AT");
  return at && std::strcmp(at, step) == 0;
}
#else
void fault_point(const char*) {}

bool fault_at(const char*) {
  return false;
}
#endif

}  // namespace hull
