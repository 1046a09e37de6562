// Rounding to an integer without libm: hull links no libm, one shared library less for the
// loader to map (and for peak RSS to count) on every call (bench/README.md, issue 17).
#pragma once

namespace hull {

// To the nearest integer, halves away from zero (std::llround), exact for |v| < 2^52; the
// caller keeps v within long long.
inline long long round_to_ll(double v) {
  long long t = static_cast<long long>(v);   // toward zero
  double frac = v - static_cast<double>(t);  // exact below 2^52
  if (frac >= 0.5) return t + 1;
  if (frac <= -0.5) return t - 1;
  return t;
}

}  // namespace hull
