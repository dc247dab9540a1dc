// conv_first.c: an image's first layer, 1 to 7 input channels, as direct
// loops over the output rows (forward) and blocks of pixels (weight
// gradient).
//
// Why the GEMM path does badly here: its depth K = KH*KW*C is 16 for a 4x4
// kernel on one channel, so each packed value of im2col serves 16
// multiply-adds, and the packing itself gathers one float at a time (the
// kernel's columns (kh,kw,c) are runs of KW*C = 4 floats, not the 8 its
// register transposes need). On a 2-core Zen 5 the 1 -> 64 layer of dcgan32
// ran at 24-32% of the GEMM's n = 1024 rate (BENCH_ONLY=convs make bench).
//
// Forward. For one output row (n, oh) the K window values of its WO pixels
// are gathered once into a small panel, panel[k][ow], and every output
// channel's row is then K multiply-adds of a vector of pixels by one weight:
//   y[n][oc][oh][ow..ow+VL) = b[oc] + sum over k of w'[oc][k] * panel[k][ow..ow+VL)
// with OB output channels in registers at a time, and the row written once,
// in place, (N, OC, HO, WO).
//
// Weight gradient, gw'[oc][k] = sum over pixels j of gy[oc][j] * im2col[k][j]:
// the sum runs over the whole batch's pixels, so threads take blocks of
// pixels. For each block the window values are gathered into
// panel[j][k] (k consecutive) and a register tile of OB_W output channels x
// one vector of k sums gy (broadcast, read in place) times the panel.
// Each block's partial sums are kept, and added up in block order at the
// end.
//
// The same bits as the GEMM path, so a training run does not change with
// the path it takes: the GEMM sums K in blocks of KC = 256, chaining each
// block's products from zero and adding the blocks one after another. The
// forward's K (at most FIRST_MAX_K) is one block; the weight gradient's
// blocks of pixels are exactly the GEMM's K blocks (gemm_row_blocks says
// how deep), chained in the same order, and added in the same order.
// test_conv compares both kernels with the GEMM path bit for bit.
#include "conv_first.h"
#include "cpu_features.h"  // gemm_mac_count_add
#include "simd.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define FIRST_MAX_WO 128  // a panel row's pixels (the panel lives on the stack)
#define OB 8              // forward: output channels in registers (8 vectors)
#define OB_W 12           // weight gradient: output channels in registers (12 vectors)
#define BLOCK_MAX 256     // weight gradient: pixels per block, at most (the GEMM's KC)

int conv_first_fits(const ConvShape *s) {
    return s->C < 8 && (long)s->C * s->KH * s->KW <= FIRST_MAX_K && s->WO <= FIRST_MAX_WO;
}

// --- Forward ----------------------------------------------------------------

void conv_first_forward(const ConvShape *s, const float *x, const float *wt, const float *b, float *y) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, K = KH * KW * C, S = s->stride, pad = s->pad;
    int OC = s->OC, HO = s->HO, WO = s->WO, nv = (WO + VL - 1) / VL, width = nv * VL;
    long rows = (long)s->N * HO, macs = rows * WO * OC * K;
    long long helped = 0;
#pragma omp parallel for schedule(static) reduction(+ : helped) if (macs >= (1L << 20))
    for (long r = 0; r < rows; r++) {
        int n = (int)(r / HO), oh = (int)(r % HO);
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) helped += (long long)WO * OC * K;
#endif
        // panel[k][ow]: the value tap k = (kh,kw,c) reads for pixel ow (0 in the padding)
        float panel[FIRST_MAX_K * FIRST_MAX_WO] __attribute__((aligned(64)));
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
                for (int c = 0; c < C; c++) {
                    float *pk = panel + (long)((kh * KW + kw) * C + c) * width;
                    int ih = oh * S - pad + kh;
                    if (ih < 0 || ih >= H) {
                        memset(pk, 0, sizeof(float) * (size_t)width);
                        continue;
                    }
                    const float *xr = x + (((long)n * C + c) * H + ih) * W;
                    for (int ow = 0; ow < width; ow++) {
                        int iw = ow * S - pad + kw;
                        pk[ow] = ow < WO && iw >= 0 && iw < W ? xr[iw] : 0.0f;
                    }
                }
        for (int oc0 = 0; oc0 < OC; oc0 += OB) {
            int ob = OC - oc0 < OB ? OC - oc0 : OB;
            const float *w0 = wt + (long)oc0 * K;
            for (int v = 0; v < nv; v++) {
                vf acc[OB];
                for (int o = 0; o < OB; o++) acc[o] = (vf){0};
                if (ob == OB) {
                    for (int k = 0; k < K; k++) {
                        vf xv;
                        memcpy(&xv, panel + (long)k * width + v * VL, sizeof xv);
#pragma GCC unroll 8
                        for (int o = 0; o < OB; o++) acc[o] = fmadd(w0[(long)o * K + k] - (vf){0}, xv, acc[o]);
                    }
                } else {
                    for (int k = 0; k < K; k++) {
                        vf xv;
                        memcpy(&xv, panel + (long)k * width + v * VL, sizeof xv);
                        for (int o = 0; o < ob; o++) acc[o] = fmadd(w0[(long)o * K + k] - (vf){0}, xv, acc[o]);
                    }
                }
                int cnt = WO - v * VL < VL ? WO - v * VL : VL;
                for (int o = 0; o < ob; o++) {
                    // The GEMM path's store adds the bias, or 0, onto the sum.
                    vf out = acc[o] + (b ? b[oc0 + o] : 0.0f);
                    memcpy(y + (((long)n * OC + oc0 + o) * HO + oh) * WO + v * VL, &out, sizeof(float) * (size_t)cnt);
                }
            }
        }
    }
    gemm_mac_count_add(macs, helped);
}

// --- Weight gradient --------------------------------------------------------

// One block of pixels j0..j0+len-1 (len <= the GEMM's K block): its partial
// sums part[oc][k] (OC x kpad), each chained from zero over the block's
// pixels in order.
static void weight_block(const ConvShape *s, const float *x, const float *gy, long j0, int len, int kpad,
                         float *panel, long *gyoff, float *part) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, S = s->stride, pad = s->pad;
    int OC = s->OC, HO = s->HO, WO = s->WO, P = HO * WO;
    // panel[jj][k] = the window of pixel j0 + jj; gyoff[jj]: where its gy (channel 0) is
    for (int jj = 0; jj < len; jj++) {
        long j = j0 + jj;
        int n = (int)(j / P), p = (int)(j % P), oh = p / WO, ow = p % WO;
        gyoff[jj] = (long)n * OC * P + p;
        float *d = panel + (long)jj * kpad;
        int k = 0;
        for (int kh = 0; kh < KH; kh++) {
            int ih = oh * S - pad + kh;
            for (int kw = 0; kw < KW; kw++) {
                int iw = ow * S - pad + kw;
                int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                for (int c = 0; c < C; c++, k++)
                    d[k] = inside ? x[(((long)n * C + c) * H + ih) * W + iw] : 0.0f;
            }
        }
        for (; k < kpad; k++) d[k] = 0.0f;
    }
    int nv = kpad / VL;
    for (int oc0 = 0; oc0 < OC; oc0 += OB_W) {
        int ob = OC - oc0 < OB_W ? OC - oc0 : OB_W;
        const float *g0 = gy + (long)oc0 * P;
        for (int v = 0; v < nv; v++) {
            vf acc[OB_W];
            for (int o = 0; o < OB_W; o++) acc[o] = (vf){0};
            if (ob == OB_W) {
                for (int jj = 0; jj < len; jj++) {
                    vf pv;
                    memcpy(&pv, panel + (long)jj * kpad + v * VL, sizeof pv);
                    const float *g = g0 + gyoff[jj];
#pragma GCC unroll 12
                    for (int o = 0; o < OB_W; o++) acc[o] = fmadd(g[(long)o * P] - (vf){0}, pv, acc[o]);
                }
            } else {
                for (int jj = 0; jj < len; jj++) {
                    vf pv;
                    memcpy(&pv, panel + (long)jj * kpad + v * VL, sizeof pv);
                    const float *g = g0 + gyoff[jj];
                    for (int o = 0; o < ob; o++) acc[o] = fmadd(g[(long)o * P] - (vf){0}, pv, acc[o]);
                }
            }
            for (int o = 0; o < ob; o++) memcpy(part + (long)(oc0 + o) * kpad + v * VL, &acc[o], sizeof(vf));
        }
    }
}

void conv_first_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gwt, ConvScratch *parts) {
    int K = s->KH * s->KW * s->C, kpad = (K + VL - 1) / VL * VL, OC = s->OC;
    long NP = (long)s->N * s->HO * s->WO;
    GemmRowBlocks rb;  // the GEMM's K block: how deep each partial sum goes
    gemm_row_blocks(OC, K, (int)NP, 1, &rb);
    int kc = rb.kc;
    if (kc > BLOCK_MAX) t_fatal("conv_first: the GEMM's K blocks (%d) outgrew BLOCK_MAX (%d)", kc, BLOCK_MAX);
    long nblocks = (NP + kc - 1) / kc, macs = NP * OC * K;
    float *part = conv_scratch(parts, nblocks * OC * kpad);
    long long helped = 0;
#pragma omp parallel reduction(+ : helped) if (macs >= (1L << 20))
    {
        float panel[BLOCK_MAX * FIRST_MAX_K] __attribute__((aligned(64)));
        long gyoff[BLOCK_MAX];
#pragma omp for schedule(dynamic, 1)
        for (long q = 0; q < nblocks; q++) {
            int len = NP - q * kc < kc ? (int)(NP - q * kc) : kc;
            weight_block(s, x, gy, q * kc, len, kpad, panel, gyoff, part + q * OC * kpad);
#ifdef _OPENMP
            if (omp_get_thread_num() != 0) helped += (long long)len * OC * K;
#endif
        }
        // The blocks added in order, as the GEMM adds its K blocks into C.
#pragma omp for schedule(static)
        for (int oc = 0; oc < OC; oc++)
            for (int k = 0; k < K; k++) {
                float sum = part[(long)oc * kpad + k];
                for (long q = 1; q < nblocks; q++) sum = part[(q * OC + oc) * kpad + k] + sum;
                gwt[(long)oc * K + k] = sum;
            }
    }
    gemm_mac_count_add(macs, helped);
}
