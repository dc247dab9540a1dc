// rng.h: the one random number generator of a run.
//
// Everything random in a chapter (initial weights, noise z, minibatch order,
// the epsilon of a gradient penalty) is drawn from one Rng seeded by --seed,
// so a CPU run is repeatable bit for bit, and a checkpoint that stores the Rng
// resumes the very same stream.
//
// The generator is xoshiro256** (Blackman & Vigna, 2018): 256 bits of state,
// a period of 2^256 - 1, fast, and passes the usual statistical batteries. Its
// four state words are filled from the seed by splitmix64, as its authors
// recommend, so nearby seeds (1, 2, 3) still give unrelated streams.
// Normals come from the Box-Muller transform, which turns two uniforms into
// two independent normals: we return the first and keep the second (`spare`)
// for the next call. The spare is part of the state: saving an Rng without it
// would make a resumed run drift by one normal.
//
// Same seed, same stream on every machine: the integer stream is exact;
// uniforms are exact functions of it; normals are computed in double (libm's
// log, sqrt, cos, sin) and rounded to float, so a last-bit difference between
// two libm implementations almost never reaches the float.
#ifndef GANBOOK_RNG_H
#define GANBOOK_RNG_H

#include <stdint.h>

#include "tensor.h"

// A plain struct: copying it copies the generator (and its future stream).
typedef struct Rng {
    uint64_t s[4];   // xoshiro256** state; never all zero
    int has_spare;   // 1: `spare` holds the second normal of the last pair
    double spare;
} Rng;

// Seed: the same seed always gives the same stream.
void rng_seed(Rng *rng, uint64_t seed);

// 64 random bits.
uint64_t rng_u64(Rng *rng);
// Uniform in [0, n), without modulo bias. n >= 1.
uint64_t rng_below(Rng *rng, uint64_t n);
// Uniform float in [0, 1): 24 random bits, so every value is a multiple of 2^-24.
float rng_uniform(Rng *rng);
// Uniform double in [0, 1): 53 random bits.
double rng_uniform_double(Rng *rng);
// Standard normal N(0, 1) (Box-Muller; every second call uses the cached spare).
float rng_normal(Rng *rng);

// Fill a CPU tensor's data: normal(mean, std) or uniform [lo, hi).
// (For a tensor on the GPU, fill a CPU tensor and upload it.)
void rng_fill_normal(Rng *rng, Tensor *t, float mean, float std);
void rng_fill_uniform(Rng *rng, Tensor *t, float lo, float hi);

// Fisher-Yates: shuffle a[0..n) in place; every order equally likely.
void rng_shuffle(Rng *rng, int *a, int n);
// perm[0..n) = a random permutation of 0, 1, ..., n-1 (minibatch order).
void rng_permutation(Rng *rng, int *perm, int n);

// The state as a fixed-size little-endian byte string (for checkpoints):
// s[0..3] as 4 x u64, the spare's IEEE bits as u64, has_spare as u64.
#define RNG_STATE_BYTES 48
void rng_serialize(const Rng *rng, uint8_t out[RNG_STATE_BYTES]);
// Returns 0, or -1 (leaving *rng untouched) when the bytes cannot be a state
// (all-zero xoshiro words, has_spare not 0/1).
int rng_deserialize(Rng *rng, const uint8_t in[RNG_STATE_BYTES]);

#endif
