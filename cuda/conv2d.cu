// conv2d.cu: the convolution lab. Three kernels for each of the three
// convolutions (forward, backward-data, backward-weight), one idea each:
//   1 naive          one thread per output element, every operand read from
//                    global memory (L1/L2 catch some reuse, nothing is planned)
//   2 tiled          a block stages a tile of the input WITH ITS HALO plus the
//                    matching filter slice in shared memory, and every thread
//                    reuses each staged input value across several output
//                    channels (tiling one channel alone gains nothing over
//                    the cache: each input value feeds only KH*KW outputs)
//   3 implicit GEMM  the convolution as a GEMM (M x N x K below), run by the
//                    register-blocked GEMM of matmul.cu's kernel 3, whose
//                    loaders compute im2col addresses instead of reading a
//                    materialized im2col matrix
// Geometry as common/conv_cpu.h: x (N,C,H,W), w (OC,C,KH,KW), y (N,OC,HO,WO),
// ih = oh*stride - pad + kh (x is 0 outside the image). Outputs are
// overwritten. Exported through cuda/lab.h to the CUDA backend.
//
//   forward          y[n,oc,oh,ow]  = b[oc] + sum_{c,kh,kw} x[n,c,ih,iw] w[oc,c,kh,kw]
//   backward_data    gx[n,c,ih,iw]  = b[c] + sum_{oc,kh,kw: oh = (ih+pad-kh)/stride exact} gy[n,oc,oh,ow] w[oc,c,kh,kw]
//   backward_weight  gw[oc,c,kh,kw] = sum_{n,oh,ow} gy[n,oc,oh,ow] x[n,c,ih,iw]
//
// As GEMMs (kernel 3):          M      N            K
//   forward                     OC     N*HO*WO      C*KH*KW
//   backward_data               C      N*H*W        OC*KH*KW   (zero taps where stride does not divide)
//   backward_weight             OC     C*KH*KW      N*HO*WO
//
// Standalone: built with -DLAB_MAIN this file validates every version of
// every direction against a CPU reference on awkward shapes, then times the
// layers of dcgan64 with cuDNN as the yardstick (TF32 off, and on).
//   make cuda-nvcc && build/solutions/nvcc/lab/conv2d          (GPU)
//   make cuda-emu  && build/solutions/emu/lab/conv2d --quick   (emulator)
#include "cuda_common.h"
#include "lab.h"

__device__ __forceinline__ int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// =============================== kernel 1: naive ===============================
// One thread per output element; the flat index runs fastest along the
// output row, so a warp reads neighbouring x values (stride apart) and the
// same w value (a broadcast). No barriers, so an early return is safe.
// The forward kernel is chapter 3's exercise 3.7, and kernel 2's shared-memory
// load (below) is 3.8: both live in ch03_cuda_conv.cu, the reference
// (solutions/) or the student's copy (exercises/, with SRC=exercises), found
// through the include path (cuda/conv_exercises.h). Kernel 1 forward is
// ex_conv_forward_naive, from that file.
#include "conv_exercises.h"
#include "ch03_cuda_conv.cu"

// One thread per gx element: the taps (kh, kw) whose output position is a
// whole number inside the output.
__global__ void conv_backward_data_naive(CudaConvShape s, const float *gy, const float *w, const float *b, float *gx) {
    long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)s.N * s.C * s.H * s.W) return;
    int iw = (int)(idx % s.W), ih = (int)(idx / s.W % s.H), c = (int)(idx / ((long)s.W * s.H) % s.C);
    int n = (int)(idx / ((long)s.W * s.H * s.C));
    float acc = b ? b[c] : 0.0f;
    for (int oc = 0; oc < s.OC; oc++)
        for (int kh = 0; kh < s.KH; kh++) {
            int th = ih + s.pad - kh;
            if (th < 0 || th % s.stride) continue;
            int oh = th / s.stride;
            if (oh >= s.HO) continue;
            for (int kw = 0; kw < s.KW; kw++) {
                int tw = iw + s.pad - kw;
                if (tw < 0 || tw % s.stride) continue;
                int ow = tw / s.stride;
                if (ow >= s.WO) continue;
                acc += gy[(((long)n * s.OC + oc) * s.HO + oh) * s.WO + ow] *
                       w[(((long)oc * s.C + c) * s.KH + kh) * s.KW + kw];
            }
        }
    gx[idx] = acc;
}

// One thread per gw element, summing over the batch and the output positions.
__global__ void conv_backward_weight_naive(CudaConvShape s, const float *x, const float *gy, float *gw) {
    long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)s.OC * s.C * s.KH * s.KW) return;
    int kw = (int)(idx % s.KW), kh = (int)(idx / s.KW % s.KH), c = (int)(idx / ((long)s.KW * s.KH) % s.C);
    int oc = (int)(idx / ((long)s.KW * s.KH * s.C));
    float acc = 0.0f;
    for (int n = 0; n < s.N; n++)
        for (int oh = 0; oh < s.HO; oh++) {
            int ih = oh * s.stride - s.pad + kh;
            if (ih < 0 || ih >= s.H) continue;
            for (int ow = 0; ow < s.WO; ow++) {
                int iw = ow * s.stride - s.pad + kw;
                if (iw < 0 || iw >= s.W) continue;
                acc += gy[(((long)n * s.OC + oc) * s.HO + oh) * s.WO + ow] * x[(((long)n * s.C + c) * s.H + ih) * s.W + iw];
            }
        }
    gw[idx] = acc;
}

// =============================== kernel 2: tiled ===============================
// Forward: a 16x16 block computes a 16x16 tile of output positions for 8
// output channels of one image. Per input channel it stages
//   - the input patch the tile reads: (15*stride + KH) x (15*stride + KW),
//     the tile plus its halo, zeros outside the image (so the inner loop
//     has no bounds checks);
//   - the 8 filters' KH x KW slice for that channel;
// then each thread takes every tap of its own output position from the
// patch and uses it for all 8 output channels (8 accumulators in
// registers). Each staged input value is read by up to KH*KW threads and
// each read feeds 8 multiply-adds: that reuse across output channels is
// what a single-channel tile would not have.
// Why 16x16 and 8: 256 threads; the patch for stride 2 and 4x4 filters is
// 34x34 floats (4.6 KB) and the filter slice 512 bytes, small enough for
// several blocks per SM; 8 accumulators keep registers low.
// (CT = 16 and COB = 8 are defined in conv_exercises.h: exercise 3.8 uses them too.)
#define CIB 8   // input channels per block (kernel 2 backward-data)
__global__ void conv_forward_tiled(CudaConvShape s, const float *x, const float *w, const float *b, float *y) {
    DYNAMIC_SHARED(float, smem);
    int PH = (CT - 1) * s.stride + s.KH, PW = (CT - 1) * s.stride + s.KW, KK = s.KH * s.KW;
    float *patch = smem, *wt = smem + PH * PW;  // wt[o][kh][kw]
    int tiles_w = (s.WO + CT - 1) / CT;
    int oh0 = blockIdx.x / tiles_w * CT, ow0 = blockIdx.x % tiles_w * CT;
    int oc0 = blockIdx.y * COB, n = blockIdx.z;
    int tx = threadIdx.x, ty = threadIdx.y;
    int oh = oh0 + ty, ow = ow0 + tx;
    int ih0 = oh0 * s.stride - s.pad, iw0 = ow0 * s.stride - s.pad;
    float acc[COB];
    for (int o = 0; o < COB; o++) acc[o] = b && oc0 + o < s.OC ? b[oc0 + o] : 0.0f;
    for (int c = 0; c < s.C; c++) {
        // Stage channel c: the input patch (zeros past the image edge) and the
        // filter slice, between a barrier that waits until everyone is done
        // with channel c-1 and one that waits until the tiles are complete
        // (exercise 3.8, ch03_cuda_conv.cu). Every thread calls it, including
        // those whose output lies outside: they must reach both barriers.
        ex_conv_tile_load(s, x + ((long)n * s.C + c) * s.H * s.W, w, c, oc0, ih0, iw0, patch, wt);
        if (oh < s.HO && ow < s.WO)
            for (int kh = 0; kh < s.KH; kh++)
                for (int kw = 0; kw < s.KW; kw++) {
                    float v = patch[(ty * s.stride + kh) * PW + tx * s.stride + kw];
                    for (int o = 0; o < COB; o++) acc[o] += v * wt[o * KK + kh * s.KW + kw];
                }
        // (no barrier here: the next ex_conv_tile_load starts with it)
    }
    if (oh < s.HO && ow < s.WO)
        for (int o = 0; o < COB && oc0 + o < s.OC; o++)
            y[(((long)n * s.OC + oc0 + o) * s.HO + oh) * s.WO + ow] = acc[o];
}
static size_t forward_tiled_smem(const CudaConvShape *s) {
    return (size_t)(((CT - 1) * s->stride + s->KH) * ((CT - 1) * s->stride + s->KW) + COB * s->KH * s->KW) * 4;
}

// Backward-data, the same idea with the roles swapped: a 16x16 tile of gx
// positions for 8 input channels. Per output channel it stages the gy patch
// those positions read (output rows floor((ih0+pad-KH+1)/stride) ..
// floor((ih0+15+pad)/stride), zeros outside) and w[oc, c0..c0+7, :, :]; each
// staged gy value serves all 8 input channels.
__global__ void conv_backward_data_tiled(CudaConvShape s, const float *gy, const float *w, const float *b, float *gx) {
    DYNAMIC_SHARED(float, smem);
    int PH = (CT - 1 + s.KH - 1) / s.stride + 2, PW = (CT - 1 + s.KW - 1) / s.stride + 2, KK = s.KH * s.KW;
    float *patch = smem, *wt = smem + PH * PW;  // wt[ci][kh][kw]
    int tiles_w = (s.W + CT - 1) / CT;
    int ih0 = blockIdx.x / tiles_w * CT, iw0 = blockIdx.x % tiles_w * CT;
    int c0 = blockIdx.y * CIB, n = blockIdx.z;
    int tx = threadIdx.x, ty = threadIdx.y, tid = ty * CT + tx;
    int ih = ih0 + ty, iw = iw0 + tx;
    int ohb = floor_div(ih0 + s.pad - (s.KH - 1), s.stride), owb = floor_div(iw0 + s.pad - (s.KW - 1), s.stride);
    float acc[CIB];
    for (int i = 0; i < CIB; i++) acc[i] = b && c0 + i < s.C ? b[c0 + i] : 0.0f;
    for (int oc = 0; oc < s.OC; oc++) {
        const float *g = gy + ((long)n * s.OC + oc) * s.HO * s.WO;
        for (int e = tid; e < PH * PW; e += CT * CT) {
            int oh = ohb + e / PW, ow = owb + e % PW;
            patch[e] = oh >= 0 && oh < s.HO && ow >= 0 && ow < s.WO ? g[(long)oh * s.WO + ow] : 0.0f;
        }
        for (int e = tid; e < CIB * KK; e += CT * CT) {
            int c = c0 + e / KK;
            wt[e] = c < s.C ? w[((long)oc * s.C + c) * KK + e % KK] : 0.0f;
        }
        __syncthreads();  // patch and filters complete before use
        if (ih < s.H && iw < s.W)
            for (int kh = 0; kh < s.KH; kh++) {
                int th = ih + s.pad - kh;
                if (((th % s.stride) + s.stride) % s.stride) continue;  // no output row lands on this tap
                int r = floor_div(th, s.stride) - ohb;
                for (int kw = 0; kw < s.KW; kw++) {
                    int tw = iw + s.pad - kw;
                    if (((tw % s.stride) + s.stride) % s.stride) continue;
                    float v = patch[r * PW + floor_div(tw, s.stride) - owb];
                    for (int i = 0; i < CIB; i++) acc[i] += v * wt[i * KK + kh * s.KW + kw];
                }
            }
        __syncthreads();  // done with this output channel before the next load overwrites it
    }
    if (ih < s.H && iw < s.W)
        for (int i = 0; i < CIB && c0 + i < s.C; i++) gx[(((long)n * s.C + c0 + i) * s.H + ih) * s.W + iw] = acc[i];
}
static size_t backward_data_tiled_smem(const CudaConvShape *s) {
    int PH = (CT - 1 + s->KH - 1) / s->stride + 2, PW = (CT - 1 + s->KW - 1) / s->stride + 2;
    return (size_t)(PH * PW + CIB * s->KH * s->KW) * 4;
}

// Backward-weight: a block owns one input channel c and OCB output channels,
// one thread per (oc, kh, kw) gw element (OCB = 256 / (KH*KW)). It walks
// the batch in 8x8 tiles of output positions, staging the tile of gy for its
// OCB channels and the x patch under it (halo included); each thread then
// sums its 64 products. Each staged x value feeds OCB output channels, each
// gy value KH*KW filter taps.
#define WT 8  // output-position tile side (kernel 2 backward-weight)
__global__ void conv_backward_weight_tiled(CudaConvShape s, const float *x, const float *gy, float *gw, int OCB) {
    DYNAMIC_SHARED(float, smem);
    int PH = (WT - 1) * s.stride + s.KH, PW = (WT - 1) * s.stride + s.KW, KK = s.KH * s.KW;
    float *gys = smem, *patch = smem + OCB * WT * WT;  // gys[o][py*WT+px]
    int c = blockIdx.x, oc0 = blockIdx.y * OCB, tid = threadIdx.x, nthreads = blockDim.x;
    int o = tid / KK, kh = tid % KK / s.KW, kw = tid % s.KW;
    bool active = o < OCB && oc0 + o < s.OC;
    float acc = 0.0f;
    int tiles_h = (s.HO + WT - 1) / WT, tiles_w = (s.WO + WT - 1) / WT;
    for (int n = 0; n < s.N; n++)
        for (int t = 0; t < tiles_h * tiles_w; t++) {
            int oh0 = t / tiles_w * WT, ow0 = t % tiles_w * WT;
            int ih0 = oh0 * s.stride - s.pad, iw0 = ow0 * s.stride - s.pad;
            for (int e = tid; e < OCB * WT * WT; e += nthreads) {
                int oc = oc0 + e / (WT * WT), oh = oh0 + e % (WT * WT) / WT, ow = ow0 + e % WT;
                gys[e] = oc < s.OC && oh < s.HO && ow < s.WO ? gy[(((long)n * s.OC + oc) * s.HO + oh) * s.WO + ow] : 0.0f;
            }
            const float *xc = x + ((long)n * s.C + c) * s.H * s.W;
            for (int e = tid; e < PH * PW; e += nthreads) {
                int ih = ih0 + e / PW, iw = iw0 + e % PW;
                patch[e] = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W ? xc[(long)ih * s.W + iw] : 0.0f;
            }
            __syncthreads();  // the gy tile and the x patch are complete before use
            if (active)
                for (int p = 0; p < WT * WT; p++)
                    acc += gys[o * WT * WT + p] * patch[(p / WT * s.stride + kh) * PW + p % WT * s.stride + kw];
            __syncthreads();  // done before the next tile overwrites them
        }
    if (active) gw[(((long)(oc0 + o) * s.C + c) * s.KH + kh) * s.KW + kw] = acc;
}
static int backward_weight_ocb(const CudaConvShape *s) {
    int ocb = 256 / (s->KH * s->KW);
    if (ocb > 64) ocb = 64;
    if (ocb > s->OC) ocb = s->OC;
    return ocb < 1 ? 1 : ocb;
}
static size_t backward_weight_tiled_smem(const CudaConvShape *s, int ocb) {
    return (size_t)(ocb * WT * WT + ((WT - 1) * s->stride + s->KH) * ((WT - 1) * s->stride + s->KW)) * 4;
}

// =========================== kernel 3: implicit GEMM ===========================
// matmul.cu's register-blocked GEMM at 64x64 tiles (each thread a 4x4
// sub-tile; the convolutions of dcgan64 have M = 64..512, so 128-wide tiles
// would leave most of a block idle on the small layers), whose loaders
// translate a GEMM coordinate into the convolution's tensors on the fly.
// The mode is a kernel argument, the same for the whole grid, so its switch
// never diverges. The index arithmetic (a few integer divisions per load) is
// the price of never writing the im2col matrix (C*KH*KW times the size of
// the output: 16x more bytes than x itself for 4x4 filters).
#define IG_BM 64
#define IG_BN 64
#define IG_BK 8
#define IG_TM 4
#define IG_TN 4
#define IG_THREADS ((IG_BM / IG_TM) * (IG_BN / IG_TN))  // 256
enum { IG_FORWARD = 0, IG_BACKWARD_DATA = 1, IG_BACKWARD_WEIGHT = 2 };

// A (M x K): the weights (forward, backward-data) or gy (backward-weight).
__device__ __forceinline__ float ig_load_a(int mode, const CudaConvShape &s, const float *w, const float *gy, int m,
                                           int k) {
    int KK = s.KH * s.KW;
    if (mode == IG_FORWARD) return w[(long)m * s.C * KK + k];                           // m = oc, k = (c,kh,kw)
    if (mode == IG_BACKWARD_DATA) return w[((long)(k / KK) * s.C + m) * KK + k % KK];  // m = c, k = (oc,kh,kw)
    int HW = s.HO * s.WO;                                                               // m = oc, k = (n,oh,ow)
    return gy[((long)(k / HW) * s.OC + m) * HW + k % HW];
}
// B (K x N): im2col of x (forward, backward-weight) or the scatter of gy (backward-data).
__device__ __forceinline__ float ig_load_b(int mode, const CudaConvShape &s, const float *x, const float *gy, int k,
                                           int n) {
    int KK = s.KH * s.KW;
    if (mode == IG_FORWARD) {  // k = (c,kh,kw), n = (img,oh,ow)
        int c = k / KK, kh = k % KK / s.KW, kw = k % s.KW;
        int HW = s.HO * s.WO, img = n / HW, oh = n % HW / s.WO, ow = n % s.WO;
        int ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
        return ih >= 0 && ih < s.H && iw >= 0 && iw < s.W ? x[(((long)img * s.C + c) * s.H + ih) * s.W + iw] : 0.0f;
    }
    if (mode == IG_BACKWARD_DATA) {  // k = (oc,kh,kw), n = (img,ih,iw)
        int oc = k / KK, kh = k % KK / s.KW, kw = k % s.KW;
        int HW = s.H * s.W, img = n / HW, ih = n % HW / s.W, iw = n % s.W;
        int th = ih + s.pad - kh, tw = iw + s.pad - kw;
        if (th < 0 || tw < 0 || th % s.stride || tw % s.stride) return 0.0f;
        int oh = th / s.stride, ow = tw / s.stride;
        return oh < s.HO && ow < s.WO ? gy[(((long)img * s.OC + oc) * s.HO + oh) * s.WO + ow] : 0.0f;
    }
    // backward-weight: k = (img,oh,ow), n = (c,kh,kw)
    int HW = s.HO * s.WO, img = k / HW, oh = k % HW / s.WO, ow = k % s.WO;
    int c = n / KK, kh = n % KK / s.KW, kw = n % s.KW;
    int ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
    return ih >= 0 && ih < s.H && iw >= 0 && iw < s.W ? x[(((long)img * s.C + c) * s.H + ih) * s.W + iw] : 0.0f;
}

__global__ void __launch_bounds__(IG_THREADS)
conv_implicit_gemm(int mode, CudaConvShape s, int M, int N, int K, const float *x, const float *w, const float *gy,
                   const float *b, float *out) {
    __shared__ float As[IG_BK][IG_BM];  // transposed: a thread's 4 A values for one k are contiguous
    __shared__ float Bs[IG_BK][IG_BN];
    int tid = threadIdx.x;
    int row0 = blockIdx.y * IG_BM, col0 = blockIdx.x * IG_BN;
    int tm = tid / (IG_BN / IG_TN) * IG_TM, tn = tid % (IG_BN / IG_TN) * IG_TN;
    float acc[IG_TM][IG_TN] = {{0.0f}};
    float a_reg[IG_TM], b_reg[IG_TN];
    for (int k0 = 0; k0 < K; k0 += IG_BK) {
        // 512 A and 512 B elements per step, 2 each per thread; consecutive
        // threads take consecutive k for A (contiguous weights) and
        // consecutive n for B (neighbouring output positions: neighbouring x).
        for (int r = 0; r < IG_BM * IG_BK / IG_THREADS; r++) {
            int e = tid + r * IG_THREADS, m = e / IG_BK, k = e % IG_BK;
            As[k][m] = row0 + m < M && k0 + k < K ? ig_load_a(mode, s, w, gy, row0 + m, k0 + k) : 0.0f;
        }
        for (int r = 0; r < IG_BN * IG_BK / IG_THREADS; r++) {
            int e = tid + r * IG_THREADS, k = e / IG_BN, n = e % IG_BN;
            Bs[k][n] = k0 + k < K && col0 + n < N ? ig_load_b(mode, s, x, gy, k0 + k, col0 + n) : 0.0f;
        }
        __syncthreads();  // both slices staged before any thread multiplies
        for (int k = 0; k < IG_BK; k++) {
            for (int a = 0; a < IG_TM; a++) a_reg[a] = As[k][tm + a];
            for (int c = 0; c < IG_TN; c++) b_reg[c] = Bs[k][tn + c];
            for (int a = 0; a < IG_TM; a++)
                for (int c = 0; c < IG_TN; c++) acc[a][c] += a_reg[a] * b_reg[c];
        }
        __syncthreads();  // all reads done before the next step's loads overwrite the slices
    }
    // The store maps C (m, n) back to the output tensor.
    for (int a = 0; a < IG_TM; a++) {
        int m = row0 + tm + a;
        if (m >= M) break;
        float bias = b && mode != IG_BACKWARD_WEIGHT ? b[m] : 0.0f;
        for (int c = 0; c < IG_TN; c++) {
            int n = col0 + tn + c;
            if (n >= N) break;
            long at;
            if (mode == IG_BACKWARD_WEIGHT) at = (long)m * N + n;
            else {
                int HW = mode == IG_FORWARD ? s.HO * s.WO : s.H * s.W;
                at = ((long)(n / HW) * M + m) * HW + n % HW;  // (img, m, position)
            }
            out[at] = acc[a][c] + bias;
        }
    }
}

// ================================= launchers =================================
static int cdiv(int a, int b) { return (a + b - 1) / b; }

static void check_shape(const char *who, const CudaConvShape *s) {
    int ok = s->N > 0 && s->C > 0 && s->H > 0 && s->W > 0 && s->OC > 0 && s->KH > 0 && s->KW > 0 && s->stride > 0 &&
             s->pad >= 0 && s->HO == (s->H + 2 * s->pad - s->KH) / s->stride + 1 &&
             s->WO == (s->W + 2 * s->pad - s->KW) / s->stride + 1 && s->HO > 0 && s->WO > 0;
    if (!ok) {
        fprintf(stderr,
                "error: %s: inconsistent shape N=%d C=%d H=%d W=%d OC=%d K=%dx%d stride=%d pad=%d HO=%d WO=%d\n"
                "HINT: HO = (H + 2 pad - KH) / stride + 1, every size positive\n",
                who, s->N, s->C, s->H, s->W, s->OC, s->KH, s->KW, s->stride, s->pad, s->HO, s->WO);
        exit(1);
    }
}
static void bad_version(const char *who, int version) {
    fprintf(stderr, "error: %s: no kernel version %d\nHINT: versions are 1 naive, 2 tiled, 3 implicit GEMM (0 = the fastest)\n",
            who, version);
    exit(1);
}
// Dynamic shared memory over 48 KiB must be requested; the lab's tiles stay
// under it for filters up to 9x9 at stride 2.
static void check_smem(const char *who, size_t bytes) {
    if (bytes > (48 << 10)) {
        fprintf(stderr, "error: %s: the tiled kernel needs %zu bytes of shared memory for this filter and stride\n"
                        "HINT: use version 3 (implicit GEMM) for such large filters\n", who, bytes);
        exit(1);
    }
}

extern "C" void cuda_conv2d_forward(int version, const CudaConvShape *s, const float *x, const float *w,
                                    const float *b, float *y) {
    check_shape("cuda_conv2d_forward", s);
    switch (version) {
    case 1: {
        long total = (long)s->N * s->OC * s->HO * s->WO;
        LAUNCH(ex_conv_forward_naive, (unsigned)((total + 255) / 256), 256, 0, *s, x, w, b, y);
        break;
    }
    case 2: {
        size_t smem = forward_tiled_smem(s);
        check_smem("cuda_conv2d_forward", smem);
        dim3 grid(cdiv(s->HO, CT) * cdiv(s->WO, CT), cdiv(s->OC, COB), s->N);
        LAUNCH(conv_forward_tiled, grid, dim3(CT, CT), smem, *s, x, w, b, y);
        break;
    }
    case 0:
    case 3: {
        int M = s->OC, N = s->N * s->HO * s->WO, K = s->C * s->KH * s->KW;
        LAUNCH(conv_implicit_gemm, dim3(cdiv(N, IG_BN), cdiv(M, IG_BM)), IG_THREADS, 0, (int)IG_FORWARD, *s, M, N, K,
               x, w, (const float *)NULL, b, y);
        break;
    }
    default: bad_version("cuda_conv2d_forward", version);
    }
    CUDA_CHECK(cudaGetLastError());
}

extern "C" void cuda_conv2d_backward_data(int version, const CudaConvShape *s, const float *gy, const float *w,
                                          const float *b, float *gx) {
    check_shape("cuda_conv2d_backward_data", s);
    switch (version) {
    case 1: {
        long total = (long)s->N * s->C * s->H * s->W;
        LAUNCH(conv_backward_data_naive, (unsigned)((total + 255) / 256), 256, 0, *s, gy, w, b, gx);
        break;
    }
    case 2: {
        size_t smem = backward_data_tiled_smem(s);
        check_smem("cuda_conv2d_backward_data", smem);
        dim3 grid(cdiv(s->H, CT) * cdiv(s->W, CT), cdiv(s->C, CIB), s->N);
        LAUNCH(conv_backward_data_tiled, grid, dim3(CT, CT), smem, *s, gy, w, b, gx);
        break;
    }
    case 0:
    case 3: {
        int M = s->C, N = s->N * s->H * s->W, K = s->OC * s->KH * s->KW;
        LAUNCH(conv_implicit_gemm, dim3(cdiv(N, IG_BN), cdiv(M, IG_BM)), IG_THREADS, 0, (int)IG_BACKWARD_DATA, *s, M,
               N, K, (const float *)NULL, w, gy, b, gx);
        break;
    }
    default: bad_version("cuda_conv2d_backward_data", version);
    }
    CUDA_CHECK(cudaGetLastError());
}

extern "C" void cuda_conv2d_backward_weight(int version, const CudaConvShape *s, const float *x, const float *gy,
                                            float *gw) {
    check_shape("cuda_conv2d_backward_weight", s);
    switch (version) {
    case 1: {
        long total = (long)s->OC * s->C * s->KH * s->KW;
        LAUNCH(conv_backward_weight_naive, (unsigned)((total + 255) / 256), 256, 0, *s, x, gy, gw);
        break;
    }
    case 2: {
        int ocb = backward_weight_ocb(s);
        size_t smem = backward_weight_tiled_smem(s, ocb);
        check_smem("cuda_conv2d_backward_weight", smem);
        int threads = ocb * s->KH * s->KW;
        threads = (threads + 31) / 32 * 32;  // whole warps
        if (threads > 1024) {
            fprintf(stderr, "error: cuda_conv2d_backward_weight: a %dx%d filter is too large for the tiled kernel\n"
                            "HINT: use version 3 (implicit GEMM)\n", s->KH, s->KW);
            exit(1);
        }
        LAUNCH(conv_backward_weight_tiled, dim3(s->C, cdiv(s->OC, ocb)), threads, smem, *s, x, gy, gw, ocb);
        break;
    }
    case 0:
    case 3: {
        int M = s->OC, N = s->C * s->KH * s->KW, K = s->N * s->HO * s->WO;
        LAUNCH(conv_implicit_gemm, dim3(cdiv(N, IG_BN), cdiv(M, IG_BM)), IG_THREADS, 0, (int)IG_BACKWARD_WEIGHT, *s,
               M, N, K, x, (const float *)NULL, gy, (const float *)NULL, gw);
        break;
    }
    default: bad_version("cuda_conv2d_backward_weight", version);
    }
    CUDA_CHECK(cudaGetLastError());
}

#ifdef LAB_MAIN
// ================================ the lab program ================================
// Throughput unit: GFLOP/s on a GPU; the emulator is ~10^5 times slower, so it prints MFLOP/s.
#ifdef GANBOOK_CUDA_EMU
#define FLOP_UNIT 1e3
#define FLOP_UNIT_NAME "MFLOP/s, emulated"
#else
#define FLOP_UNIT 1e6
#define FLOP_UNIT_NAME "GFLOP/s"
#endif
#include <math.h>
#include <string.h>
#ifdef LAB_HAVE_CUDNN
#include <cudnn.h>
#endif

enum { DIR_FORWARD, DIR_BACKWARD_DATA, DIR_BACKWARD_WEIGHT };
static const char *dir_name[] = {"forward", "backward_data", "backward_weight"};

// CPU reference in double, plus the magnitude sum|terms| of each output (the
// scale of float rounding error).
static void conv_cpu(int dir, const CudaConvShape *s, const float *x, const float *w, const float *gy,
                     const float *b, double *out, double *mag) {
    const CudaConvShape S = *s;
    long nout = dir == DIR_FORWARD ? (long)S.N * S.OC * S.HO * S.WO
                                   : (dir == DIR_BACKWARD_DATA ? (long)S.N * S.C * S.H * S.W : (long)S.OC * S.C * S.KH * S.KW);
    for (long i = 0; i < nout; i++) out[i] = mag[i] = 0;
    for (int n = 0; n < S.N; n++)
        for (int oc = 0; oc < S.OC; oc++)
            for (int oh = 0; oh < S.HO; oh++)
                for (int ow = 0; ow < S.WO; ow++)
                    for (int c = 0; c < S.C; c++)
                        for (int kh = 0; kh < S.KH; kh++)
                            for (int kw = 0; kw < S.KW; kw++) {
                                int ih = oh * S.stride - S.pad + kh, iw = ow * S.stride - S.pad + kw;
                                if (ih < 0 || ih >= S.H || iw < 0 || iw >= S.W) continue;
                                long xi = (((long)n * S.C + c) * S.H + ih) * S.W + iw;
                                long wi = (((long)oc * S.C + c) * S.KH + kh) * S.KW + kw;
                                long yi = (((long)n * S.OC + oc) * S.HO + oh) * S.WO + ow;
                                double t;
                                long at;
                                if (dir == DIR_FORWARD) t = (double)x[xi] * w[wi], at = yi;
                                else if (dir == DIR_BACKWARD_DATA) t = (double)gy[yi] * w[wi], at = xi;
                                else t = (double)gy[yi] * x[xi], at = wi;
                                out[at] += t;
                                mag[at] += fabs(t);
                            }
    if (b && dir != DIR_BACKWARD_WEIGHT) {
        int per = dir == DIR_FORWARD ? S.HO * S.WO : S.H * S.W, ch = dir == DIR_FORWARD ? S.OC : S.C;
        for (long i = 0; i < nout; i++) {
            out[i] += b[i / per % ch];
            mag[i] += fabs(b[i / per % ch]);
        }
    }
}

static float frand(unsigned *state) {  // uniform in [-1, 1)
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xFFFFFF) / 8388608.0f - 1.0f;
}
static float *to_device(const float *h, long n) {
    float *d;
    CUDA_CHECK(cudaMalloc(&d, n * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}
static CudaConvShape make_shape(int N, int C, int H, int W, int OC, int K, int stride, int pad) {
    CudaConvShape s = {N, C, H, W, OC, K, K, (H + 2 * pad - K) / stride + 1, (W + 2 * pad - K) / stride + 1, stride, pad};
    return s;
}
static void run(int dir, int version, const CudaConvShape *s, const float *x, const float *w, const float *gy,
                const float *b, float *out) {
    if (dir == DIR_FORWARD) cuda_conv2d_forward(version, s, x, w, b, out);
    else if (dir == DIR_BACKWARD_DATA) cuda_conv2d_backward_data(version, s, gy, w, b, out);
    else cuda_conv2d_backward_weight(version, s, x, gy, out);
}

// Every version of every direction on one shape; returns the failures.
static int validate(const CudaConvShape *s, int with_bias, unsigned seed) {
    long nx = (long)s->N * s->C * s->H * s->W, nw = (long)s->OC * s->C * s->KH * s->KW;
    long ny = (long)s->N * s->OC * s->HO * s->WO, nb = s->OC > s->C ? s->OC : s->C;
    float *x = (float *)malloc(nx * 4), *w = (float *)malloc(nw * 4), *gy = (float *)malloc(ny * 4);
    float *b = (float *)malloc(nb * 4);
    for (long i = 0; i < nx; i++) x[i] = frand(&seed);
    for (long i = 0; i < nw; i++) w[i] = frand(&seed);
    for (long i = 0; i < ny; i++) gy[i] = frand(&seed);
    for (long i = 0; i < nb; i++) b[i] = frand(&seed);
    float *dx = to_device(x, nx), *dw = to_device(w, nw), *dgy = to_device(gy, ny), *db = to_device(b, nb);
    long nmax = nx > nw ? (nx > ny ? nx : ny) : (nw > ny ? nw : ny);
    float *dout, *out = (float *)malloc(nmax * 4);
    double *ref = (double *)malloc(nmax * 8), *mag = (double *)malloc(nmax * 8);
    CUDA_CHECK(cudaMalloc(&dout, nmax * 4));
    int failures = 0;
    for (int dir = 0; dir < 3; dir++) {
        long nout = dir == DIR_FORWARD ? ny : (dir == DIR_BACKWARD_DATA ? nx : nw);
        long terms = dir == DIR_FORWARD ? (long)s->C * s->KH * s->KW
                                        : (dir == DIR_BACKWARD_DATA ? (long)s->OC * s->KH * s->KW : (long)s->N * s->HO * s->WO);
        const float *bias = with_bias ? b : NULL;
        conv_cpu(dir, s, x, w, gy, bias, ref, mag);
        for (int v = 1; v <= 3; v++) {
            CUDA_CHECK(cudaMemset(dout, 0xFF, nmax * 4));  // NaN: an output never written shows up
            run(dir, v, s, dx, dw, dgy, with_bias ? db : NULL, dout);
            CUDA_CHECK(cudaDeviceSynchronize());
            CUDA_CHECK(cudaMemcpy(out, dout, nout * 4, cudaMemcpyDeviceToHost));
            for (long i = 0; i < nout; i++) {
                double tol = (terms + 2) * 1.2e-7 * mag[i] + 1e-30;  // float summation bound
                if (!(fabs(out[i] - ref[i]) <= tol)) {               // NaN fails too
                    printf("FAIL %s version %d, N=%d C=%d H=%d W=%d OC=%d K=%dx%d stride=%d pad=%d bias=%d: "
                           "element %ld = %.7g, CPU %.7g\n", dir_name[dir], v, s->N, s->C, s->H, s->W, s->OC, s->KH,
                           s->KW, s->stride, s->pad, with_bias, i, out[i], ref[i]);
                    failures++;
                    break;
                }
            }
        }
    }
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(dw));
    CUDA_CHECK(cudaFree(dgy));
    CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dout));
    free(x); free(w); free(gy); free(b); free(out); free(ref); free(mag);
    return failures;
}

// ---- the cuDNN yardstick ----
#ifdef LAB_HAVE_CUDNN
typedef struct {
    cudnnHandle_t h;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
} Dnn;
#define DNN_OK(call) ((call) == CUDNN_STATUS_SUCCESS)
static int dnn_setup(Dnn *d, const CudaConvShape *s, int tf32) {
    return DNN_OK(cudnnCreateTensorDescriptor(&d->xd)) && DNN_OK(cudnnCreateTensorDescriptor(&d->yd)) &&
           DNN_OK(cudnnCreateFilterDescriptor(&d->wd)) && DNN_OK(cudnnCreateConvolutionDescriptor(&d->cd)) &&
           DNN_OK(cudnnSetTensor4dDescriptor(d->xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->N, s->C, s->H, s->W)) &&
           DNN_OK(cudnnSetTensor4dDescriptor(d->yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->N, s->OC, s->HO, s->WO)) &&
           DNN_OK(cudnnSetFilter4dDescriptor(d->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s->OC, s->C, s->KH, s->KW)) &&
           DNN_OK(cudnnSetConvolution2dDescriptor(d->cd, s->pad, s->pad, s->stride, s->stride, 1, 1,
                                                  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT)) &&
           // FMA math: plain fp32, no TF32 tensor cores; DEFAULT lets cuDNN use TF32 on Ampere and later.
           DNN_OK(cudnnSetConvolutionMathType(d->cd, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
}
static void dnn_free(Dnn *d) {
    cudnnDestroyTensorDescriptor(d->xd);
    cudnnDestroyTensorDescriptor(d->yd);
    cudnnDestroyFilterDescriptor(d->wd);
    cudnnDestroyConvolutionDescriptor(d->cd);
}
// The fastest algorithm cuDNN finds (like cudnn.benchmark), timed by us; -1 ms when cuDNN refuses.
static double dnn_time_ms(cudnnHandle_t h, int dir, const CudaConvShape *s, int tf32, const float *x, const float *w,
                          const float *gy, float *out, int reps) {
    Dnn d;
    d.h = h;
    if (!dnn_setup(&d, s, tf32)) return -1;
    size_t ws_bytes = 0;
    int algo = -1, got = 0;
    cudnnMathType_t math = tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    if (dir == DIR_FORWARD) {
        cudnnConvolutionFwdAlgoPerf_t p[8];
        if (DNN_OK(cudnnFindConvolutionForwardAlgorithm(h, d.xd, d.wd, d.cd, d.yd, 8, &got, p)))
            for (int i = 0; i < got; i++)
                if (p[i].status == CUDNN_STATUS_SUCCESS && (tf32 || p[i].mathType != CUDNN_TENSOR_OP_MATH)) {
                    algo = p[i].algo, ws_bytes = p[i].memory, math = p[i].mathType;
                    break;
                }
    } else if (dir == DIR_BACKWARD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t p[8];
        if (DNN_OK(cudnnFindConvolutionBackwardDataAlgorithm(h, d.wd, d.yd, d.cd, d.xd, 8, &got, p)))
            for (int i = 0; i < got; i++)
                if (p[i].status == CUDNN_STATUS_SUCCESS && (tf32 || p[i].mathType != CUDNN_TENSOR_OP_MATH)) {
                    algo = p[i].algo, ws_bytes = p[i].memory, math = p[i].mathType;
                    break;
                }
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t p[8];
        if (DNN_OK(cudnnFindConvolutionBackwardFilterAlgorithm(h, d.xd, d.yd, d.cd, d.wd, 8, &got, p)))
            for (int i = 0; i < got; i++)
                if (p[i].status == CUDNN_STATUS_SUCCESS && (tf32 || p[i].mathType != CUDNN_TENSOR_OP_MATH)) {
                    algo = p[i].algo, ws_bytes = p[i].memory, math = p[i].mathType;
                    break;
                }
    }
    double ms = -1;
    void *ws = NULL;
    if (algo >= 0 && DNN_OK(cudnnSetConvolutionMathType(d.cd, math)) &&
        (ws_bytes == 0 || cudaMalloc(&ws, ws_bytes) == cudaSuccess)) {
        float one = 1.0f, zero = 0.0f;
        cudaEvent_t e0, e1;
        CUDA_CHECK(cudaEventCreate(&e0));
        CUDA_CHECK(cudaEventCreate(&e1));
        int ok = 1;
        for (int r = -1; r < reps && ok; r++) {
            if (r == 0) CUDA_CHECK(cudaEventRecord(e0));
            if (dir == DIR_FORWARD)
                ok = DNN_OK(cudnnConvolutionForward(h, &one, d.xd, x, d.wd, w, d.cd, (cudnnConvolutionFwdAlgo_t)algo, ws,
                                                    ws_bytes, &zero, d.yd, out));
            else if (dir == DIR_BACKWARD_DATA)
                ok = DNN_OK(cudnnConvolutionBackwardData(h, &one, d.wd, w, d.yd, gy, d.cd,
                                                         (cudnnConvolutionBwdDataAlgo_t)algo, ws, ws_bytes, &zero, d.xd,
                                                         out));
            else
                ok = DNN_OK(cudnnConvolutionBackwardFilter(h, &one, d.xd, x, d.yd, gy, d.cd,
                                                           (cudnnConvolutionBwdFilterAlgo_t)algo, ws, ws_bytes, &zero,
                                                           d.wd, out));
        }
        CUDA_CHECK(cudaEventRecord(e1));
        CUDA_CHECK(cudaEventSynchronize(e1));
        float t = 0;
        CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
        if (ok) ms = t / reps;
        CUDA_CHECK(cudaEventDestroy(e0));
        CUDA_CHECK(cudaEventDestroy(e1));
    }
    if (ws) CUDA_CHECK(cudaFree(ws));
    dnn_free(&d);
    return ms;
}
#endif

static double ours_time_ms(int dir, int version, const CudaConvShape *s, const float *x, const float *w,
                           const float *gy, float *out, int reps) {
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    for (int r = -1; r < reps; r++) {
        if (r == 0) CUDA_CHECK(cudaEventRecord(e0));
        run(dir, version, s, x, w, gy, NULL, out);
    }
    CUDA_CHECK(cudaEventRecord(e1));
    CUDA_CHECK(cudaEventSynchronize(e1));
    float t = 0;
    CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
    CUDA_CHECK(cudaEventDestroy(e0));
    CUDA_CHECK(cudaEventDestroy(e1));
    return t / reps;
}

static void usage(const char *prog) {
    printf("usage: %s [--quick] [--emu] [--batch N]\n"
           "  validates kernel versions 1-3 of forward, backward_data and backward_weight against the CPU\n"
           "  on awkward shapes, then times the convolutions of dcgan64 (GFLOP/s)\n"
           "  --quick   validate only, small shapes (what make test runs under the emulator)\n"
           "  --emu     validate, then time one small layer (the emulator is slow)\n"
           "  --batch   batch size of the timed layers (default 128)\n", prog);
}

int main(int argc, char **argv) {
    int quick = 0, emu = 0, batch = 128;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--quick")) quick = 1;
        else if (!strcmp(argv[a], "--emu")) emu = 1;
        else if (!strcmp(argv[a], "--batch") && a + 1 < argc && atoi(argv[a + 1]) > 0) batch = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            usage(argv[0]);
            return 0;
        } else {
            fprintf(stderr, "error: unknown or bad argument '%s'\nHINT: %s --help lists the flags\n", argv[a], argv[0]);
            return 2;
        }
    }
#ifdef GANBOOK_CUDA_EMU
    if (!quick) emu = 1;
#endif
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        fprintf(stderr, "error: no CUDA device\nHINT: run the lab under the emulator: make cuda-lab-emu\n");
        return 1;
    }

    // Awkward shapes: batch 1, odd sizes, channels not a multiple of the
    // tiles (8 channels, 64-wide GEMM tiles), outputs not a multiple of the
    // 16x16 tile, stride 2 and 3, a 1x1 filter, the DCGAN layer shapes
    // (4x4, stride 2, pad 1; the 4x4 valid head), a filter wider than the image's pad.
    CudaConvShape shapes[] = {
        make_shape(1, 3, 7, 9, 5, 3, 1, 1),    make_shape(2, 5, 10, 11, 17, 4, 2, 1),
        make_shape(3, 1, 8, 8, 9, 4, 2, 1),    make_shape(2, 20, 4, 4, 1, 4, 1, 0),
        make_shape(1, 9, 13, 6, 33, 5, 3, 2),  make_shape(2, 7, 5, 5, 3, 1, 1, 0),
        make_shape(1, 10, 18, 17, 67, 4, 2, 1), make_shape(2, 66, 6, 5, 9, 3, 1, 1),
    };
    int nshapes = (int)(sizeof shapes / sizeof shapes[0]), failures = 0, cases = 0;
    for (int i = 0; i < nshapes; i++) {
        if (quick && i >= 6) break;  // the two largest only outside --quick
        failures += validate(&shapes[i], i % 2, 4321u + 7u * i);
        cases++;
    }
    printf("conv2d: %d shapes x 3 directions x 3 versions against the CPU: %s\n", cases,
           failures ? "FAILED" : "all match");
    if (failures) return 1;
    if (quick) return 0;

    // dcgan64's convolutions (the discriminator's; the generator's transposed
    // convolutions are the backward_data of the same shapes), batch 128.
    struct {
        const char *name;
        CudaConvShape s;
    } layers[] = {
        {"D1 3->64 64->32", make_shape(batch, 3, 64, 64, 64, 4, 2, 1)},
        {"D2 64->128 32->16", make_shape(batch, 64, 32, 32, 128, 4, 2, 1)},
        {"D3 128->256 16->8", make_shape(batch, 128, 16, 16, 256, 4, 2, 1)},
        {"D4 256->512 8->4", make_shape(batch, 256, 8, 8, 512, 4, 2, 1)},
        {"D5 512->1 4->1", make_shape(batch, 512, 4, 4, 1, 4, 1, 0)},
    };
    int nlayers = 5;
    if (emu) {
        layers[0].name = "E 16->32 16->8 b2";
        layers[0].s = make_shape(2, 16, 16, 16, 32, 4, 2, 1);
        nlayers = 1;
    }
#ifdef LAB_HAVE_CUDNN
    cudnnHandle_t dnn;
    if (cudnnCreate(&dnn) != CUDNN_STATUS_SUCCESS) {
        fprintf(stderr, "error: cudnnCreate failed\n");
        return 1;
    }
#endif
    printf("\n%-22s %-16s %9s %9s %9s %12s %12s   (" FLOP_UNIT_NAME ", fp32)\n", "layer", "direction", "1 naive", "2 tiled",
           "3 igemm", "cuDNN fp32", "cuDNN TF32");
    for (int l = 0; l < nlayers; l++) {
        const CudaConvShape *s = &layers[l].s;
        long nx = (long)s->N * s->C * s->H * s->W, nw = (long)s->OC * s->C * s->KH * s->KW;
        long ny = (long)s->N * s->OC * s->HO * s->WO, nmax = nx > ny ? nx : ny;
        if (nw > nmax) nmax = nw;
        float *h = (float *)malloc(nmax * 4);
        unsigned seed = 7;
        for (long i = 0; i < nmax; i++) h[i] = frand(&seed);
        float *dx = to_device(h, nx), *dw = to_device(h, nw), *dgy = to_device(h, ny), *dout;
        CUDA_CHECK(cudaMalloc(&dout, nmax * 4));
        double flop = 2.0 * s->N * s->OC * s->HO * s->WO * s->C * s->KH * s->KW;
        int reps = emu ? 1 : 10;
        for (int dir = 0; dir < 3; dir++) {
            printf("%-22s %-16s", layers[l].name, dir_name[dir]);
            for (int v = 1; v <= 3; v++) printf(" %9.1f", flop / (ours_time_ms(dir, v, s, dx, dw, dgy, dout, reps) * FLOP_UNIT));
#ifdef LAB_HAVE_CUDNN
            for (int tf = 0; tf < 2; tf++) {
                double ms = dnn_time_ms(dnn, dir, s, tf, dx, dw, dgy, dout, reps);
                if (ms > 0) printf(" %12.1f", flop / (ms * FLOP_UNIT));
                else printf(" %12s", "n/a");
            }
#else
            printf(" %12s %12s", "-", "-");
#endif
            printf("\n");
        }
        CUDA_CHECK(cudaFree(dx));
        CUDA_CHECK(cudaFree(dw));
        CUDA_CHECK(cudaFree(dgy));
        CUDA_CHECK(cudaFree(dout));
        free(h);
    }
#ifdef LAB_HAVE_CUDNN
    cudnnDestroy(dnn);
#endif
#ifdef GANBOOK_CUDA_EMU
    printf("(emulator: these figures time the CPU emulation, not a GPU; they say nothing about GPU speed)\n");
#endif
    return 0;
}
#endif
