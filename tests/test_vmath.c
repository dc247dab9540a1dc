// test_vmath.c: the vector tanh of common/vmath.h against double-precision
// tanh, in ulps of the float result, on whichever vector path this build
// took (AVX-512, AVX2, NEON or generic: CI builds each), and t_tanh, which
// runs it, value for value.
//
// The sweep takes every 997th float from 0 to 10 (1.1 million values, all
// exponents), every float within 4096 of the places where the method
// changes (0.625, where the polynomial hands over to exp; 9.01, where
// tanh reaches 1 in float; 9.5, the clamp),
// and the special values. The bound is 2 ulp, glibc tanhf's own.
#include "check.h"
#include "vmath.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

// |got - tanh(x)| in units of the last place of the float nearest tanh(x).
static double ulp_error(float x, float got) {
    double want = tanh((double)x);
    float wf = fabsf((float)want);
    double ulp = (double)nextafterf(wf, INFINITY) - (double)wf;
    return fabs((double)got - want) / ulp;
}

typedef struct {
    double worst;
    float worst_x;
    long values, odd_fails;
} Sweep;

// Runs v_tanh on xs[0..n) (and on -xs) and folds the errors into s.
static void sweep(Sweep *s, const float *xs, long n) {
    float buf[VL], neg[VL];
    for (long i = 0; i < n; i += VL) {
        int m = n - i < VL ? (int)(n - i) : VL;
        for (int j = 0; j < VL; j++) buf[j] = xs[i + (j < m ? j : 0)];
        vf v, w;
        memcpy(&v, buf, sizeof v);
        w = v_tanh(v);
        memcpy(buf, &w, sizeof w);
        v = -v;
        w = v_tanh(v);
        memcpy(neg, &w, sizeof w);
        for (int j = 0; j < m; j++) {
            float x = xs[i + j];
            double e = ulp_error(x, buf[j]);
            if (e > s->worst || e != e) {
                s->worst = e != e ? INFINITY : e;
                s->worst_x = x;
            }
            if (to_bits(neg[j]) != (to_bits(buf[j]) ^ 0x80000000u)) s->odd_fails++;
        }
        s->values += m;
    }
}

#define CHUNK 4096

static void sweep_range(Sweep *s, uint32_t lo, uint32_t hi, uint32_t step) {
    static float xs[CHUNK];
    long n = 0;
    for (uint64_t u = lo; u <= hi; u += step) {
        xs[n++] = from_bits((uint32_t)u);
        if (n == CHUNK) {
            sweep(s, xs, n);
            n = 0;
        }
    }
    sweep(s, xs, n);
}

static void accuracy(void) {
    Sweep s = {0, 0, 0, 0};
    sweep_range(&s, 0, to_bits(10.0f), 997);
    const float seams[] = {0.625f, 9.01f, 9.5f};
    for (int k = 0; k < 3; k++) sweep_range(&s, to_bits(seams[k]) - 4096, to_bits(seams[k]) + 4096, 1);
    check(s.worst <= 2.0, "v_tanh (%s) within 2 ulp of tanh on %ld values and their negatives: worst %.2f ulp at %.9g",
          SIMD_PATH, s.values, s.worst, (double)s.worst_x);
    check(s.odd_fails == 0, "v_tanh(-x) is -v_tanh(x) bit for bit: %ld exceptions", s.odd_fails);

    // For comparison only: libm's tanhf on the same coarse sweep.
    double libm = 0;
    for (uint64_t u = 0; u <= to_bits(10.0f); u += 997) {
        float x = from_bits((uint32_t)u);
        double e = ulp_error(x, tanhf(x));
        if (e > libm) libm = e;
    }
    printf("  (libm tanhf on the coarse sweep: worst %.2f ulp)\n", libm);
}

// v_tanh of one value (in every lane).
static float one_tanh(float x) {
    float buf[VL];
    for (int j = 0; j < VL; j++) buf[j] = x;
    vf v;
    memcpy(&v, buf, sizeof v);
    v = v_tanh(v);
    memcpy(buf, &v, sizeof v);
    return buf[0];
}

static void specials(void) {
    const float xs[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-40f, 1e-30f, 20.0f, -88.0f, 3.4e38f};
    int n = (int)(sizeof xs / sizeof xs[0]);
    for (int i = 0; i < n; i++) {
        float got = one_tanh(xs[i]), want = tanhf(xs[i]);
        int ok = isnan(want) ? isnan(got) : to_bits(got) == to_bits(want);
        check(ok, "v_tanh(%g) = %g (want %g, sign included)", (double)xs[i], (double)got, (double)want);
    }
}

// t_tanh runs v_tanh over the whole tensor, its threads' blocks and the
// tail past the last whole vector included. The values are ones where
// v_tanh and libm's tanhf differ in the last bit, so an element that some
// path hands to libm instead shows.
static void op_uses_it(void) {
    enum { KEEP = 251 };
    float differ[KEEP];
    int nd = 0;
    for (uint32_t u = to_bits(0.01f); u <= to_bits(5.0f) && nd < KEEP; u += 4099) {
        float x = from_bits(u);
        if (to_bits(one_tanh(x)) != to_bits(tanhf(x))) {
            differ[nd] = nd % 2 ? -x : x;
            nd++;
        }
    }
    check(nd > 0, "values where v_tanh and tanhf differ, to plant in t_tanh's input: %d found", nd);
    if (nd == 0) return;
    int n = 100003;  // odd: a tail on every path; above the kernels' threading threshold
    Tensor *x = t_empty_shape(1, &n);
    for (int i = 0; i < n; i++) x->data[i] = differ[i % nd];
    Tensor *y = t_tanh(x);
    long bad = 0;
    for (int i = 0; i < n; i++)
        if (to_bits(y->data[i]) != to_bits(one_tanh(x->data[i]))) bad++;
    check(bad == 0, "t_tanh gives v_tanh's bits on all %d values: %ld differ", n, bad);
}

int main(void) {
    check_begin("vmath");
    accuracy();
    specials();
    op_uses_it();
    return check_summary();
}
