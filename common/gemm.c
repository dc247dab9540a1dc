// gemm.c: C = alpha op(A) op(B) + beta C on the CPU, row-major.
//
// Every dense layer and every convolution (through im2col) ends up here, so
// this is the one routine of the CPU path worth making fast. It follows the
// structure of BLIS / GotoBLAS, one idea per loop:
//
//   for jc in N, step NC          (loop 5)  a column panel of C
//     for pc in K, step KC        (loop 4)  pack op(B)[pc:+KC, jc:+NC] -> Bp
//       for ic in M, step MC      (loop 3)  pack op(A)[ic:+MC, pc:+KC] -> Ap
//         for jr in NC, step NR   (loop 2)  one KCxNR sliver of Bp: stays in L1
//           for ir in MC, step MR (loop 1)  one MRxKC sliver of Ap: from L2
//             micro-kernel: an MRxNR tile of C kept in registers, KC FMAs deep
//
// Why packing: the micro-kernel then reads both operands with unit stride
// from aligned memory whatever the transposes and leading dimensions were,
// and the sliver it re-reads most (Bp's KCxNR) fits in L1 (48 KiB on the
// project machine's Zen cores: KC 256 x NR 32 x 4 bytes = 32 KiB).
// Edges are zero-padded while packing, so the micro-kernel only ever sees
// full tiles; the store step clips the tile to C's real size.
//
// The micro-kernel is plain C with GCC/clang vector extensions: the compiler
// turns `acc += a * b` on a vector type into FMA instructions for whatever
// -march says (AVX-512: 16 floats per register, AVX2: 8, SSE: 4). The tile
// is sized so the accumulators fill most of the register file: with
// AVX-512, 12 rows x 2 vectors = 24 of the 32 zmm registers, leaving room
// for the two B vectors and one broadcast A value. Napkin math: per k the
// tile does 24 FMAs (2 per cycle -> 12 cycles) and 14 loads (2 per cycle
// -> 7 cycles), so it is FMA-bound, as it should be.
//
// Threads: C is cut along its longer side into pieces of whole tiles, which
// threads take one at a time, each running the loops above on its piece
// with its own packing buffers. Every element of C is computed by the same
// sequence of operations whichever thread or piece it falls in (the K
// blocking does not depend on the split), so the result is bit-for-bit
// independent of the thread count (a scattering store, the conv's col2im,
// may add in another order). Packing buffers are thread-local, allocated on
// a thread's first call at their fixed maximum size and reused forever: no
// malloc per call.
#include "kernels.h"
#include "cpu_features.h"
#include "simd.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

// ---------------------------------------------------------------------------
// Tile and block sizes

// The vector path (AVX-512, AVX2+FMA, NEON or generic) and its width VL
// come from simd.h; the tile shape follows the register file of each.
#if defined(__AVX512F__)
#define MR 12  // 12 x 2 zmm accumulators + 2 B + 1 A = 27 of 32 registers
#elif defined(__ARM_NEON) && defined(__aarch64__)
#define MR 12  // NEON has 32 q registers too: the same shape at 4 lanes
#else
#define MR 6   // AVX2 (and SSE): 6 x 2 accumulators + 2 B + 1 A = 15 of 16 registers
#endif
#define NV 2             // vectors per tile row
#define NR (NV * VL)     // tile columns
#define KC 256           // depth of one packed block
#define MC (MR * 16)     // rows of one packed A block (L2: MC x KC x 4 bytes)
#define NC 3072          // columns of one packed B panel
#define NC_SHORT 512     // ... when C has at most MC rows (L2: 512 x KC x 4 bytes = 512 KiB)
#define K_WHOLE 4096     // ... and K is at most this: all of A packed at once (3 MiB per thread)

#define MIN_PIECE 512  // rows or columns of C a thread takes at a time (k_gemm_ex)

// Below this many multiply-adds one thread finishes before a team would
// even wake up (~2 us to start, ~50 GFLOP/s per core: 100k FMAs = 4 us).
#define PAR_MIN_FLOPS (1L << 18)

// ---------------------------------------------------------------------------
// Packing. op(A) is M x K, op(B) is K x N whatever the flags; the packed
// layouts are
//   Ap: for each MR-row sliver, for each k: MR values   (a column of the sliver)
//   Bp: for each NR-col sliver, for each k: NR values   (a row of the sliver)
// with rows/columns past the matrix edge filled with zeros.
//
// When the packed order runs across source rows (op(A) not transposed,
// op(B) transposed), packing is a transpose, done in 8x8 register blocks
// (k_transpose: 0.09 ns per value against 0.3 for a plain loop). The plain
// loop that reads a few values from each of MR..NR rows per k was slower
// still, 1.2 ns at n = 1024: rows 4 KiB apart all fall in the same L1 set,
// so 32 of them evict each other before the next k comes back for them.

// (With MR = 6, AVX2, k_transpose packs op(A)'s rows one value at a time:
// it has 8x8 blocks only for whole groups of 8 rows. Padding the sliver to
// 8 rows in a small block, transposing with registers and copying 6 of 8
// out was tried: the same thread CPU time for the MLP's 64 x 512 x 784
// layer, 720 us either way, so the simple loop stays.)
static void pack_a(int trans, const float *A, int lda, int i0, int mc, int k0, int kc, float *Ap) {
    for (int ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        float *dst = Ap + (long)ir * kc;
        if (trans) {  // op(A)[i][k] = A[k][i]: the sliver's column is contiguous
            const float *src = A + (long)k0 * lda + i0 + ir;
            if (mr == MR) {  // a copy of fixed size: vector moves (see pack_b)
                for (int k = 0; k < kc; k++) memcpy(dst + (long)k * MR, src + (long)k * lda, MR * sizeof(float));
            } else {
                for (int k = 0; k < kc; k++)
                    for (int i = 0; i < mr; i++) dst[(long)k * MR + i] = src[(long)k * lda + i];
            }
        } else {      // rows of A become columns of the sliver
            k_transpose(A + (long)(i0 + ir) * lda + k0, lda, dst, MR, mr, kc);
        }
        for (int i = mr; i < MR; i++)
            for (int k = 0; k < kc; k++) dst[(long)k * MR + i] = 0.0f;
    }
}

static void pack_b(int trans, const float *B, int ldb, int k0, int kc, int j0, int nc, float *Bp) {
    for (int jr = 0; jr < nc; jr += NR) {
        int nr = nc - jr < NR ? nc - jr : NR;
        float *dst = Bp + (long)jr * kc;
        if (trans) {  // op(B)[k][j] = B[j][k]: rows of B become rows of the sliver
            k_transpose(B + (long)(j0 + jr) * ldb + k0, ldb, dst, NR, nr, kc);
        } else {
            // A row of the sliver is a run of a row of B. At the full width
            // the copy has a size the compiler knows: two or four vector
            // moves. (The loop over nr compiled to one float at a time, as
            // dst and src may overlap for all it knew: pack_b was 13% of a
            // 128 x 8192 x 1024 product, whose B values serve 128 rows each.)
            const float *src = B + (long)k0 * ldb + j0 + jr;
            if (nr == NR) {
                for (int k = 0; k < kc; k++) memcpy(dst + (long)k * NR, src + (long)k * ldb, NR * sizeof(float));
            } else {
                for (int k = 0; k < kc; k++)
                    for (int j = 0; j < nr; j++) dst[(long)k * NR + j] = src[(long)k * ldb + j];
            }
        }
        for (int j = nr; j < NR; j++)
            for (int k = 0; k < kc; k++) dst[(long)k * NR + j] = 0.0f;
    }
}

// ---------------------------------------------------------------------------
// Micro-kernel: acc (MR x NR) = Ap sliver (MR x kc) times Bp sliver (kc x NR),
// then C[0:mr, 0:nr] = alpha acc + beta C. beta == 0 never reads C (it may
// hold garbage or NaN, as BLAS allows). A C with a store function gets the
// tile instead (spilled to memory: ~400 floats against kc * 384 FMAs).

static inline __attribute__((always_inline)) void micro_tile(int rows, int kc, const float *restrict Ap,
                                                             const float *restrict Bp, const GemmOutput *out,
                                                             float beta, int i0, int j0, int mr, int nr) {
    vf acc[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) acc[i][v] = (vf){0};
    for (int k = 0; k < kc; k++) {
        const vf *b = (const vf *)(Bp + (long)k * NR);
        vf b0 = b[0], b1 = b[1];
        const float *a = Ap + (long)k * MR;
#pragma GCC unroll 16
        for (int i = 0; i < rows; i++) {
            // Broadcast one A value to every lane. (x - 0 == x for every x,
            // so this folds to a plain broadcast; x + 0 would not: -0 + 0 = +0.)
            vf ai = a[i] - (vf){0};
            acc[i][0] = fmadd(ai, b0, acc[i][0]);
            acc[i][1] = fmadd(ai, b1, acc[i][1]);
        }
    }
    float alpha = out->alpha;
    float *C = out->store ? NULL : out->data + (long)i0 * out->ld + j0;  // data is NULL with a store
    int ldc = out->ld;
    if (!out->store && mr == rows && nr == NR) {
        for (int i = 0; i < rows; i++)
            for (int v = 0; v < NV; v++) {
                float *c = C + (long)i * ldc + v * VL;
                vf r = acc[i][v] * alpha;
                if (beta != 0.0f) {
                    vf old;
                    memcpy(&old, c, sizeof old);  // C rows need not be aligned
                    r += beta * old;
                }
                memcpy(c, &r, sizeof r);
            }
        return;
    }
    // Edge tile or custom store: spill the registers, then hand over / copy
    // only the part inside C.
    float tile[MR][NR] __attribute__((aligned(64)));
    memcpy(tile, acc, sizeof tile);
    if (out->store) {
        out->store(out->ctx, i0, j0, mr, nr, &tile[0][0], NR, beta == 0.0f);
        return;
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float *c = C + (long)i * ldc + j;
            *c = alpha * tile[i][j] + (beta != 0.0f ? beta * *c : 0.0f);
        }
}

// The tile's rows past C's last one are zeros in Ap: an edge sliver of C
// that fills at most two thirds (or one third) of the MR rows runs a tile of
// that many rows, skipping the FMAs on the padding (a layer of 128 channels
// is 10 slivers of 12 and one of 8; a batch of 64, 5 and one of 4). The rows
// it does compute get the same FMAs in the same order: the same bits.
static void micro_kernel(int kc, const float *restrict Ap, const float *restrict Bp, const GemmOutput *out,
                         float beta, int i0, int j0, int mr, int nr) {
    if (mr > MR * 2 / 3) micro_tile(MR, kc, Ap, Bp, out, beta, i0, j0, mr, nr);
    else if (mr > MR / 3) micro_tile(MR * 2 / 3, kc, Ap, Bp, out, beta, i0, j0, mr, nr);
    else micro_tile(MR / 3, kc, Ap, Bp, out, beta, i0, j0, mr, nr);
}

// ---------------------------------------------------------------------------
// One thread's share: the block loops over C[i0:i0+m, j0:j0+n].

static _Thread_local float *pack_a_buf, *pack_b_buf, *pack_a_whole;

// Every thread's buffers are also listed here, so they stay reachable from
// a global for as long as the program runs (they are meant to live until
// exit; leak checkers that cannot see other threads' TLS would otherwise
// report them).
static float *all_buffers[256];
static int n_buffers;

static float *buffer_new(size_t floats) {
    float *p = aligned_alloc(64, sizeof(float) * floats);
    if (!p) t_fatal("gemm: out of memory for packing buffers (%zu MiB)", (sizeof(float) * floats) >> 20);
#pragma omp critical(gemm_buffers)
    if (n_buffers < (int)(sizeof all_buffers / sizeof all_buffers[0])) all_buffers[n_buffers++] = p;
    return p;
}

// few: take the path for a C of few rows (all of A packed at once, C in
// short panels); the caller decides, from the piece of rows the plan gave
// this rectangle (see k_gemm_ex), so that a store sees its tiles in the
// same order however finely that piece was then shared out.
static void gemm_rect(int i0, int m, int j0, int n, int K, const GemmOperand *A, const GemmOperand *B,
                      const GemmOutput *C, int few) {
    if (!pack_a_buf) {  // first call on this thread: fixed-size buffers, kept for good
        pack_a_buf = buffer_new((size_t)MC * KC);
        pack_b_buf = buffer_new((size_t)(NC + NR - 1) / NR * NR * KC);
    }
    float *Ap = pack_a_buf, *Bp = pack_b_buf;
    if (few) {
        // C has few rows (a layer's channels, a batch of 64), so A is small:
        // pack all of it once, then take C in panels of NC_SHORT columns and
        // finish each panel (all its K blocks) before the next. The panel of
        // C stays in L2 while its K blocks add up (a conv's scattered store
        // reads it back 4 times for K = 1024), and so does the packed B
        // panel, which only this one A block reads. Each tile of C sums its
        // K blocks in the same order as below.
        if (!pack_a_whole) pack_a_whole = buffer_new((size_t)(MC + MR - 1) / MR * MR * K_WHOLE);
        int m_pad = (m + MR - 1) / MR * MR;
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            float *a = pack_a_whole + (long)m_pad * pc;
            if (A->pack) A->pack(A->ctx, i0, m, pc, kc, MR, a);
            else pack_a(A->trans, A->data, A->ld, i0, m, pc, kc, a);
        }
        for (int jc = 0; jc < n; jc += NC_SHORT) {
            int nc = n - jc < NC_SHORT ? n - jc : NC_SHORT;
            for (int pc = 0; pc < K; pc += KC) {
                int kc = K - pc < KC ? K - pc : KC;
                float beta_k = pc == 0 ? (C->store ? 0.0f : C->beta) : 1.0f;
                const float *a = pack_a_whole + (long)m_pad * pc;
                if (B->pack) B->pack(B->ctx, j0 + jc, nc, pc, kc, NR, Bp);
                else pack_b(B->trans, B->data, B->ld, pc, kc, j0 + jc, nc, Bp);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    for (int ir = 0; ir < m; ir += MR) {
                        int mr = m - ir < MR ? m - ir : MR;
                        micro_kernel(kc, a + (long)ir * kc, Bp + (long)jr * kc, C, beta_k, i0 + ir, j0 + jc + jr,
                                     mr, nr);
                    }
                }
            }
        }
        return;
    }
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            // The first K block applies the caller's beta; later blocks add
            // onto what the earlier ones stored. (A store function is told
            // "first" by beta == 0.)
            float beta_k = pc == 0 ? (C->store ? 0.0f : C->beta) : 1.0f;
            if (B->pack) B->pack(B->ctx, j0 + jc, nc, pc, kc, NR, Bp);
            else pack_b(B->trans, B->data, B->ld, pc, kc, j0 + jc, nc, Bp);
            for (int ic = 0; ic < m; ic += MC) {
                int mc = m - ic < MC ? m - ic : MC;
                if (A->pack) A->pack(A->ctx, i0 + ic, mc, pc, kc, MR, Ap);
                else pack_a(A->trans, A->data, A->ld, i0 + ic, mc, pc, kc, Ap);
                if (!C->store) {
                    for (int jr = 0; jr < nc; jr += NR)
                        for (int ir = 0; ir < mc; ir += MR)
                            micro_kernel(kc, Ap + (long)ir * kc, Bp + (long)jr * kc, C, beta_k, i0 + ic + ir,
                                         j0 + jc + jr, mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR);
                } else {
                    // A store function gets a band of MR rows across all
                    // columns before the next band: col2im's band then adds
                    // into a few rows of gx that stay in L1 (the order above
                    // sweeps all of the block's gx once per column sliver).
                    for (int ir = 0; ir < mc; ir += MR)
                        for (int jr = 0; jr < nc; jr += NR)
                            micro_kernel(kc, Ap + (long)ir * kc, Bp + (long)jr * kc, C, beta_k, i0 + ic + ir,
                                         j0 + jc + jr, mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR);
                }
            }
        }
    }
}

// C = beta C when there is nothing to multiply (K == 0 or alpha == 0).
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(long)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(long)i * ldc + j];
}

// Multiply-adds done so far (cpu_features.h). Calls come from one thread
// at a time, but a kernel running inside a parallel region may call too.
static long long mac_count, mac_count_helpers;
long long gemm_mac_count(void) {
    long long n;
#pragma omp atomic read
    n = mac_count;
    return n;
}
long long gemm_mac_count_helpers(void) {
    long long n;
#pragma omp atomic read
    n = mac_count_helpers;
    return n;
}

void gemm_mac_count_add(long long macs, long long helper_macs) {
#pragma omp atomic
    mac_count += macs;
#pragma omp atomic
    mac_count_helpers += helper_macs;
}

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }

// How k_gemm_ex shares a product out: along the rows (split_m) or the
// columns, in pieces of `piece`, on `threads` threads (1: one gemm_rect call
// for the whole of C).
typedef struct {
    int threads, split_m, len, piece, pieces, whole;  // len: rows (split_m) or columns of C; whole: lcm(tile, unit)
} GemmPlan;

static GemmPlan gemm_plan(int M, int N, int K, int unit_m, int unit_n) {
    GemmPlan p = {1, 0, 0, 0, 0, 0};
#ifdef _OPENMP
    if ((long)M * N * K >= PAR_MIN_FLOPS && !omp_in_parallel()) p.threads = omp_get_max_threads();
#endif
    // Split along the longer side that may be split, in steps of whole units
    // (and whole tiles, below).
    p.split_m = unit_m && (M >= N || !unit_n);
    int tile = p.split_m ? MR : NR, unit = p.split_m ? unit_m : unit_n, len = p.split_m ? M : N;
    p.len = len;
    if (!unit_m && !unit_n) p.threads = 1;
    int whole = unit ? tile / gcd(tile, unit) * unit : tile;  // lcm(tile, unit): whole tiles and units
    // Pieces are whole units; where a unit is at least a tile (a conv's
    // samples of pixels), not necessarily whole tiles as well: a piece then
    // ends on an edge sliver (its own short tile) rather than the pieces
    // being uneven. (With lcm(12, 16) = 48, the 1024 rows of wgangp32's
    // 128 -> 256 backward data went 528 to one thread and 496 to the other,
    // which sat idle for 7% of the call.)
    int step = unit >= tile ? unit : whole;
    p.whole = whole;
    // Threads take pieces of C from a shared counter (dynamic schedule)
    // rather than one fixed share each: on a machine whose cores are busy
    // with other work too, a thread that waits for a core would otherwise
    // hold up the whole call while its partner sleeps. Each piece packs the
    // whole of the operand along the other side again (A for column
    // pieces), so pieces are MIN_PIECE long where C allows: that repacking
    // then costs at most ~6% (one value packed per 512 multiply-adds),
    // usually far less. Every element of C is computed the same way
    // whichever piece or thread it falls in. (Where whole pieces would
    // leave a thread idle in the last round, gemm_split cuts that round
    // finer.)
    //
    // A C too short for that is shared out one piece per thread, as evenly
    // as whole steps allow. (Smaller pieces for small products, 4 per
    // thread, were tried for the MLP's batch-64 layers: the helper thread's
    // share of the multiply-adds stayed at 55% either way, see
    // gemm_mac_count_helpers, so they were not kept.)
    int share = (len + p.threads - 1) / p.threads;
    p.piece = ((share < MIN_PIECE ? share : MIN_PIECE) + step - 1) / step * step;
    p.pieces = (len + p.piece - 1) / p.piece;
    if (p.threads > p.pieces) p.threads = p.pieces;
    return p;
}

// Whether a piece of m rows takes gemm_rect's path for few rows.
static int few_rows(int m, int K) { return m <= MC && K <= K_WHOLE; }

// The pieces handed to threads: the plan's pieces, except that when whole
// pieces would leave a thread idle at the end (a round of the team with
// fewer pieces than threads, or a short last piece), the last round's
// pieces are cut into sub-pieces of `sub` (whole steps) that the threads
// share out. A sub-piece keeps its piece's path (few_rows of the piece's
// length), so the order in which a store gets its tiles does not change
// (gemm_row_blocks describes it by the plan's pieces); sub-pieces are whole
// tiles and whole units (p->whole), so a piece's bands of MR rows stay where
// they were. (The backward data of wgangp32's 64 -> 128 layer, when its
// pieces were whole tiles as well, 4096 rows in pieces of 576: 7 and a
// piece of 64, ran 4 pieces on one thread and 3 and a bit on the other.)
typedef struct {
    int whole;          // pieces handed out whole: the first `whole` of the plan
    int sub, ksub;      // after them, the plan's pieces in sub-pieces of sub rows (ksub per full piece)
    int items;          // work items in all
} GemmSplit;

static GemmSplit gemm_split(const GemmPlan *p) {
    GemmSplit sp = {p->pieces, p->piece, 1, p->pieces};
    int T = p->threads, len = p->len, step = p->whole;
    if (T <= 1 || p->pieces <= T || T > 64) return sp;
    // Round robin over whole pieces: the busiest thread's rows against an even share.
    long most = 0;
    for (int t = 0; t < T; t++) {
        long load = 0;
        for (int q = t; q < p->pieces; q += T) load += (q + 1 < p->pieces ? p->piece : len - (long)q * p->piece);
        if (load > most) most = load;
    }
    if (most * 20 * T <= (long)len * 21) return sp;  // within 5% of even: keep the pieces whole
    int third = (p->piece + 2) / 3;
    sp.sub = (third + step - 1) / step * step;
    sp.ksub = (p->piece + sp.sub - 1) / sp.sub;
    sp.whole = p->pieces - T;
    int last = len - (p->pieces - 1) * p->piece;
    sp.items = sp.whole + (T - 1) * sp.ksub + (last + sp.sub - 1) / sp.sub;
    return sp;
}

// Work item w of a split: rows (or columns) [*lo, *hi) and the length of
// the plan's piece they belong to.
static void gemm_item(const GemmPlan *p, const GemmSplit *sp, int w, int *lo, int *hi, int *piece_len) {
    int q, off = 0, len = p->len;
    if (w < sp->whole) {
        q = w;
    } else {
        int v = w - sp->whole;
        q = sp->whole + v / sp->ksub;  // the last piece's sub-pieces are at most ksub too
        off = (v - (q - sp->whole) * sp->ksub) * sp->sub;
    }
    int q_lo = q * p->piece, q_hi = q_lo + p->piece < len ? q_lo + p->piece : len;
    *piece_len = q_hi - q_lo;
    *lo = q_lo + off;
    *hi = w < sp->whole || *lo + sp->sub > q_hi ? q_hi : *lo + sp->sub;
}

void gemm_row_blocks(int M, int N, int K, int unit_m, GemmRowBlocks *rb) {
    GemmPlan p = gemm_plan(M, N, K, unit_m, 0);
    rb->piece = p.threads <= 1 ? M : p.piece;
    rb->mr = MR;
    rb->few_rows = MC;
    rb->nc = NC;
    rb->kc = KC;
    rb->nr = NR;
}

// The output's rows hook (kernels.h), where it has one.
static void rows_hook(const GemmOutput *C, int i0, int m, int done) {
    if (C->rows) C->rows(C->ctx, i0, m, done);
}

void k_gemm_ex(int M, int N, int K, const GemmOperand *A, const GemmOperand *B, const GemmOutput *C) {
    if (C->rows && C->unit_n) t_fatal("k_gemm_ex: a rows hook needs unit_n = 0 (pieces of whole rows)");
    if (M <= 0) return;
    if (N <= 0 || (C->store && K <= 0)) {
        // Nothing to store: the output is the empty sum, which a rows hook
        // still has to make (col2im's gx is then zeros).
        rows_hook(C, 0, M, 0);
        rows_hook(C, 0, M, 1);
        return;
    }
    if (!C->store && (K <= 0 || C->alpha == 0.0f)) {
        scale_c(M, N, C->beta, C->data, C->ld);
        return;
    }
#pragma omp atomic
    mac_count += (long long)M * N * K;
    GemmPlan p = gemm_plan(M, N, K, C->unit_m, C->unit_n);
    int threads = p.threads, split_m = p.split_m;
    if (threads <= 1) {
        rows_hook(C, 0, M, 0);
        gemm_rect(0, M, 0, N, K, A, B, C, few_rows(M, K));
        rows_hook(C, 0, M, 1);
        return;
    }
    GemmSplit sp = gemm_split(&p);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int w = 0; w < sp.items; w++) {
        int lo, hi, piece_len;
        gemm_item(&p, &sp, w, &lo, &hi, &piece_len);
        if (split_m) {
            rows_hook(C, lo, hi - lo, 0);
            gemm_rect(lo, hi - lo, 0, N, K, A, B, C, few_rows(piece_len, K));
            rows_hook(C, lo, hi - lo, 1);
        } else {
            gemm_rect(0, M, lo, hi - lo, K, A, B, C, few_rows(M, K));
        }
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) {
#pragma omp atomic
            mac_count_helpers += (long long)(hi - lo) * (split_m ? N : M) * K;
        }
#endif
    }
}

void k_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
            const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    GemmOperand a = {A, lda, trans_a, NULL, NULL}, b = {B, ldb, trans_b, NULL, NULL};
    GemmOutput c = {C, ldc, alpha, beta, NULL, NULL, 1, 1, NULL};
    k_gemm_ex(M, N, K, &a, &b, &c);
}
