// conv_tiled.c: the convolution kernels on the CPU, tiled: a direct
// convolution (no im2col, no GEMM), cache-blocked the way the GPU's "kernel
// 2" is with shared memory. It sits between the two ways of conv_cpu.c.
//
// What is tiled. The output is cut into work items: one sample, a block of
// VB = 16 output channels and a tile of TH x TW = 8 x 8 output pixels. For
// one item the kernel
//   1. copies the piece of input that tile reads, ((TH-1)*stride + KH) x
//      ((TW-1)*stride + KW) pixels per input channel (the tile plus its
//      "halo"), into a small local buffer, writing zeros where the piece
//      hangs over the border: that is the padding, so the inner loop needs
//      no bounds checks (the GPU loads the same patch into shared memory);
//   2. reads the weights of its 16 channels from a copy made once per call
//      in which the output channel is the innermost index, w'[c][kh][kw][oc]
//      (the "filter tile");
//   3. adds, for each input channel and tap (c, kh, kw) and each pixel of
//      the tile, one input value times 16 consecutive weights into 16
//      consecutive accumulators: acc[pixel][0..15] += x * w'[c][kh][kw][0..15].
//      That loop is one or two vector instructions (-O3 vectorizes it);
//   4. writes the 8 x 8 x 16 accumulators (bias included) to y.
// Input channels go through the buffer a few at a time, so the patch, the
// weights in use and the accumulators (4 KiB) all stay in L1.
//
// Why it beats naive. Naive reads every input value once per output channel
// and per tap that uses it, each read a bounds check and a scalar multiply;
// the accumulator lives in a register but everything else comes through
// scattered loads. Here each loaded input value is used for 16 output
// channels at once (one vector operation), it was loaded into L1 once for
// the whole tile and all KH*KW taps that reach it, and the weights are
// read in order. Same arithmetic, far less memory traffic per multiply-add,
// and 8 or 16 multiply-adds per instruction instead of one.
//
// Why it still loses to GEMM. Every vector multiply-add here also loads and
// stores its 16 accumulators from L1 (the 8 x 8 x 16 block does not fit in
// registers), so the core spends its time moving accumulators, not
// multiplying. The GEMM (gemm.c) packs its operands and keeps a 12 x 32
// block of results in registers for the whole sum, so each loaded value
// feeds many multiply-adds and nothing goes back to memory until the end:
// register blocking, which this kernel leaves out on purpose.
//
// The two adjoints are tiled the same way:
//   backward data (gx = conv^T(gy, w), conv_transpose2d's forward): an item
//     is one sample, 16 input channels and 8 x 8 input pixels; it copies
//     the rows and columns of gy that reach its tile and, for each tap,
//     visits only the outputs that tap connects to the tile (with stride 2,
//     a quarter of the pixels per tap: the rest would be multiplications by
//     zero). Lanes are input channels: w''[kh][kw][oc][c]. Next to the
//     image (1 or 3 input channels) the lanes are output channels instead.
//   backward weight (gw, summed over the batch): an item is 16 output
//     channels times a few input channels; its accumulators gw[c][kh][kw][oc]
//     stay in L1 while every sample and every output tile streams past.
// (A layer with one output channel, D's last, still fills 1 lane of 16 in
// the forward and the weight gradient, and its 1x1 output makes tiles of one
// pixel: there tiled is slower than naive, by ~2 ms at batch 128. It is the
// smallest layer by far.)
//
// Threads: the items are shared out with OpenMP. Each output value belongs
// to exactly one item and is summed in a fixed order, so the results are the
// same bit for bit whatever the number of threads (no atomics, no partial
// sums). Each thread has its own slice of one scratch buffer for its patch
// and accumulators: no allocation per item.
#include "conv_tiled.h"
#include "conv_scratch.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define VB 16               // channels per vector block (the lanes of the inner loop)
#define TH 8                // tile rows
#define TW 8                // tile columns
#define PATCH_FLOATS 2048   // an input (or gy) patch holds about this many floats: 8 KiB
#define ACC_FLOATS 2048     // weight gradient: accumulators of one item, 8 KiB

// The same small-problem guard as the naive kernels (conv_cpu.c): below this
// many multiply-adds, one thread.
#define PAR_MIN_MACS (1L << 20)

static long conv_macs(const ConvShape *s) {
    return (long)s->N * s->OC * s->HO * s->WO * s->C * s->KH * s->KW;
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static int blocks(int n, int size) { return (n + size - 1) / size; }
// Rounding down and up for negative numbers too (C's / rounds towards 0).
static int floor_div(int a, int d) { return a >= 0 ? a / d : -((-a + d - 1) / d); }
static int ceil_div(int a, int d) { return -floor_div(-a, d); }

// acc[0..VB) += v * w[0..VB): the one loop where the time goes. restrict
// tells the compiler acc and w do not overlap and `omp simd` asks for
// vector instructions (without it gcc may unroll the 16 steps into 16 scalar
// multiply-adds first): one vector load, multiply, add and store per 16 lanes.
static inline void axpy(float *restrict acc, float v, const float *restrict w) {
#pragma omp simd
    for (int o = 0; o < VB; o++) acc[o] += v * w[o];
}

// --- scratch -------------------------------------------------------------------
// As in conv_cpu.c, a few buffers that grow to the largest call and are
// reused by every later one: the rearranged weights, the rearranged gy (few
// input channels, backward data) and the threads' tiles and accumulators.
// Allocating them afresh each call would cost page faults on every call.

enum { WS_WEIGHT, WS_GY, WS_THREADS, WS_COUNT };
static ConvScratch ws[WS_COUNT];  // conv_scratch.h

static float *workspace(int slot, long floats) { return conv_scratch(&ws[slot], floats); }

size_t conv_tiled_workspace_bytes(void) {
    size_t total = 0;
    for (int i = 0; i < WS_COUNT; i++) total += sizeof(float) * ws[i].floats;
    return total;
}

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// A multiple of 16 floats, so every thread's slice starts on its own 64-byte line.
static long round16(long n) { return (n + 15) & ~15L; }

// Rows ih0.. and columns iw0.. of one (H x W) channel plane into a ph x pw
// patch, zeros wherever the patch is outside the plane (the padding).
static void load_patch(const float *plane, int H, int W, int ih0, int iw0, int ph, int pw, float *dst) {
    int q0 = imax(0, -iw0), q1 = imin(pw, W - iw0);  // columns inside the plane: [q0, q1)
    for (int r = 0; r < ph; r++, dst += pw) {
        int ih = ih0 + r;
        if (ih < 0 || ih >= H || q0 >= q1) {
            memset(dst, 0, sizeof(float) * (size_t)pw);
            continue;
        }
        const float *row = plane + (long)ih * W + iw0;
        for (int q = 0; q < q0; q++) dst[q] = 0.0f;
        for (int q = q0; q < q1; q++) dst[q] = row[q];
        for (int q = q1; q < pw; q++) dst[q] = 0.0f;
    }
}

// The weights with the output channel innermost, in blocks of VB, made once
// per call: wt[ob][c][kh][kw][o] = w[ob*VB + o][c][kh][kw], 0 past OC.
static float *pack_oc_lanes(const ConvShape *s, const float *w) {
    int C = s->C, OC = s->OC, KK = s->KH * s->KW, n_ob = blocks(OC, VB);
    float *wt = workspace(WS_WEIGHT, (long)n_ob * C * KK * VB);
    for (int ob = 0; ob < n_ob; ob++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < KK; k++)
                for (int o = 0; o < VB; o++) {
                    int oc = ob * VB + o;
                    wt[(((long)ob * C + c) * KK + k) * VB + o] = oc < OC ? w[((long)oc * C + c) * KK + k] : 0.0f;
                }
    return wt;
}

// ---------------------------------------------------------------------------
// Forward: y[n,oc,oh,ow] = b[oc] + sum_{c,kh,kw} x[n,c,oh*s-p+kh,ow*s-p+kw] w[oc,c,kh,kw]

void conv_tiled_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y) {
    int C = s->C, H = s->H, W = s->W, OC = s->OC, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO;
    int S = s->stride, P = s->pad, KK = KH * KW;
    int n_ob = blocks(OC, VB), n_th = blocks(HO, TH), n_tw = blocks(WO, TW);
    int PH = (TH - 1) * S + KH, PW = (TW - 1) * S + KW;         // a full tile's patch
    int CB = imax(1, imin(C, PATCH_FLOATS / (PH * PW)));        // input channels per patch

    float *wt = pack_oc_lanes(s, w);  // the filter tiles

    long patch_floats = round16((long)CB * PH * PW), per_thread = patch_floats + TH * TW * VB;
    float *scratch = workspace(WS_THREADS, per_thread * max_threads());
#pragma omp parallel if (conv_macs(s) >= PAR_MIN_MACS)
    {
        float *patch = scratch + per_thread * thread_id(), *acc = patch + patch_floats;
#pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < s->N; n++)
            for (int ob = 0; ob < n_ob; ob++)
                for (int t = 0; t < n_th * n_tw; t++) {
                    int oh0 = t / n_tw * TH, ow0 = t % n_tw * TW;
                    int th = imin(TH, HO - oh0), tw = imin(TW, WO - ow0), on = imin(VB, OC - ob * VB);
                    int ph = (th - 1) * S + KH, pw = (tw - 1) * S + KW;  // this tile's patch (edge tiles are smaller)
                    for (int p = 0; p < TH * TW; p++)
                        for (int o = 0; o < VB; o++) acc[p * VB + o] = b && o < on ? b[ob * VB + o] : 0.0f;

                    for (int c0 = 0; c0 < C; c0 += CB) {
                        int cn = imin(CB, C - c0);
                        for (int c = 0; c < cn; c++)  // the input patch with its halo, zero-padded
                            load_patch(x + ((long)n * C + c0 + c) * H * W, H, W, oh0 * S - P, ow0 * S - P, ph, pw,
                                       patch + (long)c * ph * pw);
                        const float *wc = wt + ((long)ob * C + c0) * KK * VB;
                        for (int c = 0; c < cn; c++)
                            for (int kh = 0; kh < KH; kh++)
                                for (int kw = 0; kw < KW; kw++) {
                                    const float *wv = wc + ((c * KH + kh) * KW + kw) * VB;
                                    for (int oh = 0; oh < th; oh++) {
                                        // input row oh*S + kh of the patch, from column kw, every S-th value
                                        const float *xr = patch + ((long)c * ph + oh * S + kh) * pw + kw;
                                        float *ar = acc + oh * TW * VB;
                                        for (int ow = 0; ow < tw; ow++) axpy(ar + ow * VB, xr[ow * S], wv);
                                    }
                                }
                    }

                    for (int o = 0; o < on; o++) {  // (pixel, channel) -> y's (channel, row, column)
                        float *yo = y + (((long)n * OC + ob * VB + o) * HO + oh0) * WO + ow0;
                        for (int oh = 0; oh < th; oh++)
                            for (int ow = 0; ow < tw; ow++) yo[(long)oh * WO + ow] = acc[(oh * TW + ow) * VB + o];
                    }
                }
    }
}

// ---------------------------------------------------------------------------
// Backward data (gather form): gx[n,c,ih,iw] = b[c] + sum over the outputs
// (oh,ow) and taps (kh,kw) with oh*s - p + kh = ih and ow*s - p + kw = iw of
// gy[n,oc,oh,ow] w[oc,c,kh,kw].
//
// An item is one sample, a block of input channels and a tile of TH x TW
// input pixels [ih0, ih0+th) x [iw0, iw0+tw). For tap kh, the outputs that
// land in the tile's rows are those with ih0 <= oh*S - P + kh <= ih0+th-1:
//     ceil((ih0 + P - kh) / S) <= oh <= floor((ih0 + th - 1 + P - kh) / S),
// clipped to [0, HO). Walking oh over that range visits exactly the input
// rows ih = oh*S - P + kh the tap reaches (every S-th one): no divisibility
// test, and no multiplication by a zero. The same for columns.
//
// Which channels make the lanes. Usually the tile's 16 input channels:
// acc[pixel][c] += gy * w''[kh][kw][oc][c], as in the forward. But the
// layers next to the image have 1 or 3 input channels, and 15 of 16 lanes
// would multiply zeros; there the lanes are 16 output channels instead,
// each lane keeps a partial sum, acc[pixel][c][oc] += gy[oc] * w'[c][kh][kw][oc],
// and the 16 partial sums are added up (in a fixed order) at the end.

typedef struct {
    int ih0, iw0, th, tw;          // the tile of input pixels
    int oh_a, oh_b, ow_a, ow_b;    // the gy rows and columns that reach it (maybe none)
} DataTile;

static DataTile data_tile(const ConvShape *s, int ih0, int iw0) {
    int S = s->stride, P = s->pad;
    DataTile t = {ih0, iw0, imin(TH, s->H - ih0), imin(TW, s->W - iw0), 0, 0, 0, 0};
    t.oh_a = imax(0, ceil_div(ih0 + P - (s->KH - 1), S));
    t.oh_b = imin(s->HO - 1, floor_div(ih0 + t.th - 1 + P, S));
    t.ow_a = imax(0, ceil_div(iw0 + P - (s->KW - 1), S));
    t.ow_b = imin(s->WO - 1, floor_div(iw0 + t.tw - 1 + P, S));
    return t;
}

// The outputs [*lo, *hi] (empty when *lo > *hi) that tap k connects to the
// tile's inputs [i0, i0 + n), within the gy patch [a, b].
static void tap_range(int i0, int n, int k, int P, int S, int a, int b, int *lo, int *hi) {
    *lo = imax(a, ceil_div(i0 + P - k, S));
    *hi = imin(b, floor_div(i0 + n - 1 + P - k, S));
}

// Lanes = input channels c0.. (cn <= VB). wt: [kh][kw][oc][c] of this block
// of channels; gyp: scratch for the gy patch (OCB channels), acc: TH*TW*VB.
static void data_tile_c_lanes(const ConvShape *s, const DataTile *t, int OCB, const float *gy_n, const float *wt,
                              float *gyp, float *acc) {
    int OC = s->OC, HO = s->HO, WO = s->WO, KH = s->KH, KW = s->KW, S = s->stride, P = s->pad;
    int gh = t->oh_b - t->oh_a + 1, gw = t->ow_b - t->ow_a + 1;
    for (int oc0 = 0; oc0 < OC; oc0 += OCB) {
        int ocn = imin(OCB, OC - oc0);
        for (int oc = 0; oc < ocn; oc++)  // the gy patch: ocn x gh x gw
            for (int r = 0; r < gh; r++) {
                const float *src = gy_n + ((long)(oc0 + oc) * HO + t->oh_a + r) * WO + t->ow_a;
                float *dst = gyp + ((long)oc * gh + r) * gw;
                for (int q = 0; q < gw; q++) dst[q] = src[q];
            }
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                int h1, h2, w1, w2;
                tap_range(t->ih0, t->th, kh, P, S, t->oh_a, t->oh_b, &h1, &h2);
                tap_range(t->iw0, t->tw, kw, P, S, t->ow_a, t->ow_b, &w1, &w2);
                if (h1 > h2 || w1 > w2) continue;
                const float *wk = wt + ((long)(kh * KW + kw) * OC + oc0) * VB;
                for (int oc = 0; oc < ocn; oc++)
                    for (int oh = h1; oh <= h2; oh++) {
                        // input row oh*S - P + kh of the tile, from column w1*S - P + kw, every S-th
                        float *ar = acc + ((oh * S - P + kh - t->ih0) * TW + (w1 * S - P + kw - t->iw0)) * VB;
                        const float *gr = gyp + ((long)oc * gh + oh - t->oh_a) * gw;
                        for (int ow = w1; ow <= w2; ow++, ar += S * VB) axpy(ar, gr[ow - t->ow_a], wk + oc * VB);
                    }
            }
    }
}

// acc[0..VB) += g[0..VB) * w[0..VB), lane by lane.
static inline void fma_lanes(float *restrict acc, const float *restrict g, const float *restrict w) {
#pragma omp simd
    for (int o = 0; o < VB; o++) acc[o] += g[o] * w[o];
}

// Lanes = output channels; input channels c0..c0+cn-1 (cn <= CD).
// wt: the forward's [ob][c][kh][kw][o]; gyt_n: this sample's gy with the
// output channel innermost, [ob][oh][ow][o] (copied once per call: a tile
// would copy its halo of gy again, and here each gy value feeds only
// KH*KW*cn multiply-adds); acc: TH*TW*CD*VB partial sums, acc[(pixel*cn + c)*VB + o].
static void data_tile_oc_lanes(const ConvShape *s, const DataTile *t, int c0, int cn, const float *gyt_n,
                               const float *wt, float *acc) {
    int C = s->C, HO = s->HO, WO = s->WO, KH = s->KH, KW = s->KW, S = s->stride, P = s->pad;
    for (int ob = 0; ob < blocks(s->OC, VB); ob++) {
        const float *gyt = gyt_n + (long)ob * HO * WO * VB;
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                int h1, h2, w1, w2;
                tap_range(t->ih0, t->th, kh, P, S, t->oh_a, t->oh_b, &h1, &h2);
                tap_range(t->iw0, t->tw, kw, P, S, t->ow_a, t->ow_b, &w1, &w2);
                if (h1 > h2 || w1 > w2) continue;
                for (int c = 0; c < cn; c++) {
                    const float *wv = wt + (((long)ob * C + c0 + c) * KH * KW + kh * KW + kw) * VB;
                    for (int oh = h1; oh <= h2; oh++) {
                        int ihl = oh * S - P + kh - t->ih0;
                        for (int ow = w1; ow <= w2; ow++) {
                            int iwl = ow * S - P + kw - t->iw0;
                            fma_lanes(acc + ((ihl * TW + iwl) * cn + c) * VB, gyt + ((long)oh * WO + ow) * VB, wv);
                        }
                    }
                }
            }
    }
}

#define CD 4   // input channels per item when the lanes are output channels

void conv_tiled_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx) {
    int C = s->C, H = s->H, W = s->W, OC = s->OC, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO;
    int S = s->stride, KK = KH * KW;
    // Lanes over output channels when that fills more of them (C = 1: 1/16 against OC = 64: 16/16).
    int oc_lanes = (long)C * blocks(OC, VB) < (long)OC * blocks(C, VB);
    int CBLK = oc_lanes ? CD : VB, n_cb = blocks(C, CBLK), n_th = blocks(H, TH), n_tw = blocks(W, TW);
    // The most gy rows (columns) that reach a tile: all oh with oh*S - P + kh in the tile for some kh.
    int GH = (TH + KH - 2) / S + 1, GW = (TW + KW - 2) / S + 1;
    int OCB = imax(1, imin(OC, PATCH_FLOATS / (GH * GW)));   // output channels per gy patch (c lanes)

    float *wt, *gyt = NULL;
    if (oc_lanes) {
        wt = pack_oc_lanes(s, w);
        // gyt[n][ob][oh][ow][o] = gy[n][ob*VB + o][oh][ow], 0 past OC
        int n_ob = blocks(OC, VB);
        long P2 = (long)HO * WO;
        gyt = workspace(WS_GY, (long)s->N * n_ob * P2 * VB);
#pragma omp parallel for collapse(2) schedule(static) if (conv_macs(s) >= PAR_MIN_MACS)
        for (int n = 0; n < s->N; n++)
            for (int ob = 0; ob < n_ob; ob++) {
                float *d = gyt + ((long)n * n_ob + ob) * P2 * VB;
                int on = imin(VB, OC - ob * VB);
                if (on < VB) memset(d, 0, sizeof(float) * (size_t)(P2 * VB));
                for (int o = 0; o < on; o++) {
                    const float *src = gy + ((long)n * OC + ob * VB + o) * P2;
                    for (long p = 0; p < P2; p++) d[p * VB + o] = src[p];
                }
            }
    } else {  // wt[cb][kh][kw][oc][c] = w[oc][cb*VB + c][kh][kw], 0 past C
        wt = workspace(WS_WEIGHT, (long)n_cb * KK * OC * VB);
        for (int cb = 0; cb < n_cb; cb++)
            for (int k = 0; k < KK; k++)
                for (int oc = 0; oc < OC; oc++)
                    for (int l = 0; l < VB; l++) {
                        int c = cb * VB + l;
                        wt[(((long)cb * KK + k) * OC + oc) * VB + l] = c < C ? w[((long)oc * C + c) * KK + k] : 0.0f;
                    }
    }

    long patch_floats = oc_lanes ? 0 : round16((long)OCB * GH * GW);
    long per_thread = patch_floats + TH * TW * VB * (oc_lanes ? CD : 1);
    float *scratch = workspace(WS_THREADS, per_thread * max_threads());
#pragma omp parallel if (conv_macs(s) >= PAR_MIN_MACS)
    {
        float *patch = scratch + per_thread * thread_id(), *acc = patch + patch_floats;
#pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < s->N; n++)
            for (int cb = 0; cb < n_cb; cb++)
                for (int t = 0; t < n_th * n_tw; t++) {
                    DataTile tile = data_tile(s, t / n_tw * TH, t % n_tw * TW);
                    int c0 = cb * CBLK, cn = imin(CBLK, C - c0);
                    int reached = tile.oh_a <= tile.oh_b && tile.ow_a <= tile.ow_b;
                    const float *gy_n = gy + (long)n * OC * HO * WO;
                    float *gx_n = gx + (long)n * C * H * W;
                    if (!oc_lanes) {
                        memset(acc, 0, sizeof(float) * TH * TW * VB);
                        if (reached) data_tile_c_lanes(s, &tile, OCB, gy_n, wt + (long)cb * KK * OC * VB, patch, acc);
                    } else {
                        memset(acc, 0, sizeof(float) * (size_t)TH * TW * cn * VB);
                        if (reached)
                            data_tile_oc_lanes(s, &tile, c0, cn, gyt + (long)n * blocks(OC, VB) * HO * WO * VB, wt, acc);
                    }
                    for (int c = 0; c < cn; c++) {  // -> gx, plus the bias
                        float *gc = gx_n + ((long)(c0 + c) * H + tile.ih0) * W + tile.iw0;
                        float bias = b ? b[c0 + c] : 0.0f;
                        for (int ih = 0; ih < tile.th; ih++)
                            for (int iw = 0; iw < tile.tw; iw++) {
                                int p = ih * TW + iw;
                                float v;
                                if (!oc_lanes) {
                                    v = acc[p * VB + c];
                                } else {  // the 16 partial sums of the lanes, in order
                                    const float *lanes = acc + ((long)p * cn + c) * VB;
                                    v = 0.0f;
                                    for (int o = 0; o < VB; o++) v += lanes[o];
                                }
                                gc[(long)ih * W + iw] = bias + v;
                            }
                    }
                }
    }
}

// ---------------------------------------------------------------------------
// Backward weight: gw[oc,c,kh,kw] = sum_{n,oh,ow} gy[n,oc,oh,ow] x[n,c,oh*s-p+kh,ow*s-p+kw]
//
// An item owns VB output channels times CW input channels of gw, all taps:
// acc[c][kh][kw][o], the output channel innermost. For every sample and
// output tile it copies the input patch (as the forward does) and the tile
// of gy, transposed to gyt[pixel][o], then adds x * gyt[pixel][0..15] into
// acc[c][kh][kw][0..15] for each pixel and (c, kh, kw).

void conv_tiled_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw) {
    int C = s->C, H = s->H, W = s->W, OC = s->OC, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO;
    int S = s->stride, P = s->pad, KK = KH * KW;
    int n_ob = blocks(OC, VB), n_th = blocks(HO, TH), n_tw = blocks(WO, TW);
    int PH = (TH - 1) * S + KH, PW = (TW - 1) * S + KW;
    int CW = imax(1, imin(C, ACC_FLOATS / (KK * VB)));        // input channels per item
    int n_cw = blocks(C, CW);

    long patch_floats = round16((long)CW * PH * PW), acc_floats = round16((long)CW * KK * VB);
    long per_thread = patch_floats + acc_floats + TH * TW * VB;
    float *scratch = workspace(WS_THREADS, per_thread * max_threads());
#pragma omp parallel if (conv_macs(s) >= PAR_MIN_MACS)
    {
        float *patch = scratch + per_thread * thread_id(), *acc = patch + patch_floats, *gyt = acc + acc_floats;
#pragma omp for collapse(2) schedule(static)
        for (int ob = 0; ob < n_ob; ob++)
            for (int cw = 0; cw < n_cw; cw++) {
                int on = imin(VB, OC - ob * VB), c0 = cw * CW, cn = imin(CW, C - c0);
                memset(acc, 0, sizeof(float) * (size_t)cn * KK * VB);
                memset(gyt, 0, sizeof(float) * TH * TW * VB);  // lanes past OC stay 0
                for (int n = 0; n < s->N; n++)
                    for (int t = 0; t < n_th * n_tw; t++) {
                        int oh0 = t / n_tw * TH, ow0 = t % n_tw * TW;
                        int th = imin(TH, HO - oh0), tw = imin(TW, WO - ow0);
                        int ph = (th - 1) * S + KH, pw = (tw - 1) * S + KW;
                        for (int o = 0; o < on; o++) {  // gy's tile, (channel, row, column) -> (pixel, channel)
                            const float *go = gy + (((long)n * OC + ob * VB + o) * HO + oh0) * WO + ow0;
                            for (int oh = 0; oh < th; oh++)
                                for (int ow = 0; ow < tw; ow++) gyt[(oh * TW + ow) * VB + o] = go[(long)oh * WO + ow];
                        }
                        for (int c = 0; c < cn; c++)
                            load_patch(x + ((long)n * C + c0 + c) * H * W, H, W, oh0 * S - P, ow0 * S - P, ph, pw,
                                       patch + (long)c * ph * pw);
                        for (int oh = 0; oh < th; oh++)
                            for (int ow = 0; ow < tw; ow++) {
                                const float *g = gyt + (oh * TW + ow) * VB;
                                for (int c = 0; c < cn; c++)
                                    for (int kh = 0; kh < KH; kh++) {
                                        const float *xr = patch + ((long)c * ph + oh * S + kh) * pw + ow * S;
                                        float *ar = acc + (c * KH + kh) * KW * VB;
                                        for (int kw = 0; kw < KW; kw++) axpy(ar + kw * VB, xr[kw], g);
                                    }
                            }
                    }
                for (int o = 0; o < on; o++)  // acc[c][kh][kw][o] -> gw[oc][c][kh][kw]
                    for (int c = 0; c < cn; c++)
                        for (int k = 0; k < KK; k++)
                            gw[((long)(ob * VB + o) * C + c0 + c) * KK + k] = acc[((long)c * KK + k) * VB + o];
            }
    }
}
