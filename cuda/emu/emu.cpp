// emu.cpp: the CUDA execution model on the CPU (see emu.h and README.md).
//
// One launch = the blocks of the grid, one after another. One block = one
// fiber per CUDA thread, scheduled cooperatively on the calling OS thread:
// the scheduler sweeps over the block's runnable threads (in thread order, or
// reversed), each runs until it exits or waits (at __syncthreads, or at a
// warp rendezvous: shuffle, vote, __syncwarp); after a sweep, complete warp
// rendezvous and a complete block barrier are released, anything else that
// waits can never be released and is reported as the error it is.
//
// Device memory is host memory from aligned_alloc with a guard zone on each
// side: fresh memory and the guards hold NaN bit patterns (reading what was
// never written, or past the end, gives NaN), and the guards are checked
// after every launch (writing past the end is reported with the kernel and
// the allocation's line). Under AddressSanitizer the guards are poisoned
// instead, so the bad access itself is reported at the kernel's line, and the
// fiber switches are announced to ASan (__sanitizer_*_switch_fiber).
#include "emu.h"
#undef cudaMalloc  // the macro that records the caller's line; defined here as the function

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_ASAN 1
#endif
#endif
#ifdef EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_NO_ASAN __attribute__((no_sanitize_address))
#else
#define EMU_NO_ASAN
#endif

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

// --- small helpers -------------------------------------------------------------------
static long g_errors = 0, g_launches = 0;
static cudaError_t g_last_error = cudaSuccess;    // cleared by cudaGetLastError
static cudaError_t g_sticky_error = cudaSuccess;  // a failed kernel: every later sync reports it

static void emu_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "emu: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    g_errors++;
}

// "0-31, 40, 45-47" from a sorted list of thread indices.
static std::string ranges(const std::vector<int> &v) {
    std::string s;
    char buf[64];
    for (size_t i = 0; i < v.size();) {
        size_t j = i;
        while (j + 1 < v.size() && v[j + 1] == v[j] + 1) j++;
        if (j == i) snprintf(buf, sizeof buf, "%s%d", s.empty() ? "" : ", ", v[i]);
        else snprintf(buf, sizeof buf, "%s%d-%d", s.empty() ? "" : ", ", v[i], v[j]);
        s += buf;
        i = j + 1;
    }
    return s;
}

// NaN bit patterns. Fresh memory (cudaMalloc, shared memory at each block)
// holds a quiet NaN; as an int or a pointer it is an absurd value too.
static const uint32_t POISON_FRESH = 0x7FC0DEADu;
static void fill32(void *p, size_t bytes, uint32_t pattern) {
    unsigned char *c = (unsigned char *)p;
    for (size_t i = 0; i < bytes; i++) c[i] = (unsigned char)(pattern >> (8 * (i % 4)));
}
// The guard zones hold signalling NaNs that differ from word to word (a
// hash of the address): a kernel that reads past the end gets NaN, and one
// that writes there changes the bytes even when it writes a guard value back
// (x = 2*x quiets the NaN; a copy moves it to another address).
static inline unsigned char guard_byte(uintptr_t a) {
    uint32_t w = (uint32_t)(a >> 2) * 2654435761u;
    uint32_t pattern = 0x7F800001u | (w & 0x003FFFFEu);  // exponent all ones, quiet bit 0, mantissa != 0
    return (unsigned char)(pattern >> (8 * (a & 3)));
}
static void fill_guard(void *p, size_t bytes) {
    unsigned char *c = (unsigned char *)p;
    for (size_t i = 0; i < bytes; i++) c[i] = guard_byte((uintptr_t)(c + i));
}

// --- settings from the environment ------------------------------------------------------
static int g_reverse = -1;  // -1: not read yet
int emu_reverse(void) {
    if (g_reverse < 0) {
        const char *e = getenv("CUDA_EMU_REVERSE");
        g_reverse = e && e[0] == '1';
    }
    return g_reverse;
}
void emu_set_reverse(int reverse) { g_reverse = reverse != 0; }
long emu_launch_count(void) { return g_launches; }
long emu_error_count(void) { return g_errors; }

// --- device memory ---------------------------------------------------------------------
// Layout of one allocation: [guard GUARD bytes][data, rounded up to 256][guard].
static const size_t GUARD = 256;
struct Alloc {
    char *base;
    size_t bytes, rounded;
    const char *file;
    int line;
};
static std::map<uintptr_t, Alloc> g_allocs;  // keyed by the data pointer

static const Alloc *find_alloc(const void *p, uintptr_t *start) {
    uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return nullptr;
    --it;
    if (a >= it->first && a < it->first + (it->second.bytes ? it->second.bytes : 1)) {
        if (start) *start = it->first;
        return &it->second;
    }
    return nullptr;
}
int emu_is_device_pointer(const void *p) { return find_alloc(p, nullptr) != nullptr; }

extern "C" cudaError_t emu_malloc_at(void **ptr, size_t bytes, const char *file, int line);
cudaError_t emu_malloc_at(void **ptr, size_t bytes, const char *file, int line) {
    if (!ptr) return cudaErrorInvalidValue;
    size_t rounded = (bytes + 255) / 256 * 256;
    char *base = (char *)aligned_alloc(256, GUARD + rounded + GUARD);
    if (!base) {
        *ptr = nullptr;
        return g_last_error = cudaErrorMemoryAllocation;
    }
    char *data = base + GUARD;
    fill_guard(base, GUARD);
    fill32(data, bytes, POISON_FRESH);
    fill_guard(data + bytes, rounded - bytes + GUARD);
#ifdef EMU_ASAN
    ASAN_POISON_MEMORY_REGION(base, GUARD);
    ASAN_POISON_MEMORY_REGION(data + bytes, rounded - bytes + GUARD);
#endif
    g_allocs[(uintptr_t)data] = Alloc{base, bytes, rounded, file, line};
    *ptr = data;
    return cudaSuccess;
}
cudaError_t cudaMalloc(void **ptr, size_t bytes) { return emu_malloc_at(ptr, bytes, "?", 0); }

// Guards intact? Reads them without ASan (which has them poisoned).
EMU_NO_ASAN static bool guard_ok(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != guard_byte((uintptr_t)(p + i))) return false;
    return true;
}
static const char *g_last_kernel = "(no kernel yet)";
static const char *g_last_kernel_file = "";
static int g_last_kernel_line = 0;
void emu_check_guards(void) {
    for (auto &kv : g_allocs) {
        Alloc &a = kv.second;
        char *data = a.base + GUARD;
        bool before = guard_ok((unsigned char *)a.base, GUARD);
        bool after = guard_ok((unsigned char *)data + a.bytes, a.rounded - a.bytes + GUARD);
        if (!before || !after) {
            emu_error("memory %s the cudaMalloc allocation of %zu bytes made at %s:%d was overwritten; "
                      "the last kernel was '%s' (launched at %s:%d)\nHINT: a thread writes out of bounds: "
                      "check the index against the size before the store",
                      before ? "after the end of" : "before the start of", a.bytes, a.file, a.line, g_last_kernel,
                      g_last_kernel_file, g_last_kernel_line);
            fill_guard(a.base, GUARD);  // report each overwrite once
            fill_guard(data + a.bytes, a.rounded - a.bytes + GUARD);
            if (g_sticky_error == cudaSuccess) g_sticky_error = cudaErrorLaunchFailure;
        }
    }
}

cudaError_t cudaFree(void *ptr) {
    if (!ptr) return cudaSuccess;
    auto it = g_allocs.find((uintptr_t)ptr);
    if (it == g_allocs.end()) {
        emu_error("cudaFree(%p): not a pointer returned by cudaMalloc (host memory, freed twice, or an offset "
                  "into an allocation)",
                  ptr);
        return g_last_error = cudaErrorInvalidDevicePointer;
    }
    emu_check_guards();
    Alloc a = it->second;
    g_allocs.erase(it);
#ifdef EMU_ASAN
    ASAN_UNPOISON_MEMORY_REGION(a.base, GUARD + a.rounded + GUARD);
#endif
    fill32(a.base + GUARD, a.bytes, POISON_FRESH);  // a stale pointer now reads NaN (ASan: use-after-free)
    free(a.base);
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void **ptr, size_t bytes) {
    *ptr = malloc(bytes ? bytes : 1);
    return *ptr ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFreeHost(void *ptr) {
    free(ptr);
    return cudaSuccess;
}

static const char *kind_name(cudaMemcpyKind k) {
    switch (k) {
    case cudaMemcpyHostToHost: return "cudaMemcpyHostToHost";
    case cudaMemcpyHostToDevice: return "cudaMemcpyHostToDevice";
    case cudaMemcpyDeviceToHost: return "cudaMemcpyDeviceToHost";
    case cudaMemcpyDeviceToDevice: return "cudaMemcpyDeviceToDevice";
    case cudaMemcpyDefault: return "cudaMemcpyDefault";
    }
    return "an unknown kind";
}

// A range [p, p+bytes) said to be device memory: inside one allocation?
static bool device_range_ok(const char *what, const void *p, size_t bytes) {
    uintptr_t start;
    const Alloc *a = find_alloc(p, &start);
    if (!a) return false;
    if ((uintptr_t)p - start + bytes > a->bytes) {
        emu_error("%s: %zu bytes from offset %zu run past the end of the allocation of %zu bytes made at %s:%d",
                  what, bytes, (size_t)((uintptr_t)p - start), a->bytes, a->file, a->line);
        return false;
    }
    return true;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    if (bytes == 0) return cudaSuccess;
    bool dst_dev = find_alloc(dst, nullptr) != nullptr, src_dev = find_alloc(src, nullptr) != nullptr;
    bool want_dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool want_src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind == cudaMemcpyDefault) {
        want_dst_dev = dst_dev;
        want_src_dev = src_dev;
    } else if ((int)kind < 0 || (int)kind > 4) {
        emu_error("cudaMemcpy: kind %d is not a cudaMemcpyKind", (int)kind);
        return g_last_error = cudaErrorInvalidMemcpyDirection;
    }
    if (dst_dev != want_dst_dev || src_dev != want_src_dev) {
        emu_error("cudaMemcpy(dst %p, src %p, %zu bytes, %s): the %s is %s memory, but the kind says %s\n"
                  "HINT: HostToDevice copies from host memory into cudaMalloc memory; DeviceToHost the other way",
                  dst, src, bytes, kind_name(kind), dst_dev != want_dst_dev ? "destination" : "source",
                  (dst_dev != want_dst_dev ? dst_dev : src_dev) ? "device" : "host",
                  (dst_dev != want_dst_dev ? want_dst_dev : want_src_dev) ? "device" : "host");
        return g_last_error = cudaErrorInvalidValue;
    }
    if ((dst_dev && !device_range_ok("cudaMemcpy destination", dst, bytes)) ||
        (src_dev && !device_range_ok("cudaMemcpy source", src, bytes)))
        return g_last_error = cudaErrorInvalidValue;
    memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void *ptr, int value, size_t bytes) {
    if (bytes == 0) return cudaSuccess;
    if (!find_alloc(ptr, nullptr)) {
        emu_error("cudaMemset(%p, %d, %zu): not device memory (use memset for host memory)", ptr, value, bytes);
        return g_last_error = cudaErrorInvalidValue;
    }
    if (!device_range_ok("cudaMemset", ptr, bytes)) return g_last_error = cudaErrorInvalidValue;
    memset(ptr, value, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t) { return cudaMemset(ptr, value, bytes); }

// --- errors, device -------------------------------------------------------------------
cudaError_t cudaDeviceSynchronize(void) { return g_sticky_error; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return g_sticky_error; }
cudaError_t cudaGetLastError(void) {
    cudaError_t e = g_last_error != cudaSuccess ? g_last_error : g_sticky_error;
    g_last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return g_last_error != cudaSuccess ? g_last_error : g_sticky_error; }
const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}
const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchFailure: return "unspecified launch failure (the emulator printed why above)";
    }
    return "unknown error";
}

// CUDA_EMU_NO_DEVICE=1 answers like a machine without a driver: error 35,
// count untouched (what --device auto must handle).
cudaError_t cudaGetDeviceCount(int *count) {
    const char *e = getenv("CUDA_EMU_NO_DEVICE");
    if (e && e[0] == '1') return g_last_error = cudaErrorInsufficientDriver;
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : (g_last_error = cudaErrorInvalidDevice); }
cudaError_t cudaGetDevice(int *device) {
    *device = 0;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device) {
    if (device != 0) return g_last_error = cudaErrorInvalidDevice;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "ganbook CUDA emulator (CPU)");
    p->totalGlobalMem = (size_t)16 << 30;
    p->sharedMemPerBlock = 48 << 10;
    p->sharedMemPerBlockOptin = 227 << 10;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->multiProcessorCount = 1;
    p->major = 9;
    p->minor = 0;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    *free_bytes = *total_bytes = (size_t)16 << 30;
    return cudaSuccess;
}
cudaError_t cudaDeviceReset(void) {
    g_sticky_error = g_last_error = cudaSuccess;
    return cudaSuccess;
}

// Events: wall-clock timestamps (calls are synchronous here).
struct EmuEvent {
    double ms;
};
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = new EmuEvent{0};
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    e->ms = now_ms();
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return g_sticky_error; }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}

// Dynamic shared memory above 48 KiB must be asked for, as on the GPU.
static std::map<const void *, int> g_max_dynamic_shared;
cudaError_t emu_func_set_attribute(const void *func, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > (227 << 10))
        return g_last_error = cudaErrorInvalidValue;
    g_max_dynamic_shared[func] = value;
    return cudaSuccess;
}

// --- fibers ------------------------------------------------------------------------------
enum FiberState { F_RUN, F_BARRIER, F_WARP, F_DONE };
enum WarpOp { W_SHFL, W_BALLOT, W_SYNCWARP };
struct Fiber {
    ucontext_t ctx;
    char *stack;  // the usable stack (a PROT_NONE page lies below it)
    FiberState state;
    const char *file;  // where it waits
    int line;
    WarpOp op;
    unsigned mask;
    int src_lane;
    unsigned long long deposit, result;
};

#ifdef EMU_ASAN
static const size_t STACK_BYTES_DEFAULT = 512 << 10;  // ASan frames carry redzones
#else
static const size_t STACK_BYTES_DEFAULT = 64 << 10;
#endif
static size_t g_stack_bytes = 0;
static const size_t PAGE = 4096;
static char *g_stacks = nullptr;  // 1024 stacks, each after a guard page, mapped once
static std::vector<Fiber> g_fibers;
static ucontext_t g_sched_ctx;
static int g_current = -1;  // the fiber running now, -1 in host code

static struct {
    const char *name, *file;
    int line;
    dim3 grid, block;
    int nthreads;
    EmuBody body;
    void *ctx;
    bool in_launch;
} L;

#ifdef EMU_ASAN
// The scheduler's stack, as ASan needs it when a fiber switches back.
static const void *g_main_stack_bottom = nullptr;
static size_t g_main_stack_size = 0;
#endif

// Stack overflow of a fiber hits its guard page: say so instead of a bare SIGSEGV.
static void on_segv(int sig, siginfo_t *si, void *) {
    uintptr_t a = (uintptr_t)si->si_addr, s = (uintptr_t)g_stacks;
    if (g_stacks && a >= s && a < s + 1024 * (PAGE + g_stack_bytes) && (a - s) % (PAGE + g_stack_bytes) < PAGE) {
        static const char msg[] = "emu: error: a kernel thread overflowed its fiber stack (large local arrays?)\n"
                                  "HINT: CUDA_EMU_STACK_KB=1024 gives each thread a bigger stack\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(3);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void ensure_stacks(void) {
    if (g_stacks) return;
    const char *e = getenv("CUDA_EMU_STACK_KB");
    g_stack_bytes = e && atoi(e) >= 16 ? (size_t)atoi(e) << 10 : STACK_BYTES_DEFAULT;
    g_stack_bytes = (g_stack_bytes + PAGE - 1) / PAGE * PAGE;
    size_t total = 1024 * (PAGE + g_stack_bytes);
    void *m = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "emu: error: cannot map %zu MiB of fiber stacks\nHINT: CUDA_EMU_STACK_KB=32 asks for less\n",
                total >> 20);
        exit(1);
    }
    g_stacks = (char *)m;
    for (int i = 0; i < 1024; i++) mprotect(g_stacks + i * (PAGE + g_stack_bytes), PAGE, PROT_NONE);
    g_fibers.resize(1024);
    for (int i = 0; i < 1024; i++) g_fibers[i].stack = g_stacks + i * (PAGE + g_stack_bytes) + PAGE;
#ifndef EMU_ASAN
    static char altstack[16384];
    stack_t ss = {};
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    sigaltstack(&ss, nullptr);
    struct sigaction sa = {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
#endif
}

static void switch_to_scheduler(Fiber *f, bool dying) {
#ifdef EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(dying ? nullptr : &fake, g_main_stack_bottom, g_main_stack_size);
    swapcontext(&f->ctx, &g_sched_ctx);
    __sanitizer_finish_switch_fiber(fake, &g_main_stack_bottom, &g_main_stack_size);
#else
    (void)dying;
    swapcontext(&f->ctx, &g_sched_ctx);
#endif
}

static void fiber_main(void) {
#ifdef EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_main_stack_bottom, &g_main_stack_size);
#endif
    L.body(L.ctx);
    Fiber *f = &g_fibers[g_current];
    f->state = F_DONE;
    switch_to_scheduler(f, true);  // never resumed
}

static void set_thread(int t) {
    unsigned bx = L.block.x, by = L.block.y;
    threadIdx.x = t % bx;
    threadIdx.y = (t / bx) % by;
    threadIdx.z = t / (bx * by);
}

static void run_fiber(int t) {
    g_current = t;
    set_thread(t);
    Fiber *f = &g_fibers[t];
#ifdef EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f->stack, g_stack_bytes);
    swapcontext(&g_sched_ctx, &f->ctx);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    swapcontext(&g_sched_ctx, &f->ctx);
#endif
    g_current = -1;
}

static Fiber *current_fiber(const char *what, const char *file, int line) {
    if (g_current < 0) {
        fprintf(stderr, "emu: error: %s called outside a kernel (%s:%d)\n", what, file, line);
        exit(1);
    }
    return &g_fibers[g_current];
}

void emu_syncthreads(const char *file, int line) {
    Fiber *f = current_fiber("__syncthreads", file, line);
    f->state = F_BARRIER;
    f->file = file;
    f->line = line;
    switch_to_scheduler(f, false);
}

unsigned long long emu_warp_exchange(const char *file, int line, unsigned mask, unsigned long long mine, int src_lane,
                                     unsigned long long *) {
    Fiber *f = current_fiber("a warp shuffle", file, line);
    f->state = F_WARP;
    f->op = src_lane == -1 ? W_BALLOT : (src_lane == -2 ? W_SYNCWARP : W_SHFL);
    f->file = file;
    f->line = line;
    f->mask = mask;
    f->src_lane = src_lane;
    f->deposit = mine;
    switch_to_scheduler(f, false);
    return f->result;
}
void emu_syncwarp(const char *file, int line, unsigned mask) { emu_warp_exchange(file, line, mask, 0, -2, nullptr); }
unsigned emu_ballot(const char *file, int line, unsigned mask, int predicate) {
    return (unsigned)emu_warp_exchange(file, line, mask, predicate != 0, -1, nullptr);
}

static std::string where_block(void) {
    char buf[256];
    snprintf(buf, sizeof buf, "kernel '%s' (launched at %s:%d), block (%u,%u,%u)", L.name, L.file, L.line, blockIdx.x,
             blockIdx.y, blockIdx.z);
    return buf;
}

// After a sweep no thread is runnable. Release the warp rendezvous that are
// complete; return false (after reporting) for one that can never complete.
static bool resolve_warps(bool *released) {
    int n = L.nthreads;
    for (int w0 = 0; w0 < n; w0 += 32) {
        int lanes = n - w0 < 32 ? n - w0 : 32;
        int first = -1;
        for (int l = 0; l < lanes; l++)
            if (g_fibers[w0 + l].state == F_WARP) {
                first = w0 + l;
                break;
            }
        if (first < 0) continue;
        Fiber &F = g_fibers[first];
        const char *what = F.op == W_SYNCWARP ? "__syncwarp" : (F.op == W_BALLOT ? "a warp vote" : "a warp shuffle");
        std::vector<int> missing, exited, other, notmine;
        for (int l = 0; l < 32; l++) {
            Fiber *g = l < lanes ? &g_fibers[w0 + l] : nullptr;
            bool in_mask = (F.mask >> l) & 1u;
            if (!in_mask) {
                if (g && g->state == F_WARP) notmine.push_back(w0 + l);
                continue;
            }
            if (!g) missing.push_back(w0 + l);
            else if (g->state == F_DONE) exited.push_back(w0 + l);
            else if (g->state != F_WARP || g->mask != F.mask || g->op != F.op ||
                     (F.op != W_SYNCWARP && (g->line != F.line || g->file != F.file)))
                other.push_back(w0 + l);
        }
        std::string base = where_block() + ": " + what + " at " + F.file + ":" + std::to_string(F.line) +
                           " with mask 0x";
        char hex[16];
        snprintf(hex, sizeof hex, "%08x", F.mask);
        base += hex;
        if (!missing.empty()) {
            emu_error("%s: the mask names threads %s, which the block does not have (it has %d threads)\n"
                      "HINT: a partial warp must pass a mask of the lanes that exist",
                      base.c_str(), ranges(missing).c_str(), n);
            return false;
        }
        if (!exited.empty()) {
            emu_error("%s: threads %s of the mask had already exited\n"
                      "HINT: every lane named in the mask must reach the same shuffle; do not return early before it",
                      base.c_str(), ranges(exited).c_str());
            return false;
        }
        if (!other.empty() || !notmine.empty()) {
            emu_error("%s: threads %s wait elsewhere (another barrier, shuffle or mask) and never arrive\n"
                      "HINT: all lanes of the mask must execute the same intrinsic with the same mask",
                      base.c_str(), ranges(other.empty() ? notmine : other).c_str());
            return false;
        }
        // Complete: compute every lane's result, then release the warp.
        unsigned long long ballot = 0;
        for (int l = 0; l < lanes; l++)
            if ((F.mask >> l) & 1u && g_fibers[w0 + l].deposit) ballot |= 1ull << l;
        for (int l = 0; l < lanes; l++) {
            if (!((F.mask >> l) & 1u)) continue;
            Fiber &g = g_fibers[w0 + l];
            if (F.op == W_BALLOT) g.result = ballot;
            else if (F.op == W_SHFL) {
                int src = g.src_lane;
                if (src < 0 || src >= 32 || !((F.mask >> src) & 1u) || src >= lanes) {
                    emu_error("%s: thread %d reads lane %d, which is not in the mask\n"
                              "HINT: a shuffle may only read lanes that take part in it",
                              base.c_str(), w0 + l, src);
                    return false;
                }
                g.result = g_fibers[w0 + src].deposit;
            }
        }
        for (int l = 0; l < lanes; l++)
            if ((F.mask >> l) & 1u) g_fibers[w0 + l].state = F_RUN;
        *released = true;
    }
    return true;
}

// Run one block to completion; false when it hit an error (reported).
static bool run_block(void) {
    int n = L.nthreads;
    bool reverse = emu_reverse();
    for (int t = 0; t < n; t++) {
        Fiber &f = g_fibers[t];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack;
        f.ctx.uc_stack.ss_size = g_stack_bytes;
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, fiber_main, 0);
        f.state = F_RUN;
    }
    for (;;) {
        for (int i = 0; i < n; i++) {
            int t = reverse ? n - 1 - i : i;
            if (g_fibers[t].state == F_RUN) run_fiber(t);
        }
        bool released = false;
        if (!resolve_warps(&released)) return false;
        if (released) continue;
        std::vector<int> done, waiting;
        for (int t = 0; t < n; t++) (g_fibers[t].state == F_DONE ? done : waiting).push_back(t);
        if (waiting.empty()) return true;
        // Everyone still alive waits at a __syncthreads: the same one?
        const Fiber &w = g_fibers[waiting[0]];
        std::vector<int> here, elsewhere;
        for (int t : waiting)
            (g_fibers[t].line == w.line && g_fibers[t].file == w.file ? here : elsewhere).push_back(t);
        if (!elsewhere.empty()) {
            const Fiber &o = g_fibers[elsewhere[0]];
            emu_error("%s: threads %s wait at __syncthreads at %s:%d, threads %s at the one at %s:%d\n"
                      "HINT: a __syncthreads inside a branch that threads take differently is a bug on the GPU "
                      "(deadlock or garbage); move it where every thread reaches it",
                      where_block().c_str(), ranges(here).c_str(), w.file, w.line, ranges(elsewhere).c_str(),
                      o.file, o.line);
            return false;
        }
        if (!done.empty()) {
            emu_error("%s: __syncthreads at %s:%d is reached by threads %s, but threads %s exited without "
                      "reaching it\nHINT: an early `return` (e.g. a bounds check) must not skip a barrier the "
                      "other threads wait at: guard the work, not the barrier",
                      where_block().c_str(), w.file, w.line, ranges(waiting).c_str(), ranges(done).c_str());
            return false;
        }
        for (int t : waiting) g_fibers[t].state = F_RUN;  // the barrier opens
    }
}

// The __shared__ variables, all in the section "emu_shared" (see emu.h).
extern "C" char __start_emu_shared[] __attribute__((weak));
extern "C" char __stop_emu_shared[] __attribute__((weak));
static std::vector<char> g_dynamic_shared_buf;
static size_t g_dynamic_shared_bytes = 0;
void *emu_dynamic_shared(void) {
    if (g_current < 0) {
        fprintf(stderr, "emu: error: DYNAMIC_SHARED used outside a kernel\n");
        exit(1);
    }
    return g_dynamic_shared_bytes ? (void *)g_dynamic_shared_buf.data() : nullptr;
}
EMU_NO_ASAN static void poison_shared(void) {
    if (__start_emu_shared && __stop_emu_shared) fill32(__start_emu_shared, __stop_emu_shared - __start_emu_shared, POISON_FRESH);
    if (g_dynamic_shared_bytes) fill32(g_dynamic_shared_buf.data(), g_dynamic_shared_bytes, POISON_FRESH);
}

void emu_launch(const char *name, const char *file, int line, dim3 grid, dim3 block, size_t shared_bytes,
                const void *kernel_address, EmuBody body, void *ctx) {
    if (L.in_launch) {
        fprintf(stderr, "emu: error: kernel '%s' launched from inside kernel '%s' (or from two threads at once); "
                        "the emulator runs one launch at a time\n", name, L.name);
        exit(1);
    }
    unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
        grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        emu_error("kernel '%s' at %s:%d: invalid launch configuration: grid (%u,%u,%u), block (%u,%u,%u)\n"
                  "HINT: at most 1024 threads per block (z at most 64), grid y and z at most 65535, none zero",
                  name, file, line, grid.x, grid.y, grid.z, block.x, block.y, block.z);
        g_last_error = cudaErrorInvalidConfiguration;
        return;
    }
    auto lim = g_max_dynamic_shared.find(kernel_address);
    size_t limit = lim != g_max_dynamic_shared.end() && lim->second > (48 << 10) ? (size_t)lim->second : 48 << 10;
    if (shared_bytes > limit) {
        emu_error("kernel '%s' at %s:%d asks for %zu bytes of dynamic shared memory, over its limit of %zu\n"
                  "HINT: above 48 KiB call cudaFuncSetAttribute(kernel, "
                  "cudaFuncAttributeMaxDynamicSharedMemorySize, bytes) first (at most 227 KiB on H100)",
                  name, file, line, shared_bytes, limit);
        g_last_error = cudaErrorInvalidValue;
        return;
    }
    if (g_sticky_error != cudaSuccess) return;  // as on the GPU: after a failed kernel nothing runs
    ensure_stacks();
    L.name = name;
    L.file = file;
    L.line = line;
    L.grid = grid;
    L.block = block;
    L.nthreads = (int)threads;
    L.body = body;
    L.ctx = ctx;
    L.in_launch = true;
    g_last_kernel = name;
    g_last_kernel_file = file;
    g_last_kernel_line = line;
    if (g_dynamic_shared_buf.size() < shared_bytes) g_dynamic_shared_buf.resize(shared_bytes);
    g_dynamic_shared_bytes = shared_bytes;
    blockDim = block;
    gridDim = grid;
    unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    bool reverse = emu_reverse();
    for (unsigned long long i = 0; i < blocks; i++) {
        unsigned long long b = reverse ? blocks - 1 - i : i;
        blockIdx.x = (unsigned)(b % grid.x);
        blockIdx.y = (unsigned)((b / grid.x) % grid.y);
        blockIdx.z = (unsigned)(b / ((unsigned long long)grid.x * grid.y));
        poison_shared();
        if (!run_block()) {
            g_sticky_error = cudaErrorLaunchFailure;
#ifdef EMU_ASAN
            // The abandoned fibers' frames leave poisoned shadow on their stacks.
            ASAN_UNPOISON_MEMORY_REGION(g_stacks, 1024 * (PAGE + g_stack_bytes));
#endif
            break;
        }
    }
    L.in_launch = false;
    g_launches++;
    emu_check_guards();
}
