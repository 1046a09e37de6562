#pragma once

#include <cstdint>
#include <string>

namespace hull {

// "2026-11-29T22:10:06.123456789Z"
std::string rfc3339_now();
// Monotonic milliseconds / nanoseconds.
int64_t monotonic_ms();
int64_t monotonic_ns();

// Sleeps this long, all of it: a signal that interrupts the sleep does not shorten it.
void sleep_ms(int64_t ms);
void sleep_us(int64_t us);

}  // namespace hull
