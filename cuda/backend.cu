// backend.cu: the CUDA backend table (common/kernels.h's Backend): memory,
// and a kernel for every op of the library except the products, which come
// from the kernel lab (cuda/lab.h: GEMM and the three convolutions).
//
// Shape of the file: one short kernel per entry of the table, each with its
// launcher right below it. Most are elementwise: one thread per value, in a
// grid-stride loop over a grid of at most MAX_BLOCKS blocks (the loop keeps a
// huge tensor from asking for a huge grid, and under the emulator, where
// every thread is a fiber, it keeps the fiber count down).
//
// Reductions (sum_to, batch norm's statistics, BCE's mean) are
// deterministic: one block per output value, each thread summing a fixed
// strided share of the inputs in order, then a tree in shared memory whose
// shape depends only on the block size. No atomics: two runs with the same
// seed add the same numbers in the same order and agree bit for bit. The
// embedding's scatter (an index-add) has one thread per output value that
// walks the labels in order, for the same reason.
//
// Everything is asynchronous (one stream, the default): only download (and
// sync) wait for the GPU. Every launch is followed by CUDA_CHECK of
// cudaGetLastError, which catches a bad launch configuration at its line.
#include "cuda_common.h"

#include <math.h>
#include <string.h>

#include "../common/kernels.h"
#include "lab.h"  // the kernel lab: cuda_gemm, cuda_conv2d_* (GEMM and convolutions)

#define THREADS 256
#define MAX_BLOCKS 4096

static int blocks_for(long n) {
    long b = (n + THREADS - 1) / THREADS;
    return (int)(b < 1 ? 1 : b > MAX_BLOCKS ? MAX_BLOCKS : b);
}

#define FOR_EACH(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)gridDim.x * blockDim.x)
#define CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

// A shape padded to 4 dims, passed to kernels by value.
struct Shape4 {
    int d[4];
};
static Shape4 shape4(const int *s) {
    Shape4 r;
    for (int i = 0; i < 4; i++) r.d[i] = s[i];
    return r;
}

// ---------------------------------------------------------------------------
// Memory

static void *cuda_alloc(size_t bytes) {
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes ? bytes : 256);
    if (err != cudaSuccess)
        t_fatal("out of GPU memory allocating %zu MiB (%s)\nHINT: use a smaller --batch, or --device cpu", bytes >> 20,
                cudaGetErrorString(err));
    return p;
}
static void cuda_release(void *p) { CUDA_CHECK(cudaFree(p)); }
static void cuda_upload(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
static void cuda_download(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));  // waits for the kernels before it
}
static void cuda_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}
static void cuda_zero(void *p, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemset(p, 0, bytes));
}
static void cuda_sync(void) { CUDA_CHECK(cudaDeviceSynchronize()); }

// ---------------------------------------------------------------------------
// Elementwise

__global__ void unary_kernel(int kind, const float *x, float *y, long n, float arg) {
    FOR_EACH(i, n) {
        float v = x[i], r;
        switch (kind) {
        case U_NEG: r = -v; break;
        case U_ADD_SCALAR: r = v + arg; break;
        case U_MUL_SCALAR: r = v * arg; break;
        case U_POW: r = powf(v, arg); break;
        case U_EXP: r = expf(v); break;
        case U_LOG: r = logf(v); break;
        case U_SQRT: r = sqrtf(v); break;
        case U_ABS: r = fabsf(v); break;
        case U_RELU: r = v > 0.0f ? v : 0.0f; break;
        case U_LEAKY_RELU: r = v > 0.0f ? v : arg * v; break;
        case U_TANH: r = tanhf(v); break;
        case U_SIGMOID: r = v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v)); break;
        case U_SIGN: r = (float)((v > 0.0f) - (v < 0.0f)); break;
        default: r = v > 0.0f ? 1.0f : arg; break;  // U_SLOPE_MASK
        }
        y[i] = r;
    }
}
static void cuda_unary(UnaryKind kind, const float *x, float *y, long n, float arg) {
    LAUNCH(unary_kernel, blocks_for(n), THREADS, 0, (int)kind, x, y, n, arg);
    CHECK_LAUNCH();
}

__global__ void mul_slope_mask_kernel(const float *g, const float *x, float *o, long n, float slope) {
    FOR_EACH(i, n) o[i] = g[i] * (x[i] > 0.0f ? 1.0f : slope);
}
static void cuda_mul_slope_mask(const float *g, const float *x, float *o, long n, float slope) {
    LAUNCH(mul_slope_mask_kernel, blocks_for(n), THREADS, 0, g, x, o, n, slope);
    CHECK_LAUNCH();
}

// Offset in a tensor of shape `in` of the element at 4-d index `idx` of a
// tensor of shape `out`, `in` broadcast to `out` (stride 0 where in is 1).
__device__ __forceinline__ long broadcast_offset(const Shape4 &in, const int *idx) {
    long off = 0;
    for (int d = 0; d < 4; d++) off = off * in.d[d] + (in.d[d] == 1 ? 0 : idx[d]);
    return off;
}

__device__ __forceinline__ void unravel(long i, const Shape4 &s, int *idx) {
    for (int d = 3; d >= 0; d--) {
        idx[d] = (int)(i % s.d[d]);
        i /= s.d[d];
    }
}

__global__ void binary_kernel(int kind, const float *a, Shape4 as, const float *b, Shape4 bs, float *o, Shape4 os,
                              long n) {
    FOR_EACH(i, n) {
        int idx[4];
        unravel(i, os, idx);
        float x = a[broadcast_offset(as, idx)], y = b[broadcast_offset(bs, idx)];
        o[i] = kind == B_ADD ? x + y : kind == B_SUB ? x - y : kind == B_MUL ? x * y : x / y;
    }
}
// The same without broadcasting: no index arithmetic.
__global__ void binary_flat_kernel(int kind, const float *a, const float *b, float *o, long n) {
    FOR_EACH(i, n) {
        float x = a[i], y = b[i];
        o[i] = kind == B_ADD ? x + y : kind == B_SUB ? x - y : kind == B_MUL ? x * y : x / y;
    }
}
static long numel4(const int *s) { return (long)s[0] * s[1] * s[2] * s[3]; }

static void cuda_binary(BinaryKind kind, const float *a, const int *as, const float *b, const int *bs, float *o,
                        const int *os) {
    long n = numel4(os);
    if (numel4(as) == n && numel4(bs) == n)
        LAUNCH(binary_flat_kernel, blocks_for(n), THREADS, 0, (int)kind, a, b, o, n);
    else
        LAUNCH(binary_kernel, blocks_for(n), THREADS, 0, (int)kind, a, shape4(as), b, shape4(bs), o, shape4(os), n);
    CHECK_LAUNCH();
}

__global__ void expand_kernel(const float *x, Shape4 xs, float *y, Shape4 ys, long n) {
    FOR_EACH(i, n) {
        int idx[4];
        unravel(i, ys, idx);
        y[i] = x[broadcast_offset(xs, idx)];
    }
}
static void cuda_expand(const float *x, const int *xs, float *y, const int *ys) {
    long n = numel4(ys);
    LAUNCH(expand_kernel, blocks_for(n), THREADS, 0, x, shape4(xs), y, shape4(ys), n);
    CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// Reductions: one block per output value, a fixed tree.

// The block's sum of v (every thread's value) into sh[0], returned to every
// thread. The tree's shape depends only on blockDim.x (a power of two), so
// the order of additions is the same on every run.
__device__ float block_sum(float v, float *sh) {
    sh[threadIdx.x] = v;
    __syncthreads();  // every thread's value is in place before the first level reads it
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) sh[threadIdx.x] += sh[threadIdx.x + half];
        __syncthreads();  // a level finishes before the next reads its results
    }
    float total = sh[0];
    __syncthreads();  // everyone has read sh[0] before the caller reuses sh
    return total;
}

// y[j] = sum of x over the reduced dims (ys 1, xs not). The reduced values of
// output j are numbered r = 0..R-1 in row-major order over the reduced dims.
__global__ void sum_to_kernel(const float *x, Shape4 xs, float *y, Shape4 ys, long R) {
    DYNAMIC_SHARED(float, sh);
    long j = blockIdx.x;
    int yi[4];
    unravel(j, ys, yi);
    long st[4], s = 1;
    for (int d = 3; d >= 0; d--) {
        st[d] = s;
        s *= xs.d[d];
    }
    float part = 0.0f;
    for (long r = threadIdx.x; r < R; r += blockDim.x) {
        long rest = r, off = 0;
        for (int d = 3; d >= 0; d--) {
            int idx = yi[d];
            if (ys.d[d] == 1 && xs.d[d] != 1) {
                idx = (int)(rest % xs.d[d]);
                rest /= xs.d[d];
            }
            off += idx * st[d];
        }
        part += x[off];
    }
    float total = block_sum(part, sh);
    if (threadIdx.x == 0) y[j] = total;
}
static void cuda_sum_to(const float *x, const int *xs, float *y, const int *ys) {
    long n = numel4(xs), m = numel4(ys);
    if (m == n) {  // nothing to reduce
        cuda_copy(y, x, (size_t)n * sizeof(float));
        return;
    }
    LAUNCH(sum_to_kernel, (int)m, THREADS, THREADS * sizeof(float), x, shape4(xs), y, shape4(ys), n / m);
    CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// Fill, scale, accumulate, block copies

__global__ void fill_kernel(float *x, long n, float v) { FOR_EACH(i, n) x[i] = v; }
__global__ void scale_kernel(float *x, long n, float s) { FOR_EACH(i, n) x[i] *= s; }
__global__ void accumulate_kernel(float *d, const float *s, long n) { FOR_EACH(i, n) d[i] += s[i]; }

static void cuda_fill(float *x, long n, float v) {
    LAUNCH(fill_kernel, blocks_for(n), THREADS, 0, x, n, v);
    CHECK_LAUNCH();
}
static void cuda_scale(float *x, long n, float s) {
    LAUNCH(scale_kernel, blocks_for(n), THREADS, 0, x, n, s);
    CHECK_LAUNCH();
}
static void cuda_accumulate(float *d, const float *s, long n) {
    LAUNCH(accumulate_kernel, blocks_for(n), THREADS, 0, d, s, n);
    CHECK_LAUNCH();
}

// Element i of the copied part: block o = i / (len*inner), k = i % (len*inner).
__global__ void copy_blocks_kernel(float *dst, int dst_dim, int dst_at, const float *src, int src_dim, int src_at,
                                   long block, long inner, long n) {
    FOR_EACH(i, n) {
        long o = i / block, k = i % block;
        dst[(o * dst_dim + dst_at) * inner + k] = src[(o * src_dim + src_at) * inner + k];
    }
}
static void cuda_copy_blocks(float *dst, int dst_dim, int dst_at, const float *src, int src_dim, int src_at, int len,
                             long outer, long inner) {
    long block = (long)len * inner, n = outer * block;
    LAUNCH(copy_blocks_kernel, blocks_for(n), THREADS, 0, dst, dst_dim, dst_at, src, src_dim, src_at, block, inner, n);
    CHECK_LAUNCH();
}

__global__ void repeat_rows_kernel(float *dst, const float *row, int cols, long n) {
    FOR_EACH(i, n) dst[i] = row[i % cols];
}
static void cuda_repeat_rows(float *dst, const float *row, int rows, int cols) {
    long n = (long)rows * cols;
    LAUNCH(repeat_rows_kernel, blocks_for(n), THREADS, 0, dst, row, cols, n);
    CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// Products: the kernel lab. CONV_NAIVE -> 1, TILED -> 2, GEMM -> 3, DEFAULT -> 0 (its fastest).

static void cuda_gemm_entry(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc) {
    cuda_gemm(0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static CudaConvShape lab_shape(const ConvShape *s) {
    CudaConvShape c = {s->N, s->C, s->H, s->W, s->OC, s->KH, s->KW, s->HO, s->WO, s->stride, s->pad};
    return c;
}
static int lab_version(ConvAlgo a) { return a == CONV_NAIVE ? 1 : a == CONV_TILED ? 2 : a == CONV_GEMM ? 3 : 0; }

static void cuda_conv_forward(const ConvShape *s, ConvAlgo algo, const float *x, const float *w, const float *b,
                              float *y) {
    CudaConvShape c = lab_shape(s);
    cuda_conv2d_forward(lab_version(algo), &c, x, w, b, y);
}
static void cuda_conv_backward_data(const ConvShape *s, ConvAlgo algo, const float *gy, const float *w,
                                    const float *b, float *gx) {
    CudaConvShape c = lab_shape(s);
    cuda_conv2d_backward_data(lab_version(algo), &c, gy, w, b, gx);
}
static void cuda_conv_backward_weight(const ConvShape *s, ConvAlgo algo, const float *x, const float *gy,
                                      float *gw) {
    CudaConvShape c = lab_shape(s);
    cuda_conv2d_backward_weight(lab_version(algo), &c, x, gy, gw);
}

// ---------------------------------------------------------------------------
// Batch norm: one block per channel c. The channel's M = N*S values are
// numbered m = n*S + s, at x[(n*C + c)*S + s].

__device__ __forceinline__ long bn_at(long m, int C, int c, long S) { return ((m / S) * C + c) * S + m % S; }

__global__ void bn_forward_kernel(int C, long S, long M, const float *x, const float *gamma, const float *beta,
                                  float *running_mean, float *running_var, int training, float momentum, float eps,
                                  float *y, float *stats) {
    DYNAMIC_SHARED(float, sh);
    int c = blockIdx.x;
    float mean, invstd;
    if (training) {
        // Two passes (mean, then squared deviations), as on the CPU: E[x^2] -
        // E[x]^2 cancels badly when |mean| >> std.
        float part = 0.0f;
        for (long m = threadIdx.x; m < M; m += blockDim.x) part += x[bn_at(m, C, c, S)];
        mean = block_sum(part, sh) / (float)M;
        part = 0.0f;
        for (long m = threadIdx.x; m < M; m += blockDim.x) {
            float d = x[bn_at(m, C, c, S)] - mean;
            part += d * d;
        }
        float sq = block_sum(part, sh);
        invstd = 1.0f / sqrtf(sq / (float)M + eps);  // biased variance normalizes this batch
        if (threadIdx.x == 0 && running_mean) {
            // PyTorch's update, the running variance unbiased (M / (M-1)).
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (sq / (float)(M - 1));
        }
    } else {
        mean = running_mean[c];
        invstd = 1.0f / sqrtf(running_var[c] + eps);
    }
    if (threadIdx.x == 0) {
        stats[c] = mean;
        stats[C + c] = invstd;
    }
    float scale = (gamma ? gamma[c] : 1.0f) * invstd, shift = (beta ? beta[c] : 0.0f) - mean * scale;
    for (long m = threadIdx.x; m < M; m += blockDim.x) {
        long i = bn_at(m, C, c, S);
        y[i] = x[i] * scale + shift;
    }
}
static void cuda_bn_forward(int N, int C, long S, const float *x, const float *gamma, const float *beta,
                            float *running_mean, float *running_var, int training, float momentum, float eps, float *y,
                            float *stats) {
    LAUNCH(bn_forward_kernel, C, THREADS, THREADS * sizeof(float), C, S, (long)N * S, x, gamma, beta, running_mean,
           running_var, training, momentum, eps, y, stats);
    CHECK_LAUNCH();
}

// dbeta = sum g, dgamma = sum g xhat; training: dx = k g + a + b (x - mean)
// with k = gamma invstd, a = -k sum(g)/M, b = -k invstd sum(g xhat)/M; eval: dx = k g.
__global__ void bn_backward_kernel(int C, long S, long M, const float *x, const float *gamma, const float *gy,
                                   const float *stats, int training, float *gx, float *dgamma, float *dbeta) {
    DYNAMIC_SHARED(float, sh);
    int c = blockIdx.x;
    float mean = stats[c], invstd = stats[C + c];
    float pg = 0.0f, pgd = 0.0f;
    for (long m = threadIdx.x; m < M; m += blockDim.x) {
        long i = bn_at(m, C, c, S);
        pg += gy[i];
        pgd += gy[i] * (x[i] - mean);
    }
    float sum_g = block_sum(pg, sh), sum_g_xhat = block_sum(pgd, sh) * invstd;
    if (threadIdx.x == 0) {
        if (dbeta) dbeta[c] = sum_g;
        if (dgamma) dgamma[c] = sum_g_xhat;
    }
    if (!gx) return;
    float k = (gamma ? gamma[c] : 1.0f) * invstd;
    float a = training ? -k * sum_g / (float)M : 0.0f, b = training ? -k * invstd * sum_g_xhat / (float)M : 0.0f;
    for (long m = threadIdx.x; m < M; m += blockDim.x) {
        long i = bn_at(m, C, c, S);
        gx[i] = k * gy[i] + a + b * (x[i] - mean);
    }
}
static void cuda_bn_backward(int N, int C, long S, const float *x, const float *gamma, const float *gy,
                             const float *stats, int training, float *gx, float *dgamma, float *dbeta) {
    LAUNCH(bn_backward_kernel, C, THREADS, THREADS * sizeof(float), C, S, (long)N * S, x, gamma, gy, stats, training,
           gx, dgamma, dbeta);
    CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// Losses and labels

// One block: out[0] = mean of max(x,0) - x y + log(1 + exp(-|x|)).
__global__ void bce_kernel(const float *x, const float *y, long n, float *out) {
    DYNAMIC_SHARED(float, sh);
    float part = 0.0f;
    for (long i = threadIdx.x; i < n; i += blockDim.x) {
        float v = x[i];
        part += fmaxf(v, 0.0f) - v * y[i] + log1pf(expf(-fabsf(v)));
    }
    float total = block_sum(part, sh);
    if (threadIdx.x == 0) out[0] = total / (float)n;
}
static void cuda_bce_with_logits(const float *x, const float *y, long n, float *out) {
    LAUNCH(bce_kernel, 1, THREADS, THREADS * sizeof(float), x, y, n, out);
    CHECK_LAUNCH();
}

// A label outside [0, range) reads as -1: it matches no row (a row of zeros).
__device__ __forceinline__ int label_row(float v, int range) { return v >= 0.0f && v < (float)range ? (int)v : -1; }

__global__ void one_hot_kernel(const float *labels, int classes, float *out, long n) {
    FOR_EACH(i, n) out[i] = label_row(labels[i / classes], classes) == (int)(i % classes) ? 1.0f : 0.0f;
}
static void cuda_one_hot(const float *labels, long n, int classes, float *out) {
    long total = n * classes;
    LAUNCH(one_hot_kernel, blocks_for(total), THREADS, 0, labels, classes, out, total);
    CHECK_LAUNCH();
}

__global__ void embedding_kernel(const float *w, int F, const float *labels, int V, float *out, long n) {
    FOR_EACH(i, n) {
        int row = label_row(labels[i / F], V);
        out[i] = row < 0 ? 0.0f : w[(long)row * F + i % F];
    }
}
static void cuda_embedding(const float *w, int F, const float *labels, long n, float *out) {
    // V is not part of the entry (labels were checked on the host); a large
    // bound keeps every valid row.
    long total = n * F;
    LAUNCH(embedding_kernel, blocks_for(total), THREADS, 0, w, F, labels, 1 << 30, out, total);
    CHECK_LAUNCH();
}

// One thread per output value (v, f), summing g[i, f] over the labels equal to
// v in label order: deterministic, no atomics. O(V F n): label tables are small.
__global__ void embedding_scatter_kernel(const float *g, const float *labels, long n, int V, int F, float *out) {
    FOR_EACH(j, (long)V * F) {
        int v = (int)(j / F), f = (int)(j % F);
        float s = 0.0f;
        for (long i = 0; i < n; i++)
            if (label_row(labels[i], V) == v) s += g[i * F + f];
        out[j] = s;
    }
}
static void cuda_embedding_scatter(const float *g, const float *labels, long n, int V, int F, float *out) {
    LAUNCH(embedding_scatter_kernel, blocks_for((long)V * F), THREADS, 0, g, labels, n, V, F, out);
    CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// Optimizers: the CPU's rules (kernels_cpu.c) line by line, one thread per value.

__global__ void sgd_kernel(float *p, const float *g, float *buf, long n, float lr, float wd, float mom, int first,
                           int nesterov) {
    FOR_EACH(j, n) {
        float d = g[j];
        if (wd != 0.0f) d = d + wd * p[j];
        if (buf) {
            buf[j] = first ? d : buf[j] * mom + d;
            d = nesterov ? d + mom * buf[j] : buf[j];
        }
        p[j] = p[j] - lr * d;
    }
}
static void cuda_sgd(float *p, const float *g, float *buf, long n, float lr, float wd, float mom, int first,
                     int nesterov) {
    LAUNCH(sgd_kernel, blocks_for(n), THREADS, 0, p, g, buf, n, lr, wd, mom, first, nesterov);
    CHECK_LAUNCH();
}

// step = lr / (1 - beta1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - beta2^t) are
// computed once on the host, exactly as the CPU computes them.
__global__ void adam_kernel(float *p, const float *g, float *m, float *v, long n, float step, float inv_sqrt_bc2,
                            float beta1, float beta2, float eps, float wd) {
    FOR_EACH(i, n) {
        float gi = g[i] + wd * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}
static void cuda_adam(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                      float eps, float wd, int t) {
    float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);
    LAUNCH(adam_kernel, blocks_for(n), THREADS, 0, p, g, m, v, n, lr / bc1, 1.0f / sqrtf(bc2), beta1, beta2, eps, wd);
    CHECK_LAUNCH();
}

__global__ void rmsprop_kernel(float *p, const float *g, float *sq, float *buf, float *ga, long n, float lr, float wd,
                               float alpha, float eps, float mom) {
    FOR_EACH(j, n) {
        float d = g[j];
        if (wd != 0.0f) d = d + wd * p[j];
        sq[j] = sq[j] * alpha + (1.0f - alpha) * d * d;
        float avg;
        if (ga) {
            ga[j] = ga[j] * alpha + (1.0f - alpha) * d;
            avg = sqrtf(sq[j] - ga[j] * ga[j]);
        } else {
            avg = sqrtf(sq[j]);
        }
        avg = avg + eps;
        if (buf) {
            buf[j] = buf[j] * mom + d / avg;
            p[j] = p[j] - lr * buf[j];
        } else {
            p[j] = p[j] - lr * (d / avg);
        }
    }
}
static void cuda_rmsprop(float *p, const float *g, float *sq, float *buf, float *ga, long n, float lr, float wd,
                         float alpha, float eps, float mom) {
    LAUNCH(rmsprop_kernel, blocks_for(n), THREADS, 0, p, g, sq, buf, ga, n, lr, wd, alpha, eps, mom);
    CHECK_LAUNCH();
}

__global__ void clip_kernel(float *p, long n, float c) { FOR_EACH(j, n) p[j] = p[j] < -c ? -c : p[j] > c ? c : p[j]; }
static void cuda_clip(float *p, long n, float c) {
    LAUNCH(clip_kernel, blocks_for(n), THREADS, 0, p, n, c);
    CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// Chapter 7's recipe: the EMA of G's weights and DiffAugment's translation
// and cutout, one thread per value (kernels_cpu.c has the same rules). The
// random numbers behind an augmentation (shifts, cutout centres) are drawn on
// the host from the run's generator, in the CPU run's order, and come up as
// a small table per batch (augment.c), so a GPU run augments exactly as a
// CPU run with the same seed; nothing here is random or reduced.

__global__ void ema_kernel(float *avg, const float *w, long n, float decay) {
    FOR_EACH(i, n) avg[i] = decay * avg[i] + (1.0f - decay) * w[i];
}
static void cuda_ema(float *avg, const float *w, long n, float decay) {
    LAUNCH(ema_kernel, blocks_for(n), THREADS, 0, avg, w, n, decay);
    CHECK_LAUNCH();
}

// Thread i writes y[i] = x[n, c, i - dy, j - dx] or 0: a gather, so every
// output is written exactly once (a scatter would leave the uncovered border
// unwritten, and fresh arena memory is not zero).
__global__ void translate_kernel(const float *x, float *y, int N, int C, int H, int W, const float *shifts, int sign,
                                 long total) {
    FOR_EACH(i, total) {
        int j = (int)(i % W), r = (int)(i / W % H);
        long plane = i / ((long)H * W);
        int n = (int)(plane / C);
        int si = r - sign * (int)shifts[N + n], sj = j - sign * (int)shifts[n];
        y[i] = si >= 0 && si < H && sj >= 0 && sj < W ? x[(plane * H + si) * W + sj] : 0.0f;
    }
}
static void cuda_translate(const float *x, float *y, int N, int C, int H, int W, const float *shifts, int sign) {
    long total = (long)N * C * H * W;
    LAUNCH(translate_kernel, blocks_for(total), THREADS, 0, x, y, N, C, H, W, shifts, sign, total);
    CHECK_LAUNCH();
}

__global__ void cutout_mask_kernel(float *mask, int N, int H, int W, const float *centers, int ch, int cw, long total) {
    FOR_EACH(i, total) {
        int j = (int)(i % W), r = (int)(i / W % H), n = (int)(i / ((long)H * W));
        int cy = (int)centers[n], cx = (int)centers[N + n];
        int in = r >= cy - ch / 2 && r < cy + ch / 2 && j >= cx - cw / 2 && j < cx + cw / 2;
        mask[i] = in ? 0.0f : 1.0f;
    }
}
static void cuda_cutout_mask(float *mask, int N, int H, int W, const float *centers, int ch, int cw) {
    long total = (long)N * H * W;
    LAUNCH(cutout_mask_kernel, blocks_for(total), THREADS, 0, mask, N, H, W, centers, ch, cw, total);
    CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// The table, and the device check

static Backend make_table(void) {
    Backend b;
    memset(&b, 0, sizeof b);
    b.name = "cuda";
    b.alloc = cuda_alloc;
    b.release = cuda_release;
    b.upload = cuda_upload;
    b.download = cuda_download;
    b.copy = cuda_copy;
    b.zero = cuda_zero;
    b.sync = cuda_sync;
    b.unary = cuda_unary;
    b.mul_slope_mask = cuda_mul_slope_mask;
    b.binary = cuda_binary;
    b.sum_to = cuda_sum_to;
    b.expand = cuda_expand;
    b.fill = cuda_fill;
    b.scale = cuda_scale;
    b.accumulate = cuda_accumulate;
    b.copy_blocks = cuda_copy_blocks;
    b.repeat_rows = cuda_repeat_rows;
    b.gemm = cuda_gemm_entry;
    b.conv_forward = cuda_conv_forward;
    b.conv_backward_data = cuda_conv_backward_data;
    b.conv_backward_weight = cuda_conv_backward_weight;
    b.bn_forward = cuda_bn_forward;
    b.bn_backward = cuda_bn_backward;
    b.bce_with_logits = cuda_bce_with_logits;
    b.one_hot = cuda_one_hot;
    b.embedding = cuda_embedding;
    b.embedding_scatter = cuda_embedding_scatter;
    b.sgd = cuda_sgd;
    b.adam = cuda_adam;
    b.rmsprop = cuda_rmsprop;
    b.clip = cuda_clip;
    b.ema = cuda_ema;
    b.translate = cuda_translate;
    b.cutout_mask = cuda_cutout_mask;
    return b;
}

extern "C" const Backend *cuda_backend(void) {
    static Backend table;
    static int made;
    if (!made) {
        table = make_table();
        made = 1;
    }
    return &table;
}

// 1 when the runtime reports a usable GPU. Without a driver,
// cudaGetDeviceCount fails (cudaErrorInsufficientDriver, 35) and leaves the
// count as it was: the error decides, not only the count. The failed call's
// error is cleared so it does not surface at the next CUDA_CHECK.
extern "C" int cuda_device_available(void) {
    static int known = -1;
    if (known >= 0) return known;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        known = 0;
    } else {
        known = count > 0;
    }
    return known;
}
