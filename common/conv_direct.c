// conv_direct.c: the convolution's forward pass on the CPU as a direct
// product with register blocking: no im2col.
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
// floats long (an image's first layer); conv_direct_fits says which, and the
// GEMM path takes those layers. Backward data and the weight gradient stay on
// the GEMM path too: a direct backward data (one product per stride phase)
// was 10% faster on the same layer, but it adds each input pixel's
// contributions in another order than col2im does, so every training figure
// would move; a direct weight gradient (both operands read in place) was no
// faster than the GEMM path.
//
// Threads take groups of GROUP tiles (dynamic schedule); a group runs every
// weight sliver over its tiles, so a sliver (KH*KW*C x NR floats, 64-256
// KiB) is read from L2 while its tiles' windows stay in L1. Each output value
// is summed by one thread in one fixed order: the results do not depend on
// the thread count.
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

int conv_direct_fits(const ConvShape *s) {
    // runs of KW*C floats to read, and output channels to fill half a tile
    return s->C >= 8 && s->OC >= NR / 2;
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
            for (; t < stop; t++, bp += NR) {
                const vf *b = (const vf *)bp;
                vf b0 = b[0], b1 = b[1];
#pragma GCC unroll 16
                for (int i = 0; i < MR; i++) {
                    vf ai = a[i][t] - (vf){0};  // a broadcast (see gemm.c's micro-kernel)
                    acc[i][0] = fmadd(ai, b0, acc[i][0]);
                    acc[i][1] = fmadd(ai, b1, acc[i][1]);
                }
            }
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

void conv_direct_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y,
                         ConvScratch *input, ConvScratch *weights) {
    int C = s->C, KH = s->KH, KW = s->KW, KK = KH * KW, OC = s->OC, HO = s->HO, WO = s->WO, S = s->stride;
    int HP = s->H + 2 * s->pad, WP = s->W + 2 * s->pad, P = HO * WO, len = KW * C, K = KH * len;
    long NP = (long)s->N * P;
    int nsl = (OC + NR - 1) / NR;
    const float *xh = conv_channels_last(input, x, s->N, C, s->H, s->W, s->pad);
    // w (OC,C,KH,KW) -> slivers of NR output channels, rows k = (kh,kw,c)
    float *wp = conv_scratch(weights, (long)nsl * K * NR);
#pragma omp parallel for schedule(static) if ((long)nsl * K * NR >= (1L << 16))
    for (int q = 0; q < nsl; q++)
        for (int k = 0; k < K; k++) {
            int c = k % C, r = k / C;
            float *d = wp + ((long)q * K + k) * NR;
            for (int l = 0; l < NR; l++) {
                int oc = q * NR + l;
                d[l] = oc < OC ? w[((long)oc * C + c) * KK + r] : 0.0f;
            }
        }
    long ntiles = (NP + MR - 1) / MR, ngroups = (ntiles + GROUP - 1) / GROUP;
    long row = (long)WP * C;  // from one kernel row's run to the next
    long long helped = 0;     // multiply-adds done by threads other than the caller (bench_gan)
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : helped)
    for (long grp = 0; grp < ngroups; grp++) {
        long t0 = grp * GROUP, t1 = t0 + GROUP < ntiles ? t0 + GROUP : ntiles;
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) {
            long pixels = (t1 * MR < NP ? t1 * MR : NP) - t0 * MR;
            helped += (long long)pixels * OC * K;
        }
#endif
        // The group's pixels, once for all its slivers: where each tile row's
        // window starts in x and where it goes in y (channel 0).
        const float *a0[GROUP][MR];
        long out[GROUP][MR];
        for (long t = t0; t < t1; t++)
            for (int i = 0; i < MR; i++) {
                long j = t * MR + i < NP ? t * MR + i : t * MR;  // rows past the end repeat one, not stored
                int n = (int)(j / P), p = (int)(j % P), oh = p / WO, ow = p % WO;
                a0[t - t0][i] = xh + (((long)n * HP + (long)oh * S) * WP + (long)ow * S) * C;
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
