// rng.c: xoshiro256** seeded by splitmix64, Box-Muller normals, shuffles.
// See rng.h for why each piece is there.
#include "rng.h"

#include <math.h>
#include <string.h>

// splitmix64 (Steele, Lea & Flood, 2014): a 64-bit counter pushed through a
// strong mixer. Used only to spread one seed over xoshiro's 256 state bits.
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(Rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
    // splitmix64 is a bijection of its counter, so four consecutive outputs
    // cannot all be zero: the state is always valid.
    rng->has_spare = 0;
    rng->spare = 0.0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256** 1.0, transcribed from the reference at prng.di.unimi.it.
uint64_t rng_u64(Rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

// Rejection sampling: r % n is biased toward small values unless r is drawn
// from a range that is a multiple of n. (2^64 - n) % n == 2^64 % n is the
// size of the incomplete last block; values below it are redrawn (for
// n <= 2^32 that happens with probability < 2^-32).
uint64_t rng_below(Rng *rng, uint64_t n) {
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = rng_u64(rng);
        if (r >= threshold) return r % n;
    }
}

// The top bits of xoshiro256** are its best; a float has a 24-bit significand.
float rng_uniform(Rng *rng) { return (float)(rng_u64(rng) >> 40) * 0x1.0p-24f; }

double rng_uniform_double(Rng *rng) { return (double)(rng_u64(rng) >> 11) * 0x1.0p-53; }

// Box-Muller: for u1 in (0,1], u2 in [0,1), r = sqrt(-2 ln u1) and
// theta = 2 pi u2 give two independent N(0,1): r cos(theta), r sin(theta).
// u1 = 1 - uniform keeps log away from 0.
float rng_normal(Rng *rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return (float)rng->spare;
    }
    double u1 = 1.0 - rng_uniform_double(rng);
    double u2 = rng_uniform_double(rng);
    double r = sqrt(-2.0 * log(u1));
    double theta = 6.283185307179586476925 * u2;
    rng->spare = r * sin(theta);
    rng->has_spare = 1;
    return (float)(r * cos(theta));
}

// Values are drawn on the host, in the same order whatever the device, and
// uploaded when t lives on a GPU: a GPU run draws the same numbers as a CPU run.
static float *host_values(Tensor *t) {
    return t->device == DEV_CPU ? t->data : t_arena_alloc((size_t)t->numel * sizeof(float));
}

void rng_fill_normal(Rng *rng, Tensor *t, float mean, float std) {
    float *v = host_values(t);
    for (long i = 0; i < t->numel; i++) v[i] = mean + std * rng_normal(rng);
    if (v != t->data) t_upload(t, v);
}

void rng_fill_uniform(Rng *rng, Tensor *t, float lo, float hi) {
    float *v = host_values(t);
    for (long i = 0; i < t->numel; i++) v[i] = lo + (hi - lo) * rng_uniform(rng);
    if (v != t->data) t_upload(t, v);
}

// Fisher-Yates (Durstenfeld's form): position i takes a uniformly chosen
// element among those not yet placed, a[0..i].
void rng_shuffle(Rng *rng, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint64_t)i + 1);
        int tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
}

void rng_permutation(Rng *rng, int *perm, int n) {
    for (int i = 0; i < n; i++) perm[i] = i;
    rng_shuffle(rng, perm, n);
}

// ---------------------------------------------------------------------------
// Serialization: explicit little-endian bytes, so a checkpoint written on one
// machine resumes on another.

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void rng_serialize(const Rng *rng, uint8_t out[RNG_STATE_BYTES]) {
    for (int i = 0; i < 4; i++) put_u64(out + 8 * i, rng->s[i]);
    uint64_t bits;
    memcpy(&bits, &rng->spare, sizeof bits);
    put_u64(out + 32, bits);
    put_u64(out + 40, (uint64_t)(rng->has_spare != 0));
}

int rng_deserialize(Rng *rng, const uint8_t in[RNG_STATE_BYTES]) {
    Rng r;
    for (int i = 0; i < 4; i++) r.s[i] = get_u64(in + 8 * i);
    uint64_t bits = get_u64(in + 32), has = get_u64(in + 40);
    if ((r.s[0] | r.s[1] | r.s[2] | r.s[3]) == 0 || has > 1) return -1;
    memcpy(&r.spare, &bits, sizeof bits);
    r.has_spare = (int)has;
    *rng = r;
    return 0;
}
