// matmul.cu: C = alpha op(A) op(B) + beta C on the GPU, three kernels, one
// idea each (siboehm's SGEMM worklog, shortened):
//   1 naive            one thread per C element, reads its row of A and column
//                      of B straight from global memory: 2K loads per 2K flops
//   2 shared tiled     a block stages 32x32 tiles of A and B in shared memory,
//                      so each global load feeds 32 multiply-adds
//   3 register-blocked a block computes a 128x128 tile, each thread an 8x8
//                      sub-tile held in registers: per k step a thread loads 8
//                      A and 8 B values from shared memory for 64 multiply-adds
// Row-major like common/kernels.h's k_gemm; exported through cuda/lab.h
// (cuda_gemm) to the CUDA backend, which uses it for Linear and as the GEMM
// under implicit-GEMM convolution's big brother.
//
// Standalone (llm.c dev/cuda shape): built with -DLAB_MAIN this file is a
// program that validates every version against a CPU reference on awkward
// shapes, then times them with cuBLAS as the yardstick (TF32 off, and on).
//   make cuda-nvcc && build/solutions/nvcc/lab/matmul          (GPU)
//   make cuda-emu  && build/solutions/emu/lab/matmul --quick   (emulator)
//
// Napkin math, H100 SXM: 67 TFLOP/s fp32 (non-tensor), 3.35 TB/s HBM3. A
// square GEMM of n = 4096 does 2n^3 = 137 GFLOP over 3n^2*4 = 201 MB: at the
// fp32 peak it takes 2.0 ms, the bytes alone 0.06 ms, so it is compute bound
// and the kernels are judged in GFLOP/s. Kernel 1 re-reads A and B from
// L2/HBM for every output: 2K loads of 4 bytes per 2K flops, 4 bytes per flop,
// which would need 270 TB/s to reach the peak; the tiles cut that by 32 (2)
// and by 128 (3), and 3 also stops shared memory from being the limit.
#include "cuda_common.h"
#include "lab.h"

// Element (i, k) of op(A) and (k, j) of op(B), whatever the storage.
__device__ __forceinline__ float load_a(const float *A, int lda, int trans_a, int i, int k) {
    return trans_a ? A[(long)k * lda + i] : A[(long)i * lda + k];
}
__device__ __forceinline__ float load_b(const float *B, int ldb, int trans_b, int k, int j) {
    return trans_b ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
}

// --- kernel 1: naive -----------------------------------------------------------------------
// One thread per C element. threadIdx.x runs along a row of C, so the 32
// threads of a warp read 32 consecutive B values (coalesced when B is not
// transposed) and the same A value (a broadcast).
__global__ void matmul_naive(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C, int ldc) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= M || j >= N) return;  // no barrier in this kernel, so an early exit is safe
    float acc = 0.0f;
    for (int k = 0; k < K; k++) acc += load_a(A, lda, trans_a, i, k) * load_b(B, ldb, trans_b, k, j);
    float *c = &C[(long)i * ldc + j];
    *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;  // beta 0: C may hold NaN, never read it
}

// --- kernel 2: shared-memory tiles ------------------------------------------------------------
// A 32x32 block of threads computes a 32x32 tile of C. It walks K in steps of
// 32: the block loads a 32x32 tile of op(A) and one of op(B) into shared
// memory (one element per thread), then every thread takes 32 products from
// shared memory. Global traffic drops 32-fold. Tiles past the matrix edge are
// filled with zeros, so the inner loop needs no bounds checks and a thread
// whose C element lies outside still helps load (and reaches every barrier).
#define MM2_TILE 32
__global__ void matmul_tiled(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C, int ldc) {
    // +1 column: with trans_a the loads below write a column of As per warp;
    // the padding puts the 32 elements of a column in 32 different banks.
    __shared__ float As[MM2_TILE][MM2_TILE + 1];
    __shared__ float Bs[MM2_TILE][MM2_TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int i = blockIdx.y * MM2_TILE + ty;  // this thread's C row
    int j = blockIdx.x * MM2_TILE + tx;  // and column
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += MM2_TILE) {
        // Thread (ty, tx) loads As[ty][tx] = op(A)(i, k0+tx) and Bs[ty][tx] = op(B)(k0+ty, j).
        int ka = k0 + tx, kb = k0 + ty;
        As[ty][tx] = i < M && ka < K ? load_a(A, lda, trans_a, i, ka) : 0.0f;
        Bs[ty][tx] = kb < K && j < N ? load_b(B, ldb, trans_b, kb, j) : 0.0f;
        __syncthreads();  // the tiles are complete before anyone reads another thread's element
        for (int k = 0; k < MM2_TILE; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();  // everyone is done reading before the next iteration overwrites the tiles
    }
    if (i < M && j < N) {
        float *c = &C[(long)i * ldc + j];
        *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
    }
}

// --- kernel 3: register blocking -------------------------------------------------------------
// 256 threads compute a 128x128 tile of C, each an 8x8 sub-tile kept in 64
// registers. Per step of K (8 deep) the block stages a 128x8 slice of op(A)
// (stored transposed, As[k][m], so a thread's 8 A values for one k are
// contiguous) and an 8x128 slice of op(B) in shared memory; then for each of
// the 8 k a thread reads 8 A and 8 B values into registers and does 64
// multiply-adds: 16 shared loads per 64 FMAs instead of 2 per 1 in kernel 2.
// Tile sizes: 128x128 outputs x 8 deep = 8 KiB of shared memory and 64
// accumulators per thread fit the register file with room for 2 blocks per
// SM; each thread loads 4 A and 4 B elements per step.
#define MM3_BM 128
#define MM3_BN 128
#define MM3_BK 8
#define MM3_TM 8
#define MM3_TN 8
#define MM3_THREADS ((MM3_BM / MM3_TM) * (MM3_BN / MM3_TN))  // 256
__global__ void __launch_bounds__(MM3_THREADS)
matmul_register_blocked(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    __shared__ float As[MM3_BK][MM3_BM];
    __shared__ float Bs[MM3_BK][MM3_BN];
    int tid = threadIdx.x;
    int row0 = blockIdx.y * MM3_BM, col0 = blockIdx.x * MM3_BN;
    int tm = (tid / (MM3_BN / MM3_TN)) * MM3_TM;  // this thread's sub-tile: rows tm..tm+7
    int tn = (tid % (MM3_BN / MM3_TN)) * MM3_TN;  // columns tn..tn+7 (within the block's tile)
    float acc[MM3_TM][MM3_TN] = {{0.0f}};
    float a_reg[MM3_TM], b_reg[MM3_TN];
    for (int k0 = 0; k0 < K; k0 += MM3_BK) {
        // Load: element e = tid + r*256 of the 128x8 A slice and of the 8x128
        // B slice. For A, consecutive threads take consecutive k then m (the
        // k run is contiguous in a non-transposed row-major A); for B,
        // consecutive threads take consecutive columns (contiguous in B).
        for (int r = 0; r < MM3_BM * MM3_BK / MM3_THREADS; r++) {
            int e = tid + r * MM3_THREADS;
            int m = e / MM3_BK, k = e % MM3_BK;
            int gi = row0 + m, gk = k0 + k;
            As[k][m] = gi < M && gk < K ? load_a(A, lda, trans_a, gi, gk) : 0.0f;
        }
        for (int r = 0; r < MM3_BN * MM3_BK / MM3_THREADS; r++) {
            int e = tid + r * MM3_THREADS;
            int k = e / MM3_BN, n = e % MM3_BN;
            int gk = k0 + k, gj = col0 + n;
            Bs[k][n] = gk < K && gj < N ? load_b(B, ldb, trans_b, gk, gj) : 0.0f;
        }
        __syncthreads();  // both slices are in shared memory before any thread uses them
        for (int k = 0; k < MM3_BK; k++) {
            for (int a = 0; a < MM3_TM; a++) a_reg[a] = As[k][tm + a];
            for (int b = 0; b < MM3_TN; b++) b_reg[b] = Bs[k][tn + b];
            for (int a = 0; a < MM3_TM; a++)
                for (int b = 0; b < MM3_TN; b++) acc[a][b] += a_reg[a] * b_reg[b];
        }
        __syncthreads();  // all reads of this slice are done before the next load overwrites it
    }
    for (int a = 0; a < MM3_TM; a++) {
        int i = row0 + tm + a;
        if (i >= M) break;
        for (int b = 0; b < MM3_TN; b++) {
            int j = col0 + tn + b;
            if (j >= N) break;
            float *c = &C[(long)i * ldc + j];
            *c = beta == 0.0f ? alpha * acc[a][b] : alpha * acc[a][b] + beta * *c;
        }
    }
}

// --- launchers ----------------------------------------------------------------------------------
static int cdiv(int a, int b) { return (a + b - 1) / b; }

extern "C" void cuda_gemm(int version, int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                          int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M < 0 || N < 0 || K < 0) {
        fprintf(stderr, "error: cuda_gemm: negative size M=%d N=%d K=%d\nHINT: a caller computed a shape wrong\n", M,
                N, K);
        exit(1);
    }
    if (M == 0 || N == 0) return;
    switch (version) {
    case 1: {
        dim3 block(32, 8);
        LAUNCH(matmul_naive, dim3(cdiv(N, 32), cdiv(M, 8)), block, 0, trans_a, trans_b, M, N, K, alpha, A, lda, B,
               ldb, beta, C, ldc);
        break;
    }
    case 2:
        LAUNCH(matmul_tiled, dim3(cdiv(N, MM2_TILE), cdiv(M, MM2_TILE)), dim3(MM2_TILE, MM2_TILE), 0, trans_a,
               trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        break;
    case 0:
    case 3:
        LAUNCH(matmul_register_blocked, dim3(cdiv(N, MM3_BN), cdiv(M, MM3_BM)), MM3_THREADS, 0, trans_a, trans_b, M,
               N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        break;
    default:
        fprintf(stderr, "error: cuda_gemm: no kernel version %d\nHINT: versions are 1, 2, 3 (0 = the fastest)\n",
                version);
        exit(1);
    }
    CUDA_CHECK(cudaGetLastError());  // a bad launch configuration shows here, not at the next sync
}

#ifdef LAB_MAIN
// ================================ the lab program ================================
#include <math.h>
#include <string.h>
#ifdef LAB_HAVE_CUBLAS
#include <cublas_v2.h>
#endif

// CPU reference in double; mag[i] = |alpha| sum_k |a b| + |beta c|, the scale
// of the rounding error a float sum of K terms may make.
static void matmul_cpu(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, const float *C0, int ldc, double *ref, double *mag) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, m = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
                double b = tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                s += a * b;
                m += fabs(a * b);
            }
            double c = beta == 0.0f ? 0.0 : (double)beta * C0[(long)i * ldc + j];
            ref[(long)i * N + j] = alpha * s + c;
            mag[(long)i * N + j] = fabs(alpha) * m + fabs(c);
        }
}

static float frand(unsigned *state) {  // uniform in [-1, 1)
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

static float *to_device(const float *h, long n) {
    float *d;
    CUDA_CHECK(cudaMalloc(&d, (n ? n : 1) * sizeof(float)));
    if (n) CUDA_CHECK(cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}

// One validation case: every version against the CPU. Returns the number of failures.
static int validate(int M, int N, int K, int ta, int tb, float alpha, float beta, unsigned seed) {
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;  // row strides wider than the rows
    long na = (long)(ta ? K : M) * lda, nb = (long)(tb ? N : K) * ldb, nc = (long)M * ldc;
    float *A = (float *)malloc(na * 4), *B = (float *)malloc(nb * 4), *C0 = (float *)malloc(nc * 4);
    float *C = (float *)malloc(nc * 4);
    double *ref = (double *)malloc((long)M * N * 8), *mag = (double *)malloc((long)M * N * 8);
    for (long i = 0; i < na; i++) A[i] = frand(&seed);
    for (long i = 0; i < nb; i++) B[i] = frand(&seed);
    for (long i = 0; i < nc; i++) C0[i] = frand(&seed);
    matmul_cpu(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, ref, mag);
    float *dA = to_device(A, na), *dB = to_device(B, nb), *dC = to_device(C0, nc);
    int failures = 0;
    for (int v = 1; v <= 3; v++) {
        if (beta == 0.0f) CUDA_CHECK(cudaMemset(dC, 0xFF, nc * 4));  // NaN: beta 0 must not read C
        else CUDA_CHECK(cudaMemcpy(dC, C0, nc * 4, cudaMemcpyHostToDevice));
        cuda_gemm(v, ta, tb, M, N, K, alpha, dA, lda, dB, ldb, beta, dC, ldc);
        CUDA_CHECK(cudaDeviceSynchronize());
        CUDA_CHECK(cudaMemcpy(C, dC, nc * 4, cudaMemcpyDeviceToHost));
        double worst = 0;
        long bad_at = -1;
        for (int i = 0; i < M && bad_at < 0; i++)
            for (int j = 0; j < N; j++) {
                double err = fabs(C[(long)i * ldc + j] - ref[(long)i * N + j]);
                // float summation of K terms: |error| <= K eps sum|terms| (+ the final rounding)
                double tol = (K + 2) * 1.2e-7 * mag[(long)i * N + j] + 1e-30;
                if (!(err <= tol)) {  // NaN fails too
                    bad_at = (long)i * N + j;
                    break;
                }
                if (err / tol > worst) worst = err / tol;
            }
        if (bad_at >= 0) {
            long i = bad_at / N, j = bad_at % N;
            printf("FAIL version %d M=%d N=%d K=%d trans_a=%d trans_b=%d alpha=%g beta=%g: C[%ld,%ld] = %.7g, "
                   "CPU %.7g\n", v, M, N, K, ta, tb, alpha, beta, i, j, C[i * ldc + j], ref[i * N + j]);
            failures++;
        }
    }
    CUDA_CHECK(cudaFree(dA));
    CUDA_CHECK(cudaFree(dB));
    CUDA_CHECK(cudaFree(dC));
    free(A); free(B); free(C0); free(C); free(ref); free(mag);
    return failures;
}

static double time_ms(int version, int n, const float *dA, const float *dB, float *dC, int reps, void *handle,
                      int tf32) {
    cudaEvent_t start, stop;
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    float ms = 0;
    for (int rep = -1; rep < reps; rep++) {  // rep -1: warm-up
        if (rep == 0) CUDA_CHECK(cudaEventRecord(start));
        if (version > 0) cuda_gemm(version, 0, 0, n, n, n, 1.0f, dA, n, dB, n, 0.0f, dC, n);
#ifdef LAB_HAVE_CUBLAS
        else {
            cublasHandle_t h = (cublasHandle_t)handle;
            cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
            float one = 1.0f, zero = 0.0f;
            // Row-major C = A B is column-major C^T = B^T A^T.
            cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, dB, n, dA, n, &zero, dC, n);
        }
#else
        (void)handle;
        (void)tf32;
#endif
    }
    CUDA_CHECK(cudaEventRecord(stop));
    CUDA_CHECK(cudaEventSynchronize(stop));
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    CUDA_CHECK(cudaEventDestroy(start));
    CUDA_CHECK(cudaEventDestroy(stop));
    return ms / reps;
}

static void usage(const char *prog) {
    printf("usage: %s [--quick] [--emu] [--sizes N,N,...]\n"
           "  validates kernel versions 1-3 against the CPU on awkward shapes, then times C = A B (n x n)\n"
           "  --quick   validate on small shapes only, no timing (what make test runs under the emulator)\n"
           "  --emu     validate, then time one small size (the emulator is slow)\n"
           "  --sizes   the n to time (default 1024,2048,4096)\n", prog);
}

int main(int argc, char **argv) {
    int quick = 0, emu = 0;
    int sizes[16] = {1024, 2048, 4096}, nsizes = 3;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--quick")) quick = 1;
        else if (!strcmp(argv[a], "--emu")) emu = 1;
        else if (!strcmp(argv[a], "--sizes") && a + 1 < argc) {
            nsizes = 0;
            for (char *p = strtok(argv[++a], ","); p && nsizes < 16; p = strtok(NULL, ",")) sizes[nsizes++] = atoi(p);
        } else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            usage(argv[0]);
            return 0;
        } else {
            fprintf(stderr, "error: unknown argument '%s'\nHINT: %s --help lists the flags\n", argv[a], argv[0]);
            return 2;
        }
    }
#ifdef GANBOOK_CUDA_EMU
    if (!quick && !emu) emu = 1;  // the emulator: time a small size only
#endif
    if (emu && nsizes == 3 && sizes[0] == 1024) sizes[0] = 128, nsizes = 1;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        fprintf(stderr, "error: no CUDA device\nHINT: run the lab under the emulator: make cuda-lab-emu\n");
        return 1;
    }

    // Validation: odd sizes, a single row or column, sizes around the tiles
    // (31, 33, 127, 129), every transpose, alpha != 1, beta 0 and not.
    static const int shapes[][3] = {{1, 1, 1},   {1, 37, 5},  {33, 1, 17}, {31, 33, 7},
                                    {45, 70, 33}, {129, 67, 9}, {64, 130, 40}};
    int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    int failures = 0, cases = 0;
    for (int s = 0; s < nshapes; s++)
        for (int t = 0; t < 4; t++)
            for (int b = 0; b < 2; b++) {
                if (quick && (t + b + s) % 2) continue;  // half the cases in --quick mode
                failures += validate(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, 1.5f, b ? 0.5f : 0.0f,
                                     1234u + 17u * s + 5u * t + b);
                cases++;
            }
    printf("matmul: %d cases x 3 versions against the CPU: %s\n", cases, failures ? "FAILED" : "all match");
    if (failures) return 1;
    if (quick) return 0;

    void *handle = NULL;
#ifdef LAB_HAVE_CUBLAS
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "error: cublasCreate failed\n");
        return 1;
    }
    handle = h;
#endif
    printf("\n%6s %12s %12s %12s %14s %14s   (GFLOP/s, C = A B, n x n, fp32)\n", "n", "1 naive", "2 tiled",
           "3 regblock", "cuBLAS fp32", "cuBLAS TF32");
    for (int s = 0; s < nsizes; s++) {
        int n = sizes[s];
        long nn = (long)n * n;
        float *hA = (float *)malloc(nn * 4);
        unsigned seed = 99;
        for (long i = 0; i < nn; i++) hA[i] = frand(&seed);
        float *dA = to_device(hA, nn), *dB = to_device(hA, nn), *dC;
        CUDA_CHECK(cudaMalloc(&dC, nn * 4));
        double flop = 2.0 * n * n * n;
        int reps = emu ? 1 : (n <= 1024 ? 20 : 5);
        printf("%6d", n);
        for (int v = 1; v <= 3; v++) printf(" %12.1f", flop / (time_ms(v, n, dA, dB, dC, reps, handle, 0) * 1e6));
#ifdef LAB_HAVE_CUBLAS
        for (int tf = 0; tf < 2; tf++) printf(" %14.1f", flop / (time_ms(0, n, dA, dB, dC, reps, handle, tf) * 1e6));
#else
        printf(" %14s %14s", "-", "-");
#endif
        printf("\n");
        CUDA_CHECK(cudaFree(dA));
        CUDA_CHECK(cudaFree(dB));
        CUDA_CHECK(cudaFree(dC));
        free(hA);
    }
#ifdef GANBOOK_CUDA_EMU
    printf("(emulator: these figures time the CPU emulation, not a GPU; they say nothing about GPU speed)\n");
#endif
#ifdef LAB_HAVE_CUBLAS
    cublasDestroy(h);
#endif
    return 0;
}
#endif
