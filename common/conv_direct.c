// conv_direct.c: the convolution's forward pass and backward data on the
// CPU as direct products with register blocking: no im2col, no col2im.
//
// conv_tiled.c ends on why a direct convolution loses to the GEMM: its
// accumulators do not fit in registers, so every multiply-add also moves
// them through L1. This file is the same idea with the GEMM's register
// blocking put back. A tile of the output, MR pixels x NR channels (6 x 16
// with AVX2, 12 x 32 with AVX-512), stays in vector registers for the whole
// sum, as in gemm.c's micro-kernel; only the operand it reads changes:
//
//   y[pixel][oc] = sum over (kh, kw, c) of x[the pixel's window] w'[(kh,kw,c)][oc]
//
// With x channels-last and zero-padded (N, H+2p, W+2p, C), the window of one
// output pixel is KH runs of KW*C consecutive floats (one per kernel row), so
// each of the tile's MR rows reads its values straight from x through a
// pointer of its own: the broadcast operand needs no packing at all. Only
// the weights are packed, once per call, in slivers of NR output channels
// (the vector operand, read in order), and the tile is written once, into
// (N, OC, HO, WO).
//
// What the GEMM path (conv_cpu.c) spends that this does not: copying every
// im2col value into a packed sliver, one 8x8 transpose per block, read from
// memory again for each piece of the output that needs it. Measured on a
// 2-core Zen 5, batch 128, the 64 -> 128 channel layer of dcgan32
// (16x16 -> 8x8; BENCH_ONLY=convs make bench): 7.60 -> 6.04 ms with
// AVX-512, 14.75 -> 12.43 ms with the AVX2 build.
//
// The same bits as the GEMM path: each output value is summed in the GEMM's
// order (see direct_tile), so a training run is the same whichever of the
// two computes its forward convolutions.
//
// Where it does not pay: with few output channels most vector lanes would
// multiply zeros, and with one or two input channels the runs are a few
// floats long (an image's first layer); conv_direct_fits says which. The
// first layer has kernels of its own (conv_first.c), other misfits take the
// GEMM path. Backward data has its own kernel below; the weight gradient
// of the other layers stays on the GEMM path (a direct one, both operands
// read in place, was no faster).
//
// Threads take groups of up to GROUP tiles (dynamic schedule); a group runs
// every weight sliver over its tiles, so a sliver (KH*KW*C x NR floats,
// 64-256 KiB) is read from L2 while its tiles' windows stay in L1. The
// groups are as many as a whole number of rounds of the team needs, and of
// one size (to a tile): see balanced_groups. Each output value is summed by
// one thread in one fixed order: the results do not depend on the thread
// count or on the grouping.
#include "conv_direct.h"
#include "cpu_features.h"  // gemm_mac_count_add
#include "simd.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX512F__) || (defined(__ARM_NEON) && defined(__aarch64__))
#define MR 12  // 32 vector registers: 12 x 2 accumulators
#else
#define MR 6   // 16 vector registers (AVX2, SSE): 6 x 2 accumulators
#endif
#define NV 2
#define NR (NV * VL)
#define GROUP 16  // tiles of MR pixels that run one weight sliver in turn

// How many groups to cut ntiles tiles into: a whole number of rounds of
// the team, each group at most GROUP tiles; group g is then tiles
// [g * ntiles / n, (g + 1) * ntiles / n). Cut into groups of GROUP with
// one short group at the end, the 128 -> 256 layer of a batch of 64 (86
// tiles of 12 pixels with AVX-512) made 6 groups, the last of 6 tiles: one
// thread ran 3 groups while the other ran 2.4, and the call took 10% longer
// than its multiply-adds needed (bench_convs: 4.11 ms against 3.63 for the
// 64 -> 128 layer, which has as many).
static long balanced_groups(long ntiles) {
    long team = 1;
#ifdef _OPENMP
    team = omp_get_max_threads();
#endif
    long rounds = (ntiles + GROUP * team - 1) / (GROUP * team);
    long n = rounds * team;
    return n < ntiles ? n : ntiles;
}

int conv_direct_fits(const ConvShape *s) {
    // runs of KW*C floats to read, and output channels to fill half a tile
    return s->C >= 8 && s->OC >= NR / 2;
}

// One step of the micro-kernel: acc[i] += a[i][t] * (the NR values at bp),
// for the MR rows. (Inlined into its loops, acc stays in registers.)
static inline __attribute__((always_inline)) void fma_row(vf acc[MR][NV], const float *const *a, int t,
                                                          const float *bp) {
    const vf *b = (const vf *)bp;
    vf b0 = b[0], b1 = b[1];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        vf ai = a[i][t] - (vf){0};  // a broadcast (see gemm.c's micro-kernel)
        acc[i][0] = fmadd(ai, b0, acc[i][0]);
        acc[i][1] = fmadd(ai, b1, acc[i][1]);
    }
}

// tile (MR x NR) = sum over segments g < nseg, t < len of a[i] + g*seg_step + t
// times the packed sliver bp (nseg*len rows of NR): the micro-kernel.
//
// The sum runs in blocks of KBLOCK rows, in the order gemm.c runs it: each
// block's products are chained from zero, and the blocks are then added one
// after another onto `init` (NR values: the bias, or zeros). That is how the
// GEMM path builds each output value (its K blocks, KC = 256, stored into y
// as bias + block 0, then added), so the two paths give the same bits and a
// training run does not change with the path it takes.
#define KBLOCK 256
static void direct_tile(const float *const *a0, long seg_step, int nseg, int len, const float *bp, const float *init,
                        float *tile) {
    vf acc[MR][NV], sum[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) acc[i][v] = (vf){0}, memcpy(&sum[i][v], init + v * VL, sizeof(vf));
    int k = 0;  // rows of bp done
    for (int g = 0; g < nseg; g++) {
        const float *a[MR];
        for (int i = 0; i < MR; i++) a[i] = a0[i] + g * seg_step;
        for (int t = 0; t < len;) {
            int stop = len - t < KBLOCK - k % KBLOCK ? len : t + KBLOCK - k % KBLOCK;
            k += stop - t;
            for (; t < stop; t++, bp += NR) fma_row(acc, a, t, bp);
            if (k % KBLOCK == 0 || (g == nseg - 1 && t == len)) {  // a block done: into the sum
                for (int i = 0; i < MR; i++)
                    for (int v = 0; v < NV; v++) {
                        sum[i][v] += acc[i][v];
                        acc[i][v] = (vf){0};
                    }
            }
        }
    }
    memcpy(tile, sum, sizeof sum);
}

// w (OC,C,KH,KW) -> wp: slivers of NR output channels, each K = KH*KW*C
// rows k = (kh,kw,c) of NR values (zeros past OC). For 8 output channels
// and one input channel c, w holds the 8 channels' taps as 8 runs of KK
// floats: 8 taps of them are an 8x8 block that k_transpose8_rows turns
// into 8 rows of wp (one row per tap, 8 lanes). One gathered float at a
// time, as before, the packing took 2.1% of a wgangp32 step's CPU samples
// with AVX-512 (`make CUDA=0 profile`, conv_direct_forward._omp_fn.0).
static void pack_forward_weights(const ConvShape *s, const float *w, float *wp) {
    int C = s->C, KK = s->KH * s->KW, OC = s->OC, K = KK * C, nsl = (OC + NR - 1) / NR;
#pragma omp parallel for schedule(static) if ((long)nsl * K * NR >= (1L << 16))
    for (int q = 0; q < nsl; q++)
        for (int c = 0; c < C; c++)
            for (int l0 = 0; l0 < NR; l0 += 8)
                for (int r0 = 0; r0 < KK; r0 += 8) {
                    int oc0 = q * NR + l0;
                    float *d = wp + ((long)q * K + (long)r0 * C + c) * NR + l0;  // row k = r0*C + c, lane l0
                    if (l0 + 8 <= NR && oc0 + 8 <= OC && r0 + 8 <= KK) {
                        const float *rows[8];
                        for (int i = 0; i < 8; i++) rows[i] = w + ((long)(oc0 + i) * C + c) * KK + r0;
                        k_transpose8_rows(rows, d, (long)C * NR);  // d[t * C*NR + i] = w[oc0+i][c][r0+t]
                    } else {  // an edge: one value at a time
                        for (int t = 0; t < 8 && r0 + t < KK; t++)
                            for (int i = 0; i < 8 && l0 + i < NR; i++)
                                d[(long)t * C * NR + i] = oc0 + i < OC ? w[((long)(oc0 + i) * C + c) * KK + r0 + t] : 0.0f;
                    }
                }
}

// The samples group g's pixels fall in: n_first..n_last.
static void group_samples(long g, long ntiles, long ngroups, long NP, int P, int *n_first, int *n_last) {
    long t0 = g * ntiles / ngroups, t1 = (g + 1) * ntiles / ngroups;
    long j1 = t1 * MR < NP ? t1 * MR : NP;
    *n_first = (int)(t0 * MR / P);
    *n_last = (int)((j1 - 1) / P);
}

void conv_direct_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y,
                         ConvScratch *input, ConvScratch *weights) {
    int C = s->C, KH = s->KH, KW = s->KW, OC = s->OC, HO = s->HO, WO = s->WO, S = s->stride;
    int HP = s->H + 2 * s->pad, WP = s->W + 2 * s->pad, P = HO * WO, len = KW * C, K = KH * len;
    long NP = (long)s->N * P, per_sample = (long)HP * WP * C;
    int nsl = (OC + NR - 1) / NR;
    long ntiles = (NP + MR - 1) / MR, ngroups = balanced_groups(ntiles);
    // x channels-last. Each group copies the samples its pixels fall in into
    // a buffer of its thread's, just before it reads them: they are then in
    // that core's cache, where a copy of the whole batch made first went out
    // to memory and came back (13% of the 64 -> 128 layer's time at batch 64
    // in perf). A sample two groups share is copied twice. Where the
    // threads' buffers would hold more samples than the batch has (small
    // batches), the whole batch is copied once instead.
    int span = 1, team = 1;
    for (long g = 0; g < ngroups; g++) {
        int n0, n1;
        group_samples(g, ntiles, ngroups, NP, P, &n0, &n1);
        if (n1 - n0 + 1 > span) span = n1 - n0 + 1;
    }
#ifdef _OPENMP
    team = omp_get_max_threads();
#endif
    int local = (long)team * span < s->N;
    const float *xh = local ? NULL : conv_channels_last(input, x, s->N, C, s->H, s->W, s->pad);
    float *bufs = local ? conv_scratch(input, (long)team * span * per_sample) : NULL;
    float *wp = conv_scratch(weights, (long)nsl * K * NR);
    pack_forward_weights(s, w, wp);
    long row = (long)WP * C;  // from one kernel row's run to the next
    long long helped = 0;     // multiply-adds done by threads other than the caller (bench_gan)
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : helped)
    for (long grp = 0; grp < ngroups; grp++) {
        long t0 = grp * ntiles / ngroups, t1 = (grp + 1) * ntiles / ngroups;
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
        if (me != 0) {
            long pixels = (t1 * MR < NP ? t1 * MR : NP) - t0 * MR;
            helped += (long long)pixels * OC * K;
        }
#endif
        // The group's samples, channels-last: sample n at xs + (n - n_first) * per_sample.
        int n_first = 0, n_last;
        const float *xs = xh;
        if (local) {
            float *mine = bufs + (long)me * span * per_sample;
            group_samples(grp, ntiles, ngroups, NP, P, &n_first, &n_last);
            for (int n = n_first; n <= n_last; n++)
                conv_channels_last_sample(x + (long)n * C * s->H * s->W, C, s->H, s->W, s->pad, s->pad, HP, WP,
                                          mine + (long)(n - n_first) * per_sample);
            xs = mine;
        }
        // The group's pixels, once for all its slivers: where each tile row's
        // window starts in x and where it goes in y (channel 0).
        const float *a0[GROUP][MR];
        long out[GROUP][MR];
        for (long t = t0; t < t1; t++)
            for (int i = 0; i < MR; i++) {
                long j = t * MR + i < NP ? t * MR + i : t * MR;  // rows past the end repeat one, not stored
                int n = (int)(j / P), p = (int)(j % P), oh = p / WO, ow = p % WO;
                a0[t - t0][i] = xs + (((long)(n - n_first) * HP + (long)oh * S) * WP + (long)ow * S) * C;
                out[t - t0][i] = (long)n * OC * P + p;
            }
        for (int q = 0; q < nsl; q++) {
            int nr = OC - q * NR < NR ? OC - q * NR : NR;
            float init[NR] __attribute__((aligned(64)));
            for (int l = 0; l < NR; l++) init[l] = b && l < nr ? b[q * NR + l] : 0.0f;
            for (long t = t0; t < t1; t++) {
                int mr = NP - t * MR < MR ? (int)(NP - t * MR) : MR;
                float tile[MR * NR] __attribute__((aligned(64)));
                direct_tile(a0[t - t0], row, KH, len, wp + (long)q * K * NR, init, tile);
                for (int l = 0; l < nr; l++) {
                    float *yc = y + (long)(q * NR + l) * P;
                    for (int i = 0; i < mr; i++) yc[out[t - t0][i]] = tile[i * NR + l];
                }
            }
        }
    }
    gemm_mac_count_add((long long)NP * OC * K, helped);
}

// --- Backward data ---------------------------------------------------------------
//
//   gx[pixel][c] = sum over taps (kh, kw) and oc of gy[the output pixel the tap joins it to][oc] w[oc][c][kh][kw]
//
// An input pixel (ih, iw) of a stride-S convolution receives only from the
// taps kh = rh + S u, where rh = (ih + pad) mod S is its "phase", from output
// row oh = (ih + pad) div S - u (likewise in width). So all pixels of one
// phase (rh, rw) read the same taps, and one tap's sum over oc reads OC
// consecutive floats of a channels-last copy of gy: the same register tile
// as the forward's, MR pixels x NR input channels, with gy as the broadcast
// operand read in place and the weights packed per phase in slivers of NR
// input channels. No col2im: every gx value is written once, by one tile.
//
// The GEMM path's bits. There, each tap's sum over oc is one K block (OC <=
// 256), chained from zero like ours, and col2im adds the taps' sums into a
// zeroed gx in the order the GEMM hands out its tiles; for one pixel that
// order depends on where the output pixels it reads from fall in the GEMM's
// bands of MR rows (gemm_row_blocks). So a tile here keeps each tap's sum
// apart (in L1), and each of its pixels adds them up in the order the GEMM
// path would have: a few vector adds per tap, against OC multiply-adds per
// tap and channel. The layers where that order is simple enough to follow
// (one K block, one block of columns) are the ones that take this path
// (conv_direct_backward_data_fits); dcgan32's and the WGAN-GP critic's all do.
#define MAX_TAPS 32  // taps per phase: kernel (KH/S) x (KW/S), rounded up

int conv_direct_backward_data_fits(const ConvShape *s) {
    GemmRowBlocks rb;
    gemm_row_blocks(1, 1, 1, 1, &rb);  // the block sizes; the pieces do not matter here
    int S = s->stride, taps = ((s->KH + S - 1) / S) * ((s->KW + S - 1) / S);
    // (Tensors of 2^31 values or more go to the GEMM path, which says it
    // cannot take them, with a HINT.)
    return rb.mr == MR && rb.nr == NR && s->C >= NR && s->OC >= 8 && s->OC <= rb.kc &&
           (long)s->C * s->KH * s->KW <= rb.nc && taps <= MAX_TAPS && S <= 8 &&
           (long)s->N * s->C * (s->H + 2 * s->pad) * (s->W + 2 * s->pad) < (1L << 31) &&
           (long)s->N * s->OC * (s->HO + 2 * s->KH) * (s->WO + 2 * s->KW) < (1L << 31);
}

// part[e] (MR x NR) = the sum over len rows of a0[i] + shift[e] times the
// packed sliver bp + e*len*NR, chained from zero, for each tap e < ntaps:
// the micro-kernel again, one tile per tap.
static void direct_taps(const float *const *a0, const long *shift, int ntaps, int len, const float *bp,
                        float *part) {
    for (int e = 0; e < ntaps; e++, part += MR * NR) {
        vf acc[MR][NV];
        const float *a[MR];
        for (int i = 0; i < MR; i++) {
            a[i] = a0[i] + shift[e];
            for (int v = 0; v < NV; v++) acc[i][v] = (vf){0};
        }
        for (int t = 0; t < len; t++, bp += NR) fma_row(acc, a, t, bp);
        memcpy(part, acc, sizeof acc);
    }
}

typedef struct {
    int rh, rw, KHt, KWt;  // the phase, and how many taps reach it in each direction
    int qh0, qw0, nh, nw;  // its pixels: ih = rh - pad + S (qh0 + a), a < nh (likewise iw)
    long first_item;       // its first work item
    long wofs;             // where its packed weights start
} Phase;

// Smallest q >= 0 with r - pad + S q >= 0: the phase's first input row.
static int first_q(int r, int pad, int S) { return r >= pad ? 0 : (pad - r + S - 1) / S; }

void conv_direct_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx,
                               ConvScratch *input, ConvScratch *weights) {
    int S = s->stride, pad = s->pad, C = s->C, OC = s->OC, KH = s->KH, KW = s->KW, H = s->H, W = s->W;
    int HO = s->HO, WO = s->WO, P = HO * WO, KK = KH * KW, nsl = (C + NR - 1) / NR;
    long NP = (long)s->N * P;
    GemmRowBlocks rb;  // the order the GEMM path would add each pixel's taps in
    gemm_row_blocks((int)NP, C * KK, OC, P, &rb);

    // The phases, and gy's zero border: every phase pixel's taps must read
    // inside the copy (oh = qh - u, u < KHt; likewise ow).
    Phase ph[64];  // S <= 8
    int nph = 0, top = 0, left = 0, hi_h = HO, hi_w = WO;
    long items = 0, wtotal = 0;
    for (int rh = 0; rh < S; rh++)
        for (int rw = 0; rw < S; rw++) {
            Phase p = {rh, rw, rh < KH ? (KH - rh + S - 1) / S : 0, rw < KW ? (KW - rw + S - 1) / S : 0,
                       first_q(rh, pad, S), first_q(rw, pad, S), 0, 0, items, wtotal};
            int ih0 = rh - pad + S * p.qh0, iw0 = rw - pad + S * p.qw0;
            p.nh = ih0 < H ? (H - ih0 + S - 1) / S : 0;
            p.nw = iw0 < W ? (W - iw0 + S - 1) / S : 0;
            if (p.nh > 0 && p.nw > 0) {
                if (p.KHt - 1 - p.qh0 > top) top = p.KHt - 1 - p.qh0;
                if (p.KWt - 1 - p.qw0 > left) left = p.KWt - 1 - p.qw0;
                if (p.qh0 + p.nh > hi_h) hi_h = p.qh0 + p.nh;
                if (p.qw0 + p.nw > hi_w) hi_w = p.qw0 + p.nw;
                long tiles = ((long)s->N * p.nh * p.nw + MR - 1) / MR;
                items += (tiles + GROUP - 1) / GROUP;
            }
            wtotal += (long)nsl * p.KHt * p.KWt * OC * NR;
            ph[nph++] = p;
        }
    int HOP = top + hi_h, WOP = left + hi_w;
    const float *gyp = conv_channels_last_at(input, gy, s->N, OC, HO, WO, top, left, HOP, WOP);

    // w (OC,C,KH,KW) -> per phase, per sliver of NR input channels, the
    // phase's taps one after another, each OC rows of NR
    // (One parallel region for all phases: a region per phase cost a wake-up each.)
    float *wp = conv_scratch(weights, wtotal);
#pragma omp parallel for schedule(static) if (wtotal >= (1L << 16))
    for (int pq = 0; pq < nph * nsl; pq++) {
        const Phase *p = &ph[pq / nsl];
        int ntaps = p->KHt * p->KWt, q = pq % nsl;
        for (int e = 0; e < ntaps; e++) {
            int t = (p->rh + S * (e / p->KWt)) * KW + p->rw + S * (e % p->KWt);
            for (int oc = 0; oc < OC; oc++) {
                float *d = wp + p->wofs + (((long)q * ntaps + e) * OC + oc) * NR;
                for (int l = 0; l < NR; l++) {
                    int c = q * NR + l;
                    d[l] = c < C ? w[((long)oc * C + c) * KK + t] : 0.0f;
                }
            }
        }
    }

    long long helped = 0;  // pixels done by threads other than the caller (bench_gan)
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : helped)
    for (long it = 0; it < items; it++) {
        int pi = 0;
        while (pi + 1 < nph && ph[pi + 1].first_item <= it) pi++;
        const Phase *p = &ph[pi];
        int per = p->nh * p->nw, ntaps = p->KHt * p->KWt;
        long np = (long)s->N * per, ntiles = (np + MR - 1) / MR, t0 = (it - p->first_item) * GROUP;
        long t1 = t0 + GROUP < ntiles ? t0 + GROUP : ntiles;
        long shift[MAX_TAPS];  // tap e = (u, v) reads u rows up and v pixels left in gy
        for (int e = 0; e < ntaps; e++) shift[e] = -((long)(e / p->KWt) * WOP + e % p->KWt) * OC;
        // The group's pixels, once for all its slivers: where each reads gy
        // (tap 0), where it goes in gx (channel 0), and the order it adds
        // its taps' sums in.
        const float *a0[GROUP][MR];
        long out[GROUP][MR];
        unsigned char order[GROUP][MR][MAX_TAPS], nord[GROUP][MR];
        // Pixel j of the phase is (n, qh0 + a, qw0 + c), counted up as j goes
        // (divisions only once per group: per tile row they cost as much as
        // a tenth of the tile's multiply-adds).
        long j0 = t0 * MR, jend = t1 * MR < np ? t1 * MR : np;
        int n = (int)(j0 / per), a = (int)(j0 % per) / p->nw, c = (int)(j0 % per) % p->nw, nfew = -1, few = 0;
        long lo = 0;  // the first row of the GEMM's piece that sample n is in
        for (long j = j0; j < jend; j++) {
            int g = (int)((j - j0) / MR), i = (int)((j - j0) % MR), qh = p->qh0 + a, qw = p->qw0 + c;
            a0[g][i] = gyp + (((long)n * HOP + qh + top) * WOP + qw + left) * OC;
            out[g][i] = ((long)n * C * H + (p->rh - pad + S * qh)) * W + (p->rw - pad + S * qw);
            if (n != nfew) {  // the GEMM path's order: the piece of rows (whole samples) n is in...
                lo = (long)n * P / rb.piece * rb.piece;
                long m = NP - lo < rb.piece ? NP - lo : rb.piece;
                few = m <= rb.few_rows;
                nfew = n;
            }
            long key[MAX_TAPS];
            unsigned char *ord = order[g][i];
            int k = 0;
            for (int e = 0; e < ntaps; e++) {
                int u = e / p->KWt, v = e % p->KWt, oh = qh - u, ow = qw - v;
                if (oh < 0 || oh >= HO || ow < 0 || ow >= WO) continue;  // no such output pixel: nothing added
                int t = (p->rh + S * u) * KW + p->rw + S * v;  // the tap: its columns (t, c) in the GEMM
                long jt = (long)n * P + (long)oh * WO + ow;     // the GEMM row it comes from
                // ...then bands of rows (counted from the piece's first row) before
                // slivers of columns, or the columns first
                long kt = few ? t : ((jt - lo) / MR) * KK + t;
                int at = k++;
                for (; at > 0 && key[at - 1] > kt; at--) key[at] = key[at - 1], ord[at] = ord[at - 1];
                key[at] = kt;
                ord[at] = (unsigned char)e;
            }
            nord[g][i] = (unsigned char)k;
            if (++c == p->nw) {
                c = 0;
                if (++a == p->nh) a = 0, n++;
            }
        }
        for (long j = jend; j < t1 * MR; j++) {  // rows past the end repeat the tile's first, not stored
            int g = (int)((j - j0) / MR), i = (int)((j - j0) % MR);
            a0[g][i] = a0[g][0];
        }
        for (int q = 0; q < nsl; q++) {
            int nr = C - q * NR < NR ? C - q * NR : NR;
            const float *bp = wp + p->wofs + (long)q * ntaps * OC * NR;
            for (long tl = t0; tl < t1; tl++) {
                int mr = np - tl * MR < MR ? (int)(np - tl * MR) : MR, g = (int)(tl - t0);
                float part[MAX_TAPS][MR * NR] __attribute__((aligned(64)));
                direct_taps(a0[g], shift, ntaps, OC, bp, &part[0][0]);
                for (int i = 0; i < mr; i++) {
                    vf sum[NV];
                    for (int v = 0; v < NV; v++) sum[v] = (vf){0};  // col2im's zeroed gx
                    for (int o = 0; o < nord[g][i]; o++) {
                        const vf *pe = (const vf *)(part[order[g][i][o]] + i * NR);
                        for (int v = 0; v < NV; v++) sum[v] += pe[v];
                    }
                    float res[NR] __attribute__((aligned(64)));
                    memcpy(res, sum, sizeof res);
                    float *gxi = gx + out[g][i] + (long)q * NR * H * W;
                    for (int l = 0; l < nr; l++) gxi[(long)l * H * W] = b ? res[l] + b[q * NR + l] : res[l];
                }
            }
        }
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) helped += (t1 * MR < np ? t1 * MR : np) - t0 * MR;
#endif
    }
    // Count what the GEMM path counts (bench_gan's GFLOP/s); the helpers'
    // share by the pixels they took.
    long long macs = (long long)NP * C * KK * OC;
    gemm_mac_count_add(macs, (long long)((double)helped / ((double)s->N * H * W) * (double)macs));
}
