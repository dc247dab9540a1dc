// bench_convs.c: where the convolutions lose rate against the GEMM they are
// built on. For each strided layer of the dcgan32 workload (batch 128) and
// each of its three kernels (conv_cpu.h: forward, backward data = the
// generator's transposed conv, backward weight), it times
//   conv    the kernel training runs (CONV_WINOGRAD, the CPU's default:
//           Winograd's forward, backward data and weight gradient of
//           conv_winograd.c for the layers they fit, the direct forward of
//           conv_direct.c, the few-channel forward, weight gradient and
//           backward data of conv_first.c for the 1-channel first layer,
//           else the implicit-im2col GEMM path), layout changes included; more
//           rows, in brackets, time every other kernel that fits the layer
//           (the GEMM path, the direct kernels, Winograd's);
//   GEMM    a plain k_gemm of the same M x N x K, operands already in memory;
// and prints both rates beside the GEMM's own n = 1024 rate. conv / GEMM
// shows what im2col, col2im and the channels-last copies cost (or, for the
// direct forward, what skipping im2col gains); GEMM / n1024 what the shape
// itself costs (few output channels: each packed value of the big operand is
// used only OC times, so its packing weighs more).
// Built and run by bench/run_bench.sh (the "convs" section).
//
// Usage: bench_convs [--batch N] [--reps N]
// Every figure is the best of --reps runs (default 10), after one warm-up.
#include "conv_cpu.h"
#include "conv_direct.h"
#include "conv_first.h"
#include "conv_winograd.h"
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *filled(long n, unsigned seed) {
    float *p = aligned_alloc(64, (size_t)((n * 4 + 63) / 64 * 64));
    if (!p) {
        fprintf(stderr, "error: out of memory\nHINT: bench_convs --batch with a smaller N\n");
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

typedef struct {
    int kind;  // 0 forward, 1 backward data, 2 backward weight
    const ConvShape *s;
    float *x, *w, *y, *gx, *gw;
    int M, N, K, tb;  // the plain GEMM of the same size
    float *a, *b, *c;
    int by;  // BY_DISPATCH (what training runs), or one kernel itself, whatever the dispatch says
} Job;
enum { BY_DISPATCH, BY_GEMM, BY_DIRECT, BY_WINOGRAD, BY_FEW };
static const char *BY_NAME[] = {"", "gemm", "direct", "winograd", "few-ch"};

static ConvScratch scratch_in, scratch_w;  // the direct and Winograd kernels', when called here

static void run_conv(const Job *j) {
    ConvAlgo algo = j->by == BY_GEMM ? CONV_GEMM : CONV_WINOGRAD;
    if (j->kind == 0 && j->by == BY_DIRECT) conv_direct_forward(j->s, j->x, j->w, NULL, j->y, &scratch_in, &scratch_w);
    else if (j->kind == 0 && j->by == BY_WINOGRAD)
        conv_winograd_forward(j->s, j->x, j->w, NULL, j->y, &scratch_in, &scratch_w);
    else if (j->kind == 1 && j->by == BY_DIRECT)
        conv_direct_backward_data(j->s, j->y, j->w, NULL, j->gx, &scratch_in, &scratch_w);
    else if (j->kind == 1 && j->by == BY_WINOGRAD)
        conv_winograd_backward_data(j->s, j->y, j->w, NULL, j->gx, &scratch_in, &scratch_w);
    else if (j->kind == 2 && j->by == BY_WINOGRAD)
        conv_winograd_backward_weight(j->s, j->x, j->y, j->gw, &scratch_in, &scratch_w);
    else if (j->kind == 0) conv_cpu_forward(j->s, algo, j->x, j->w, NULL, j->y);
    else if (j->kind == 1) conv_cpu_backward_data(j->s, algo, j->y, j->w, NULL, j->gx);
    else conv_cpu_backward_weight(j->s, algo, j->x, j->y, j->gw);
}

// The kernel conv_cpu.c's dispatch takes for a layer (as its entry points
// decide), and whether each other one fits it.
static int dispatched(int kind, const ConvShape *s) {
    int wino = conv_winograd_fits(s);
    if (kind == 0) return wino ? BY_WINOGRAD : conv_direct_fits(s) ? BY_DIRECT : conv_first_fits(s) ? BY_FEW : BY_GEMM;
    if (kind == 1)
        return wino ? BY_WINOGRAD
               : CONV_DIRECT_BDATA_PAYS && conv_direct_backward_data_fits(s) ? BY_DIRECT
               : conv_first_backward_data_fits(s)                          ? BY_FEW
                                                                           : BY_GEMM;
    return wino ? BY_WINOGRAD : conv_first_fits(s) ? BY_FEW : BY_GEMM;
}
static int fits(int kind, int by, const ConvShape *s) {
    if (by == BY_GEMM) return 1;
    if (by == BY_WINOGRAD) return conv_winograd_fits(s);
    if (by == BY_DIRECT) return kind == 0 ? conv_direct_fits(s) : kind == 1 && conv_direct_backward_data_fits(s);
    return 0;  // the few-channel kernels run only through the dispatch
}

static void run_gemm(const Job *j) {
    k_gemm(0, j->tb, j->M, j->N, j->K, 1.0f, j->a, j->K, j->b, j->tb ? j->K : j->N, 0.0f, j->c, j->N);
}

static double best_of(void (*fn)(const Job *), const Job *j, int reps) {
    fn(j);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now();
        fn(j);
        t = now() - t;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    int batch = 128, reps = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "error: bad argument %s\nHINT: bench_convs [--batch N] [--reps N]\n", argv[i]);
            return 2;
        }
    }
    if (batch < 1 || reps < 1) {
        fprintf(stderr, "error: --batch and --reps must be at least 1\nHINT: bench_convs --batch 128 --reps 10\n");
        return 2;
    }
    // dcgan32's strided layers as forward convs (D's; G's transposed convs
    // are their backward data): k4 s2 p1.
    ConvShape layers[] = {
        {batch, 1, 32, 32, 64, 4, 4, 16, 16, 2, 1},
        {batch, 64, 16, 16, 128, 4, 4, 8, 8, 2, 1},
        {batch, 128, 8, 8, 256, 4, 4, 4, 4, 2, 1},
    };
    const char *kinds[] = {"forward", "backward data", "backward weight"};

    // The reference: the GEMM's own n = 1024 rate, as bench_gemm measures it.
    Job ref = {0};
    ref.M = ref.N = ref.K = 1024;
    ref.a = filled(1L << 20, 1), ref.b = filled(1L << 20, 2), ref.c = filled(1L << 20, 3);
    double n1024 = 2e-9 * 1024.0 * 1024 * 1024 / best_of(run_gemm, &ref, reps);
    free(ref.a), free(ref.b), free(ref.c);

    printf("dcgan32's strided convolutions (k4 s2 p1), batch %d; GEMM n = 1024: %.1f GFLOP/s\n", batch, n1024);
    printf("%-28s %-25s %9s %11s %11s %10s %10s\n", "layer", "kernel", "conv ms", "conv GF/s", "GEMM GF/s",
           "conv/GEMM", "conv/n1024");
    double macs_all = 0, conv_all = 0, gemm_all = 0;
    for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
        const ConvShape *s = &layers[l];
        long nx = (long)s->N * s->C * s->H * s->W, nw = (long)s->OC * s->C * s->KH * s->KW;
        long ny = (long)s->N * s->OC * s->HO * s->WO;
        int CKK = s->C * s->KH * s->KW, NP = s->N * s->HO * s->WO;
        Job j = {0, s, filled(nx, 4), filled(nw, 5), filled(ny, 6), filled(nx, 7), filled(nw, 8),
                 0, 0, 0, 0, NULL, NULL, NULL, BY_DISPATCH};
        char name[64];
        snprintf(name, sizeof name, "%d -> %d ch, %dx%d -> %dx%d", s->C, s->OC, s->H, s->W, s->HO, s->WO);
        for (int k = 0; k < 3; k++) {
            j.kind = k;
            // forward: y (OC x NP) = w' (OC x CKK) cols (CKK x NP); backward
            // data: cols^T (NP x CKK) = gy^T (NP x OC) w' (OC x CKK); backward
            // weight: gw' (OC x CKK) = gy (OC x NP) cols^T.
            int dims[3][4] = {{s->OC, NP, CKK, 0}, {NP, CKK, s->OC, 0}, {s->OC, CKK, NP, 1}};
            j.M = dims[k][0], j.N = dims[k][1], j.K = dims[k][2], j.tb = dims[k][3];
            j.a = filled((long)j.M * j.K, 9), j.b = filled((long)j.K * j.N, 10), j.c = filled((long)j.M * j.N, 11);
            double macs = (double)j.M * j.N * j.K;
            j.by = BY_DISPATCH;
            double tc = best_of(run_conv, &j, reps), tg = best_of(run_gemm, &j, reps);
            double rc = 2e-9 * macs / tc, rg = 2e-9 * macs / tg;
            // The kernel training runs, named ("direct": conv_direct.c's,
            // "winograd": conv_winograd.c's, "few-ch": conv_first.c's for an
            // image's first layer, "gemm": the implicit-im2col GEMM path);
            // then, in brackets, every other kernel that fits the layer.
            int by = dispatched(k, s);
            char kernel[32], other[32];
            snprintf(kernel, sizeof kernel, "%s, %s", kinds[k], BY_NAME[by]);
            printf("%-28s %-25s %9.2f %11.1f %11.1f %9.0f%% %9.0f%%\n", name, kernel, 1e3 * tc, rc, rg,
                   100 * rc / rg, 100 * rc / n1024);
            for (int alt = BY_WINOGRAD; alt >= BY_GEMM; alt--) {  // for comparison, not in the total
                if (alt == by || !fits(k, alt, s)) continue;
                j.by = alt;
                double t = best_of(run_conv, &j, reps), r = 2e-9 * macs / t;
                j.by = BY_DISPATCH;
                snprintf(other, sizeof other, "(%s, %s)", kinds[k], BY_NAME[alt]);
                printf("%-28s %-25s %9.2f %11.1f %11.1f %9.0f%% %9.0f%%\n", name, other, 1e3 * t, r, rg,
                       100 * r / rg, 100 * r / n1024);
            }
            macs_all += macs, conv_all += tc, gemm_all += tg;
            free(j.a), free(j.b), free(j.c);
        }
        free(j.x), free(j.w), free(j.y), free(j.gx), free(j.gw);
    }
    free(scratch_in.data), free(scratch_w.data);
    double rc = 2e-9 * macs_all / conv_all, rg = 2e-9 * macs_all / gemm_all;
    printf("%-28s %-25s %9.2f %11.1f %11.1f %9.0f%% %9.0f%%\n", "all nine", "", 1e3 * conv_all, rc, rg,
           100 * rc / rg, 100 * rc / n1024);
    printf("conv: the kernel training runs (Winograd or direct where they fit), with its layout changes; GEMM: k_gemm\n"
           "of the same M x N x K with both operands in memory; conv/n1024: against the GEMM's square n = 1024 rate\n"
           "(target: 80%%); \"all nine\" leaves out the rows in brackets. Every rate counts the direct conv's\n"
           "multiply-adds, Winograd's too (it does 9/16 of them), so Winograd's can pass the GEMM's. Best of %d runs each.\n",
           reps);
    return 0;
}
