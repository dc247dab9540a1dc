// conv_cpu.c: the convolution kernels on the CPU, two ways each.
//
// Naive: one loop nest per output element, straight from the definition
// (conv_cpu.h). Slow (no reuse of anything between outputs) but easy to
// check by eye, and the shape a CUDA "kernel 1" takes: one thread per output.
//
// GEMM: rewrite the convolution as one matrix product, where all the speed
// lives (gemm.c). im2col copies every receptive field of x into a column:
//     cols (C*KH*KW, HO*WO),  cols[(c,kh,kw), (oh,ow)] = x[c, oh*s-p+kh, ow*s-p+kw]
// and then, per sample,
//     forward          y  (OC, HO*WO)  = w (OC, C*KH*KW)   @ cols
//     backward data    cols            = w^T               @ gy (OC, HO*WO),  gx = col2im(cols)
//     backward weight  gw (OC, C*KH*KW) += gy (OC, HO*WO)  @ cols^T
// col2im is im2col's adjoint: it adds each column entry back onto the pixel
// it was copied from. The price is memory traffic: cols is KH*KW/stride^2
// times bigger than x (4x for DCGAN's k4 s2 layers).
//
// Batching: a 4x4 feature map gives a GEMM with only 16 columns, which wastes
// most of each register tile, so samples are processed in chunks of nb, the
// columns of a chunk side by side (cols (C*KH*KW, nb*HO*WO)); y and gy are
// permuted to and from that (OC, nb*HO*WO) layout around the GEMM. nb is
// chosen so a chunk has about TARGET_COLS columns.
//
// Threads: chunks are split between threads in contiguous blocks, each
// thread with its own scratch and a single-threaded GEMM (so no two threads
// ever wait for each other inside a layer). With fewer chunks than threads
// (batch 1), one thread walks the chunks and the GEMM splits itself instead.
// The weight gradient sums per-thread partial results in thread order, so
// for a given thread count every result is the same bit for bit.
#include "conv_cpu.h"
#include "kernels.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

// Multiply-adds of one call (each kernel does the same number).
static long conv_macs(const ConvShape *s) {
    return (long)s->N * s->OC * s->HO * s->WO * s->C * s->KH * s->KW;
}

// Below this many multiply-adds a second thread costs more than it saves:
// waking a team takes a few microseconds, and on a busy machine a thread that
// waits for a core can cost a whole scheduler tick. 2^20 MACs take ~10 us on
// one core (GEMM path) and ~0.5 ms (naive).
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
// GEMM: im2col / col2im around k_gemm

// Aim for GEMMs at least this wide: 8 of gemm.c's 32-column tiles.
#define TARGET_COLS 256

// The outputs o in [0, out) whose tap k lands inside the image:
// 0 <= o*stride - pad + k < in. Computing the range once per tap keeps the
// bounds checks out of the copy loops below (they run CKK x HO x WO times
// per sample, as often as the GEMM's inner loop reads its B matrix).
static void valid_range(int k, int pad, int stride, int in, int out, int *lo, int *hi) {
    int first = pad - k > 0 ? (pad - k + stride - 1) / stride : 0;  // smallest o with o*stride >= pad - k
    int last = in - 1 + pad - k;                                     // o*stride <= last
    *lo = first < out ? first : out;
    *hi = last < 0 ? 0 : (last / stride + 1 < out ? last / stride + 1 : out);
    if (*hi < *lo) *hi = *lo;
}

// x (N,C,H,W) samples [n0, n0+nb) -> cols (C*KH*KW, nb*HO*WO)
static void im2col(const ConvShape *s, const float *x, int n0, int nb, float *cols) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO, S = s->stride;
    long P = (long)HO * WO, ncols = nb * P;
    for (int c = 0; c < C; c++)
        for (int kh = 0; kh < KH; kh++) {
            int oh_lo, oh_hi;
            valid_range(kh, s->pad, S, H, HO, &oh_lo, &oh_hi);
            for (int kw = 0; kw < KW; kw++) {
                int ow_lo, ow_hi;
                valid_range(kw, s->pad, S, W, WO, &ow_lo, &ow_hi);
                float *row = cols + (((long)c * KH + kh) * KW + kw) * ncols;
                for (int j = 0; j < nb; j++) {
                    const float *xc = x + ((long)(n0 + j) * C + c) * H * W;
                    float *dst = row + j * P;
                    // rows of the padding border: all zeros
                    memset(dst, 0, sizeof(float) * oh_lo * WO);
                    memset(dst + (long)oh_hi * WO, 0, sizeof(float) * (HO - oh_hi) * WO);
                    for (int oh = oh_lo; oh < oh_hi; oh++) {
                        float *d = dst + (long)oh * WO;
                        // d[ow] = x[ih][ow*S - pad + kw]; off + ow*S >= 0 inside [ow_lo, ow_hi)
                        long off = (long)(oh * S - s->pad + kh) * W - s->pad + kw;
                        for (int ow = 0; ow < ow_lo; ow++) d[ow] = 0.0f;
                        for (int ow = ow_lo; ow < ow_hi; ow++) d[ow] = xc[off + (long)ow * S];
                        for (int ow = ow_hi; ow < WO; ow++) d[ow] = 0.0f;
                    }
                }
            }
        }
}

// The adjoint of im2col: cols (C*KH*KW, nb*HO*WO) -> gx (N,C,H,W) samples
// [n0, n0+nb), overwritten with b[c] (or 0) plus every column entry added
// back onto the pixel it came from (padding entries go nowhere).
static void col2im(const ConvShape *s, const float *cols, int n0, int nb, const float *b, float *gx) {
    int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW, HO = s->HO, WO = s->WO, S = s->stride;
    long P = (long)HO * WO, ncols = nb * P;
    for (int j = 0; j < nb; j++)
        for (int c = 0; c < C; c++) {
            float *xc = gx + ((long)(n0 + j) * C + c) * H * W;
            float init = b ? b[c] : 0.0f;
            for (long i = 0; i < (long)H * W; i++) xc[i] = init;
            for (int kh = 0; kh < KH; kh++) {
                int oh_lo, oh_hi;
                valid_range(kh, s->pad, S, H, HO, &oh_lo, &oh_hi);
                for (int kw = 0; kw < KW; kw++) {
                    int ow_lo, ow_hi;
                    valid_range(kw, s->pad, S, W, WO, &ow_lo, &ow_hi);
                    const float *row = cols + (((long)c * KH + kh) * KW + kw) * ncols + j * P;
                    for (int oh = oh_lo; oh < oh_hi; oh++) {
                        const float *src = row + (long)oh * WO;
                        long off = (long)(oh * S - s->pad + kh) * W - s->pad + kw;
                        for (int ow = ow_lo; ow < ow_hi; ow++) xc[off + (long)ow * S] += src[ow];
                    }
                }
            }
        }
}

// y-shaped (N,OC,P) samples [n0, n0+nb) <-> chunk layout (OC, nb*P).
static void to_chunk(const float *src, int n0, int nb, int OC, long P, float *dst) {
    for (int j = 0; j < nb; j++)
        for (int oc = 0; oc < OC; oc++)
            memcpy(dst + (long)oc * nb * P + j * P, src + ((long)(n0 + j) * OC + oc) * P, sizeof(float) * P);
}

// The chunk layout back to (N,OC,P), adding b[oc] (when not NULL).
static void from_chunk(const float *src, int n0, int nb, int OC, long P, const float *b, float *dst) {
    for (int j = 0; j < nb; j++)
        for (int oc = 0; oc < OC; oc++) {
            const float *in = src + (long)oc * nb * P + j * P;
            float *out = dst + ((long)(n0 + j) * OC + oc) * P;
            float add = b ? b[oc] : 0.0f;
            for (long p = 0; p < P; p++) out[p] = in[p] + add;
        }
}

// y (OC,P) of one sample += b[oc]
static void add_bias(float *y, int OC, long P, const float *b) {
    for (int oc = 0; oc < OC; oc++)
        for (long p = 0; p < P; p++) y[(long)oc * P + p] += b[oc];
}

// How a batch is cut: nb samples per chunk, `threads` threads each taking a
// contiguous block of chunks, and the scratch floats one thread needs.
typedef struct {
    int nb, chunks, threads;
    long cols_floats, chunk_floats;  // per thread: im2col buffer, permuted y/gy
} Plan;

static Plan make_plan(const ConvShape *s) {
    Plan p;
    int T = 1;
#ifdef _OPENMP
    if (!omp_in_parallel() && conv_macs(s) >= PAR_MIN_MACS) T = omp_get_max_threads();
#endif
    long P = (long)s->HO * s->WO;
    int share = (s->N + T - 1) / T;  // one thread's part of the batch
    long nb = (TARGET_COLS + P - 1) / P;
    p.nb = (int)(nb < share ? nb : share);
    if (p.nb < 1) p.nb = 1;
    p.chunks = (s->N + p.nb - 1) / p.nb;
    p.threads = p.chunks < T ? p.chunks : T;
    p.cols_floats = (long)s->C * s->KH * s->KW * p.nb * P;
    p.chunk_floats = p.nb > 1 ? (long)s->OC * p.nb * P : 0;  // nb == 1 needs no permute
    return p;
}

static void *scratch(long floats) { return t_arena_alloc(sizeof(float) * (size_t)(floats > 0 ? floats : 1)); }

// This thread's block of chunks [lo, hi).
static void my_chunks(const Plan *p, int *lo, int *hi, int *id) {
#ifdef _OPENMP
    int me = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    int me = 0, nt = 1;
#endif
    *id = me;
    *lo = (int)((long)p->chunks * me / nt);
    *hi = (int)((long)p->chunks * (me + 1) / nt);
}

static void gemm_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y) {
    Plan p = make_plan(s);
    long P = (long)s->HO * s->WO, CKK = (long)s->C * s->KH * s->KW;
    float *cols_all = scratch(p.cols_floats * p.threads), *chunk_all = scratch(p.chunk_floats * p.threads);
#pragma omp parallel num_threads(p.threads) if (p.threads > 1)
    {
        int lo, hi, id;
        my_chunks(&p, &lo, &hi, &id);
        float *cols = cols_all + id * p.cols_floats, *chunk = chunk_all + id * p.chunk_floats;
        for (int ch = lo; ch < hi; ch++) {
            int n0 = ch * p.nb, nb = s->N - n0 < p.nb ? s->N - n0 : p.nb;
            long ncols = nb * P;
            im2col(s, x, n0, nb, cols);
            // One sample: the GEMM writes y[n0] in place; several: a permute after.
            float *out = nb == 1 ? y + (long)n0 * s->OC * P : chunk;
            k_gemm(0, 0, s->OC, (int)ncols, (int)CKK, 1.0f, w, (int)CKK, cols, (int)ncols, 0.0f, out, (int)ncols);
            if (nb > 1) from_chunk(chunk, n0, nb, s->OC, P, b, y);
            else if (b) add_bias(out, s->OC, P, b);
        }
    }
}

static void gemm_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx) {
    Plan p = make_plan(s);
    long P = (long)s->HO * s->WO, CKK = (long)s->C * s->KH * s->KW;
    float *cols_all = scratch(p.cols_floats * p.threads), *chunk_all = scratch(p.chunk_floats * p.threads);
#pragma omp parallel num_threads(p.threads) if (p.threads > 1)
    {
        int lo, hi, id;
        my_chunks(&p, &lo, &hi, &id);
        float *cols = cols_all + id * p.cols_floats, *chunk = chunk_all + id * p.chunk_floats;
        for (int ch = lo; ch < hi; ch++) {
            int n0 = ch * p.nb, nb = s->N - n0 < p.nb ? s->N - n0 : p.nb;
            long ncols = nb * P;
            const float *g = gy + (long)n0 * s->OC * P;
            if (nb > 1) {
                to_chunk(gy, n0, nb, s->OC, P, chunk);
                g = chunk;
            }
            k_gemm(1, 0, (int)CKK, (int)ncols, s->OC, 1.0f, w, (int)CKK, g, (int)ncols, 0.0f, cols, (int)ncols);
            col2im(s, cols, n0, nb, b, gx);
        }
    }
}

static void gemm_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw) {
    Plan p = make_plan(s);
    long P = (long)s->HO * s->WO, CKK = (long)s->C * s->KH * s->KW, WN = s->OC * CKK;
    float *cols_all = scratch(p.cols_floats * p.threads), *chunk_all = scratch(p.chunk_floats * p.threads);
    // Thread 0 accumulates straight into gw, the others into partials that
    // are added afterwards in thread order.
    float *partial = scratch(WN * (p.threads - 1));
    int team = 1;  // the team OpenMP really gave us (it may give fewer threads than asked)
#pragma omp parallel num_threads(p.threads) if (p.threads > 1)
    {
        int lo, hi, id;
        my_chunks(&p, &lo, &hi, &id);
#ifdef _OPENMP
#pragma omp single nowait
        team = omp_get_num_threads();
#endif
        float *cols = cols_all + id * p.cols_floats, *chunk = chunk_all + id * p.chunk_floats;
        float *acc = id == 0 ? gw : partial + (id - 1) * WN;
        if (lo == hi) memset(acc, 0, sizeof(float) * WN);
        for (int ch = lo; ch < hi; ch++) {
            int n0 = ch * p.nb, nb = s->N - n0 < p.nb ? s->N - n0 : p.nb;
            long ncols = nb * P;
            const float *g = gy + (long)n0 * s->OC * P;
            if (nb > 1) {
                to_chunk(gy, n0, nb, s->OC, P, chunk);
                g = chunk;
            }
            im2col(s, x, n0, nb, cols);
            k_gemm(0, 1, s->OC, (int)CKK, (int)ncols, 1.0f, g, (int)ncols, cols, (int)ncols, ch == lo ? 0.0f : 1.0f,
                   acc, (int)CKK);
        }
    }
    for (int t = 1; t < team; t++) {
        const float *part = partial + (t - 1) * WN;
        for (long i = 0; i < WN; i++) gw[i] += part[i];
    }
}

// ---------------------------------------------------------------------------
// Entry points

void conv_cpu_forward(const ConvShape *s, ConvAlgo algo, const float *x, const float *w, const float *b, float *y) {
    if (algo == CONV_NAIVE) naive_forward(s, x, w, b, y);
    else gemm_forward(s, x, w, b, y);
}

void conv_cpu_backward_data(const ConvShape *s, ConvAlgo algo, const float *gy, const float *w, const float *b,
                            float *gx) {
    if (algo == CONV_NAIVE) naive_backward_data(s, gy, w, b, gx);
    else gemm_backward_data(s, gy, w, b, gx);
}

void conv_cpu_backward_weight(const ConvShape *s, ConvAlgo algo, const float *x, const float *gy, float *gw) {
    if (algo == CONV_NAIVE) naive_backward_weight(s, x, gy, gw);
    else gemm_backward_weight(s, x, gy, gw);
}
