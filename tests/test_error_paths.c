// test_error_paths.c: the error paths that training runs rarely take, each
// forced here so it is known to give one clear message and no crash:
//   checkpoint entries that cannot be (unknown type, too many dimensions, a
//               dimension of 0 or 2^31, a name of length 0), a save whose
//               write fails (file size limit) or whose rename fails (the
//               target is a directory): CKPT_ERR_IO, the old file intact,
//               no <path>.tmp left behind;
//   the run loop stopping on a non-finite loss (gan_run_step_done): exit 1,
//               "training diverged at step N" and a HINT naming the last
//               checkpoint (or "none yet"); a checkpoint that cannot be
//               saved (the run goes on, marked failed); --batch larger than
//               the dataset (exit 2);
//   the evaluation refusing what it cannot score (eval_images on a missing
//               dataset directory or with NaN pixels).
// (tests/test_checkpoint.c has the other damaged files; this file only adds.)
#include "check.h"
#include "checkpoint.h"
#include "eval_mnist.h"
#include "gan_run.h"
#include "mlp.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMP "tests/tmp/error_paths"

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *size = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_all(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) fwrite(b, 1, n, f), fclose(f);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

// Runs fn() in a child with stdout+stderr in TMP/child.txt; returns the exit
// code (128 + signal when it crashed) and the output in out.
static int run_child(int (*fn)(void), char *out, size_t n) {
    const char *path = TMP "/child.txt";
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(path, "w", stdout)) _exit(99);
        dup2(fileno(stdout), fileno(stderr));
        int rc = fn();
        fflush(stdout);
        exit(rc);  // exit, not _exit: a --coverage build writes the child's counts
    }
    int status = 0;
    waitpid(pid, &status, 0);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(out, 1, n - 1, f) : 0;
    out[got] = 0;
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---------------------------------------------------------------------------
// Checkpoints

static Mlp net;
static Params params;
static Rng rng;

static void build(void) {
    rng_seed(&rng, 3);
    params_init(&params, "C");
    mlp_init(&net, &params, (int[]){2, 3}, 2, ACT_NONE, ACT_NONE, &rng);  // C.fc1.weight (3, 2), C.fc1.bias (3)
}

static void expect_load_error(const char *what, const char *path, CkptStatus want, const char *word) {
    Checkpoint ck;
    ckpt_init(&ck, "error paths", &rng);
    ckpt_add_params(&ck, &params);
    CkptStatus st = ckpt_load(&ck, path);
    check(st == want && strstr(ck.error, word) && strstr(ck.error, "HINT:"), "checkpoint with %s: status %d, '%s' (%s)",
          what, (int)st, word, ck.error);
}

static void checkpoint_entries(void) {
    Checkpoint ck;
    const char *header = "error paths";
    ckpt_init(&ck, header, &rng);
    ckpt_add_params(&ck, &params);
    const char *good = TMP "/good.bin", *bad = TMP "/bad.bin";
    check(ckpt_save(&ck, good) == CKPT_OK, "save a small checkpoint (%s)", ck.error);
    size_t size = 0;
    unsigned char *bytes = read_all(good, &size), *copy = malloc(size);
    if (!bytes) return;
    // The first entry, C.fc1.weight (3, 2): name length, name, type, ndim, dims, byte count.
    size_t e0 = 8 + 4 + 4 + strlen(header) + 8 + RNG_STATE_BYTES + 4;
    size_t type = e0 + 4 + strlen("C.fc1.weight"), ndim = type + 4, dim0 = ndim + 4;
    struct {
        size_t at;
        uint32_t value;
        const char *what, *word;
    } cases[] = {
        {type, 7, "an unknown entry type (7)", "unknown type"},
        {ndim, 9, "9 dimensions", "number of dimensions"},
        {ndim, 0, "a tensor of 0 dimensions", "number of dimensions"},
        {dim0, 0, "a dimension of 0", "impossible shape"},
        {dim0, 0x80000000u, "a dimension of 2^31", "impossible shape"},
        {e0, 0, "an entry name of length 0", "impossible length"},
        {e0, 0x7fffffffu, "an entry name of length 2^31 - 1", "impossible length"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(copy, bytes, size);
        put_u32(copy + cases[i].at, cases[i].value);
        write_all(bad, copy, size);
        expect_load_error(cases[i].what, bad, CKPT_ERR_FORMAT, cases[i].word);
    }
    free(bytes);
    free(copy);
}

// ckpt_save with the file size limited to 100 bytes: the write fails.
static int save_too_big(void) {
    struct rlimit lim = {100, 100};
    signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing us
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 98;
    Checkpoint ck;
    ckpt_init(&ck, "error paths", &rng);
    ckpt_add_params(&ck, &params);
    CkptStatus st = ckpt_save(&ck, TMP "/good.bin");
    printf("%s\n", ck.error);
    return st == CKPT_ERR_IO ? 0 : 1;
}

static void checkpoint_save_errors(void) {
    size_t before_n = 0, after_n = 0;
    unsigned char *before = read_all(TMP "/good.bin", &before_n);
    char out[4096];
    int code = run_child(save_too_big, out, sizeof out);
    unsigned char *after = read_all(TMP "/good.bin", &after_n);
    check(code == 0 && strstr(out, "writing checkpoint") && strstr(out, "HINT:"),
          "a save whose write fails (file size limit): CKPT_ERR_IO with a HINT (exit %d): %s", code, out);
    check(before && after && before_n == after_n && memcmp(before, after, before_n) == 0 &&
              access(TMP "/good.bin.tmp", F_OK) != 0,
          "... the old checkpoint is intact and no .tmp is left");
    free(before);
    free(after);

    // A path longer than any the file system takes.
    char *long_path = malloc(6000);
    memset(long_path, 'a', 5999);
    long_path[5999] = 0;
    Checkpoint lp;
    ckpt_init(&lp, "error paths", &rng);
    ckpt_add_params(&lp, &params);
    CkptStatus ls = ckpt_save(&lp, long_path);
    // (The message quotes the whole path, so its HINT falls past the end of
    // ck.error's 2048 bytes: only the first line is checked.)
    check(ls == CKPT_ERR_IO && strstr(lp.error, "checkpoint path too long"),
          "a save to a 6000-character path: CKPT_ERR_IO: %.60s...", lp.error);
    free(long_path);
    // ckpt_peek (--sample's first look) on a directory and on a missing file.
    CkptInfo info;
    CkptStatus ps = ckpt_peek(TMP, &info);
    check(ps == CKPT_ERR_IO && strstr(info.error, "not a regular file") && strstr(info.error, "HINT:"),
          "ckpt_peek of a directory: %s", info.error);
    ps = ckpt_peek(TMP "/missing.bin", &info);
    check(ps == CKPT_ERR_IO && strstr(info.error, "cannot open") && strstr(info.error, "HINT:"),
          "ckpt_peek of a missing file: %s", info.error);

    // The target is a non-empty directory: rename() cannot replace it.
    mkdir(TMP "/dir.bin", 0755);
    write_all(TMP "/dir.bin/keep", "x", 1);
    Checkpoint ck;
    ckpt_init(&ck, "error paths", &rng);
    ckpt_add_params(&ck, &params);
    CkptStatus st = ckpt_save(&ck, TMP "/dir.bin");
    check(st == CKPT_ERR_IO && strstr(ck.error, "cannot move") && strstr(ck.error, "HINT:") &&
              access(TMP "/dir.bin.tmp", F_OK) != 0 && access(TMP "/dir.bin/keep", F_OK) == 0,
          "a save over a directory: the rename fails, CKPT_ERR_IO, no .tmp left: %s", ck.error);
}

// ---------------------------------------------------------------------------
// The run loop: a non-finite loss stops the run.

static long nan_at;        // the step whose row holds a NaN (or inf)
static double bad_value;
static const char *out_dir = TMP "/run";
static const char *dataset = "ring8", *batch = "256";

static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    (void)labels;  // unconditional
    return mlp_forward((Mlp *)model, z);
}

static int diverging_run(void) {
    char *argv[] = {"test_run", "--dataset", (char *)dataset, "--batch", (char *)batch, "--steps", "6",
                    "--checkpoint-every", "2", "--sample-every", "0", "--log-every", "1", "--out", (char *)out_dir,
                    "--force", NULL};
    int argc = (int)(sizeof argv / sizeof *argv) - 1;
    GanRun run;
    gan_run_defaults(&run, "test_run", argc, argv);
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv, "a run that diverges", "");
    if (gan_run_load_data(&run) != 0) return 10;
    static Mlp g, d;
    static Params pg, pd;
    params_init(&pg, "G");
    params_init(&pd, "D");
    mlp_init(&g, &pg, (int[]){run.z_dim, 4, run.x_dim}, 3, ACT_RELU, ACT_NONE, &run.rng);
    mlp_init(&d, &pd, (int[]){run.x_dim, 4, 1}, 3, ACT_RELU, ACT_NONE, &run.rng);
    Optimizer *og = optim_adam(&pg, 1e-3f, 0.5f, 0.999f, 1e-8f, 0.0f);
    Optimizer *od = optim_adam(&pd, 1e-3f, 0.5f, 0.999f, 1e-8f, 0.0f);
    gan_run_track(&run, &pg, &pd, og, od);
    if (gan_run_begin(&run, "step d_loss g_loss D(x) D(G(z))", generate, &g) != 0) return 11;
    while (run.step < run.args.steps) {
        t_arena_reset();
        double row[5] = {0, 1.0, 1.0, 0.5, 0.5};
        if (run.step + 1 == nan_at) row[2] = bad_value;
        gan_run_step_done(&run, row, generate, &g);
    }
    return run.failed ? 12 : 0;  // not reached when a row holds a non-finite value
}

static void run_divergence(void) {
    char out[8192];
    int code;
    nan_at = 3, bad_value = NAN;
    code = run_child(diverging_run, out, sizeof out);
    check(code == 1 && strstr(out, "error: training diverged at step 3: column 3 of loss.dat is nan") &&
              strstr(out, "HINT: try a smaller --lr, or resume from the last checkpoint") &&
              strstr(out, "checkpoint.bin)"),
          "a NaN loss at step 3: exit 1, 'training diverged at step 3', HINT names checkpoint.bin (exit %d): %s", code,
          strstr(out, "error:") ? strstr(out, "error:") : out);
    nan_at = 1, bad_value = INFINITY;
    code = run_child(diverging_run, out, sizeof out);
    check(code == 1 && strstr(out, "training diverged at step 1: column 3 of loss.dat is inf") &&
              strstr(out, "(none yet)"),
          "an infinite loss at step 1: exit 1, no checkpoint yet (exit %d): %s", code,
          strstr(out, "error:") ? strstr(out, "error:") : out);
    nan_at = 0;
    code = run_child(diverging_run, out, sizeof out);
    check(code == 0, "the same run with finite losses ends normally (exit %d)", code);

    // checkpoint.bin is a directory: the first save fails, says why, and the
    // run stops there with exit 1 (a failed write ends the run: gan_run.h).
    out_dir = TMP "/blocked";
    if (system("rm -rf " TMP "/blocked && mkdir -p " TMP "/blocked/checkpoint.bin/x") != 0) printf("  (mkdir failed)\n");
    code = run_child(diverging_run, out, sizeof out);
    check(code == 1 && strstr(out, "error: cannot move checkpoint") && strstr(out, "HINT:") &&
              strstr(out, "the run stops at step"),
          "checkpoint.bin is a directory: the save says why and the run stops (exit %d): %s", code,
          strstr(out, "error:") ? strstr(out, "error:") : out);
    out_dir = TMP "/run";

    // An image dataset with fewer images than --batch: a usage error (exit 2).
    if (system("bash tests/fixtures/synthetic_mnist.sh " TMP "/syn 20 10 >/dev/null") == 0) {
        setenv("GANBOOK_DATA", TMP "/syn", 1);
        setenv("GANBOOK_NO_FETCH", "1", 1);
        dataset = "mnist", batch = "64";
        code = run_child(diverging_run, out, sizeof out);
        check(code == 2 && strstr(out, "--batch 64 is larger than the 20 training images") && strstr(out, "HINT:"),
              "--batch 64 on 20 images: a usage error, exit 2 (exit %d): %s", code, out);
        dataset = "ring8", batch = "256";
        unsetenv("GANBOOK_DATA");
        unsetenv("GANBOOK_NO_FETCH");
    } else
        check(0, "tests/fixtures/synthetic_mnist.sh wrote " TMP "/syn");
}

// ---------------------------------------------------------------------------
// The evaluation refuses what it cannot score, without exiting.

static void eval_errors(void) {
    setenv("GANBOOK_DATA", TMP "/no-data", 1);
    setenv("GANBOOK_NO_FETCH", "1", 1);
    float *x = calloc(16 * 32 * 32, sizeof *x);
    EvalResult r;
    char err[2048] = "";
    int rc = eval_images("mnist", x, 16, 32, 32, &r, err, sizeof err);
    check(rc == -1 && strstr(err, "HINT"), "eval_images with no dataset directory: -1 and a HINT: %s", err);
    rc = eval_images("cifar10", x, 16, 32, 32, &r, err, sizeof err);
    check(rc == -1 && err[0], "eval_images on an unknown dataset: -1 and a message: %s", err);
    rc = eval_images("mnist", x, 1, 32, 32, &r, err, sizeof err);
    check(rc == -1 && strstr(err, "cannot evaluate 1 image") && strstr(err, "HINT"), "eval_images of 1 image: %s", err);
    rc = eval_images("mnist", x, 16, 30, 30, &r, err, sizeof err);
    check(rc == -1 && strstr(err, "30x30") && strstr(err, "HINT"), "eval_images of 30x30 images: %s", err);
    x[5 * 1024 + 7] = NAN;
    rc = eval_images("mnist", x, 16, 32, 32, &r, err, sizeof err);
    check(rc == -1 && strstr(err, "image 5 holds a non-finite value") && strstr(err, "HINT"),
          "eval_images with a NaN pixel (a diverged generator): %s", err);
    free(x);
    unsetenv("GANBOOK_DATA");
    unsetenv("GANBOOK_NO_FETCH");
}

int main(void) {
    check_begin("error_paths");
    // gan_run_defaults restarts the program once to set this (cli.h); set it
    // here so the run loop's child does not start this whole test over.
    setenv("OMP_WAIT_POLICY", "passive", 0);
    mkdir("tests/tmp", 0755);
    mkdir(TMP, 0755);
    build();
    checkpoint_entries();
    checkpoint_save_errors();
    run_divergence();
    eval_errors();
    return check_summary();
}
