// grade_cuda.cu: the grader's harness for the CUDA exercises 3.7 and 3.8
// (tests/grader/grade_ch03_cuda.c holds the tests). Compiled by the
// emulator's C++ compiler (-DGANBOOK_CUDA_EMU) and linked into the grader
// with the lab's conv2d.o, which includes the student's kernels: the tests
// run the same launch path as `make cuda-lab-emu`. Grader code, not the
// student's: it may set the emulator's thread order, which the student's
// kernels may not (their calls are checked, tests/grader/manifest.txt).
#include "cuda_common.h"
#include "lab.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

extern "C" {
#include "grade_cuda.h"
}

// The inputs x and w do not go through cudaMalloc: the emulator's guard
// zones catch writes past an allocation and read as NaN, but a read past the
// end that feeds only a discarded value (the tiled kernel's filter slice for
// output channels past OC) would go unnoticed, and on a GPU it can fault.
// So each input sits at the very end of its own pages, with an inaccessible
// page after it and one before (NaN in the slack before the data): a read
// past either end stops the test with SIGSEGV, which the grader reports
// ("crashed: signal 11"). The emulator runs kernels on the host, so these
// pages serve as device memory; the lab's launcher only passes pointers on.
typedef struct {
    void *base;
    size_t bytes;
} Fenced;
static Fenced *fences[2];
static struct sigaction emulator_segv;  // the emulator's own handler (fiber stack overflows)

// A fault on a fence says which array was read out of bounds, then the
// signal kills the test as before (the grader prints "crashed: signal 11").
static void on_segv(int sig, siginfo_t *info, void *context) {
    static const char *names[2] = {"x", "w"};
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < 2; i++) {
        Fenced *f = fences[i];
        if (!f) continue;
        char *a = (char *)info->si_addr, *base = (char *)f->base;
        const char *where = a >= base && a < base + page                               ? "before the start"
                            : a >= base + f->bytes - page && a < base + f->bytes ? "past the end"
                                                                                 : NULL;
        if (!where) continue;
        char msg[160];
        int k = snprintf(msg, sizeof msg, "the kernel read %s of %s (device memory it does not own): a missing bounds check?\n",
                         where, names[i]);
        if (k > 0) {
            ssize_t wr = write(2, msg, (size_t)k);
            (void)wr;
        }
        signal(sig, SIG_DFL);
        raise(sig);
    }
    if (emulator_segv.sa_flags & SA_SIGINFO) emulator_segv.sa_sigaction(sig, info, context);  // not a fence
    signal(sig, SIG_DFL);
    raise(sig);
}
// An empty kernel, launched once before ours: the emulator sets up its fiber
// stacks, and its SIGSEGV handler (it reports a fiber's stack overflow), at
// the first launch; ours goes on top and passes it every other fault.
__global__ void warm_up(void) {}
static void catch_fence_faults(void) {
    static int done;
    if (done) return;
    done = 1;
    LAUNCH(warm_up, 1, 1, 0);
    CUDA_CHECK(cudaDeviceSynchronize());
    struct sigaction sa = {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;  // on the emulator's alternate stack: a fiber's is small
    sigaction(SIGSEGV, &sa, &emulator_segv);
}
static float *fenced_copy(Fenced *f, const float *src, size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), data = (n * sizeof(float) + page - 1) / page * page;
    f->bytes = data + 2 * page;
    f->base = mmap(NULL, f->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f->base == MAP_FAILED) {
        perror("grade_cuda: mmap");
        exit(1);
    }
    unsigned char *lo = (unsigned char *)f->base + page;
    float *dst = (float *)(lo + data) - n;
    for (float *p = (float *)lo; p < dst; p++) *p = NAN;
    memcpy(dst, src, n * sizeof(float));
    if (mprotect(f->base, page, PROT_NONE) != 0 || mprotect(lo + data, page, PROT_NONE) != 0) {
        perror("grade_cuda: mprotect");
        exit(1);
    }
    return dst;
}

extern "C" int grade_cuda_conv_forward(int version, int reverse, int N, int C, int H, int W, int OC, int K,
                                       int stride, int pad, const float *x, const float *w, const float *b,
                                       float *y) {
    // shape as the lab's: x (N,C,H,W), w (OC,C,K,K), y (N,OC,HO,WO)
    CudaConvShape s = {N, C, H, W, OC, K, K, (H + 2 * pad - K) / stride + 1, (W + 2 * pad - K) / stride + 1,
                       stride, pad};
    size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * C * K * K, ny = (size_t)N * OC * s.HO * s.WO;
    Fenced fx, fw;
    float *dx = fenced_copy(&fx, x, nx), *dw = fenced_copy(&fw, w, nw), *db = NULL, *dy;
    fences[0] = &fx, fences[1] = &fw;
    catch_fence_faults();
    CUDA_CHECK(cudaMalloc(&dy, ny * sizeof(float)));  // left as allocated: NaN until the kernel writes it
    if (b) {
        CUDA_CHECK(cudaMalloc(&db, (size_t)OC * sizeof(float)));
        CUDA_CHECK(cudaMemcpy(db, b, (size_t)OC * sizeof(float), cudaMemcpyHostToDevice));
    }
    long errors = emu_error_count();
    emu_set_reverse(reverse);
    cuda_conv2d_forward(version, &s, dx, dw, db, dy);
    CUDA_CHECK(cudaDeviceSynchronize());
    emu_set_reverse(0);
    errors = emu_error_count() - errors;
    CUDA_CHECK(cudaMemcpy(y, dy, ny * sizeof(float), cudaMemcpyDeviceToHost));
    fences[0] = fences[1] = NULL;
    munmap(fx.base, fx.bytes);
    munmap(fw.base, fw.bytes);
    CUDA_CHECK(cudaFree(dy));
    if (db) CUDA_CHECK(cudaFree(db));
    return (int)errors;
}
