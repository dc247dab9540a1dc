// grade_ch03_cuda.c: tests for chapter 3's CUDA exercises,
// solutions|exercises/ch03_cuda_conv.cu: 3.7 the naive convolution kernel and
// 3.8 the tiled kernel's shared-memory load. No GPU is needed: the kernels
// run under the project's emulator of the CUDA execution model (cuda/emu/),
// through the convolution lab's own launcher (tests/grader/grade_cuda.cu),
// every shape twice, threads in forward and in reverse order (a missing
// barrier shows in one order or the other: a thread reads shared memory a
// neighbour has not written yet, NaN, or has already overwritten with the
// next channel). Fresh device memory is NaN, so an output never written
// fails; a write past y's end trips the emulator's guard zone; a tile load
// that reads outside the image reads a neighbouring row or the guard zone
// instead of the padding's zeros. Expected values: loops in double here (never
// solutions/ or the library's kernels). An element passes within the float
// rounding bound of its sum, (terms + 2) * 1.2e-7 * sum |terms|, the lab's.
// Built only where a C++ compiler exists (GRADER_CUDA_EMU); elsewhere make
// grade says these are skipped and the table below is empty.
#include "grader.h"

#ifdef GRADER_CUDA_EMU
#include "grade_cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

// x (N,C,H,W), w (OC,C,K,K), stride, pad, with or without a bias.
typedef struct {
    int N, C, H, W, OC, K, stride, pad, bias;
    const char *what;
} Geometry;

// y and sum |terms| per output, in double.
static void conv_ref(const Geometry *g, const float *x, const float *w, const float *b, double *y, double *mag,
                     int HO, int WO) {
    for (int n = 0; n < g->N; n++)
        for (int oc = 0; oc < g->OC; oc++)
            for (int oh = 0; oh < HO; oh++)
                for (int ow = 0; ow < WO; ow++) {
                    double s = b ? b[oc] : 0.0, m = b ? fabs(b[oc]) : 0.0;
                    for (int c = 0; c < g->C; c++)
                        for (int kh = 0; kh < g->K; kh++)
                            for (int kw = 0; kw < g->K; kw++) {
                                int ih = oh * g->stride - g->pad + kh, iw = ow * g->stride - g->pad + kw;
                                if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                                double t = (double)x[(((long)n * g->C + c) * g->H + ih) * g->W + iw] *
                                           w[(((long)oc * g->C + c) * g->K + kh) * g->K + kw];
                                s += t;
                                m += fabs(t);
                            }
                    long i = (((long)n * g->OC + oc) * HO + oh) * WO + ow;
                    y[i] = s;
                    mag[i] = m;
                }
}

// One geometry through kernel `version`, in both thread orders.
static void conv_check(int version, const Geometry *g, uint64_t seed) {
    grade_seed(seed);
    int HO = (g->H + 2 * g->pad - g->K) / g->stride + 1, WO = (g->W + 2 * g->pad - g->K) / g->stride + 1;
    long nx = (long)g->N * g->C * g->H * g->W, nw = (long)g->OC * g->C * g->K * g->K;
    long ny = (long)g->N * g->OC * HO * WO;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(g->OC * sizeof *b);
    float *y = malloc(ny * sizeof *y);
    double *want = malloc(ny * sizeof *want), *mag = malloc(ny * sizeof *mag);
    for (long i = 0; i < nx; i++) x[i] = (float)grade_uniform(-1, 1);
    for (long i = 0; i < nw; i++) w[i] = (float)grade_uniform(-0.5, 0.5);
    for (int i = 0; i < g->OC; i++) b[i] = (float)grade_uniform(-1, 1);
    const float *bias = g->bias ? b : NULL;
    conv_ref(g, x, w, bias, want, mag, HO, WO);
    long terms = (long)g->C * g->K * g->K + 1;
    for (int reverse = 0; reverse <= 1; reverse++) {
        int errors = grade_cuda_conv_forward(version, reverse, g->N, g->C, g->H, g->W, g->OC, g->K, g->stride, g->pad,
                                             x, w, bias, y);
        const char *order = reverse ? "reverse" : "forward";
        grade_true(errors == 0, "%s, threads in %s order: the emulator reported %d error(s) (above)", g->what, order,
                   errors);
        long wrong = 0, worst = -1;
        double worst_excess = 0.0;
        for (long i = 0; i < ny; i++) {
            double err = fabs((double)y[i] - want[i]), tol = (terms + 2) * 1.2e-7 * mag[i] + 1e-30;
            if (err <= tol) continue;  // NaN fails: the comparison is false
            wrong++;
            double excess = isnan(err) ? INFINITY : err / tol;
            if (worst < 0 || excess > worst_excess) worst = i, worst_excess = excess;
        }
        if (wrong) {
            long i = worst;
            int ow = (int)(i % WO), oh = (int)(i / WO % HO), oc = (int)(i / ((long)WO * HO) % g->OC);
            int n = (int)(i / ((long)WO * HO * g->OC));
            grade_fail("%s, threads in %s order: y[%d,%d,%d,%d] (element %ld): got %.7g expected %.7g "
                       "(%ld of %ld wrong)", g->what, order, n, oc, oh, ow, i, y[i], want[i], wrong, ny);
        }
        if (grade_failures()) break;  // one order's report is enough
    }
    free(x), free(w), free(b), free(y), free(want), free(mag);
}

static void check_all(int version, const Geometry *gs, int n, uint64_t seed) {
    for (int i = 0; i < n && !grade_failures(); i++) conv_check(version, &gs[i], seed + 17u * (uint64_t)i);
}

// The DCGAN discriminator's layer shapes, scaled down (4x4, stride 2, pad 1;
// the 4x4 valid head), and a 3x3 "same" conv.
static const Geometry dcgan[] = {
    {2, 3, 16, 16, 8, 4, 2, 1, 1, "D1-like 3->8, 16x16 -> 8x8, 4x4 stride 2 pad 1"},
    {1, 8, 8, 8, 16, 4, 2, 1, 0, "D2-like 8->16, 8x8 -> 4x4, batch 1"},
    {2, 16, 4, 4, 1, 4, 1, 0, 0, "the head 16->1, 4x4 valid"},
    {1, 4, 12, 12, 8, 3, 1, 1, 1, "3x3 same conv 4->8"},
};
// Awkward ones: batch 1, odd and non-square sizes, 1x1 and 5x5, stride 2,
// pad 0/1/2, output channels not a multiple of the tiled kernel's 8,
// outputs wider than its 16x16 tile (several tiles, a partial last one).
static const Geometry awkward[] = {
    {1, 3, 7, 9, 5, 3, 1, 1, 1, "batch 1, 7x9, 3x3 pad 1, OC 5"},
    {2, 5, 11, 10, 9, 5, 2, 2, 0, "11x10, 5x5 stride 2 pad 2, OC 9"},
    {1, 7, 5, 6, 3, 1, 1, 0, 1, "1x1 pad 0, 5x6"},
    {1, 2, 19, 21, 3, 3, 1, 1, 0, "19x21: 2x2 tiles, the last ones partial"},
    {3, 2, 9, 9, 17, 3, 2, 0, 1, "batch 3, stride 2 pad 0, OC 17 (3 channel blocks)"},
    {1, 3, 37, 18, 2, 4, 2, 1, 0, "37x18, 4x4 stride 2: two tile rows, the second partial"},
};

// ---- 3.7 the naive kernel (the lab's version 1 forward) ------------------------------
static void naive_dcgan(void) { check_all(1, dcgan, 4, 3701); }
static void naive_awkward(void) { check_all(1, awkward, 6, 3702); }

// ---- 3.8 the tiled kernel's load (the lab's version 2 forward) -----------------------
static void tiled_dcgan(void) { check_all(2, dcgan, 4, 3801); }
static void tiled_awkward(void) { check_all(2, awkward, 6, 3802); }
// Padding deeper than a tile's halo needs and images smaller than a tile:
// most of the patch is padding, which must read as zeros.
static void tiled_padding(void) {
    static const Geometry g[] = {
        {1, 3, 3, 3, 4, 5, 1, 2, 0, "3x3 image, 5x5 pad 2: the patch is mostly padding"},
        {2, 2, 2, 5, 8, 3, 1, 2, 1, "2x5 image, 3x3 pad 2 (outputs of padding only at the corners)"},
        {1, 6, 17, 17, 5, 1, 1, 0, 0, "17x17, 1x1: a halo of nothing, 2x2 tiles"},
    };
    check_all(2, g, 3, 3803);
}

const GradeTest grade_ch03_cuda[] = {
    {"3.7", "naive conv kernel: the DCGAN layer shapes, both thread orders", naive_dcgan, 1},
    {"3.7", "naive conv kernel: batch 1, odd sizes, 1x1 and 5x5, stride 2, pad 0/1/2, both orders", naive_awkward, 1},
    {"3.8", "tiled conv kernel's load: the DCGAN layer shapes, both thread orders", tiled_dcgan, 1},
    {"3.8", "tiled conv kernel's load: odd sizes, partial tiles, OC not a multiple of 8, both orders", tiled_awkward,
     1},
    {"3.8", "tiled conv kernel's load: images smaller than the tile, deep padding, 1x1", tiled_padding, 1},
    GRADE_END,
};
#else
// No C++ compiler: 3.7 and 3.8 are not graded (make grade says so).
const GradeTest grade_ch03_cuda[] = {GRADE_END};
#endif
