// conv_first.c: an image's first layer, 1 to 7 input channels, as direct
// loops over the output rows (forward, and backward data where it fits) and
// blocks of pixels (weight gradient).
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
// panel[j][k] (k consecutive), copied from the current output row's input
// rows with their padding written out (so a window is KH*C runs of KW
// floats, no tests), and a register tile of OB_W output channels x one
// vector of k sums gy (broadcast, read in place) times the panel.
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
#if defined(__AVX512F__)
#define OB_W 16           // weight gradient: output channels in registers (16 of the 32 vectors)
#else
#define OB_W 12           // weight gradient: output channels in registers (12 of the 16 vectors)
#endif
#define BLOCK_MAX 256     // weight gradient: pixels per block, at most (the GEMM's KC)

int conv_first_fits(const ConvShape *s) {
    return s->C < 8 && (long)s->C * s->KH * s->KW <= FIRST_MAX_K && s->WO <= FIRST_MAX_WO;
}

// --- Forward ----------------------------------------------------------------

// Output rows go in chunks of R consecutive rows of one sample, their
// panels built first, so that each band of output channels then writes R
// rows of each channel one after another (a run of R * WO floats) instead
// of one row of each of OB channels 1 KiB apart.
#define CHUNK_MAX (FIRST_MAX_K * FIRST_MAX_WO)  // floats of panel per chunk (one row at the most)

// The panel of output row (n, oh): panel[k][ow], the value tap k = (kh,kw,c)
// reads for pixel ow (0 in the padding).
static void row_panel(const ConvShape *s, const float *x, int n, int oh, int width, float *panel) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, S = s->stride, pad = s->pad, WO = s->WO;
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
                // pixels lo..hi-1 read inside the row; the others read padding
                int lo = pad - kw > 0 ? (pad - kw + S - 1) / S : 0;
                int last = W - 1 + pad - kw;  // S * (the last pixel) at most
                int hi = last < 0 ? 0 : last / S + 1;
                if (hi > WO) hi = WO;
                if (lo > hi) lo = hi;
                for (int ow = 0; ow < lo; ow++) pk[ow] = 0.0f;
                for (int ow = lo; ow < hi; ow++) pk[ow] = xr[ow * S - pad + kw];
                for (int ow = hi; ow < width; ow++) pk[ow] = 0.0f;
            }
}

void conv_first_forward(const ConvShape *s, const float *x, const float *wt, const float *b, float *y) {
    int K = s->KH * s->KW * s->C, OC = s->OC, HO = s->HO, WO = s->WO, nv = (WO + VL - 1) / VL, width = nv * VL;
    int R = CHUNK_MAX / (K * width);  // rows a chunk, >= 1 (K <= FIRST_MAX_K, WO <= FIRST_MAX_WO)
    if (R > HO) R = HO;
    int per = (HO + R - 1) / R;  // chunks a sample
    long chunks = (long)s->N * per, macs = (long)s->N * HO * WO * OC * K;
    long long helped = 0;
#pragma omp parallel for schedule(static) reduction(+ : helped) if (macs >= (1L << 20))
    for (long q = 0; q < chunks; q++) {
        int n = (int)(q / per), oh0 = (int)(q % per) * R, rows = HO - oh0 < R ? HO - oh0 : R;
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) helped += (long long)rows * WO * OC * K;
#endif
        float panel[CHUNK_MAX] __attribute__((aligned(64)));
        for (int r = 0; r < rows; r++) row_panel(s, x, n, oh0 + r, width, panel + (long)r * K * width);
        for (int oc0 = 0; oc0 < OC; oc0 += OB) {
            int ob = OC - oc0 < OB ? OC - oc0 : OB;
            const float *w0 = wt + (long)oc0 * K;
            for (int r = 0; r < rows; r++)
                for (int v = 0; v < nv; v++) {
                    const float *pr = panel + (long)r * K * width + v * VL;
                    vf acc[OB];
                    for (int o = 0; o < OB; o++) acc[o] = (vf){0};
                    if (ob == OB) {
                        for (int k = 0; k < K; k++) {
                            vf xv;
                            memcpy(&xv, pr + (long)k * width, sizeof xv);
#pragma GCC unroll 8
                            for (int o = 0; o < OB; o++) acc[o] = fmadd(w0[(long)o * K + k] - (vf){0}, xv, acc[o]);
                        }
                    } else {
                        for (int k = 0; k < K; k++) {
                            vf xv;
                            memcpy(&xv, pr + (long)k * width, sizeof xv);
                            for (int o = 0; o < ob; o++) acc[o] = fmadd(w0[(long)o * K + k] - (vf){0}, xv, acc[o]);
                        }
                    }
                    int cnt = WO - v * VL < VL ? WO - v * VL : VL;
                    for (int o = 0; o < ob; o++) {
                        // The GEMM path's store adds the bias, or 0, onto the sum.
                        vf out = acc[o] + (b ? b[oc0 + o] : 0.0f);
                        float *dst = y + (((long)n * OC + oc0 + o) * HO + oh0 + r) * WO + v * VL;
                        if (cnt == VL) memcpy(dst, &out, sizeof out);  // a size the compiler sees: one vector store
                        else memcpy(dst, &out, sizeof(float) * (size_t)cnt);
                    }
                }
        }
    }
    gemm_mac_count_add(macs, helped);
}

// --- Weight gradient --------------------------------------------------------

// The window values of one output row (n, oh), KH x C input rows with the
// padding written out: rows[(kh * C + c) * L + S * ow + kw] is the value tap
// (kh, kw, c) reads for pixel ow, so that a pixel's window is KH*C runs of
// KW floats with no tests. L = S * (WO - 1) + KW; ROWS_MAX bounds the
// buffer (larger rows take the tested loop of window_tested).
#define ROWS_MAX 4096

static int rows_fit(const ConvShape *s) {
    return (long)s->KH * s->C * (s->stride * (s->WO - 1) + s->KW) <= ROWS_MAX;
}

static void load_rows(const ConvShape *s, const float *x, int n, int oh, float *rows) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, S = s->stride, pad = s->pad;
    int L = S * (s->WO - 1) + KW;
    for (int kh = 0; kh < KH; kh++)
        for (int c = 0; c < C; c++) {
            float *d = rows + (long)(kh * C + c) * L;
            int ih = oh * S - pad + kh;
            if (ih < 0 || ih >= H) {
                memset(d, 0, sizeof(float) * (size_t)L);
                continue;
            }
            const float *xr = x + (((long)n * C + c) * H + ih) * W;
            for (int i = 0; i < L; i++) {  // i reads column i - pad
                int iw = i - pad;
                d[i] = iw >= 0 && iw < W ? xr[iw] : 0.0f;
            }
        }
}

// The window of pixel (n, oh, ow) straight from x, testing each value
// (where the padded rows do not fit in ROWS_MAX).
static void window_tested(const ConvShape *s, const float *x, int n, int oh, int ow, float *d) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, S = s->stride, pad = s->pad;
    int k = 0, ih0 = oh * S - pad, iw0 = ow * S - pad;
    for (int kh = 0; kh < KH; kh++) {
        int ih = ih0 + kh;
        for (int kw = 0; kw < KW; kw++) {
            int iw = iw0 + kw;
            int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            for (int c = 0; c < C; c++, k++) d[k] = inside ? x[(((long)n * C + c) * H + ih) * W + iw] : 0.0f;
        }
    }
}

// Asks for the cache line at g in each of `count` channels, P floats apart
// (gy's channels are 1 KiB apart for 16x16 outputs: more streams than the
// hardware's prefetcher follows, and each only 16 lines long).
static inline void prefetch_band(const float *g, int P, int count) {
    for (int o = 0; o < count; o++) __builtin_prefetch(g + (long)o * P);
}

// One block of pixels j0..j0+len-1 (len <= the GEMM's K block): its partial
// sums part[oc][k] (OC x kpad), each chained from zero over the block's
// pixels in order.
static void weight_block(const ConvShape *s, const float *x, const float *gy, long j0, int len, int kpad,
                         float *panel, long *gyoff, float *rows, float *part) {
    int C = s->C, KH = s->KH, KW = s->KW, K = KH * KW * C, S = s->stride;
    int OC = s->OC, HO = s->HO, WO = s->WO, P = HO * WO, L = S * (WO - 1) + KW, fit = rows_fit(s);
    // panel[jj][k] = the window of pixel j0 + jj; gyoff[jj]: where its gy (channel 0) is.
    // (The pixel's place steps along; a division per pixel cost more than its window.)
    int n = (int)(j0 / P), p = (int)(j0 % P), oh = p / WO, ow = p % WO;
    if (fit) load_rows(s, x, n, oh, rows);
    for (int jj = 0; jj < len; jj++) {
        gyoff[jj] = (long)n * OC * P + (long)oh * WO + ow;
        float *d = panel + (long)jj * kpad;
        if (!fit) window_tested(s, x, n, oh, ow, d);
        else if (C == 1 && KW == 4)  // the usual first layer: a 4-float run per kernel row
            for (int kh = 0; kh < KH; kh++) memcpy(d + kh * 4, rows + (long)kh * L + S * ow, 4 * sizeof(float));
        else
            for (int kh = 0, k = 0; kh < KH; kh++)
                for (int kw = 0; kw < KW; kw++)
                    for (int c = 0; c < C; c++, k++) d[k] = rows[(long)(kh * C + c) * L + S * ow + kw];
        for (int k = K; k < kpad; k++) d[k] = 0.0f;
        if (jj == 0 || (gyoff[jj] & 15) == 0) prefetch_band(gy + gyoff[jj], P, OC < OB_W ? OC : OB_W);
        if (++ow == WO) {
            ow = 0;
            if (++oh == HO) oh = 0, n++;
            if (fit && jj + 1 < len) load_rows(s, x, n, oh, rows);
        }
    }
    int nv = kpad / VL;
    for (int oc0 = 0; oc0 < OC; oc0 += OB_W) {
        int ob = OC - oc0 < OB_W ? OC - oc0 : OB_W;
        const float *g0 = gy + (long)oc0 * P;
        for (int v = 0; v < nv; v++) {
            vf acc[OB_W];
            for (int o = 0; o < OB_W; o++) acc[o] = (vf){0};
            if (ob == OB_W) {
                int next = v == 0 ? OC - oc0 - OB_W : 0;  // the next band's channels, fetched ahead once
                if (next > OB_W) next = OB_W;
                for (int jj = 0; jj < len; jj++) {
                    vf pv;
                    memcpy(&pv, panel + (long)jj * kpad + v * VL, sizeof pv);
                    const float *g = g0 + gyoff[jj];
                    if (next > 0 && (jj == 0 || (gyoff[jj] & 15) == 0)) prefetch_band(g + (long)OB_W * P, P, next);
#pragma GCC unroll 16
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
        float rows[ROWS_MAX];
        long gyoff[BLOCK_MAX];
#pragma omp for schedule(dynamic, 1)
        for (long q = 0; q < nblocks; q++) {
            int len = NP - q * kc < kc ? (int)(NP - q * kc) : kc;
            weight_block(s, x, gy, q * kc, len, kpad, panel, gyoff, rows, part + q * OC * kpad);
#ifdef _OPENMP
            if (omp_get_thread_num() != 0) helped += (long long)len * OC * K;
#endif
        }
        // The blocks added in order, as the GEMM adds its K blocks into C, a
        // vector of taps at a time (one float at a time, these dependent adds
        // took 12% of the call).
#pragma omp for schedule(static)
        for (int oc = 0; oc < OC; oc++)
            for (int k0 = 0; k0 < kpad; k0 += VL) {
                vf sum, pq;
                memcpy(&sum, part + (long)oc * kpad + k0, sizeof sum);
                for (long q = 1; q < nblocks; q++) {
                    memcpy(&pq, part + (q * OC + oc) * kpad + k0, sizeof pq);
                    sum = pq + sum;
                }
                int cnt = K - k0 < VL ? K - k0 : VL;
                memcpy(gwt + (long)oc * K + k0, &sum, sizeof(float) * (size_t)cnt);
            }
    }
    gemm_mac_count_add(macs, helped);
}

// --- Backward data ----------------------------------------------------------
//
// gx is the GEMM path's col2im: per output pixel j and tap k = (c,kh,kw),
//   t[j][k] = sum over oc of gy[oc][j] * w[oc][k]   (one chain from zero, oc in order)
// added onto the input pixel that tap read. With one channel the GEMM's
// columns are only K = 16 taps, half of an AVX-512 tile, and col2im adds
// them one float at a time (the taps of a pixel are 4 runs of 4 floats): on
// a 2-core Zen 5 the call ran at 70-80 GFLOP/s. Here, per output row
// (n, oh), the vectors of t over the row's pixels are made TB taps at a
// time, gy (a vector of pixels, read in place, or from a zero-padded copy
// of the row where WO is no whole number of vectors) times one broadcast
// weight, with the accumulators in registers; then the row's t is added
// into the sample's padded gx.
//
// The same bits as the GEMM path where it takes this kernel
// (conv_first_backward_data_fits): its t is a single K block (OC <= its
// KC) and a single column sliver (K <= its NR), so col2im adds every t of a
// band of rows in pixel order, and a value of gx receives its t's in
// ascending j, onto zeros, with the bias added last. Here the rows go in
// order, and within a row the taps of one kernel row go kw = KW-1 down to
// 0: a value of gx that two pixels of the row reach gets the lower pixel's
// (the larger kw) first, as col2im adds it.
#if defined(__AVX512F__) || (defined(__ARM_NEON) && defined(__aarch64__))
#define TB 16  // taps in registers (32 vector registers)
#else
#define TB 8   // 16 vector registers
#endif

#define PF_ROWS 2  // backward data: gy read this many output rows ahead (prefetched)

int conv_first_backward_data_fits(const ConvShape *s) {
    GemmRowBlocks rb;
    gemm_row_blocks(1, 1, 1, 1, &rb);  // the block sizes; the pieces do not matter here
    return conv_first_fits(s) && (long)s->C * s->KH * s->KW <= rb.nr && s->OC <= rb.kc;
}

void conv_first_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx,
                              ConvScratch *scratch) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, K = KH * KW * C, S = s->stride, pad = s->pad;
    int OC = s->OC, HO = s->HO, WO = s->WO, P = HO * WO, nv = (WO + VL - 1) / VL, width = nv * VL;
    int HP = H + 2 * pad, WM = (W + 2 * pad + S - 1) / S;  // padded gx rows; a row's columns per phase
    long macs = (long)s->N * P * OC * K;
    // Per thread: the sample's padded gx, each row split by column phase,
    // g[c][ih][iw % S][iw / S] (ih, iw padded), so that one tap's adds over
    // a row of pixels are a run; the row's gy panel (OC x width), where WO
    // is not a whole number of vectors; and the row's t (K x width).
    long plane = (long)C * HP * S * WM, per = (plane + (long)(OC + K) * width + 15) / 16 * 16;
    int team = 1;
#ifdef _OPENMP
    team = omp_get_max_threads();
#endif
    float *all = conv_scratch(scratch, per * team);
    long long helped = 0;
#pragma omp parallel for schedule(static) reduction(+ : helped) if (macs >= (1L << 20))
    for (int n = 0; n < s->N; n++) {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
        if (me != 0) helped += (long long)P * OC * K;
#endif
        float *g = all + per * me, *panel = g + plane, *t = panel + (long)OC * width;
        memset(g, 0, sizeof(float) * (size_t)plane);
        for (int oh = 0; oh < HO; oh++) {
            // the row's gy: in place, or copied into the zero-padded panel
            const float *gyr = gy + ((long)n * OC * HO + oh) * WO;
            long ld = P;
            if (WO != width) {
                for (int oc = 0; oc < OC; oc++) {
                    float *d = panel + (long)oc * width;
                    for (int ow = 0; ow < width; ow++) d[ow] = ow < WO ? gyr[(long)oc * P + ow] : 0.0f;
                }
                gyr = panel, ld = width;
            }
            if (oh + PF_ROWS < HO)  // the row PF_ROWS below: its OC pieces are 1 KiB apart, too many streams to foresee
                for (int oc = 0; oc < OC; oc++)
                    for (int ow = 0; ow < WO; ow += 64 / (int)sizeof(float))
                        __builtin_prefetch(gy + (((long)n * OC + oc) * HO + oh + PF_ROWS) * WO + ow);
            for (int v = 0; v < nv; v++)
                for (int k0 = 0; k0 < K; k0 += TB) {
                    int tb = K - k0 < TB ? K - k0 : TB;
                    vf acc[TB];
                    for (int q = 0; q < TB; q++) acc[q] = (vf){0};
                    for (int oc = 0; oc < OC; oc++) {
                        vf gv;
                        memcpy(&gv, gyr + oc * ld + v * VL, sizeof gv);
                        const float *wk = w + (long)oc * K + k0;
                        if (tb == TB) {
#pragma GCC unroll 16
                            for (int q = 0; q < TB; q++) acc[q] = fmadd(gv, wk[q] - (vf){0}, acc[q]);
                        } else {
                            for (int q = 0; q < tb; q++) acc[q] = fmadd(gv, wk[q] - (vf){0}, acc[q]);
                        }
                    }
                    for (int q = 0; q < tb; q++) memcpy(t + (long)(k0 + q) * width + v * VL, &acc[q], sizeof(vf));
                }
            // t into gx, in col2im's order (see above). w's taps are (c, kh, kw).
            for (int c = 0; c < C; c++)
                for (int kh = 0; kh < KH; kh++) {
                    float *row = g + ((long)c * HP + (long)oh * S + kh) * S * WM;
                    for (int kw = KW - 1; kw >= 0; kw--) {
                        // pixel ow reaches padded column S*ow + kw: phase kw % S, index ow + kw / S
                        float *restrict dst = row + (long)(kw % S) * WM + kw / S;
                        const float *restrict src = t + (long)((c * KH + kh) * KW + kw) * width;
                        for (int ow = 0; ow < WO; ow++) dst[ow] += src[ow];
                    }
                }
        }
        for (int c = 0; c < C; c++)
            for (int ih = 0; ih < H; ih++) {
                const float *src = g + ((long)c * HP + ih + pad) * S * WM;
                float *d = gx + (((long)n * C + c) * H + ih) * W;
                for (int iw = 0; iw < W; iw++) {
                    int iwp = iw + pad;
                    float v = src[(long)(iwp % S) * WM + iwp / S];
                    d[iw] = b ? v + b[c] : v;  // the GEMM path adds the bias last, onto the sum
                }
            }
    }
    gemm_mac_count_add(macs, helped);
}
