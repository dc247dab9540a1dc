// driver.c: a plain random-mutation driver for the fuzz harnesses, used when
// the compiler has no libFuzzer (gcc, or a clang without -fsanitize=fuzzer).
//   fuzz_x SECONDS SEED_FILE...
// Runs each seed file as it is, then until SECONDS have passed feeds
// LLVMFuzzerTestOneInput mutations of them (flipped bits, random bytes,
// interesting 32-bit values in both byte orders, cuts, growths, splices).
// A crash ends the run with the input saved to crash-<pid>.bin.
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static uint8_t buf[1 << 21];
static size_t cur_n;

// A crash: keep the input that caused it, then die of the same signal.
static void on_crash(int sig) {
    char name[64];
    snprintf(name, sizeof name, "crash-%d.bin", (int)getpid());
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, buf, cur_n);
        (void)w;
        close(fd);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static uint64_t s = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void) {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    return s * 2685821657736338717ull;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 3) {
        fprintf(stderr, "usage: %s SECONDS SEED_FILE...\n", argv[0]);
        return 2;
    }
    signal(SIGSEGV, on_crash), signal(SIGABRT, on_crash), signal(SIGBUS, on_crash), signal(SIGFPE, on_crash);
    double seconds = atof(argv[1]);
    int nseeds = argc - 2;
    uint8_t **seed = calloc((size_t)nseeds, sizeof *seed);
    size_t *seed_n = calloc((size_t)nseeds, sizeof *seed_n);
    for (int i = 0; i < nseeds; i++) {
        FILE *f = fopen(argv[i + 2], "rb");
        seed[i] = malloc(1 << 20);
        seed_n[i] = f ? fread(seed[i], 1, 1 << 20, f) : 0;
        if (f) fclose(f);
    }
    static const uint32_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
                                           0x80000000u, 0xffffffffu, 0x40000, 0x10000000, 28, 2051, 3};
    time_t end = time(NULL) + (time_t)seconds;
    long runs = 0;
    for (int i = 0; i < nseeds; i++, runs++) {  // every seed as it is, first
        memcpy(buf, seed[i], seed_n[i]);
        cur_n = seed_n[i];
        LLVMFuzzerTestOneInput(buf, cur_n);
    }
    while (time(NULL) < end) {
        int k = (int)(rnd() % (uint64_t)nseeds);
        size_t n = seed_n[k];
        memcpy(buf, seed[k], n);
        int edits = 1 + (int)(rnd() % 8);
        for (int e = 0; e < edits; e++) {
            size_t at = n ? (size_t)(rnd() % n) : 0;
            switch (rnd() % 6) {
            case 0: if (n) buf[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
            case 1: if (n) buf[at] = (uint8_t)rnd(); break;
            case 2:
                if (n >= 4 && at + 4 <= n) {
                    uint32_t v = interesting[rnd() % (sizeof interesting / sizeof *interesting)];
                    int big = (int)(rnd() & 1);
                    for (int b = 0; b < 4; b++) buf[at + b] = (uint8_t)(v >> (8 * (big ? 3 - b : b)));
                }
                break;
            case 3: n = at; break;  // cut
            case 4: { size_t add = rnd() % 64; if (n + add < sizeof buf) { for (size_t b = 0; b < add; b++) buf[n + b] = (uint8_t)rnd(); n += add; } } break;
            default: { int j = (int)(rnd() % (uint64_t)nseeds); size_t from = seed_n[j] ? (size_t)(rnd() % seed_n[j]) : 0;
                       size_t len = seed_n[j] - from; if (at + len < sizeof buf) { memcpy(buf + at, seed[j] + from, len); if (at + len > n) n = at + len; } } break;
            }
        }
        cur_n = n;
        LLVMFuzzerTestOneInput(buf, n);
        runs++;
    }
    printf("%s: %ld runs in %.0f s (random mutations of %d seeds), no crash\n", argv[0], runs, seconds, nseeds);
    return 0;
}
