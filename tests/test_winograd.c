// test_winograd.c: the Winograd forward, backward data and weight gradient
// of k4 s2 p1 convolutions (common/conv_winograd.c), the CPU's default for
// the layers they fit (CONV_WINOGRAD), on every build.
//
//   1. which layers they take (conv_winograd_fits);
//   2. accuracy against a double-precision direct sum, element by element,
//      next to the GEMM path's: shapes with one tile per sample and many,
//      non-square, a batch that leaves the last chunk short, more tiles
//      than fit one chunk, with and without bias;
//   3. the same bits on 1, 2 and 3 threads;
//   4. the multiply-adds they report (the direct conv's, as every kernel);
//   5. the dispatch: CONV_WINOGRAD and CONV_DEFAULT give their bits exactly,
//      through conv_cpu.c and through the ops (t_conv2d, t_conv_transpose2d,
//      t_conv2d_weight_grad);
//      CONV_DIRECT the GEMM path's (the direct kernels' promise, test_conv.c).
//
// The bound. Each output of the direct sum is S = sum |w x| + |b| in size
// at most, and a float sum of it is off by a few eps S. Winograd's
// transformed values are sums of up to four inputs and four weights, so its
// products can be up to 16x the direct terms, and its error bound is
// larger by about that: the check is |y - exact| <= 16 eps S per element.
// (For a weight gradient, S counts the terms of all four weights of its
// phase, which Winograd's transforms mix: see reference().) A missing or
// misplaced tap is off by one term, about S / (16 C) here, thousands of
// times the bound.
#include "check.h"
#include "conv_cpu.h"
#include "conv_winograd.h"
#include "cpu_features.h"
#include "simd.h"  // SIMD_PATH

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ConvScratch scratch, weights;

static ConvShape shape(int n, int c, int h, int w, int oc, int k, int stride, int pad) {
    ConvShape s = {n, c, h, w, oc, k, k, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1, stride, pad};
    return s;
}

static void fill(float *p, long n, unsigned long long seed, float scale) {
    for (long i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = scale * ((float)(seed >> 40) / (float)(1 << 24) - 0.5f);
    }
}

static void fits(void) {
    ConvShape yes[] = {shape(64, 64, 16, 16, 128, 4, 2, 1), shape(64, 128, 8, 8, 256, 4, 2, 1),
                       shape(1, 16, 4, 12, 8, 4, 2, 1)};
    check(conv_winograd_fits(&yes[0]) && conv_winograd_fits(&yes[1]) && conv_winograd_fits(&yes[2]),
          "fits: dcgan32's 64 -> 128 and 128 -> 256 layers, and the smallest it takes");
    struct { ConvShape s; const char *why; } no[] = {
        {shape(2, 64, 16, 16, 128, 4, 1, 1), "stride 1"},
        {shape(2, 64, 16, 16, 128, 3, 2, 1), "a 3x3 kernel"},
        {shape(2, 64, 16, 16, 128, 4, 2, 0), "no padding"},
        {shape(2, 64, 6, 8, 128, 4, 2, 1), "6 rows (3 output rows: half a tile)"},
        {shape(2, 64, 8, 10, 128, 4, 2, 1), "10 columns"},
        {shape(2, 12, 8, 8, 128, 4, 2, 1), "12 input channels (not a multiple of 8)"},
        {shape(2, 8, 8, 8, 128, 4, 2, 1), "8 input channels (fewer than 16)"},
        {shape(2, 1, 32, 32, 64, 4, 2, 1), "an image's first layer (1 channel)"},
        {shape(2, 64, 8, 8, 12, 4, 2, 1), "12 output channels"},
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        check(!conv_winograd_fits(&no[i].s), "fits: not a layer with %s", no[i].why);
}

// The three kernels, seen alike: kind 0 forward (in = x, w, out = y, bias
// OC values), kind 1 backward data (in = gy, w, out = gx, bias C values),
// kind 2 backward weight (in = x, and gy in w's place, out = gw, no bias).
static const char *KIND[3] = {"forward", "backward data", "backward weight"};
static long x_len(const ConvShape *s) { return (long)s->N * s->C * s->H * s->W; }
static long y_len(const ConvShape *s) { return (long)s->N * s->OC * s->HO * s->WO; }
static long w_len(const ConvShape *s) { return (long)s->OC * s->C * 16; }
static long in_len(int kind, const ConvShape *s) { return kind == 1 ? y_len(s) : x_len(s); }
static long in2_len(int kind, const ConvShape *s) { return kind == 2 ? y_len(s) : w_len(s); }
static long out_len(int kind, const ConvShape *s) { return kind == 0 ? y_len(s) : kind == 1 ? x_len(s) : w_len(s); }
static int bias_len(int kind, const ConvShape *s) { return kind == 0 ? s->OC : kind == 1 ? s->C : 0; }

static void winograd(int kind, const ConvShape *s, const float *in, const float *w, const float *b, float *out) {
    if (kind == 2) conv_winograd_backward_weight(s, in, w, out, &scratch, &weights);
    else if (kind == 1) conv_winograd_backward_data(s, in, w, b, out, &scratch, &weights);
    else conv_winograd_forward(s, in, w, b, out, &scratch, &weights);
}
static void cpu(int kind, ConvAlgo algo, const ConvShape *s, const float *in, const float *w, const float *b,
                float *out) {
    if (kind == 2) conv_cpu_backward_weight(s, algo, in, w, out);
    else if (kind == 1) conv_cpu_backward_data(s, algo, in, w, b, out);
    else conv_cpu_forward(s, algo, in, w, b, out);
}

// The exact output (in double) and its size S per element: the sum over
// every (input pixel, tap, output pixel) the convolution pairs.
static void reference(int kind, const ConvShape *s, const float *in, const float *w, const float *b, double *out,
                      double *size) {
    long n_out = out_len(kind, s);
    for (long i = 0; i < n_out; i++) out[i] = 0.0, size[i] = 0.0;
    for (int n = 0; n < s->N; n++)
        for (int oc = 0; oc < s->OC; oc++)
            for (int oh = 0; oh < s->HO; oh++)
                for (int ow = 0; ow < s->WO; ow++)
                    for (int c = 0; c < s->C; c++)
                        for (int kh = 0; kh < 4; kh++)
                            for (int kw = 0; kw < 4; kw++) {
                                int ih = 2 * oh - 1 + kh, iw = 2 * ow - 1 + kw;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                                long xi = (((long)n * s->C + c) * s->H + ih) * s->W + iw;
                                long yi = (((long)n * s->OC + oc) * s->HO + oh) * s->WO + ow;
                                long wi = (((long)oc * s->C + c) * 4 + kh) * 4 + kw;
                                // x[xi] w[wi] -> y[yi];  gy[yi] w[wi] -> gx[xi];  x[xi] gy[yi] -> gw[wi]
                                double t = (double)in[kind == 1 ? yi : xi] * w[kind == 2 ? yi : wi];
                                long o = kind == 0 ? yi : kind == 1 ? xi : wi;
                                out[o] += t;
                                size[o] += fabs(t);
                            }
    if (kind == 2) {
        // A weight of one phase is summed with the other three of its phase
        // (the 2x2 filter Winograd transforms as one), so its rounding goes
        // with their total size: a tap near the border can have a single
        // term where the others of its phase have many. S is that total.
        for (long g = 0; g < (long)s->OC * s->C; g++)
            for (int ph = 0; ph < 4; ph++) {
                int taps[4], py = ph >> 1, px = ph & 1;
                for (int a = 0; a < 2; a++)
                    for (int q = 0; q < 2; q++) taps[a * 2 + q] = (2 * a + 1 - py) * 4 + (2 * q + 1 - px);
                double total = 0.0;
                for (int k = 0; k < 4; k++) total += size[g * 16 + taps[k]];
                for (int k = 0; k < 4; k++) size[g * 16 + taps[k]] = total;
            }
    }
    if (b) {
        long plane = kind ? (long)s->H * s->W : (long)s->HO * s->WO;
        int ch = bias_len(kind, s);
        for (long i = 0; i < n_out; i++) {
            double v = b[(i / plane) % ch];
            out[i] += v;
            size[i] += fabs(v);
        }
    }
}

// The worst |got - exact| / (eps S) over the output.
static double worst_error(const float *got, const double *exact, const double *size, long n) {
    double worst = 0.0;
    for (long i = 0; i < n; i++) {
        double e = fabs((double)got[i] - exact[i]) / (FLT_EPSILON * (size[i] > 0 ? size[i] : 1e-30));
        if (!(e <= worst)) worst = e;  // NaN too
    }
    return worst;
}

typedef struct { int n, c, h, w, oc, bias; const char *what; } Case;
static const Case cases[] = {
    {1, 16, 4, 4, 8, 1, "one tile per sample, one sample"},
    {2, 16, 8, 12, 24, 0, "non-square (8x12), no bias"},
    {3, 24, 12, 4, 40, 1, "one tile column, 3 tile rows"},
    {5, 64, 16, 16, 128, 1, "dcgan32's 64 -> 128 layer, batch 5"},
    {4, 128, 8, 8, 256, 0, "dcgan32's 128 -> 256 layer, batch 4"},
    {37, 32, 16, 16, 16, 1, "37 samples of 16 tiles: several chunks, the last one short"},
    {3, 64, 32, 32, 32, 1, "64 tiles a sample (dcgan64's 64 -> 128 layer's size)"},
};

typedef struct {
    ConvShape s;
    long n_in, n_out;
    float *in, *w, *b, *out, *out2;
    const float *bias;
} Data;

static Data data(int kind, const Case *c, unsigned seed) {
    Data d = {shape(c->n, c->c, c->h, c->w, c->oc, 4, 2, 1), 0, 0, NULL, NULL, NULL, NULL, NULL, NULL};
    d.n_in = in_len(kind, &d.s), d.n_out = out_len(kind, &d.s);
    long n2 = in2_len(kind, &d.s);
    d.in = malloc(sizeof(float) * d.n_in), d.w = malloc(sizeof(float) * n2);
    d.b = malloc(sizeof(float) * (bias_len(kind, &d.s) + 1));
    d.out = malloc(sizeof(float) * d.n_out), d.out2 = malloc(sizeof(float) * d.n_out);
    fill(d.in, d.n_in, seed, 2.0f), fill(d.w, n2, seed + 1, 0.5f), fill(d.b, bias_len(kind, &d.s), seed + 2, 1.0f);
    d.bias = c->bias && kind < 2 ? d.b : NULL;
    return d;
}
static void data_free(Data *d) { free(d->in), free(d->w), free(d->b), free(d->out), free(d->out2); }

static void accuracy(int kind) {
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Data d = data(kind, &cases[k], 11 + 3 * (unsigned)k);
        double *exact = malloc(sizeof(double) * d.n_out), *size = malloc(sizeof(double) * d.n_out);
        for (long i = 0; i < d.n_out; i++) d.out[i] = NAN;  // every output must be written
        winograd(kind, &d.s, d.in, d.w, d.bias, d.out);
        cpu(kind, CONV_GEMM, &d.s, d.in, d.w, d.bias, d.out2);
        reference(kind, &d.s, d.in, d.w, d.bias, exact, size);
        double ew = worst_error(d.out, exact, size, d.n_out), eg = worst_error(d.out2, exact, size, d.n_out);
        check(ew <= 16.0,
              "%s accuracy, %s (%d, %d, %dx%d) -> %d: worst error %.2f eps S (bound 16; the GEMM path's %.2f)",
              KIND[kind], cases[k].what, d.s.N, d.s.C, d.s.H, d.s.W, d.s.OC, ew, eg);
        free(exact), free(size);
        data_free(&d);
    }
}

// Same bits on 1-3 threads; the multiply-adds reported; the dispatch.
static void bits_and_counts(int kind) {
    int nthreads = check_threads();
    for (size_t k = 3; k < sizeof cases / sizeof cases[0]; k++) {  // the bigger cases: several chunks
        Data d = data(kind, &cases[k], 44 + 3 * (unsigned)k);
        const char *what = cases[k].what;
        check_use_threads(1);
        winograd(kind, &d.s, d.in, d.w, d.bias, d.out);
        int same = 1;
        for (int th = 2; th <= 3 && check_use_threads(th); th++) {
            winograd(kind, &d.s, d.in, d.w, d.bias, d.out2);
            same &= memcmp(d.out, d.out2, sizeof(float) * d.n_out) == 0;
        }
        check_use_threads(nthreads);
        check(same, "%s, %s: the same bits on 1, 2 and 3 threads", KIND[kind], what);

        long long m0 = gemm_mac_count();
        cpu(kind, CONV_GEMM, &d.s, d.in, d.w, d.bias, d.out2);
        long long m1 = gemm_mac_count();
        winograd(kind, &d.s, d.in, d.w, d.bias, d.out2);
        long long m2 = gemm_mac_count();
        check(m2 - m1 == m1 - m0 && m1 > m0,
              "%s, %s: counts the direct conv's multiply-adds (%lld, the GEMM path %lld)", KIND[kind], what, m2 - m1,
              m1 - m0);

        // The dispatch: WINOGRAD and DEFAULT take these kernels, DIRECT the
        // GEMM path's bits.
        winograd(kind, &d.s, d.in, d.w, d.bias, d.out);
        int ok = 1;
        static const ConvAlgo algos[2] = {CONV_WINOGRAD, CONV_DEFAULT};
        for (int a = 0; a < 2; a++) {
            cpu(kind, algos[a], &d.s, d.in, d.w, d.bias, d.out2);
            ok &= memcmp(d.out, d.out2, sizeof(float) * d.n_out) == 0;
        }
        check(ok, "%s, %s: conv_cpu.c's CONV_WINOGRAD and CONV_DEFAULT are these kernels, bit for bit", KIND[kind],
              what);
        cpu(kind, CONV_GEMM, &d.s, d.in, d.w, d.bias, d.out);
        cpu(kind, CONV_DIRECT, &d.s, d.in, d.w, d.bias, d.out2);
        check(memcmp(d.out, d.out2, sizeof(float) * d.n_out) == 0, "%s, %s: CONV_DIRECT keeps the GEMM path's bits",
              KIND[kind], what);
        data_free(&d);
    }
}

// Through the ops, with the library's default algorithm: t_conv2d runs the
// Winograd forward, t_conv_transpose2d its backward data (the transposed
// conv's forward), t_conv2d_weight_grad its weight gradient, and
// t_conv_seconds(CONV_DEFAULT) counts them.
static void ops_default(void) {
    t_arena_reset();
    rand_tensor_seed(5);
    int xs[4] = {6, 32, 16, 16}, ws[4] = {64, 32, 4, 4}, gs[4] = {6, 64, 8, 8}, bs = 32;
    Tensor *x = rand_tensor(-1, 1, 4, xs), *w = rand_tensor(-0.5f, 0.5f, 4, ws), *gy = rand_tensor(-1, 1, 4, gs);
    Tensor *b = rand_tensor(-1, 1, 1, &bs);
    ConvShape s = shape(6, 32, 16, 16, 64, 4, 2, 1);
    t_set_conv_algo(CONV_DEFAULT);
    double before = t_conv_seconds(CONV_DEFAULT);
    Tensor *y = t_conv2d(x, w, NULL, 2, 1), *gx = t_conv_transpose2d(gy, w, b, 2, 1, 0);
    Tensor *gw = t_conv2d_weight_grad(x, gy, 4, 4, 2, 1);
    check(t_conv_seconds(CONV_DEFAULT) > before && t_conv_seconds(CONV_DEFAULT) == t_conv_seconds(CONV_WINOGRAD),
          "t_conv_seconds: DEFAULT reports the Winograd path's time");
    float *want_y = malloc(sizeof(float) * y->numel), *want_gx = malloc(sizeof(float) * gx->numel);
    float *want_gw = malloc(sizeof(float) * gw->numel);
    conv_winograd_forward(&s, x->data, w->data, NULL, want_y, &scratch, &weights);
    conv_winograd_backward_data(&s, gy->data, w->data, b->data, want_gx, &scratch, &weights);
    conv_winograd_backward_weight(&s, x->data, gy->data, want_gw, &scratch, &weights);
    check(memcmp(y->data, want_y, sizeof(float) * y->numel) == 0 &&
              memcmp(gx->data, want_gx, sizeof(float) * gx->numel) == 0 &&
              memcmp(gw->data, want_gw, sizeof(float) * gw->numel) == 0,
          "t_conv2d, t_conv_transpose2d and t_conv2d_weight_grad with the default algorithm: Winograd's bits");
    free(want_y), free(want_gx), free(want_gw);
}

int main(void) {
    check_begin("winograd");
    printf("vector path %s\n", SIMD_PATH);
    fits();
    for (int kind = 0; kind < 3; kind++) {
        accuracy(kind);
        bits_and_counts(kind);
    }
    ops_default();
    return check_summary();
}
