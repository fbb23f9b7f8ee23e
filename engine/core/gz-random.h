/* gz-random.h — the engine's one seedable noise source (SmoothGrad, ROAD)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014) for the stream and Box–Muller for normal
 * variates: small, fast, the same numbers on every machine and thread count.
 */
#pragma once

#include <math.h>
#include <stdint.h>

static inline uint64_t
gz_random_next (uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A standard normal variate; one of Box–Muller's pair is used, so a stream
 * does not depend on how many were drawn before in pairs. */
static inline double
gz_random_normal (uint64_t *state)
{
  double u1 = ((double) (gz_random_next (state) >> 11) + 1.0) / 9007199254740993.0; /* (0,1] */
  double u2 = (double) (gz_random_next (state) >> 11) / 9007199254740992.0;
  return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}
