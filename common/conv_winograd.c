// conv_winograd.c: the forward pass, backward data and weight gradient of
// a k4 s2 p1 convolution with fewer multiply-adds: Winograd's minimal
// filtering F(2x2, 2x2) on the four phases of the stride.
//
// The phases. In one dimension, with x taken as 0 outside the image,
//     y[i] = w0 x[2i-1] + w1 x[2i] + w2 x[2i+1] + w3 x[2i+2]
//          = (w1 E[i] + w3 E[i+1]) + (w0 O[i-1] + w2 O[i])
// where E[u] = x[2u] and O[u] = x[2u+1] are the even and odd samples: a
// stride-2 filter of 4 taps is two stride-1 filters of 2 taps, one on each
// phase. In two dimensions, four phases (row parity x column parity), each
// a 2x2 filter, their results summed.
//
// F(2, 2). Two outputs of a 2-tap filter (g0, g1) over d0 d1 d2 take 4
// multiplies the direct way and 3 this way:
//     m0 = (d0 - d1) g0     m1 = d1 (g0 + g1)     m2 = (d2 - d1) g1
//     y0 = m0 + m1 = d0 g0 + d1 g1          y1 = m1 + m2 = d1 g0 + d2 g1
// Nested (rows, then columns), a 2x2 tile of outputs comes from a 3x3 tile
// of inputs with 9 multiplies instead of 16: input d -> V = B^T d B (3x3),
// filter g -> U = G g G^T (3x3), products M = U * V elementwise, output
// Y = A^T M A (2x2), with
//     B^T = | 1 -1  0 |     G = | 1  0 |     A^T = | 1  1  0 |
//           | 0  1  0 |         | 1  1 |           | 0  1  1 |
//           | 0 -1  1 |         | 0  1 |
// Every transform is sums and differences of a few values, so rounding
// stays close to the direct sum's (tests/test_winograd.c measures it).
//
// The matrix products. A layer sums over C input channels and the 4 phases,
// so for each of the 9 positions xi of the 3x3 tile the products are one
// GEMM over tiles:
//     M_xi (tiles x OC) = V_xi (tiles x 4C) @ U_xi (4C x OC)
// 9 GEMMs of 4C-deep sums where the direct conv does 16C-deep ones for four
// outputs: 9/16 of its multiply-adds. What it pays for that: the
// transforms, and U, 2.25x the size of w (9 values per 4 taps).
//
// Backward data (a transposed conv). With gx's phases split the same way,
//     gx[2u] = w1 gy[u] + w3 gy[u-1]        gx[2u+1] = w2 gy[u] + w0 gy[u+1]
// each phase of gx is a 2-tap filter over gy, stride 1: (w3, w1) on gy[u-1],
// gy[u] for the even rows (and columns), (w2, w0) on gy[u], gy[u+1] for the
// odd ones. Here the phases are not summed but interleaved: each has its
// own input tile and its own outputs, so 4 x 9 GEMMs per chunk, each
//     M_ph,xi (tiles x C) = V_ph,xi (tiles x OC) @ U_ph,xi (OC x C)
// and a tile of 2x2 outputs in each phase is a 4x4 block of gx.
//
// Where the tiles sit. Output tile (ti, tj) is y[2ti..2ti+1][2tj..2tj+1].
// Its even rows E[2ti..2ti+2] are x rows 4ti, 4ti+2, 4ti+4, its odd rows
// O[2ti-1..2ti+1] are x rows 4ti-1, 4ti+1, 4ti+3: with x zero-padded by one
// pixel (padded row = row + 1), rows 4ti+1, 4ti+3, 4ti+5 and 4ti, 4ti+2,
// 4ti+4 of the padded copy. Columns the same way.
//
// The work goes in chunks of whole samples (at most CHUNK_TILES tiles), one
// chunk per thread at a time: its channels-last copy, then for each of the
// 9 positions (of each phase, for backward data) its V, its GEMM (on that
// thread: gemm.c runs serially inside a parallel region) and its part of
// the output, all in that core's cache. One position at a time, V and M
// hold one GEMM's operands, not nine: the scratch then fits in what the
// other conv kernels already hold. (The forward's 9 at once took about 1.1x
// the time and twice the scratch.) Bigger chunks read U
// fewer times: 256 tiles took 3-5% less time than 128 and 64. Each chunk is
// computed the same way whichever thread runs it, so the result does not
// depend on the thread count.
#include "conv_winograd.h"
#include "cpu_features.h"  // gemm_mac_count_add

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CHUNK_TILES 256

// The taps of a phase's 2-tap filter (g0, g1): even rows (or columns) take
// w1 and w3, odd ones w0 and w2.
static const int TAP[2][2] = {{1, 3}, {0, 2}};
// Backward data: gx's even phase takes w3 (on gy[u-1]) and w1 (on gy[u]),
// its odd phase w2 (on gy[u]) and w0 (on gy[u+1]).
static const int TAP_T[2][2] = {{3, 1}, {2, 0}};

int conv_winograd_fits(const ConvShape *s) {
    return s->KH == 4 && s->KW == 4 && s->stride == 2 && s->pad == 1 && s->H % 4 == 0 && s->W % 4 == 0 &&
           s->HO == s->H / 2 && s->WO == s->W / 2 && s->C % 8 == 0 && s->C >= 16 && s->OC % 8 == 0 &&
           (long)s->N * (s->H + 2) * (s->W + 2) * s->C < (1L << 31) && (long)s->N * s->OC * s->H * s->W < (1L << 31);
}

// u[xi] = (G g G^T)[xi] for the 2x2 filter g of phase ph of kernel wk
// (16 floats), its taps taken from tap[py] (rows) and tap[px] (columns).
static inline void filter_tile(const float *wk, const int tap[2][2], int ph, float u[9]) {
    const int *ty = tap[ph >> 1], *tx = tap[ph & 1];
    float g00 = wk[ty[0] * 4 + tx[0]], g01 = wk[ty[0] * 4 + tx[1]];
    float g10 = wk[ty[1] * 4 + tx[0]], g11 = wk[ty[1] * 4 + tx[1]];
    float t[3][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g10, g11}};  // G g
    for (int i = 0; i < 3; i++) {                                         // (G g) G^T
        u[i * 3 + 0] = t[i][0];
        u[i * 3 + 1] = t[i][0] + t[i][1];
        u[i * 3 + 2] = t[i][1];
    }
}

// Forward: U[xi][ph*C + c][oc] for the phase ph = 2 py + px filter of
// w[oc][c]. Blocks of 16 output channels are made in a small array and then
// written as whole rows: the 36 rows one (c, oc) writes to lie a power of
// two apart and would all fall into the same few cache sets (one value at a
// time, this took 4x as long).
static void transform_weights(const ConvShape *s, const float *w, float *U) {
    int C = s->C, OC = s->OC, K = 4 * C;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++)
        for (int oc0 = 0; oc0 < OC; oc0 += 16) {
            int on = OC - oc0 < 16 ? OC - oc0 : 16;
            float u[9][4][16];
            for (int o = 0; o < on; o++)
                for (int ph = 0; ph < 4; ph++) {
                    float f[9];
                    filter_tile(w + ((long)(oc0 + o) * C + c) * 16, TAP, ph, f);
                    for (int xi = 0; xi < 9; xi++) u[xi][ph][o] = f[xi];
                }
            for (int xi = 0; xi < 9; xi++)
                for (int ph = 0; ph < 4; ph++)
                    memcpy(U + ((long)xi * K + ph * C + c) * OC + oc0, u[xi][ph], sizeof(float) * (size_t)on);
        }
}

// Backward data: U[ph*9 + xi][oc][c], in blocks of 16 input channels (as above).
static void transform_weights_t(const ConvShape *s, const float *w, float *U) {
    int C = s->C, OC = s->OC;
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < OC; oc++)
        for (int c0 = 0; c0 < C; c0 += 16) {
            int cn = C - c0 < 16 ? C - c0 : 16;
            float u[4][9][16];
            for (int k = 0; k < cn; k++)
                for (int ph = 0; ph < 4; ph++) {
                    float f[9];
                    filter_tile(w + ((long)oc * C + c0 + k) * 16, TAP_T, ph, f);
                    for (int xi = 0; xi < 9; xi++) u[ph][xi][k] = f[xi];
                }
            for (int ph = 0; ph < 4; ph++)
                for (int xi = 0; xi < 9; xi++)
                    memcpy(U + ((long)(ph * 9 + xi) * OC + oc) * C + c0, u[ph][xi], sizeof(float) * (size_t)cn);
        }
}

// v[c] = (B^T d B)[i][j] for c < n, one position of a transformed 3x3
// tile of n-channel pixels, d[r][q] at d + r rs + q cs. With B^T's rows
// (1, -1, 0), (0, 1, 0), (0, -1, 1):
//     (B^T d B)[i][j] = (d[i][j] - d[1][j]) - (d[i][1] - d[1][1])
// with the differences that row or column 1 would take away from itself
// left out: d[1][j] - d[1][1] for i = 1, d[i][1] - d[1][1] for j = 1,
// d[1][1] for both.
static inline void input_tile(const float *d, long rs, long cs, int i, int j, int n, float *restrict v) {
    const float *dij = d + i * rs + j * cs, *d1j = d + rs + j * cs, *di1 = d + i * rs + cs, *d11 = d + rs + cs;
    if (i != 1 && j != 1)
        for (int c = 0; c < n; c++) v[c] = (dij[c] - d1j[c]) - (di1[c] - d11[c]);
    else if (i != 1)
        for (int c = 0; c < n; c++) v[c] = di1[c] - d11[c];
    else if (j != 1)
        for (int c = 0; c < n; c++) v[c] = d1j[c] - d11[c];
    else
        memcpy(v, d11, sizeof(float) * (size_t)n);
}

// Forward: V[t][ph*C + c] for position (i, j) and the tiles of one chunk,
// from its channels-last padded copy xc (samples, H+2, W+2, C). Phase ph's
// 3x3 tile takes every other pixel from (r0, c0) on (see "Where the tiles sit").
// Phases ph0..ph0+nph-1 only (the weight gradient splits them), in rows of nph*C.
static void transform_input(const ConvShape *s, const float *xc, int tiles, int i, int j, int ph0, int nph,
                            float *V) {
    int C = s->C, K = nph * C, TW = s->WO / 2, TS = (s->HO / 2) * TW, WP = s->W + 2;
    long sample = (long)(s->H + 2) * WP * C;
    for (int t = 0; t < tiles; t++) {
        int n = t / TS, ti = (t - n * TS) / TW, tj = t - n * TS - ti * TW;
        for (int ph = ph0; ph < ph0 + nph; ph++) {
            int r0 = 4 * ti + ((ph >> 1) ? 0 : 1), c0 = 4 * tj + ((ph & 1) ? 0 : 1);
            input_tile(xc + n * sample + ((long)r0 * WP + c0) * C, 2L * WP * C, 2L * C, i, j, C,
                       V + (long)t * K + (ph - ph0) * C);
        }
    }
}

// Backward data: V[t][oc] for phase ph, position (i, j) and the tiles of
// one chunk, from its channels-last copy of gy padded by one pixel
// (samples, HO+2, WO+2, OC). Phase (py, px) of tile (ti, tj) reads the 3x3
// gy pixels from (2ti + py - 1, 2tj + px - 1) on: padded (2ti + py, 2tj + px).
static void transform_input_t(const ConvShape *s, const float *gyc, int tiles, int ph, int i, int j, float *V) {
    int OC = s->OC, TW = s->WO / 2, TS = (s->HO / 2) * TW, WP = s->WO + 2;
    long sample = (long)(s->HO + 2) * WP * OC;
    for (int t = 0; t < tiles; t++) {
        int n = t / TS, ti = (t - n * TS) / TW, tj = t - n * TS - ti * TW;
        int r0 = 2 * ti + (ph >> 1), c0 = 2 * tj + (ph & 1);
        input_tile(gyc + n * sample + ((long)r0 * WP + c0) * OC, (long)WP * OC, OC, i, j, OC, V + (long)t * OC);
    }
}

// Y = A^T M A: with A^T's rows (1, 1, 0) and (0, 1, 1), output (a, b) of a
// tile sums M[i][j] for i in {a, a+1}, j in {b, b+1}. The corners of M
// each go to one output, so their GEMMs write it straight away (beta 0);
// the edges go to two and the centre to all four, so their GEMMs write M
// and it is added to those. Y[a*2 + b] holds output (a, b) of every tile,
// (tiles x OC).
static void add_to_outputs(int i, int j, const float *M, long n, float *Y) {
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            if ((i == a || i == a + 1) && (j == b || j == b + 1)) {
                float *restrict y = Y + (a * 2 + b) * n;
                for (long k = 0; k < n; k++) y[k] += M[k];
            }
}

// The positions of the 3x3 tile in the order a chunk takes them: corners
// first, so that each output's first product is written, not added.
static const int CORNERS_FIRST[9] = {0, 2, 6, 8, 1, 3, 5, 7, 4};

// Position xi's products for one chunk, V (tiles x K) @ U (K x N), into the
// four outputs Y (4 x tiles x N) of a tile: a corner's GEMM writes its one
// output, an edge's or the centre's writes M (tiles x N), then added to
// its two or four.
static void position_products(int xi, int tiles, int N, int K, const float *V, const float *U, float *M, float *Y) {
    int i = xi / 3, j = xi % 3, corner = i != 1 && j != 1;
    long n = (long)tiles * N;
    float *out = corner ? Y + ((i / 2) * 2 + j / 2) * n : M;
    k_gemm(0, 0, tiles, N, K, 1.0f, V, K, U, N, 0.0f, out, N);
    if (!corner) add_to_outputs(i, j, M, n, Y);
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// Y (4 x tiles x OC) + b -> y (N,OC,HO,WO), from the chunk's first sample n0 on.
static void write_output(const ConvShape *s, const float *Y, int tiles, int n0, const float *b, float *y) {
    int OC = s->OC, HO = s->HO, WO = s->WO, TW = WO / 2, TS = (HO / 2) * TW;
    long n = (long)tiles * OC;
    for (int t = 0; t < tiles; t++) {
        int smp = t / TS, ti = (t - smp * TS) / TW, tj = t - smp * TS - ti * TW;
        const float *y00 = Y + (long)t * OC, *y01 = y00 + n, *y10 = y01 + n, *y11 = y10 + n;
        float *yt = y + (long)(n0 + smp) * OC * HO * WO + (2 * ti) * WO + 2 * tj;
        for (int oc = 0; oc < OC; oc++) {
            float bias = b ? b[oc] : 0.0f, *yo = yt + (long)oc * HO * WO;
            yo[0] = y00[oc] + bias;
            yo[1] = y01[oc] + bias;
            yo[WO] = y10[oc] + bias;
            yo[WO + 1] = y11[oc] + bias;
        }
    }
}

// The chunks: whole samples, at most CHUNK_TILES tiles each (tiles of 2x2
// outputs, or of 2x2 per phase for backward data: the same count), as many
// as a whole number of rounds of the team takes.
typedef struct {
    int threads, tiles_per_sample, per, chunks;  // per: samples in a full chunk
} Chunks;
static Chunks plan_chunks(const ConvShape *s) {
    Chunks p = {1, (s->HO / 2) * (s->WO / 2), 1, 1};
#ifdef _OPENMP
    p.threads = omp_get_max_threads();
#endif
    int chunks = (s->N * p.tiles_per_sample + CHUNK_TILES - 1) / CHUNK_TILES;
    chunks = (chunks + p.threads - 1) / p.threads * p.threads;
    p.per = (s->N + chunks - 1) / chunks;
    p.chunks = (s->N + p.per - 1) / p.per;
    return p;
}

void conv_winograd_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y,
                           ConvScratch *scratch, ConvScratch *weights) {
    int C = s->C, H = s->H, W = s->W, OC = s->OC, K = 4 * C;
    Chunks p = plan_chunks(s);
    int threads = p.threads, TS = p.tiles_per_sample, T = s->N * TS, per = p.per, chunks = p.chunks, tc = per * TS;
    long sample = (long)(H + 2) * (W + 2) * C;
    long xs_floats = per * sample, v_floats = (long)tc * K, m_floats = (long)tc * OC;
    long thread_floats = (xs_floats + v_floats + 5 * m_floats + 15) / 16 * 16;
    float *U = conv_scratch(weights, 9L * K * OC);
    float *work = conv_scratch(scratch, threads * thread_floats);
    transform_weights(s, w, U);
    long helped = 0;  // tiles done by threads other than the first
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : helped)
    for (int ch = 0; ch < chunks; ch++) {
        int me = thread_id();
        float *xs = work + me * thread_floats, *V = xs + xs_floats, *M = V + v_floats, *Y = M + m_floats;
        int n0 = ch * per, samples = s->N - n0 < per ? s->N - n0 : per, tiles = samples * TS;
        for (int k = 0; k < samples; k++)
            conv_channels_last_sample(x + (long)(n0 + k) * C * H * W, C, H, W, 1, 1, H + 2, W + 2, xs + k * sample);
        // One position at a time: V and M hold one GEMM's operands, not nine.
        for (int q = 0; q < 9; q++) {
            int xi = CORNERS_FIRST[q];
            transform_input(s, xs, tiles, xi / 3, xi % 3, 0, 4, V);
            position_products(xi, tiles, OC, K, V, U + (long)xi * K * OC, M, Y);
        }
        write_output(s, Y, tiles, n0, b, y);
        if (me) helped += tiles;
    }
    // The multiply-adds counted (bench_gan's GFLOP/s) are the direct conv's,
    // 16 per input channel and output, as for every other conv kernel: the
    // rate then compares times of the same work. The 9 GEMMs above counted
    // their own 9/16 of that; add the difference.
    gemm_mac_count_add(28LL * T * C * OC, helped * 64LL * C * OC);  // 64 - 36 per tile, C and OC
}

// Backward data: Y (16 x tiles x C; slot ph*4 + a*2 + b holds output (a, b)
// of phase ph) + b -> gx (N,C,H,W) from the chunk's first sample n0 on.
// Output (a, b) of phase (py, px) in tile (ti, tj) is gx pixel
// (4ti + 2a + py, 4tj + 2b + px): each tile is a 4x4 block of gx.
static void write_output_t(const ConvShape *s, const float *Y, int tiles, int n0, const float *b, float *gx) {
    int C = s->C, H = s->H, W = s->W, TW = s->WO / 2, TS = (s->HO / 2) * TW;
    long n = (long)tiles * C;
    for (int t = 0; t < tiles; t++) {
        int smp = t / TS, ti = (t - smp * TS) / TW, tj = t - smp * TS - ti * TW;
        float *g0 = gx + (long)(n0 + smp) * C * H * W + (4L * ti) * W + 4 * tj;
        const float *yt = Y + (long)t * C;
        for (int c = 0; c < C; c++) {
            float bias = b ? b[c] : 0.0f, *g = g0 + (long)c * H * W;
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 4; q++) {
                    int ph = (r & 1) * 2 + (q & 1), slot = ph * 4 + (r >> 1) * 2 + (q >> 1);
                    g[(long)r * W + q] = yt[slot * n + c] + bias;
                }
        }
    }
}

void conv_winograd_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx,
                                 ConvScratch *scratch, ConvScratch *weights) {
    int C = s->C, OC = s->OC, HO = s->HO, WO = s->WO;
    Chunks p = plan_chunks(s);
    int threads = p.threads, TS = p.tiles_per_sample, T = s->N * TS, per = p.per, chunks = p.chunks, tc = per * TS;
    long sample = (long)(HO + 2) * (WO + 2) * OC;
    long gs_floats = per * sample, v_floats = (long)tc * OC, m_floats = (long)tc * C;
    long thread_floats = (gs_floats + v_floats + 17 * m_floats + 15) / 16 * 16;
    float *U = conv_scratch(weights, 36L * OC * C);
    float *work = conv_scratch(scratch, threads * thread_floats);
    transform_weights_t(s, w, U);
    long helped = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : helped)
    for (int ch = 0; ch < chunks; ch++) {
        int me = thread_id();
        float *gs = work + me * thread_floats, *V = gs + gs_floats, *M = V + v_floats, *Y = M + m_floats;
        int n0 = ch * per, samples = s->N - n0 < per ? s->N - n0 : per, tiles = samples * TS;
        for (int k = 0; k < samples; k++)
            conv_channels_last_sample(gy + (long)(n0 + k) * OC * HO * WO, OC, HO, WO, 1, 1, HO + 2, WO + 2,
                                      gs + k * sample);
        for (int ph = 0; ph < 4; ph++)  // each phase: its own 4 outputs of a tile
            for (int q = 0; q < 9; q++) {
                int xi = CORNERS_FIRST[q];
                transform_input_t(s, gs, tiles, ph, xi / 3, xi % 3, V);
                position_products(xi, tiles, C, OC, V, U + (long)(ph * 9 + xi) * OC * C, M, Y + 4L * ph * tiles * C);
            }
        write_output_t(s, Y, tiles, n0, b, gx);
        if (me) helped += tiles;
    }
    // As the forward: count the direct kernel's multiply-adds (64 per tile,
    // input and output channel) where the GEMMs counted 36.
    gemm_mac_count_add(28LL * T * C * OC, helped * 64LL * C * OC);
}

// Weight gradient. The forward's tile is y = A^T [(G g G^T) * (B^T d B)] A,
// so by the chain rule the filter g of phase ph gets, from each tile,
//     dg = G^T [(A gy A^T) * (B^T d B)] G  =  A^T [(G gy G^T) * V] A
// (A is G's shape, 3x2, and the same matrix): the output's 2x2 tile gy
// transformed as a filter, times the forward's V, summed over every tile
// of the batch, then the forward's output transform. For each position xi
// the sum over tiles is one GEMM:
//     Mw_xi (OC x 4C) = Gy_xi^T (OC x tiles) @ V_xi (tiles x 4C)
// The batch goes in chunks of whole samples (at most CHUNK_TILES_W tiles),
// their x and gy copied channels-last, and each chunk's work is split over
// (xi, two of the four phases): 18 items, each adding into its own columns
// of Mw, so no two threads add into the same sums, and each sum is added up
// chunk after chunk in the same order whatever the thread count. An item
// makes its part of V, and its Gy (the two halves of a position both make
// it: it is the smaller one). (Split over halves of the output channels
// instead, V made twice, the 64 -> 128 layers were 10-30% slower.)
#define CHUNK_TILES_W 512

// Gy[t][oc] = (G gy G^T)[i][j] for the tiles of a chunk, from its samples
// of gy channels-last (samples, HO, WO, OC): with G's
// rows (1, 0), (1, 1), (0, 1), row i of G gy is gy's row 0, the sum of its
// rows, or row 1, and column j the same of that.
static void transform_gy(const ConvShape *s, const float *gyc, int tiles, int i, int j, float *restrict Gy) {
    int OC = s->OC, WO = s->WO, TW = WO / 2, TS = (s->HO / 2) * TW;
    long sample = (long)s->HO * WO * OC;
    for (int t = 0; t < tiles; t++) {
        int n = t / TS, ti = (t - n * TS) / TW, tj = t - n * TS - ti * TW;
        const float *g = gyc + n * sample + ((long)(2 * ti) * WO + 2 * tj) * OC;  // g[r][q] at g + (r WO + q) OC
        const float *g00 = g, *g01 = g + OC, *g10 = g + (long)WO * OC, *g11 = g10 + OC;
        float *v = Gy + (long)t * OC;
        // row i of G gy (columns q = 0, 1): g0q, g0q + g1q or g1q; then column j of that.
        for (int c = 0; c < OC; c++) {
            float r0 = i == 0 ? g00[c] : i == 1 ? g00[c] + g10[c] : g10[c];
            float r1 = i == 0 ? g01[c] : i == 1 ? g01[c] + g11[c] : g11[c];
            v[c] = j == 0 ? r0 : j == 1 ? r0 + r1 : r1;
        }
    }
}

void conv_winograd_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw,
                                   ConvScratch *scratch, ConvScratch *weights) {
    int N = s->N, C = s->C, H = s->H, W = s->W, OC = s->OC, HO = s->HO, WO = s->WO, K = 4 * C;
    int TS = (HO / 2) * (WO / 2), T = N * TS, K2 = 2 * C;
    int tc = CHUNK_TILES_W / TS > 0 ? CHUNK_TILES_W / TS * TS : TS;  // whole samples
    if (tc > T) tc = T;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    int per = tc / TS;  // samples per chunk
    long xs = (long)(H + 2) * (W + 2) * C, gs = (long)HO * WO * OC;
    long thread_floats = ((long)tc * K2 + (long)tc * OC + 15) / 16 * 16;
    float *xc = conv_scratch(scratch, per * (xs + gs) + threads * thread_floats), *gyc = xc + per * xs;
    float *work = gyc + per * gs, *Mw = conv_scratch(weights, 9L * OC * K);
    long helped = 0;
    // Chunk by chunk: its samples of x and gy channels-last (on the team),
    // then the 18 items add the chunk's sums into their part of Mw.
    for (int n0 = 0; n0 < N; n0 += per) {
        int samples = N - n0 < per ? N - n0 : per, tn = samples * TS;
#pragma omp parallel for schedule(dynamic, 1) if ((long)samples * (xs + gs) > (1L << 16))
        for (int n = 0; n < samples; n++) {
            conv_channels_last_sample(x + (long)(n0 + n) * C * H * W, C, H, W, 1, 1, H + 2, W + 2, xc + n * xs);
            conv_channels_last_sample(gy + (long)(n0 + n) * OC * HO * WO, OC, HO, WO, 0, 0, HO, WO, gyc + n * gs);
        }
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : helped)
        for (int item = 0; item < 18; item++) {
            int me = thread_id();
            int xi = item / 2, i = xi / 3, j = xi % 3, ph0 = 2 * (item % 2);
            float *V = work + me * thread_floats, *Gy = V + (long)tc * K2;
            transform_input(s, xc, tn, i, j, ph0, 2, V);
            transform_gy(s, gyc, tn, i, j, Gy);
            k_gemm(1, 0, OC, K2, tn, 1.0f, Gy, OC, V, K2, n0 ? 1.0f : 0.0f, Mw + (long)xi * OC * K + ph0 * C, K);
            if (me) helped += tn;
        }
    }
    // gw[oc][c][tap of (a, b) in phase ph] = (A^T Mw A)[a][b]: the sum of
    // Mw[i][j] for i in {a, a+1}, j in {b, b+1}.
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < OC; oc++)
        for (int c = 0; c < C; c++) {
            float *g = gw + ((long)oc * C + c) * 16;
            for (int ph = 0; ph < 4; ph++) {
                const float *m = Mw + (long)oc * K + ph * C + c;  // m[xi * OC * K]
                long st = (long)OC * K;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) {
                        float v = m[(a * 3 + b) * st] + m[(a * 3 + b + 1) * st] + m[((a + 1) * 3 + b) * st] +
                                  m[((a + 1) * 3 + b + 1) * st];
                        g[TAP[ph >> 1][a] * 4 + TAP[ph & 1][b]] = v;
                    }
            }
        }
    // Count the direct kernel's multiply-adds: 64 per tile, C and OC, where the GEMMs counted 36.
    gemm_mac_count_add(28LL * T * C * OC, helped * 32LL * C * OC / 9);  // an item's tile: 1/18 of 64 C OC
}
