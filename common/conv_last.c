// conv_last.c: a discriminator's last layer, one output channel over the
// whole input: y[n] = b + sum over k of x[n][k] w[k], k = (c, kh, kw) over
// the C*H*W values of sample n, and back, gx[n][k] = gy[n] w[k] (+ b).
//
// conv_cpu.c runs a kernel that covers its input as a plain GEMM (a linear
// layer), but with one output channel that GEMM uses one column of its
// NR-wide tiles (forward), or a depth of 1 (backward data), and packs its
// operands for nothing: on a 2-core Zen 5 the WGAN-GP critic's last layer
// took 0.14-0.24 ms per call for 0.26 million multiply-adds, and a training
// iteration calls it 30 times. Here the forward keeps VL samples in the
// lanes of a vector, each lane chaining its own sum: the inputs are
// transposed in 8x8 blocks, a K block at a time, so that lane i reads
// sample i's value.
//
// The same bits as the GEMM: each sample's sum runs over k in the GEMM's K
// blocks (gemm_row_blocks says how deep), each block chained from zero in
// k order, the blocks added one after another onto the bias (or 0), as
// the GEMM's edge-tile store does; backward data is one product per value,
// plus the bias. test_conv compares both with the GEMM bit for bit.
#include "conv_last.h"
#include "cpu_features.h"  // gemm_mac_count_add
#include "simd.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int conv_last_fits(const ConvShape *s) {
    return s->OC == 1 && s->pad == 0 && s->KH == s->H && s->KW == s->W;
}

#define LANES (2 * VL)  // samples per chunk: two vectors (the input is memory-bound: many chunks keep both cores reading)
#define BLOCK_MAX 256 // the GEMM's K block, at most

void conv_last_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y) {
    int K = s->C * s->KH * s->KW, N = s->N;
    GemmRowBlocks rb;
    gemm_row_blocks(N, 1, K, 1, &rb);
    int kc = rb.kc;
    if (kc > BLOCK_MAX) t_fatal("conv_last: the GEMM's K blocks (%d) outgrew BLOCK_MAX (%d)", kc, BLOCK_MAX);
    float bias = b ? b[0] : 0.0f;
    long long helped = 0;
    // Chunks of LANES samples: panel[k][i] = x[n0 + i][k0 + k].
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : helped) if ((long)N * K >= (1L << 18))
    for (int n0 = 0; n0 < N; n0 += LANES) {
        int rows = N - n0 < LANES ? N - n0 : LANES, nv = (rows + VL - 1) / VL;
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) helped += (long long)rows * K;
#endif
        float panel[BLOCK_MAX * LANES] __attribute__((aligned(64)));
        vf sum[LANES / VL], acc[LANES / VL];
        for (int v = 0; v < nv; v++) sum[v] = (vf){0} + bias;
        if (rows < nv * VL)  // lanes past the last sample: zeros, never stored
            for (int k = 0; k < kc; k++)
                for (int i = rows; i < nv * VL; i++) panel[k * LANES + i] = 0.0f;
        for (int k0 = 0; k0 < K; k0 += kc) {
            int len = K - k0 < kc ? K - k0 : kc;
            k_transpose(x + (long)n0 * K + k0, K, panel, LANES, rows, len);
            for (int v = 0; v < nv; v++) acc[v] = (vf){0};
            for (int k = 0; k < len; k++) {
                float wk = w[k0 + k];
                for (int v = 0; v < nv; v++) {
                    vf xv;
                    memcpy(&xv, panel + k * LANES + v * VL, sizeof xv);
                    acc[v] = fmadd(xv, wk - (vf){0}, acc[v]);
                }
            }
            for (int v = 0; v < nv; v++) sum[v] = acc[v] + sum[v];  // as the GEMM's store: tile + C
        }
        float out[LANES] __attribute__((aligned(64)));
        memcpy(out, sum, sizeof(vf) * (size_t)nv);
        memcpy(y + n0, out, sizeof(float) * (size_t)rows);
    }
    gemm_mac_count_add((long long)N * K, helped);
}

void conv_last_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx) {
    int KK = s->KH * s->KW, K = s->C * KK, N = s->N, nv = K / VL;
    long long helped = 0;  // multiply-adds done by threads other than the caller (bench_gan)
#pragma omp parallel for schedule(static) reduction(+ : helped) if ((long)N * K >= (1L << 18))
    for (int n = 0; n < N; n++) {
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) helped += K;
#endif
        float *g = gx + (long)n * K;
        vf a = gy[n] - (vf){0};
        for (int v = 0; v < nv; v++) {
            vf wv, r;
            memcpy(&wv, w + v * VL, sizeof wv);
            r = fmadd(a, wv, (vf){0});  // the GEMM's depth-1 sum
            memcpy(g + v * VL, &r, sizeof r);
        }
        for (int k = nv * VL; k < K; k++) g[k] = fmadd(a, w[k] - (vf){0}, (vf){0})[0];
        if (b)  // a transposed conv's bias, one per channel of gx: added as the GEMM adds C
            for (int c = 0; c < s->C; c++)
                for (int i = 0; i < KK; i++) g[c * KK + i] = g[c * KK + i] + b[c];
    }
    gemm_mac_count_add((long long)N * K, helped);
}
