// vmath.h: math functions on whole vectors (simd.h's vf, VL floats), for
// the elementwise kernels whose scalar libm call costs more than the work
// around it.
//
// tanh is the one that mattered: glibc's tanhf takes ~23 ns a value here
// (it calls expm1f), and a generator's output layer calls it on every pixel
// of every sample twice a step: 8% of mlp_b64's CPU time went to it. The
// version below does VL values in ~30 vector instructions, with no branch.
//
//   |x| < 0.625:  tanh x = x + x^3 P(x^2), P of degree 4, fitted (weighted
//                 least squares, reweighted towards minimax) to
//                 (tanh x - x) / x^3; the fit alone is within 0.1 ulp.
//   |x| >= 0.625: tanh |x| = 1 - 2t / (1 + t), t = exp(-2|x|) <= 0.29:
//                 2t / (1 + t) <= 0.45, so the subtraction loses no bits
//                 to cancellation. (Written (1 - t) / (1 + t), the worst
//                 error measured 1.49 ulp instead of 1.39.) exp by the
//                 textbook route: n = round(y / ln 2), r = y - n ln 2 in
//                 two parts (ln2_hi has trailing zero bits, so n ln2_hi is
//                 exact), e^r by its Taylor series to r^7 (|r| <= 0.35:
//                 truncation 5e-9), times 2^n built in the exponent bits.
//                 |x| is clamped at 9.5 first: past 9.01 tanh x rounds to
//                 1 in float, and n stays far from the exponent's range.
//   Then the sign of x goes back on (tanh is odd; -0 stays -0), and NaN
//   passes through.
//
// tests/test_vmath.c measures the error against double-precision tanh on
// a million floats and around the seams: at most 2 ulp (1.39 measured on
// AVX-512 and AVX2, 1.44 on the generic path, which has no FMA; glibc's
// tanhf measures 2.03 on the same sweep). Results differ from glibc's in
// the last bit or two, so switching to this changed the chapters' numbers
// in the last bits, not their meaning.
#ifndef GANBOOK_VMATH_H
#define GANBOOK_VMATH_H

#include "simd.h"

typedef int vi __attribute__((vector_size(VL * sizeof(int)), may_alias));

static inline vf vf_splat(float v) { return v - (vf){0}; }

// m ? a : b, lane by lane (m: all ones or all zeros per lane, as a vector
// comparison gives).
static inline vf vf_select(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }

static inline vf v_tanh(vf x) {
    const vi sign = (vi)x & (int)0x80000000, nan = x != x;
    vf a = (vf)((vi)x & 0x7fffffff);

    // Near zero: the odd polynomial.
    vf s = a * a;
    vf p = vf_splat(-0.00571704815951639f);
    p = fmadd(p, s, vf_splat(0.02065059049370777f));
    p = fmadd(p, s, vf_splat(-0.053743499187856064f));
    p = fmadd(p, s, vf_splat(0.13331491301717502f));
    p = fmadd(p, s, vf_splat(-0.3333328392587697f));
    vf small = fmadd(a * s, p, a);

    // Away from zero: through t = exp(-2|x|).
    vf y = vf_select(a < 9.5f, a, vf_splat(9.5f)) * -2.0f;
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    vf n = (y * 1.44269504088896341f + shifter) - shifter;
    vf r = fmadd(n, vf_splat(-0.693359375f), y);  // ln2_hi: 0x3f318000, 9 significant bits
    r = fmadd(n, vf_splat(2.12194440e-4f), r);     // ln2_lo = ln 2 - ln2_hi
    vf e = vf_splat(1.0f / 5040);
    e = fmadd(e, r, vf_splat(1.0f / 720));
    e = fmadd(e, r, vf_splat(1.0f / 120));
    e = fmadd(e, r, vf_splat(1.0f / 24));
    e = fmadd(e, r, vf_splat(1.0f / 6));
    e = fmadd(e, r, vf_splat(0.5f));
    e = fmadd(e, r, vf_splat(1.0f));
    e = fmadd(e, r, vf_splat(1.0f));
    vi n_int = __builtin_convertvector(n, vi);
    vf t = e * (vf)((n_int + 127) << 23);
    vf big = 1.0f - (t + t) / (1.0f + t);

    vf mag = vf_select(a < 0.625f, small, big);
    return vf_select(nan, x, (vf)((vi)mag | sign));
}

// y[i] = tanh(x[i]) for i < n; x and y may be the same array. Every value
// goes through v_tanh (the tail in a padded vector), so a value's result
// does not depend on where it sits in the array.
static inline void v_tanh_array(const float *x, float *y, long n) {
    long i = 0;
    for (; i + VL <= n; i += VL) {
        vf v;
        __builtin_memcpy(&v, x + i, sizeof v);
        v = v_tanh(v);
        __builtin_memcpy(y + i, &v, sizeof v);
    }
    if (i < n) {
        float buf[VL] = {0};
        __builtin_memcpy(buf, x + i, (size_t)(n - i) * sizeof(float));
        vf v;
        __builtin_memcpy(&v, buf, sizeof v);
        v = v_tanh(v);
        __builtin_memcpy(buf, &v, sizeof v);
        __builtin_memcpy(y + i, buf, (size_t)(n - i) * sizeof(float));
    }
}

#endif
