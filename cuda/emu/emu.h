// emu.h: the project's emulator of the CUDA execution model, so a .cu file
// compiles as plain C++ on the host (g++ or clang++ with -x c++
// -DGANBOOK_CUDA_EMU) and its kernels run on the CPU. It exists to CHECK
// kernels on machines without an NVIDIA GPU (CI, most laptops), never to
// time them. cuda/emu/README.md explains the model; in one paragraph:
//
//   A launch runs the grid's blocks one after another. A block runs one fiber
//   (ucontext, small stack) per CUDA thread on the calling OS thread. A fiber
//   runs until it reaches __syncthreads / a warp shuffle / __syncwarp, then
//   hands over to the next; a barrier opens when every thread of the block
//   (of the warp) has reached it. A thread that exits while others wait at a
//   barrier is reported (kernel, block, threads, line), as are threads
//   waiting at different barriers. Shared memory is per-block storage,
//   refilled with a NaN poison pattern at the start of every block, like
//   fresh cudaMalloc memory: reading what this block never wrote shows up.
//   CUDA_EMU_REVERSE=1 (or emu_set_reverse(1)) runs threads and blocks in
//   reverse order, to expose shared-memory races the forward order hides.
//
// Include it through cuda_common.h only (contract 6 of the project). Kernel
// files use LAUNCH(kernel, grid, block, shared_bytes, args...) and
// DYNAMIC_SHARED(type, name) instead of <<<...>>> and `extern __shared__`.
#ifndef GANBOOK_CUDA_EMU_H
#define GANBOOK_CUDA_EMU_H

#ifndef __cplusplus
#error "emu.h is C++: compile .cu files with the host C++ compiler (-x c++ -DGANBOOK_CUDA_EMU)"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tuple>
#include <type_traits>
#include <utility>

// --- qualifiers: nothing to do on the host ------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

// __shared__: one copy per kernel, which is one copy per block because the
// blocks of a launch run one after another on one OS thread (and launches
// never overlap). The named section lets the emulator find every __shared__
// variable and poison it at the start of each block (the linker's
// __start_/__stop_ symbols of the section). g++ ignores the section for
// static variables inside TEMPLATE functions (each goes in its own COMDAT
// section), so with g++ those keep their values from the previous block
// instead of the poison; clang++ poisons them too. Prefer DYNAMIC_SHARED
// or non-template kernels where that matters.
#define __shared__ static __attribute__((section("emu_shared"), aligned(16)))

// --- the built-in variables ---------------------------------------------------
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
    dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
// Set by the scheduler before it switches to a thread's fiber.
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
static const int warpSize = 32;

// --- the runtime API (a subset; same names and values as cuda_runtime.h) -------
typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorLaunchFailure = 719,
} cudaError_t;

typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;

typedef enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
} cudaFuncAttribute;

typedef struct EmuStream *cudaStream_t;  // one in-order stream: every call is synchronous
typedef struct EmuEvent *cudaEvent_t;

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem, sharedMemPerBlock, sharedMemPerBlockOptin;
    int warpSize, maxThreadsPerBlock, multiProcessorCount, major, minor;
    int maxThreadsDim[3], maxGridSize[3];
};

extern "C" {
cudaError_t cudaMalloc(void **ptr, size_t bytes);
cudaError_t cudaFree(void *ptr);
cudaError_t cudaMallocHost(void **ptr, size_t bytes);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemset(void *ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t err);
const char *cudaGetErrorName(cudaError_t err);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaDeviceReset(void);
cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t emu_func_set_attribute(const void *func, cudaFuncAttribute attr, int value);

// --- emulator controls (no CUDA equivalent) ---
// Threads (and blocks) in reverse order: 1 on, 0 off. The environment
// variable CUDA_EMU_REVERSE=1 sets it at start-up.
void emu_set_reverse(int reverse);
int emu_reverse(void);
// Number of kernel launches so far, and errors the emulator reported so far
// (barrier/shuffle misuse, guard-zone overwrites, bad copies): tests use them.
long emu_launch_count(void);
long emu_error_count(void);
// 1 if ptr points into a live cudaMalloc allocation.
int emu_is_device_pointer(const void *ptr);
// Check every allocation's guard zones now (done after each launch anyway).
void emu_check_guards(void);
}
// cudaMalloc records the caller's file and line (named in guard-zone
// reports) and takes any T** like CUDA's C++ overload.
extern "C" cudaError_t emu_malloc_at(void **ptr, size_t bytes, const char *file, int line);
template <class T>
inline cudaError_t emu_malloc_typed(T **ptr, size_t bytes, const char *file, int line) {
    return emu_malloc_at((void **)ptr, bytes, file, line);
}
#define cudaMalloc(ptr, bytes) emu_malloc_typed((ptr), (bytes), __FILE__, __LINE__)
// cudaEventRecord's stream argument is optional, as in CUDA's C++ API.
inline cudaError_t cudaEventRecord(cudaEvent_t event) { return cudaEventRecord(event, nullptr); }
template <class F>
cudaError_t cudaFuncSetAttribute(F *func, cudaFuncAttribute attr, int value) {
    return emu_func_set_attribute((const void *)func, attr, value);
}

// --- device intrinsics ------------------------------------------------------------
#define __syncthreads() emu_syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) emu_syncwarp(__FILE__, __LINE__, ##__VA_ARGS__)
void emu_syncthreads(const char *file, int line);
void emu_syncwarp(const char *file, int line, unsigned mask = 0xffffffffu);
// The warp rendezvous under every shuffle and vote: deposit 8 bytes, wait for
// the lanes of mask, return the value deposited by src_lane (of this warp).
unsigned long long emu_warp_exchange(const char *file, int line, unsigned mask, unsigned long long mine,
                                     int src_lane, unsigned long long *all_lanes);

template <class T>
inline T emu_shfl(const char *file, int line, unsigned mask, T var, int src_lane) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type over 8 bytes");
    unsigned long long bits = 0, got;
    memcpy(&bits, &var, sizeof(T));
    got = emu_warp_exchange(file, line, mask, bits, src_lane, nullptr);
    T out;
    memcpy(&out, &got, sizeof(T));
    return out;
}
inline int emu_lane(void) { return (int)((threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y) % 32); }
// A source lane outside the width-segment gives the caller's own value, as in CUDA.
template <class T>
inline T emu_shfl_down(const char *f, int l, unsigned mask, T var, unsigned delta, int width = 32) {
    int lane = emu_lane(), seg = lane - lane % width, src = lane + (int)delta;
    return emu_shfl(f, l, mask, var, src < seg + width ? src : lane);
}
template <class T>
inline T emu_shfl_up(const char *f, int l, unsigned mask, T var, unsigned delta, int width = 32) {
    int lane = emu_lane(), seg = lane - lane % width, src = lane - (int)delta;
    return emu_shfl(f, l, mask, var, src >= seg ? src : lane);
}
template <class T>
inline T emu_shfl_xor(const char *f, int l, unsigned mask, T var, int lane_mask, int width = 32) {
    int lane = emu_lane(), seg = lane - lane % width, src = lane ^ lane_mask;
    return emu_shfl(f, l, mask, var, src >= seg && src < seg + width ? src : lane);
}
template <class T>
inline T emu_shfl_idx(const char *f, int l, unsigned mask, T var, int src_lane, int width = 32) {
    int lane = emu_lane(), seg = lane - lane % width;
    return emu_shfl(f, l, mask, var, seg + ((src_lane % width) + width) % width);
}
#define __shfl_sync(...) emu_shfl_idx(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) emu_shfl_down(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) emu_shfl_up(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) emu_shfl_xor(__FILE__, __LINE__, __VA_ARGS__)
unsigned emu_ballot(const char *file, int line, unsigned mask, int predicate);
#define __ballot_sync(mask, pred) emu_ballot(__FILE__, __LINE__, (mask), (pred))
#define __any_sync(mask, pred) (emu_ballot(__FILE__, __LINE__, (mask), (pred)) != 0u)
#define __all_sync(mask, pred) (emu_ballot(__FILE__, __LINE__, (mask), (pred)) == (mask))

// Atomics: one emulated thread runs at a time, so a plain read-modify-write
// is atomic here. They return the old value, as in CUDA.
template <class T>
inline T atomicAdd(T *p, T v) { T old = *p; *p = old + v; return old; }
template <class T>
inline T atomicSub(T *p, T v) { T old = *p; *p = old - v; return old; }
template <class T>
inline T atomicMax(T *p, T v) { T old = *p; if (v > old) *p = v; return old; }
template <class T>
inline T atomicMin(T *p, T v) { T old = *p; if (v < old) *p = v; return old; }
template <class T>
inline T atomicExch(T *p, T v) { T old = *p; *p = v; return old; }
template <class T>
inline T atomicCAS(T *p, T compare, T v) { T old = *p; if (old == compare) *p = v; return old; }

// Fast-math and load intrinsics: their exact host equivalents.
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanhf(float x) { return tanhf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline int __float_as_int(float x) { int i; memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; memcpy(&x, &i, 4); return x; }
inline unsigned __float_as_uint(float x) { unsigned i; memcpy(&i, &x, 4); return i; }
inline float __uint_as_float(unsigned i) { float x; memcpy(&x, &i, 4); return x; }
template <class T>
inline T __ldg(const T *p) { return *p; }
// CUDA's device min/max overloads.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

// --- launching --------------------------------------------------------------------
// The kernel runs as body(ctx) once per emulated thread.
typedef void (*EmuBody)(void *ctx);
void emu_launch(const char *kernel_name, const char *file, int line, dim3 grid, dim3 block, size_t shared_bytes,
                const void *kernel_address, EmuBody body, void *ctx);
void *emu_dynamic_shared(void);

// The arguments are converted to the kernel's parameter types ONCE, at the
// launch, as CUDA copies them into the launch's parameter buffer; every
// thread then calls the kernel with that same copy.
template <class... P>
struct EmuCall {
    void (*kernel)(P...);
    std::tuple<typename std::decay<P>::type...> args;
    static void run(void *self) {
        EmuCall *c = (EmuCall *)self;
        std::apply(c->kernel, c->args);
    }
};
template <class... P, class... A>
inline void emu_launch_kernel(const char *name, const char *file, int line, dim3 grid, dim3 block,
                              size_t shared_bytes, void (*kernel)(P...), A &&...args) {
    static_assert(sizeof...(P) == sizeof...(A), "LAUNCH: wrong number of kernel arguments");
    EmuCall<P...> call{kernel, std::tuple<typename std::decay<P>::type...>(std::forward<A>(args)...)};
    emu_launch(name, file, line, grid, block, shared_bytes, (const void *)kernel, &EmuCall<P...>::run, &call);
}

#define LAUNCH(kernel, grid, block, shared_bytes, ...) \
    emu_launch_kernel(#kernel, __FILE__, __LINE__, dim3(grid), dim3(block), (shared_bytes), kernel, ##__VA_ARGS__)
#define DYNAMIC_SHARED(type, name) type *name = (type *)emu_dynamic_shared()

#endif
