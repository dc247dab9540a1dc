// conv_cpu.c: the convolution kernels on the CPU, two ways each.
//
// Naive: one loop nest per output element, straight from the definition
// (conv_cpu.h). Slow (no reuse of anything between outputs) but easy to
// check by eye, and the shape a CUDA "kernel 1" takes: one thread per output.
//
// GEMM: rewrite the convolution as one matrix product, where all the speed
// lives (gemm.c). The im2col matrix has one row per filter tap and channel
// and one column per output pixel of the whole batch:
//     cols (KH*KW*C, N*HO*WO),  cols[(kh,kw,c), (n,oh,ow)] = x[n, c, oh*s-p+kh, ow*s-p+kw]
// and with w' the weights with their columns in the same (kh,kw,c) order,
//     forward          y  (OC, N*HO*WO)     = w' (OC, KH*KW*C)  @ cols
//     backward data    cols^T               = gy^T              @ w',   gx = col2im(cols)
//     backward weight  gw' (OC, KH*KW*C)    = gy (OC, N*HO*WO)  @ cols^T
// where col2im, im2col's adjoint, adds each entry of cols back onto the
// pixel it came from. y and gy are read and written in place, (N,OC,HO,WO).
//
// Implicit im2col: cols is never stored. It is KH*KW/stride^2 times bigger
// than x (4x for DCGAN's k4 s2 layers: 32 MiB for one 64->128 layer at batch
// 128), so writing it out and reading it back would move more memory than
// the layer's input and output together. Instead the GEMM asks for each
// block of cols already in its packed layout (a sliver that lives in L1),
// and the backward-data GEMM hands each result tile to a store that adds it
// straight into gx: col2im without cols.
//
// Channels last: the kernels work on a zero-padded (N, H+2p, W+2p, C) copy
// of x (and build gx in that form). There, the C channels of one input
// pixel, and so the (kh,kw,c) columns of one tap, are consecutive floats:
// 8 channels of 8 pixels are an 8x8 block that packs with one register
// transpose, a tile row of col2im is one vector add, and padding needs no
// bounds checks. (In (N,C,H,W) order every packed value was a gathered
// float, stride 2: 0.65 ns each against 0.09.) Each conversion is one pass
// over x or gx, a sixteenth of the values packed for a k4 s2 layer.
//
// Threads: the GEMM hands out pieces of its output (one parallel region per
// layer, no per-thread partial sums). The col2im store scatters, so its
// pieces are whole samples: no two threads ever add into the same pixel.
// For a given thread count every result is the same bit for bit.
#include "conv_cpu.h"
#include "conv_direct.h"
#include "conv_first.h"
#include "conv_last.h"
#include "conv_scratch.h"
#include "conv_tiled.h"
#include "conv_winograd.h"
#include "kernels.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

// Multiply-adds of one call (each kernel does the same number).
static long conv_macs(const ConvShape *s) {
    return (long)s->N * s->OC * s->HO * s->WO * s->C * s->KH * s->KW;
}

// Below this many multiply-adds the naive kernels stay on one thread:
// waking a team takes a few microseconds, and on a busy machine a thread that
// waits for a core can cost a whole scheduler tick. 2^20 MACs take ~0.5 ms
// naive. (The GEMM path decides for itself, gemm.c.)
#define PAR_MIN_MACS (1L << 20)

// ---------------------------------------------------------------------------
// Naive: one loop nest per output element

// x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL -> y (N,OC,HO,WO)
static void naive_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y) {
    int C = s->C, H = s->H, W = s->W, OC = s->OC, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO;
#pragma omp parallel for collapse(2) schedule(static) if (conv_macs(s) >= PAR_MIN_MACS)
    for (int n = 0; n < s->N; n++)
        for (int oc = 0; oc < OC; oc++)
            for (int oh = 0; oh < HO; oh++)
                for (int ow = 0; ow < WO; ow++) {
                    float acc = b ? b[oc] : 0.0f;
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < KH; kh++) {
                            int ih = oh * s->stride - s->pad + kh;
                            if (ih < 0 || ih >= H) continue;  // zero padding
                            for (int kw = 0; kw < KW; kw++) {
                                int iw = ow * s->stride - s->pad + kw;
                                if (iw < 0 || iw >= W) continue;
                                acc += x[(((long)n * C + c) * H + ih) * W + iw] *
                                       w[(((long)oc * C + c) * KH + kh) * KW + kw];
                            }
                        }
                    y[(((long)n * OC + oc) * HO + oh) * WO + ow] = acc;
                }
}

// gy (N,OC,HO,WO), w (OC,C,KH,KW), b (C) or NULL -> gx (N,C,H,W).
// Gather form: input pixel (ih,iw) received w[oc,c,kh,kw] * gy[oc,oh,ow]
// from every output (oh,ow) with oh*stride - pad + kh == ih. For a given ih
// only the taps kh = ih + pad - oh*stride qualify: every stride-th one,
// starting at (ih + pad) % stride.
static void naive_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx) {
    int C = s->C, H = s->H, W = s->W, OC = s->OC, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO;
    int S = s->stride;
#pragma omp parallel for collapse(2) schedule(static) if (conv_macs(s) >= PAR_MIN_MACS)
    for (int n = 0; n < s->N; n++)
        for (int c = 0; c < C; c++)
            for (int ih = 0; ih < H; ih++)
                for (int iw = 0; iw < W; iw++) {
                    float acc = b ? b[c] : 0.0f;
                    for (int kh = (ih + s->pad) % S; kh < KH; kh += S) {
                        int oh = (ih + s->pad - kh) / S;
                        if (oh < 0 || oh >= HO) continue;
                        for (int kw = (iw + s->pad) % S; kw < KW; kw += S) {
                            int ow = (iw + s->pad - kw) / S;
                            if (ow < 0 || ow >= WO) continue;
                            for (int oc = 0; oc < OC; oc++)
                                acc += gy[(((long)n * OC + oc) * HO + oh) * WO + ow] *
                                       w[(((long)oc * C + c) * KH + kh) * KW + kw];
                        }
                    }
                    gx[(((long)n * C + c) * H + ih) * W + iw] = acc;
                }
}

// x (N,C,H,W), gy (N,OC,HO,WO) -> gw (OC,C,KH,KW)
static void naive_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw) {
    int C = s->C, H = s->H, W = s->W, OC = s->OC, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO;
#pragma omp parallel for collapse(2) schedule(static) if (conv_macs(s) >= PAR_MIN_MACS)
    for (int oc = 0; oc < OC; oc++)
        for (int c = 0; c < C; c++)
            for (int kh = 0; kh < KH; kh++)
                for (int kw = 0; kw < KW; kw++) {
                    float acc = 0.0f;
                    for (int n = 0; n < s->N; n++)
                        for (int oh = 0; oh < HO; oh++) {
                            int ih = oh * s->stride - s->pad + kh;
                            if (ih < 0 || ih >= H) continue;
                            for (int ow = 0; ow < WO; ow++) {
                                int iw = ow * s->stride - s->pad + kw;
                                if (iw < 0 || iw >= W) continue;
                                acc += gy[(((long)n * OC + oc) * HO + oh) * WO + ow] *
                                       x[(((long)n * C + c) * H + ih) * W + iw];
                            }
                        }
                    gw[(((long)oc * C + c) * KH + kh) * KW + kw] = acc;
                }
}

// ---------------------------------------------------------------------------
// GEMM: implicit im2col around k_gemm_ex

// The conv seen as GEMM operands. x and gx are used channels-last and
// zero-padded, (N, HP, WP, C) with HP = H + 2 pad, so output pixel (oh, ow)
// reads input pixel (oh*stride + kh, ow*stride + kw) with no bounds checks.
typedef struct {
    const ConvShape *s;
    int HP, WP, P, KK;   // padded input size, HO*WO, KH*KW
    const float *x;      // channels-last padded x (forward, weight grad)
    const float *gy;     // gy (N,OC,HO,WO) (backward data, weight grad)
    float *out;          // y (forward) or channels-last padded gx (backward data)
    const float *bias;   // forward: b (OC); backward data: b (C); or NULL
    float *gx;           // backward data: gx (N,C,H,W), made from out piece by piece
    const int *pix_tab;  // backward data: pixel_offsets of every pixel (x side)
    const int *col_tab;  // backward data: column_offsets of every column
} ConvGemm;

// Offset tables. The packers and stores address every value through two
// small tables, one per side of the block: for pixels, where the receptive
// field starts in x (or where the pixel sits in y); for columns (kh,kw,c),
// the offset from there. Each filler divides once for its first entry and
// then steps: an integer division costs ~15 cycles, more than the copy it
// would address.
//
// col2im's store runs once per tile, and with backward data's short depth
// (K = OC = 128 for the 64 -> 128 layer) a tile's multiply-adds are only
// ~1500 cycles: filling its two tables (44 entries, 4 divisions) took about
// half of the store's time. So backward data fills one table for every
// pixel and every column once per call (NP + C*KH*KW ints: 20 KiB for
// wgangp32's 64 -> 128 layer) and the store looks them up. On a 2-core
// Zen 5 that call (batch 64) went from 3.76-4.03 to 3.40-3.63 ms alone, and
// its median inside a wgangp32 step from 4.19-4.39 to 3.90-3.96 ms.
#define MAX_R 64          // the GEMM's tiles are at most 32 wide
#define DEPTH_CHUNK 256   // the GEMM's K blocks are 256 deep: one table fill per block

// Pixels j0..j0+n-1 (j = (n, oh, ow) over the batch): in channels-last x,
// or (in_y) in y / gy (add oc*P).
static void pixel_offsets(const ConvGemm *g, int in_y, int j0, int n, int *off) {
    const ConvShape *s = g->s;
    int S = s->stride, b = j0 / g->P, p = j0 - b * g->P, oh = p / s->WO, ow = p - oh * s->WO;
    for (int l = 0; l < n; l++) {
        off[l] = in_y ? b * s->OC * g->P + oh * s->WO + ow : ((b * g->HP + oh * S) * g->WP + ow * S) * s->C;
        if (++ow == s->WO) {
            ow = 0;
            if (++oh == s->HO) oh = 0, b++;
        }
    }
}

// Columns q0..q0+n-1 (q = (kh, kw, c)). Consecutive channels are
// consecutive floats, and so are the last channel of one kw and the first
// of the next: a run of offsets that grows by exactly 1 is one run of memory.
static void column_offsets(const ConvGemm *g, int q0, int n, int *off) {
    const ConvShape *s = g->s;
    int r = q0 / s->C, c = q0 - r * s->C, kh = r / s->KW, kw = r - kh * s->KW;
    for (int l = 0; l < n; l++) {
        off[l] = (kh * g->WP + kw) * s->C + c;
        if (++c == s->C) {
            c = 0;
            if (++kw == s->KW) kw = 0, kh++;
        }
    }
}
static int contiguous(const int *off, int n) { return off[n - 1] - off[0] == n - 1; }

// A run of pixels that are consecutive in y / gy (one sample's): lanes
// lane..lane+len-1 of a sliver or tile, at y offset off (add oc*P).
typedef struct { int lane, len, off; } Run;

static int pixel_runs(const ConvGemm *g, int j0, int n, Run *runs) {
    int count = 0;
    for (int l = 0; l < n;) {
        int j = j0 + l, b = j / g->P, p = j - b * g->P, len = g->P - p < n - l ? g->P - p : n - l;
        runs[count++] = (Run){l, len, b * g->s->OC * g->P + p};
        l += len;
    }
    return count;
}

// Short runs of floats, copied or added. A run is a sliver's or tile's
// width (32 floats with AVX-512, 16 with AVX2; 12 or 6 for an A sliver) or
// less; a loop over a length the compiler cannot see pays a call's worth of
// set-up and overlap checks for two vector moves, which made these loops a
// fifth of a weight gradient's time. The full widths get a loop of fixed
// length instead.
// (A fixed-size memcpy is inlined as vector moves; the loop of fixed length
// was turned into a call to memmove.)
static inline void copy_run(float *restrict d, const float *restrict s, int n) {
    if (n == 32) {
        memcpy(d, s, 32 * sizeof(float));
    } else if (n == 16) {
        memcpy(d, s, 16 * sizeof(float));
    } else if (n == 12) {  // MR, AVX-512 and NEON
        memcpy(d, s, 12 * sizeof(float));
    } else if (n == 6) {   // MR, AVX2 and SSE
        memcpy(d, s, 6 * sizeof(float));
    } else {
        for (int l = 0; l < n; l++) d[l] = s[l];
    }
}
static inline void set_run(float *restrict d, const float *restrict s, float b, int n) {
    if (n == 32) {
        for (int l = 0; l < 32; l++) d[l] = s[l] + b;
    } else if (n == 16) {
        for (int l = 0; l < 16; l++) d[l] = s[l] + b;
    } else {
        for (int l = 0; l < n; l++) d[l] = s[l] + b;
    }
}
static inline void add_run(float *restrict d, const float *restrict s, int n) {
    if (n == 32) {
        for (int l = 0; l < 32; l++) d[l] += s[l];
    } else if (n == 16) {
        for (int l = 0; l < 16; l++) d[l] += s[l];
    } else {
        for (int l = 0; l < n; l++) d[l] += s[l];
    }
}

// --- The packers (kernels.h, GemmOperand) ------------------------------------
// Rows or columns x0.. of the operand in slivers of R, depths k0.. .

// Forward, B = cols ((kh,kw,c) x pixels): sliver = R pixels, depth = columns.
// For 8 pixels, 8 consecutive columns are 8 floats each in x: an 8x8 block
// that k_transpose8_rows turns into 8 sliver rows (0.09 ns per value; one
// gathered float at a time, 0.65).
static void pack_cols(const void *ctx, int j0, int nj, int q0, int nq, int R, float *dst) {
    const ConvGemm *g = ctx;
    int pix[MAX_R], col[DEPTH_CHUNK];
    for (int k0 = 0; k0 < nq; k0 += DEPTH_CHUNK) {
        int kn = nq - k0 < DEPTH_CHUNK ? nq - k0 : DEPTH_CHUNK;
        column_offsets(g, q0 + k0, kn, col);
        for (int s0 = 0; s0 < nj; s0 += R) {
            int r = nj - s0 < R ? nj - s0 : R;
            pixel_offsets(g, 0, j0 + s0, r, pix);
            float *d = dst + (long)s0 * nq + (long)k0 * R;
            for (int k = 0; k < kn;) {
                if (r == R && R % 8 == 0 && k + 8 <= kn && contiguous(col + k, 8)) {
                    for (int l = 0; l < R; l += 8) {
                        const float *rows[8];
                        for (int i = 0; i < 8; i++) rows[i] = g->x + pix[l + i] + col[k];
                        k_transpose8_rows(rows, d + (long)k * R + l, R);
                    }
                    k += 8;
                } else {  // an edge: one value at a time
                    const float *src = g->x + col[k];
                    for (int l = 0; l < R; l++) d[(long)k * R + l] = l < r ? src[pix[l]] : 0.0f;
                    k++;
                }
            }
        }
    }
}

// Weight gradient, B = cols^T (pixels x (kh,kw,c)): sliver = R columns,
// depth = pixels. R consecutive columns are usually R floats in a row of x:
// one short copy per pixel.
static void pack_patches(const void *ctx, int q0, int nq, int j0, int nj, int R, float *dst) {
    const ConvGemm *g = ctx;
    int col[MAX_R], pix[DEPTH_CHUNK];
    for (int k0 = 0; k0 < nj; k0 += DEPTH_CHUNK) {
        int kn = nj - k0 < DEPTH_CHUNK ? nj - k0 : DEPTH_CHUNK;
        pixel_offsets(g, 0, j0 + k0, kn, pix);
        for (int s0 = 0; s0 < nq; s0 += R) {
            int r = nq - s0 < R ? nq - s0 : R;
            column_offsets(g, q0 + s0, r, col);
            int run = contiguous(col, r);
            float *d = dst + (long)s0 * nj + (long)k0 * R;
            for (int k = 0; k < kn; k++, d += R) {
                const float *src = g->x + pix[k];
                if (run) {
                    copy_run(d, src + col[0], r);
                } else {
                    for (int l = 0; l < r; l++) d[l] = src[col[l]];
                }
                for (int l = r; l < R; l++) d[l] = 0.0f;
            }
        }
    }
}

// Backward data, A = gy^T (pixels x OC): sliver = R pixels, depth = channels.
static void pack_gy(const void *ctx, int j0, int nj, int oc0, int noc, int R, float *dst) {
    const ConvGemm *g = ctx;
    Run runs[MAX_R];
    for (int s0 = 0; s0 < nj; s0 += R) {
        int r = nj - s0 < R ? nj - s0 : R, n_runs = pixel_runs(g, j0 + s0, r, runs);
        float *d = dst + (long)s0 * noc;
        if (n_runs == 1 && r == R) {  // the usual sliver: one run, a copy of fixed size per channel
            const float *src = g->gy + (long)oc0 * g->P + runs[0].off;
            for (int k = 0; k < noc; k++, d += R, src += g->P) copy_run(d, src, R);
            continue;
        }
        for (int k = 0; k < noc; k++, d += R) {
            const float *src = g->gy + (long)(oc0 + k) * g->P;
            for (int q = 0; q < n_runs; q++) {  // a dozen floats: a loop, not a call to memcpy
                float *to = d + runs[q].lane;
                const float *from = src + runs[q].off;
                for (int l = 0; l < runs[q].len; l++) to[l] = from[l];
            }
            for (int l = r; l < R; l++) d[l] = 0.0f;
        }
    }
}

// Weight gradient, A = gy (OC x pixels): sliver = R channels, depth = pixels.
static void pack_gy_rows(const void *ctx, int oc0, int noc, int j0, int nj, int R, float *dst) {
    const ConvGemm *g = ctx;
    int pix[DEPTH_CHUNK];
    for (int k0 = 0; k0 < nj; k0 += DEPTH_CHUNK) {
        int kn = nj - k0 < DEPTH_CHUNK ? nj - k0 : DEPTH_CHUNK;
        pixel_offsets(g, 1, j0 + k0, kn, pix);
        for (int s0 = 0; s0 < noc; s0 += R) {
            int r = noc - s0 < R ? noc - s0 : R;
            float *d = dst + (long)s0 * nj + (long)k0 * R;
            // r channels x a run of pixels consecutive in gy: a transpose per run.
            for (int k = 0; k < kn;) {
                int len = 1;
                while (k + len < kn && pix[k + len] == pix[k] + len) len++;
                k_transpose(g->gy + (long)(oc0 + s0) * g->P + pix[k], g->P, d + (long)k * R, R, r, len);
                for (int l = r; l < R; l++)
                    for (int q = 0; q < len; q++) d[(long)(k + q) * R + l] = 0.0f;
                k += len;
            }
        }
    }
}

// --- The stores (kernels.h, GemmOutput) -------------------------------------

// Forward: tile rows are output channels, columns pixels -> y (N,OC,HO,WO).
static void store_y(const void *ctx, int oc0, int j0, int mr, int nr, const float *tile, int ldt, int first) {
    const ConvGemm *g = ctx;
    Run runs[MAX_R];
    int n_runs = pixel_runs(g, j0, nr, runs);
    for (int i = 0; i < mr; i++) {
        float *y = g->out + (long)(oc0 + i) * g->P;
        const float *t = tile + (long)i * ldt;
        float b = first && g->bias ? g->bias[oc0 + i] : 0.0f;
        for (int q = 0; q < n_runs; q++) {
            float *yr = y + runs[q].off;
            const float *tr = t + runs[q].lane;
            if (first) set_run(yr, tr, b, runs[q].len);
            else add_run(yr, tr, runs[q].len);
        }
    }
}

// Backward data, col2im: tile rows are pixels, columns (kh,kw,c); each value
// is added onto the input pixel it was read from in the forward conv. A
// tile row is one pixel, so its values go to distinct places, and a run of
// columns is one vector add.
static void store_col2im(const void *ctx, int j0, int q0, int mr, int nr, const float *tile, int ldt, int first) {
    (void)first;  // col2im_rows zeroed gx: every K block adds
    const ConvGemm *g = ctx;
    const int *col = g->col_tab + q0, *pix = g->pix_tab + j0;
    int run = contiguous(col, nr);
    for (int i = 0; i < mr; i++) {
        float *gx = g->out + pix[i];
        const float *t = tile + (long)i * ldt;
        if (run) {
            add_run(gx + col[0], t, nr);
        } else {
            for (int l = 0; l < nr; l++) gx[col[l]] += t[l];
        }
    }
}

// --- Scratch and layout conversions ------------------------------------------

// The padded channels-last copies and the permuted weights live only while
// one kernel runs, so they come from a few buffers that grow to the largest
// call and are reused by every later one: from the second training step on,
// no allocation. (From the step arena they would all stay until the step
// ends: ~200 MiB more for a DCGAN step at batch 128.) Ops, like the arena,
// are called from one thread at a time.
enum { WS_INPUT, WS_WEIGHT, WS_TABLE, WS_COUNT };
static ConvScratch ws[WS_COUNT];

static float *workspace(int slot, long floats) { return conv_scratch(&ws[slot], floats); }

size_t conv_cpu_workspace_bytes(void) {
    size_t total = 0;
    for (int i = 0; i < WS_COUNT; i++) total += sizeof(float) * ws[i].floats;
    return total;
}

static long padded_floats(const ConvShape *s) {
    return (long)s->N * s->C * (s->H + 2 * s->pad) * (s->W + 2 * s->pad);
}

// x (N,C,H,W) -> (N,H+2pad,W+2pad,C), zero-padded.
static float *to_channels_last(const ConvShape *s, const float *x) {
    return conv_channels_last(&ws[WS_INPUT], x, s->N, s->C, s->H, s->W, s->pad);
}

// Sample n of gxh (N,HP,WP,C) -> gx (N,C,H,W): the interior, plus b[c] when given.
static void sample_from_channels_last(const ConvShape *s, const float *gxh, const float *b, float *gx, int n) {
    int C = s->C, H = s->H, W = s->W, pad = s->pad, WP = W + 2 * pad;
    long sample = (long)(H + 2 * pad) * WP * C;
    float *d = gx + (long)n * C * H * W;
    for (int ih = 0; ih < H; ih++)  // (W x C) -> row ih of every channel
        k_transpose(gxh + n * sample + ((long)(ih + pad) * WP + pad) * C, C, d + (long)ih * W, (long)H * W, W, C);
    if (b)
        for (int c = 0; c < C; c++)
            for (long i = 0; i < (long)H * W; i++) d[(long)c * H * W + i] += b[c];
}

// w (OC,C,KH,KW) -> (OC,KH,KW,C), the columns in (kh,kw,c) order; and back, for gw.
// Per output channel a (C x KH*KW) <-> (KH*KW x C) transpose, in 8x8
// blocks, on the team when there is enough of it: every conv call does one,
// and a 128 -> 256 layer's weights are half a million floats. (A float at a
// time on one thread: 0.16 ms there and 0.10 back, against 0.10 and 0.08.)
#define PAR_MIN_WEIGHTS (1L << 16)
static float *weight_to_channels_last(const ConvShape *s, const float *w) {
    int KK = s->KH * s->KW, C = s->C;
    float *wt = workspace(WS_WEIGHT, (long)s->OC * C * KK);
#pragma omp parallel for schedule(static) if ((long)s->OC * C * KK >= PAR_MIN_WEIGHTS)
    for (int oc = 0; oc < s->OC; oc++)
        k_transpose(w + (long)oc * C * KK, KK, wt + (long)oc * KK * C, C, C, KK);
    return wt;
}
static void weight_from_channels_last(const ConvShape *s, const float *wt, float *w) {
    int KK = s->KH * s->KW, C = s->C;
#pragma omp parallel for schedule(static) if ((long)s->OC * C * KK >= PAR_MIN_WEIGHTS)
    for (int oc = 0; oc < s->OC; oc++)
        k_transpose(wt + (long)oc * KK * C, C, w + (long)oc * C * KK, KK, KK, C);
}

// --- The three kernels -----------------------------------------------------------

static ConvGemm conv_gemm(const ConvShape *s) {
    if (padded_floats(s) >= (1L << 31) || (long)s->N * s->OC * s->HO * s->WO >= (1L << 31))
        t_fatal("conv: tensors of more than 2^31 values are not supported (input %dx%dx%dx%d)\n"
                "HINT: use a smaller --batch", s->N, s->C, s->H, s->W);
    ConvGemm g = {.s = s, .HP = s->H + 2 * s->pad, .WP = s->W + 2 * s->pad, .P = s->HO * s->WO, .KK = s->KH * s->KW};
    return g;
}

// y (OC x pixels) = w' (OC x (kh,kw,c)) @ cols, stored straight into (N,OC,HO,WO).
static void gemm_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y) {
    ConvGemm g = conv_gemm(s);
    int CKK = s->C * g.KK, NP = s->N * g.P;
    g.x = to_channels_last(s, x);
    g.out = y;
    g.bias = b;
    GemmOperand A = {weight_to_channels_last(s, w), CKK, 0, NULL, NULL}, B = {NULL, 0, 0, pack_cols, &g};
    GemmOutput C = {NULL, 0, 1.0f, 0.0f, store_y, &g, 1, 1, NULL};
    k_gemm_ex(s->OC, NP, CKK, &A, &B, &C);
}

// Backward data, before and after a thread's piece of rows (whole samples):
// zero the piece's samples of channels-last gx, then, once every tile has
// been added, turn them into (N,C,H,W) gx. Done this way, a piece's samples
// are zeroed, added into and read back by one core while they are in its
// cache (9 samples, 0.7 MiB, for the DCGANs' 64-channel layer); as
// passes over the whole of gx before and after the GEMM they went out to
// memory and back.
static void col2im_rows(const void *ctx, int j0, int m, int done) {
    const ConvGemm *g = ctx;
    const ConvShape *s = g->s;
    long sample = (long)g->HP * g->WP * s->C;
    int n0 = j0 / g->P, n1 = (j0 + m) / g->P;
    if (!done) memset(g->out + n0 * sample, 0, sizeof(float) * (size_t)((n1 - n0) * sample));
    else
        for (int n = n0; n < n1; n++) sample_from_channels_last(s, g->out, g->bias, g->gx, n);
}

// cols^T (pixels x (kh,kw,c)) = gy^T (pixels x OC) @ w' (OC x (kh,kw,c)),
// each tile added into channels-last gx as it is made (col2im), and each
// thread's piece of gx turned back into (N,C,H,W) when it is complete.
static void gemm_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx) {
    ConvGemm g = conv_gemm(s);
    int CKK = s->C * g.KK, NP = s->N * g.P;
    g.gy = gy;
    g.out = workspace(WS_INPUT, padded_floats(s));
    g.bias = b;
    g.gx = gx;
    int *tab = (int *)workspace(WS_TABLE, (long)NP + CKK);  // this slot only ever holds ints
    pixel_offsets(&g, 0, 0, NP, tab);
    column_offsets(&g, 0, CKK, tab + NP);
    g.pix_tab = tab;
    g.col_tab = tab + NP;
    GemmOperand A = {NULL, 0, 0, pack_gy, &g}, B = {weight_to_channels_last(s, w), CKK, 0, NULL, NULL};
    // A thread's piece is whole samples: no two threads add into the same pixel.
    GemmOutput C = {NULL, 0, 1.0f, 0.0f, store_col2im, &g, g.P, 0, col2im_rows};
    k_gemm_ex(NP, CKK, s->OC, &A, &B, &C);
}

// gw' (OC x (kh,kw,c)) = gy (OC x pixels) @ cols^T, then gw' -> gw (OC,C,KH,KW).
static void gemm_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw) {
    ConvGemm g = conv_gemm(s);
    int CKK = s->C * g.KK, NP = s->N * g.P;
    float *gwt = workspace(WS_WEIGHT, (long)s->OC * CKK);
    g.x = to_channels_last(s, x);
    g.gy = gy;
    GemmOperand A = {NULL, 0, 0, pack_gy_rows, &g}, B = {NULL, 0, 0, pack_patches, &g};
    GemmOutput C = {gwt, CKK, 1.0f, 0.0f, NULL, NULL, 1, 1, NULL};
    k_gemm_ex(s->OC, CKK, NP, &A, &B, &C);
    weight_from_channels_last(s, gwt, gw);
}

// A kernel that covers the whole unpadded input (DCGAN's first generator
// and last discriminator layers: 4x4 onto 1x1 and back) makes the conv a
// linear layer on the flattened sample, x (N, C*H*W) and y (N, OC): plain
// GEMMs, with no gathering and no scattering over 16 KiB strides.
static int covers_input(const ConvShape *s) { return s->pad == 0 && s->KH == s->H && s->KW == s->W; }

// b (len) copied into every row of m (rows x len), so a GEMM with beta 1 adds onto it.
static void fill_rows(float *m, int rows, int len, const float *b, int repeat) {
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < len; i++) m[(long)r * len + i] = b[i / repeat];
}

static void dense_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y) {
    int CKK = s->C * s->KH * s->KW;
    if (b) fill_rows(y, s->N, s->OC, b, 1);
    k_gemm(0, 1, s->N, s->OC, CKK, 1.0f, x, CKK, w, CKK, b ? 1.0f : 0.0f, y, s->OC);   // y = x w^T (+ b)
}

static void dense_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx) {
    int KK = s->KH * s->KW, CKK = s->C * KK;
    if (b) fill_rows(gx, s->N, CKK, b, KK);
    k_gemm(0, 0, s->N, CKK, s->OC, 1.0f, gy, s->OC, w, CKK, b ? 1.0f : 0.0f, gx, CKK);  // gx = gy w (+ b)
}

static void dense_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw) {
    int CKK = s->C * s->KH * s->KW;
    k_gemm(1, 0, s->OC, CKK, s->N, 1.0f, gy, s->OC, x, CKK, 0.0f, gw, CKK);             // gw = gy^T x
}

// ---------------------------------------------------------------------------
// Entry points

// DIRECT and WINOGRAD: the fast kernels (WINOGRAD adds conv_winograd.c's);
// DEFAULT is WINOGRAD.
static int fast(ConvAlgo algo) { return algo == CONV_DIRECT || algo == CONV_WINOGRAD || algo == CONV_DEFAULT; }
static int winograd(ConvAlgo algo) { return algo == CONV_WINOGRAD || algo == CONV_DEFAULT; }

void conv_cpu_forward(const ConvShape *s, ConvAlgo algo, const float *x, const float *w, const float *b, float *y) {
    if (algo == CONV_NAIVE) naive_forward(s, x, w, b, y);
    else if (algo == CONV_TILED) conv_tiled_forward(s, x, w, b, y);
    else if (fast(algo) && conv_last_fits(s)) conv_last_forward(s, x, w, b, y);
    else if (covers_input(s)) dense_forward(s, x, w, b, y);
    else if (winograd(algo) && conv_winograd_fits(s))
        conv_winograd_forward(s, x, w, b, y, &ws[WS_INPUT], &ws[WS_WEIGHT]);
    else if (fast(algo) && conv_direct_fits(s))
        conv_direct_forward(s, x, w, b, y, &ws[WS_INPUT], &ws[WS_WEIGHT]);
    else if (fast(algo) && conv_first_fits(s)) {
        conv_gemm(s);  // its size check
        conv_first_forward(s, x, weight_to_channels_last(s, w), b, y);
    } else gemm_forward(s, x, w, b, y);
}

void conv_cpu_backward_data(const ConvShape *s, ConvAlgo algo, const float *gy, const float *w, const float *b,
                            float *gx) {
    if (algo == CONV_NAIVE) naive_backward_data(s, gy, w, b, gx);
    else if (algo == CONV_TILED) conv_tiled_backward_data(s, gy, w, b, gx);
    else if (fast(algo) && conv_last_fits(s)) conv_last_backward_data(s, gy, w, b, gx);
    else if (covers_input(s)) dense_backward_data(s, gy, w, b, gx);
    else if (winograd(algo) && conv_winograd_fits(s))
        conv_winograd_backward_data(s, gy, w, b, gx, &ws[WS_INPUT], &ws[WS_WEIGHT]);
    else if (fast(algo) && CONV_DIRECT_BDATA_PAYS && conv_direct_backward_data_fits(s))
        conv_direct_backward_data(s, gy, w, b, gx, &ws[WS_INPUT], &ws[WS_WEIGHT]);
    else if (fast(algo) && conv_first_backward_data_fits(s)) {
        conv_gemm(s);  // its size check
        conv_first_backward_data(s, gy, w, b, gx, &ws[WS_INPUT]);
    } else gemm_backward_data(s, gy, w, b, gx);
}

void conv_cpu_backward_weight(const ConvShape *s, ConvAlgo algo, const float *x, const float *gy, float *gw) {
    if (algo == CONV_NAIVE) naive_backward_weight(s, x, gy, gw);
    else if (algo == CONV_TILED) conv_tiled_backward_weight(s, x, gy, gw);
    else if (covers_input(s)) dense_backward_weight(s, x, gy, gw);
    else if (winograd(algo) && conv_winograd_fits(s))
        conv_winograd_backward_weight(s, x, gy, gw, &ws[WS_INPUT], &ws[WS_WEIGHT]);
    else if (fast(algo) && conv_first_fits(s)) {
        conv_gemm(s);  // its size check
        float *gwt = workspace(WS_WEIGHT, (long)s->OC * s->C * s->KH * s->KW);
        conv_first_backward_weight(s, x, gy, gwt, &ws[WS_INPUT]);
        weight_from_channels_last(s, gwt, gw);
    } else gemm_backward_weight(s, x, gy, gw);
}
