// test_data.c: IDX files (round trip; truncated, garbage and absurd files
// give an error, never a crash: checked in child processes), dataset loading
// from a small fake dataset (scaling to [-1, 1], padding 28 -> 32, labels,
// damaged files), the real MNIST / Fashion-MNIST when `make data` has put
// them there, minibatches, and the toy datasets and their metrics.
#include "check.h"
#include "data.h"
#include "toy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMP "tests/tmp/data"

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) fwrite(data, 1, n, f), fclose(f);
}

static void truncate_to(const char *path, long n) {
    if (truncate(path, n) != 0) printf("  (could not truncate %s)\n", path);
}

// Runs fn(arg) in a child with stdout/stderr in TMP/child.txt; returns the
// exit code, or 128 + signal number when the child crashed.
static int run_child(int (*fn)(void *), void *arg, char *out, size_t n) {
    const char *path = TMP "/child.txt";
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(path, "w", stdout)) _exit(99);
        dup2(fileno(stdout), fileno(stderr));
        int rc = fn(arg);
        fflush(stdout);
        exit(rc == 0 ? 0 : 1);  // exit, not _exit: a --coverage build writes the child's counts
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
// IDX

static void test_idx_roundtrip(void) {
    unsigned char data[5 * 4 * 3];
    for (int i = 0; i < 60; i++) data[i] = (unsigned char)(i * 37);
    int dims[3] = {5, 4, 3};
    check(idx_write(TMP "/a.idx", data, 3, dims) == 0, "idx_write (5, 4, 3)");
    Idx idx;
    int rc = idx_read(TMP "/a.idx", &idx);
    check(rc == 0 && idx.ndim == 3 && idx.dims[0] == 5 && idx.dims[1] == 4 && idx.dims[2] == 3 && idx.item_bytes == 12,
          "idx_read gives back ndim, dims and item size");
    check(rc == 0 && !memcmp(idx.data, data, 60), "idx_read gives back the bytes");
    idx_free(&idx);
    struct stat st;
    check(stat(TMP "/a.idx", &st) == 0 && st.st_size == 4 + 12 + 60, "file size = 4 + 4 * ndim + data");
    unsigned char head[8];
    FILE *f = fopen(TMP "/a.idx", "rb");
    check(f && fread(head, 1, 8, f) == 8 && head[0] == 0 && head[1] == 0 && head[2] == 8 && head[3] == 3 &&
              head[7] == 5,
          "header: 00 00 08 03, dims big-endian");
    if (f) fclose(f);

    int one[1] = {7};
    check(idx_write(TMP "/b.idx", data, 1, one) == 0 && idx_read(TMP "/b.idx", &idx) == 0 && idx.ndim == 1 &&
              idx.dims[0] == 7 && idx.item_bytes == 1,
          "1-D IDX (labels) round trip");
    idx_free(&idx);
}

static int read_child(void *path) {
    Idx idx;
    int rc = idx_read((const char *)path, &idx);
    if (rc == 0) idx_free(&idx);
    return rc;
}

static void expect_idx_error(const char *path, const char *why, const char *word) {
    char out[2048];
    int code = run_child(read_child, (void *)path, out, sizeof out);
    int shape = !strncmp(out, "error: ", 7) && strstr(out, "\nHINT: run make data");
    check(code == 1 && shape && (!word || strstr(out, word)), "%s: an error with HINT, no crash (exit %d): %s", why,
          code, out);
}

static void test_idx_bad(void) {
    unsigned char data[10 * 28 * 28] = {0};
    int dims[3] = {10, 28, 28};
    idx_write(TMP "/trunc.idx", data, 3, dims);
    truncate_to(TMP "/trunc.idx", 16 + 5 * 784);
    expect_idx_error(TMP "/trunc.idx", "truncated data", "truncated");
    idx_write(TMP "/trunc2.idx", data, 3, dims);
    truncate_to(TMP "/trunc2.idx", 10);
    expect_idx_error(TMP "/trunc2.idx", "truncated header", "truncated");
    write_bytes(TMP "/empty.idx", "", 0);
    expect_idx_error(TMP "/empty.idx", "empty file", NULL);
    const char *html = "<html><body>403 Forbidden</body></html>\n";
    write_bytes(TMP "/html.idx", html, strlen(html));
    expect_idx_error(TMP "/html.idx", "an HTML error page saved as IDX", "not an IDX file");
    unsigned char garbage[4096];
    unsigned s = 12345;
    for (int i = 0; i < 4096; i++) s = s * 1103515245u + 12345u, garbage[i] = (unsigned char)(s >> 16);
    garbage[0] = garbage[1] = 0, garbage[2] = 8, garbage[3] = 4;  // plausible magic, random dims
    write_bytes(TMP "/garbage.idx", garbage, sizeof garbage);
    expect_idx_error(TMP "/garbage.idx", "a valid magic followed by random bytes", NULL);
    unsigned char huge[16] = {0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF};
    write_bytes(TMP "/huge.idx", huge, sizeof huge);
    expect_idx_error(TMP "/huge.idx", "dims whose product overflows", NULL);
    // 262144 x 262144 x 268435456 = 2^64: a product that wraps to 0 bytes.
    unsigned char wraps[16] = {0, 0, 8, 3, 0, 4, 0, 0, 0, 4, 0, 0, 0x10, 0, 0, 0};
    write_bytes(TMP "/wraps.idx", wraps, sizeof wraps);
    expect_idx_error(TMP "/wraps.idx", "dims whose product is 2^64 (wraps to 0)", "more than 64 GiB");
    unsigned char neg[8] = {0, 0, 8, 1, 0x80, 0, 0, 0};  // 2^31 labels: not an int
    write_bytes(TMP "/neg.idx", neg, sizeof neg);
    expect_idx_error(TMP "/neg.idx", "a dimension of 2^31", "not a plausible IDX file");
    unsigned char nodims[4] = {0, 0, 8, 0};  // ndim 0
    write_bytes(TMP "/nodims.idx", nodims, sizeof nodims);
    expect_idx_error(TMP "/nodims.idx", "0 dimensions (bad magic)", "not an IDX file");
    unsigned char fivedims[4] = {0, 0, 8, 5};
    write_bytes(TMP "/fivedims.idx", fivedims, sizeof fivedims);
    expect_idx_error(TMP "/fivedims.idx", "5 dimensions (bad magic)", "not an IDX file");
    unsigned char badmagic[12] = {1, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    write_bytes(TMP "/badmagic.idx", badmagic, sizeof badmagic);
    expect_idx_error(TMP "/badmagic.idx", "a first byte that is not 0", "not an IDX file");
    write_bytes(TMP "/three.idx", "\0\0\x08", 3);
    expect_idx_error(TMP "/three.idx", "3 bytes (too short)", "too short");
    unsigned char zero_items[12] = {0, 0, 8, 2, 0, 0, 0, 0, 0, 0, 0, 5};  // 0 x 5: empty but valid
    write_bytes(TMP "/zero.idx", zero_items, sizeof zero_items);
    Idx z;
    check(idx_read(TMP "/zero.idx", &z) == 0 && z.dims[0] == 0 && z.item_bytes == 0, "a 0 x 5 IDX reads as empty");
    idx_free(&z);
    unsigned char floats[12] = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    write_bytes(TMP "/float.idx", floats, sizeof floats);
    expect_idx_error(TMP "/float.idx", "an IDX of floats (type 0x0D)", "not supported");
    unsigned char longer[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3};
    write_bytes(TMP "/long.idx", longer, sizeof longer);
    expect_idx_error(TMP "/long.idx", "more data than the header announces", NULL);
    expect_idx_error(TMP "/does-not-exist.idx", "a missing file", "cannot open");
}

// ---------------------------------------------------------------------------
// Datasets: a fake "mnist" of 6 images under GANBOOK_DATA=tests/tmp/data/fake

#define FAKE TMP "/fake"

static void make_fake(const char *name, int n, int bad_label) {
    char dir[256], path[512];
    snprintf(dir, sizeof dir, FAKE "/%s", name);
    mkdir(FAKE, 0755);
    mkdir(dir, 0755);
    unsigned char *px = calloc((size_t)n * 784, 1), labels[64];
    for (int i = 0; i < n; i++) {
        labels[i] = (unsigned char)(i % 10);
        px[(size_t)i * 784 + 0] = 255;       // top-left pixel white
        px[(size_t)i * 784 + 783] = (unsigned char)(i * 10);  // bottom-right: 10 i
    }
    if (bad_label) labels[n - 1] = 12;
    int idims[3] = {n, 28, 28}, ldims[1] = {n};
    for (int split = 0; split < 2; split++) {
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, split ? "t10k" : "train");
        idx_write(path, px, 3, idims);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, split ? "t10k" : "train");
        idx_write(path, labels, 1, ldims);
    }
    snprintf(path, sizeof path, "%s/SOURCE", dir);
    FILE *f = fopen(path, "w");
    if (f) fprintf(f, "source: a fake for tests\ntrain: %d\ntest: %d\n", n, n), fclose(f);
    free(px);
}

static int load_child(void *name) {
    Dataset ds;
    int rc = dataset_load(&ds, (const char *)name, SPLIT_TRAIN, 0);
    if (rc == 0) dataset_free(&ds);
    return rc;
}

static void test_dataset_fake(void) {
    if (system("rm -rf " FAKE) != 0) printf("  (could not clear %s)\n", FAKE);  // leftovers of an earlier run
    setenv("GANBOOK_DATA", FAKE, 1);
    setenv("GANBOOK_NO_FETCH", "1", 1);
    make_fake("mnist", 6, 0);
    Dataset ds;
    int rc = dataset_load(&ds, "mnist", SPLIT_TRAIN, 0);
    check(rc == 0 && ds.n == 6 && ds.C == 1 && ds.H == 28 && ds.W == 28 && ds.n_classes == 10,
          "fake mnist loads: 6 images of 1x28x28");
    check(rc == 0 && !strcmp(ds.source, "a fake for tests"), "the SOURCE line is kept (%s)", rc == 0 ? ds.source : "");
    if (rc == 0) {
        float x[2 * 784], y[2];
        int idx[2] = {5, 2};
        dataset_batch(&ds, idx, 2, x, y);
        check(x[0] == 1.0f && x[1] == -1.0f && fabsf(x[783] - (50 / 127.5f - 1)) < 1e-6f,
              "pixels scaled to [-1,1]: 255 -> 1, 0 -> -1, 50 -> %g", x[783]);
        check(y[0] == 5.0f && y[1] == 2.0f, "labels as floats (%g %g)", y[0], y[1]);
        dataset_free(&ds);
    }
    rc = dataset_load(&ds, "mnist", SPLIT_TEST, 1);
    check(rc == 0 && ds.H == 32 && ds.W == 32 && ds.pad == 2, "pad32 gives 32x32 images");
    if (rc == 0) {
        float x[32 * 32];
        int idx[1] = {3};
        dataset_batch(&ds, idx, 1, x, NULL);
        int pad_ok = 1;
        for (int i = 0; i < 32; i++)
            for (int j = 0; j < 32; j++)
                if ((i < 2 || i >= 30 || j < 2 || j >= 30) && x[i * 32 + j] != -1.0f) pad_ok = 0;
        check(pad_ok, "the 2-pixel padding is -1 (the background)");
        check(x[2 * 32 + 2] == 1.0f && fabsf(x[29 * 32 + 29] - (30 / 127.5f - 1)) < 1e-6f,
              "the image sits at offset (2, 2)");
        dataset_free(&ds);
    }

    char out[2048];
    int code = run_child(load_child, "fashion", out, sizeof out);  // no fake fashion
    check(code == 1 && strstr(out, "error: dataset fashion not found") && strstr(out, "HINT: run make data"),
          "a missing dataset: one line + HINT (exit %d): %s", code, out);
    code = run_child(load_child, "cifar10", out, sizeof out);
    check(code == 1 && strstr(out, "error: unknown image dataset") && strstr(out, "HINT:"), "an unknown dataset name");
    make_fake("fashion", 4, 1);
    code = run_child(load_child, "fashion", out, sizeof out);
    check(code == 1 && strstr(out, "outside 0..9") && strstr(out, "HINT:"), "a label of 12 is an error: %s", out);
    make_fake("fashion", 4, 0);
    truncate_to(FAKE "/fashion/train-images-idx3-ubyte", 16 + 784 * 3 + 100);
    code = run_child(load_child, "fashion", out, sizeof out);
    check(code == 1 && strstr(out, "truncated") && strstr(out, "HINT: run make data"), "a truncated image file: %s", out);
    make_fake("fashion", 4, 0);
    int ldims[1] = {3};
    unsigned char labels[3] = {0, 1, 2};
    idx_write(FAKE "/fashion/train-labels-idx1-ubyte", labels, 1, ldims);
    code = run_child(load_child, "fashion", out, sizeof out);
    check(code == 1 && strstr(out, "counts differ"), "4 images but 3 labels is an error: %s", out);
    unsetenv("GANBOOK_DATA");
    unsetenv("GANBOOK_NO_FETCH");
}

// The real data, when `make data` has fetched it (counts from its SOURCE).
static void test_dataset_real(const char *name) {
    char dir[4096], path[4200];
    dataset_dir(name, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/SOURCE", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        check_skip("no %s (run make data to test the real %s)", dir, name);
        return;
    }
    int train = -1, test = -1;
    char line[512];
    while (fgets(line, sizeof line, f)) sscanf(line, "train: %d", &train), sscanf(line, "test: %d", &test);
    fclose(f);
    setenv("GANBOOK_NO_FETCH", "1", 1);
    Dataset ds;
    int rc = dataset_load(&ds, name, SPLIT_TRAIN, 1);
    check(rc == 0 && ds.n == train && ds.H == 32, "%s train: %d images (SOURCE says %d), padded to 32", name,
          rc == 0 ? ds.n : -1, train);
    if (rc == 0) {
        int seen[10] = {0}, classes = 0;
        for (int i = 0; i < ds.n; i++) seen[ds.labels[i]]++;
        for (int k = 0; k < 10; k++) classes += seen[k] > 0;
        check(classes == 10, "%s: all 10 classes present", name);
        int idx[64];
        for (int i = 0; i < 64; i++) idx[i] = i * (ds.n / 64);
        float *x = malloc(64 * 32 * 32 * sizeof(float));
        dataset_batch(&ds, idx, 64, x, NULL);
        float lo = 1, hi = -1;
        double mean = 0;
        for (int i = 0; i < 64 * 32 * 32; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]), mean += x[i];
        mean /= 64 * 32 * 32;
        check(lo == -1.0f && hi == 1.0f && mean < -0.3, "%s batch in [-1, 1], mostly background (mean %.2f)", name, mean);
        free(x);
        dataset_free(&ds);
    }
    rc = dataset_load(&ds, name, SPLIT_TEST, 0);
    check(rc == 0 && ds.n == test && ds.H == 28, "%s test: %d images (SOURCE says %d)", name, rc == 0 ? ds.n : -1, test);
    if (rc == 0) dataset_free(&ds);
    unsetenv("GANBOOK_NO_FETCH");
}

// The same checks on tests/fixtures/synthetic_mnist.sh's made-up MNIST (300
// training, 100 test images), so they run where `make data` never ran (CI).
static void test_dataset_synthetic(void) {
    const char *dir = TMP "/synthetic";
    if (system("rm -rf " TMP "/synthetic && bash tests/fixtures/synthetic_mnist.sh " TMP "/synthetic 300 100") != 0) {
        check(0, "tests/fixtures/synthetic_mnist.sh wrote %s", dir);
        return;
    }
    setenv("GANBOOK_DATA", dir, 1);
    test_dataset_real("mnist");
    unsetenv("GANBOOK_DATA");
}

// ---------------------------------------------------------------------------
// Minibatches

static void reverse_shuffle(void *rng, int *a, int n) {  // a deterministic "shuffle" that counts its calls
    (*(int *)rng)++;
    for (int i = 0; i < n / 2; i++) {
        int t = a[i];
        a[i] = a[n - 1 - i], a[n - 1 - i] = t;
    }
}

static int batch_child(void *arg) {
    (void)arg;
    Batcher b;
    batcher_init(&b, 5, NULL, NULL);
    batcher_next(&b, 6);
    return 0;
}

static void test_batcher(void) {
    Batcher b;
    int calls = 0;
    check(batcher_init(&b, 10, reverse_shuffle, &calls) == 0 && calls == 1 && b.epoch == 1,
          "batcher_init shuffles once (epoch 1)");
    int seen[10] = {0}, ok = 1;
    for (int k = 0; k < 3; k++) {
        const int *idx = batcher_next(&b, 3);
        for (int i = 0; i < 3; i++) seen[idx[i]]++;
    }
    for (int i = 0; i < 10; i++) ok &= seen[i] <= 1;
    check(ok && seen[0] == 0, "3 batches of 3 from 10: no repeats in an epoch; the last example (0) skipped");
    const int *idx = batcher_next(&b, 3);
    check(calls == 2 && b.epoch == 2 && idx[0] == 0 && idx[1] == 1, "the 4th batch starts a reshuffled epoch");
    batcher_free(&b);
    batcher_init(&b, 4, NULL, NULL);
    idx = batcher_next(&b, 4);
    check(idx[0] == 0 && idx[3] == 3, "shuffle NULL keeps the order");
    batcher_free(&b);
    char out[1024];
    int code = run_child(batch_child, NULL, out, sizeof out);
    check(code == 2 && strstr(out, "HINT: use a --batch"), "a batch larger than the data: exit 2 with a HINT: %s", out);
}

// ---------------------------------------------------------------------------
// Toys

static unsigned long long rs = 88172645463325252ull;
static float uniform(void *rng) {
    (void)rng;
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (float)((rs >> 40) * (1.0 / 16777216.0));
}
static float normal(void *rng) {
    float u = uniform(rng), v = uniform(rng);
    return (float)(sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v));
}

static void test_toys(void) {
    const ToySpec *ring = toy_find("ring8"), *grid = toy_find("grid25");
    check(ring && grid && !toy_find("mnist") && !toy_find(NULL), "toy_find knows ring8 and grid25 only");
    if (!ring || !grid) return;
    int centres_ok = ring->n_modes == 8 && ring->sigma == 0.01f;
    for (int k = 0; k < 8; k++)
        centres_ok &= fabs(ring->centres[k][0] - cos(6.283185307179586 * k / 8)) < 1e-6 &&
                      fabs(ring->centres[k][1] - sin(6.283185307179586 * k / 8)) < 1e-6;
    check(centres_ok, "ring8: 8 centres on the unit circle at 2 pi k / 8, sigma 0.01");
    int grid_ok = grid->n_modes == 25 && grid->sigma == 0.05f;
    for (int i = 0; i < 25; i++)
        for (int j = 0; j < i; j++)
            grid_ok &= grid->centres[i][0] != grid->centres[j][0] || grid->centres[i][1] != grid->centres[j][1];
    for (int i = 0; i < 25; i++)
        for (int c = 0; c < 2; c++) {
            float v = grid->centres[i][c];
            grid_ok &= (v == -4 || v == -2 || v == 0 || v == 2 || v == 4);
        }
    check(grid_ok, "grid25: the 25 distinct centres of {-4,-2,0,2,4}^2, sigma 0.05");

    // Real samples score as real data should. In 2-D, P(|noise| < 3 sigma)
    // = 1 - exp(-9/2) = 0.989, so ~98.9% are high quality; the mode KL of a
    // multinomial sample is about (K - 1) / (2N) (0.0014 for the ring).
    float *xy = malloc(TOY_EVAL_SAMPLES * 2 * sizeof(float));
    toy_sample(ring, xy, TOY_EVAL_SAMPLES, uniform, normal, NULL);
    ToyMetrics m = toy_metrics(ring, xy, TOY_EVAL_SAMPLES);
    check(m.modes_covered == 8 && m.modes_total == 8, "ring8 samples cover 8/8 modes (%d)", m.modes_covered);
    check(m.high_quality_fraction > 0.98f, "ring8 samples: high-quality fraction %.4f (expect ~0.989)", m.high_quality_fraction);
    check(m.mode_kl < 0.01f, "ring8 samples: mode KL %.5f ~ 0", m.mode_kl);
    toy_sample(grid, xy, TOY_EVAL_SAMPLES, uniform, normal, NULL);
    m = toy_metrics(grid, xy, TOY_EVAL_SAMPLES);
    check(m.modes_covered == 25 && m.high_quality_fraction > 0.98f && m.mode_kl < 0.03f,
          "grid25 samples: %d/25 modes, hq %.4f, KL %.5f", m.modes_covered, m.high_quality_fraction, m.mode_kl);

    // Total collapse: every point at one centre.
    for (int i = 0; i < TOY_EVAL_SAMPLES; i++) xy[2 * i] = ring->centres[3][0], xy[2 * i + 1] = ring->centres[3][1];
    m = toy_metrics(ring, xy, TOY_EVAL_SAMPLES);
    check(m.modes_covered == 1 && m.high_quality_fraction == 1.0f && fabsf(m.mode_kl - logf(8)) < 1e-5f &&
              m.counts[3] == TOY_EVAL_SAMPLES,
          "collapsed onto one centre: 1 mode, hq 1, KL = log 8 (%.5f)", m.mode_kl);
    // Two modes, evenly: KL = log(8/2) = log 4.
    for (int i = 0; i < TOY_EVAL_SAMPLES; i++) xy[2 * i] = ring->centres[i % 2][0], xy[2 * i + 1] = ring->centres[i % 2][1];
    m = toy_metrics(ring, xy, TOY_EVAL_SAMPLES);
    check(m.modes_covered == 2 && fabsf(m.mode_kl - logf(4)) < 1e-5f, "two modes evenly: KL = log 4 (%.5f)", m.mode_kl);
    // Far away: nothing is high quality.
    for (int i = 0; i < TOY_EVAL_SAMPLES; i++) xy[2 * i] = 10, xy[2 * i + 1] = -10;
    m = toy_metrics(ring, xy, TOY_EVAL_SAMPLES);
    check(m.modes_covered == 0 && m.high_quality_fraction == 0.0f && fabsf(m.mode_kl - logf(8)) < 1e-5f,
          "points far away: hq 0, no mode covered, KL reported as log 8");
    // The 3-sigma boundary, and NaN.
    float edge[8] = {1 + 2.9f * 0.01f, 0, 1 + 3.1f * 0.01f, 0, NAN, 0, 0, INFINITY};
    m = toy_metrics(ring, edge, 4);
    check(m.counts[0] == 1 && fabsf(m.high_quality_fraction - 0.25f) < 1e-6f,
          "2.9 sigma is high quality, 3.1 sigma is not, NaN/inf are not");
    free(xy);
}

int main(void) {
    check_begin("data");
    mkdir("tests/tmp", 0755);
    mkdir(TMP, 0755);
    test_idx_roundtrip();
    test_idx_bad();
    test_dataset_real("mnist");
    test_dataset_real("fashion");
    test_dataset_synthetic();
    test_dataset_fake();
    test_batcher();
    test_toys();
    return check_summary();
}
