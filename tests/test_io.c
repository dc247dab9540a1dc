// test_io.c: what a run writes and how it is driven: the PNG writer (decoded
// here by an independent reader: chunk CRCs, a stored-block inflate, Adler-32,
// pixel bytes), the flag parser (good flags in-process, bad flags in a child
// process: exit code 2 and an error + HINT message), the run directory,
// loss.dat, metrics.txt, final samples, the progress line and the gnuplot
// scripts. Temp files go under tests/tmp/.
#include "check.h"
#include "cli.h"
#include "data.h"
#include "png.h"
#include "runlog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMP "tests/tmp/io"

// ---------------------------------------------------------------------------
// Helpers

static long read_file(const char *path, unsigned char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    if (fread(*out, 1, (size_t)n, f) != (size_t)n) n = -1;
    else (*out)[n] = 0;
    fclose(f);
    return n;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

// Runs fn(arg) in a child whose stdout and stderr go to TMP/child.txt.
// Returns the exit code (128 + signal when killed); *out gets the output.
static int run_child(void (*fn)(void *), void *arg, char *out, size_t n) {
    const char *path = TMP "/child.txt";
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(path, "w", stdout)) _exit(99);
        dup2(fileno(stdout), fileno(stderr));
        fn(arg);
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    unsigned char *text = NULL;
    long len = read_file(path, &text);
    snprintf(out, n, "%s", len >= 0 ? (char *)text : "");
    free(text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

// ---------------------------------------------------------------------------
// An independent PNG reader, enough for what png.c writes.

static unsigned crc_bitwise(const unsigned char *p, size_t n) {
    unsigned c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static unsigned adler_slow(const unsigned char *p, size_t n) {
    unsigned long a = 1, b = 0;
    for (size_t i = 0; i < n; i++) a = (a + p[i]) % 65521, b = (b + a) % 65521;
    return (unsigned)(b << 16 | a);
}

static unsigned be32(const unsigned char *p) {
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

typedef struct {
    int ok, width, height, channels, chunks, crc_ok, blocks;
    unsigned char *pixels;  // width * height * channels, filter bytes removed
} Decoded;

// Checks the signature, each chunk's CRC, the IHDR fields, inflates the
// stored blocks of the zlib stream and checks its Adler-32 and filter bytes.
static Decoded png_decode(const char *path) {
    Decoded d;
    memset(&d, 0, sizeof d);
    unsigned char *f = NULL;
    long n = read_file(path, &f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 8 || memcmp(f, sig, 8) != 0) {
        free(f);
        return d;
    }
    unsigned char *z = malloc((size_t)n);
    long zn = 0, pos = 8;
    int seen_end = 0;
    d.crc_ok = 1;
    while (pos + 12 <= n && !seen_end) {
        unsigned len = be32(f + pos);
        if (pos + 12 + (long)len > n) break;
        const unsigned char *type = f + pos + 4, *data = f + pos + 8;
        if (crc_bitwise(type, len + 4) != be32(data + len)) d.crc_ok = 0;
        if (!memcmp(type, "IHDR", 4) && len == 13) {
            d.width = (int)be32(data), d.height = (int)be32(data + 4);
            d.channels = data[9] == 0 ? 1 : data[9] == 2 ? 3 : 0;
            if (data[8] != 8 || data[10] || data[11] || data[12]) d.channels = 0;
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(z + zn, data, len), zn += len;
        } else if (!memcmp(type, "IEND", 4)) {
            seen_end = 1;
        }
        d.chunks++;
        pos += 12 + len;
    }
    free(f);
    size_t row = 1 + (size_t)d.width * d.channels, raw_n = row * d.height;
    unsigned char *raw = malloc(raw_n + 1);
    size_t got = 0;
    int good = seen_end && d.channels && zn >= 6 && ((z[0] << 8) | z[1]) % 31 == 0 && (z[0] & 0x0F) == 8;
    long zp = 2;
    for (int final = 0; good && !final;) {
        if (zp + 5 > zn) { good = 0; break; }
        final = z[zp] & 1;
        if ((z[zp] >> 1) & 3) { good = 0; break; }  // only stored blocks expected
        unsigned len = z[zp + 1] | z[zp + 2] << 8, nlen = z[zp + 3] | z[zp + 4] << 8;
        if ((len ^ 0xFFFF) != nlen || got + len > raw_n || zp + 5 + (long)len > zn) { good = 0; break; }
        memcpy(raw + got, z + zp + 5, len);
        got += len, zp += 5 + len;
        d.blocks++;
    }
    good = good && got == raw_n && zp + 4 == zn && be32(z + zp) == adler_slow(raw, raw_n);
    if (good) {
        d.pixels = malloc(raw_n);
        for (int y = 0; y < d.height; y++) {
            if (raw[y * row] != 0) good = 0;  // filter type none
            memcpy(d.pixels + (size_t)y * (row - 1), raw + y * row + 1, row - 1);
        }
    }
    d.ok = good;
    free(raw), free(z);
    return d;
}

// ---------------------------------------------------------------------------
// PNG

static void test_png(void) {
    unsigned char gray[3 * 2] = {0, 50, 100, 150, 200, 255};
    check(png_write(TMP "/gray.png", gray, 3, 2, 1) == 0, "png_write gray returns 0");
    Decoded d = png_decode(TMP "/gray.png");
    check(d.ok, "gray PNG: signature, zlib header, stored blocks, Adler-32, filter bytes");
    check(d.crc_ok, "gray PNG: every chunk's CRC-32 matches");
    check(d.chunks == 3, "gray PNG: IHDR, IDAT, IEND (%d chunks)", d.chunks);
    check(d.width == 3 && d.height == 2 && d.channels == 1, "gray PNG: IHDR 3x2, 8-bit gray (%dx%d, %d ch)",
          d.width, d.height, d.channels);
    check(d.ok && !memcmp(d.pixels, gray, 6), "gray PNG: pixel bytes round-trip");
    check(!exists(TMP "/gray.png.tmp"), "no .tmp file left behind");
    free(d.pixels);

    // RGB, big enough for several stored blocks (300*300*3 + 300 > 65535).
    int W = 300, H = 300;
    unsigned char *rgb = malloc((size_t)W * H * 3);
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (unsigned char)(i * 7 + i / 1000);
    check(png_write(TMP "/rgb.png", rgb, W, H, 3) == 0, "png_write RGB returns 0");
    d = png_decode(TMP "/rgb.png");
    check(d.ok && d.crc_ok && d.channels == 3 && d.width == W && d.height == H, "RGB 300x300 PNG decodes");
    check(d.blocks == 5, "RGB PNG uses 5 stored blocks of <= 65535 bytes (got %d)", d.blocks);
    check(d.ok && !memcmp(d.pixels, rgb, (size_t)W * H * 3), "RGB PNG: pixel bytes round-trip");
    free(d.pixels), free(rgb);

    check(png_write(TMP "/bad.png", gray, 0, 2, 1) == -1, "png_write rejects width 0");
    check(png_write(TMP "/bad.png", gray, 3, 2, 2) == -1, "png_write rejects 2 channels");
    check(png_write("tests/tmp/no/such/dir/x.png", gray, 3, 2, 1) == -1, "png_write into a missing directory fails cleanly");
}

static void test_grid(void) {
    // Three 1x2x2 images: all -1, all +1, a gradient; a 2x2 grid at scale 1.
    float img[3 * 4] = {-1, -1, -1, -1, 1, 1, 1, 1, -1, 0, 0.5f, 2.0f};
    int w, h;
    png_grid_size(3, 2, 2, 2, 2, 1, &w, &h);
    check(w == 2 * 2 + 3 * 2 && h == 2 * 2 + 3 * 2, "grid size 2x2 tiles of 2x2 with 2-px borders: %dx%d (want 10x10)", w, h);
    check(png_write_grid(TMP "/grid.png", img, 3, 1, 2, 2, 2, 2, 1) == 0, "png_write_grid returns 0");
    Decoded d = png_decode(TMP "/grid.png");
    check(d.ok && d.width == 10 && d.height == 10 && d.channels == 1, "grid PNG decodes as 10x10 gray");
    if (d.ok) {
        const unsigned char *p = d.pixels;
        check(p[0] == 128 && p[9 * 10 + 9] == 128 && p[1 * 10 + 4] == 128, "border pixels are gray 128");
        check(p[2 * 10 + 2] == 0 && p[3 * 10 + 3] == 0, "image 0 (-1) is black");
        check(p[2 * 10 + 6] == 255 && p[3 * 10 + 7] == 255, "image 1 (+1) is white");
        check(p[6 * 10 + 2] == 0 && p[6 * 10 + 3] == 128 && p[7 * 10 + 2] == 191 && p[7 * 10 + 3] == 255,
              "image 2: -1, 0, 0.5, 2 (clipped) -> 0, 128, 191, 255 (got %d %d %d %d)", p[62], p[63], p[72], p[73]);
        check(p[6 * 10 + 6] == 128, "the empty 4th tile is gray");
    }
    free(d.pixels);

    // Auto layout and scale: 10 images of 28x28 -> 4x3 tiles at scale 2.
    float *many = calloc(10 * 28 * 28, sizeof(float));
    png_grid_size(10, 28, 28, 0, 0, 0, &w, &h);
    check(w == 4 * 56 + 5 * 2 && h == 3 * 56 + 4 * 2, "auto grid: 10 tiles of 28x28 -> 4 cols x 3 rows at scale 2 (%dx%d)", w, h);
    check(png_write_grid(TMP "/grid_auto.png", many, 10, 1, 28, 28, 0, 0, 0) == 0, "auto grid written");
    d = png_decode(TMP "/grid_auto.png");
    check(d.ok && d.width == w && d.height == h, "auto grid decodes with the announced size");
    free(d.pixels), free(many);

    // RGB grid: channel planes (C,H,W) become interleaved RGB pixels.
    float rgbimg[3 * 1 * 1] = {1, -1, -1};  // one red pixel
    check(png_write_grid(TMP "/grid_rgb.png", rgbimg, 1, 3, 1, 1, 1, 1, 1) == 0, "RGB grid written");
    d = png_decode(TMP "/grid_rgb.png");
    check(d.ok && d.channels == 3 && d.width == 5 && d.pixels[(2 * 5 + 2) * 3] == 255 &&
              d.pixels[(2 * 5 + 2) * 3 + 1] == 0,
          "RGB grid: planar red image -> a red pixel");
    free(d.pixels);
    check(png_write_grid(TMP "/bad.png", rgbimg, 1, 2, 1, 1, 0, 0, 0) == -1, "grid rejects C = 2");
}

static void test_scatter(void) {
    float real[2] = {0.5f, 0.5f}, fake[4] = {-0.5f, -0.5f, 9.0f, 9.0f};  // the second fake is off the plot
    check(png_write_scatter(TMP "/scatter.png", real, 1, fake, 2, -1, 1, 0.5f, 101) == 0, "scatter written");
    Decoded d = png_decode(TMP "/scatter.png");
    check(d.ok && d.width == 101 && d.height == 101 && d.channels == 3, "scatter decodes as 101x101 RGB");
    if (d.ok) {
        const unsigned char *r = d.pixels + (25 * 101 + 75) * 3;  // (0.5, 0.5): x=75, y=25 (y grows up)
        const unsigned char *f = d.pixels + (75 * 101 + 25) * 3;  // (-0.5, -0.5)
        const unsigned char *bg = d.pixels + (10 * 101 + 10) * 3;
        const unsigned char *axis = d.pixels + (10 * 101 + 50) * 3;
        check(r[2] > 150 && r[0] < 100, "real point is blue (%d %d %d)", r[0], r[1], r[2]);
        check(f[0] > 150 && f[2] < 100, "fake point is red (%d %d %d)", f[0], f[1], f[2]);
        check(bg[0] == 255 && bg[1] == 255 && bg[2] == 255, "background is white");
        check(axis[0] < 255 && axis[0] == axis[2], "the axis x = 0 is a gray line");
        check(d.pixels[0] == 0, "frame is black");
    }
    free(d.pixels);
    check(png_write_scatter(TMP "/bad.png", NULL, 0, NULL, 0, 1, 1, 0, 100) == -1, "scatter rejects lo == hi");
}

// ---------------------------------------------------------------------------
// CLI

static CommonArgs args;
static const char *loss_name;
static int layers;
static float beta1;
static int verbose_flag;
static CliFlag table[CLI_MAX_FLAGS];

static void build_table(void) {
    cli_common_defaults(&args, TMP "/run");
    args.steps = 5000;
    loss_name = "minimax";
    layers = 3;
    beta1 = 0.5f;
    verbose_flag = 0;
    int n = cli_common_flags(table, &args, "ring8|grid25|mnist");
    table[n++] = cli_choice("loss", &loss_name, "minimax|nonsat", "generator loss");
    table[n++] = cli_int("layers", &layers, 1, 8, "hidden layers");
    table[n++] = cli_float("beta1", &beta1, 0, 1, "Adam beta1");
    table[n++] = cli_bool("verbose", &verbose_flag, "more output");
    table[n] = (CliFlag){0};
}

static void test_cli_good(void) {
    build_table();
    char *argv[] = {"test", "--steps", "10", "--lr=0.001", "--dataset", "grid25", "--force", "--loss=nonsat",
                    "--beta1", "0.9", "--layers", "8", "--verbose=0", "--out", "tests/tmp/io/x", "--threads", "1"};
    cli_parse((int)(sizeof argv / sizeof *argv), argv, table, "test", "a test");
    check(args.steps == 10, "--steps 10 parsed (%d)", args.steps);
    check(fabsf(args.lr - 0.001f) < 1e-9f, "--lr=0.001 parsed (%g)", args.lr);
    check(!strcmp(args.dataset, "grid25"), "--dataset grid25 parsed");
    check(args.force == 1, "--force alone sets 1");
    check(!strcmp(loss_name, "nonsat"), "chapter flag --loss=nonsat parsed");
    check(fabsf(beta1 - 0.9f) < 1e-7f && layers == 8, "--beta1 0.9 and --layers 8 (range edge) parsed");
    check(verbose_flag == 0, "--verbose=0 sets 0");
    check(!strcmp(args.out, "tests/tmp/io/x"), "--out parsed");
    check(args.batch == 64 && args.seed == 1 && !strcmp(args.device, "auto"), "unset flags keep their defaults");
    cli_apply_common(&args);
    check(args.device_resolved == DEV_CPU, "--device auto resolves to cpu in this build");
}

typedef struct {
    const char *argv[6];
    int apply;  // also call cli_apply_common
} BadCase;

static void parse_child(void *arg) {
    BadCase *c = arg;
    int argc = 0;
    char *argv[8];
    argv[argc++] = "test";
    for (int i = 0; c->argv[i]; i++) argv[argc++] = (char *)c->argv[i];
    build_table();
    cli_parse(argc, argv, table, "test", "a test program");
    if (c->apply) cli_apply_common(&args);
}

static void test_cli_bad(void) {
    static BadCase cases[] = {
        {{"--stpes", "5"}, 0},        {{"--nope"}, 0},           {{"--steps"}, 0},
        {{"--steps", "abc"}, 0},      {{"--steps", "10x"}, 0},   {{"--steps", "99999999999"}, 0},
        {{"--batch", "0"}, 0},        {{"--lr", "nan"}, 0},      {{"--lr", "-1"}, 0},
        {{"--device", "tpu"}, 0},     {{"--dataset", "cifar"}, 0}, {{"stray"}, 0},
        {{"--force=maybe"}, 0},       {{"--out="}, 0},           {{"--layers", "9"}, 0},
        {{"--device", "cuda"}, 1},    {{"--resume", "a", "--sample", "b"}, 1},
    };
    char out[4096];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char shown[128] = "";
        for (int k = 0; cases[i].argv[k]; k++) {
            size_t len = strlen(shown);
            snprintf(shown + len, sizeof shown - len, "%s%s", k ? " " : "", cases[i].argv[k]);
        }
        int code = run_child(parse_child, &cases[i], out, sizeof out);
        int shape = !strncmp(out, "error: ", 7) && strstr(out, "\nHINT: ") && count_lines(out) == 2;
        check(code == 2 && shape, "'%s' -> exit 2 with error + HINT (exit %d, output: %s)", shown, code, out);
    }
    BadCase typo = {{"--stpes", "5"}, 0};
    run_child(parse_child, &typo, out, sizeof out);
    check(strstr(out, "did you mean --steps?") != NULL, "a typo suggests the flag: %s", out);
    BadCase cuda = {{"--device", "cuda"}, 1};
    run_child(parse_child, &cuda, out, sizeof out);
    check(strstr(out, "this build has no CUDA") != NULL, "--device cuda says this build has no CUDA");

    BadCase help = {{"--steps", "7", "--help"}, 0};
    int code = run_child(parse_child, &help, out, sizeof out);
    check(code == 0, "--help exits 0 (got %d)", code);
    const char *names[] = {"--dataset", "--steps", "--batch", "--lr", "--seed", "--out", "--sample-every",
                           "--checkpoint-every", "--device", "--threads", "--resume", "--sample", "--force",
                           "--loss", "--help"};
    int all = 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strstr(out, names[i])) all = 0, printf("  missing in --help: %s\n", names[i]);
    check(all, "--help lists every flag");
    check(strstr(out, "[5000]") && strstr(out, "[0.0002]") && strstr(out, "[minimax]") && strstr(out, "auto|cpu|cuda"),
          "--help shows defaults (not values parsed before --help) and choices");
}

// ---------------------------------------------------------------------------
// Run directory, loss.dat, metrics, samples

static void test_rundir(void) {
    const char *dir = TMP "/runs/nested/chapter9";
    check(rundir_prepare(dir, 0, 0) == 0 && exists(dir), "rundir_prepare creates nested directories");
    check(rundir_prepare(dir, 0, 0) == 0, "an existing empty run directory is fine");
    write_text(TMP "/runs/nested/chapter9/loss.dat", "# step\n1\n");
    write_text(TMP "/runs/nested/chapter9/samples_0100.png", "x");
    write_text(TMP "/runs/nested/chapter9/notes.txt", "mine");
    mkdir(TMP "/runs/nested/chapter9/keep.png", 0755);  // a directory, not an output file
    fprintf(stderr, "(expected error message follows)\n");
    check(rundir_prepare(dir, 0, 0) == -1, "refuses a directory holding an earlier run's outputs");
    check(rundir_prepare(dir, 0, 1) == 0 && exists(TMP "/runs/nested/chapter9/loss.dat"), "--resume keeps the outputs");
    check(rundir_prepare(dir, 1, 0) == 0, "--force succeeds");
    check(!exists(TMP "/runs/nested/chapter9/loss.dat") && !exists(TMP "/runs/nested/chapter9/samples_0100.png"),
          "--force removes the known outputs");
    check(exists(TMP "/runs/nested/chapter9/notes.txt") && exists(TMP "/runs/nested/chapter9/keep.png"),
          "--force keeps other files and directories");
    check(rundir_is_output("checkpoint.bin") && rundir_is_output("gradnorm.dat") && !rundir_is_output("notes.txt") &&
              !rundir_is_output("model.bin"),
          "the output patterns");
    write_text(TMP "/runs/afile", "x");
    check(rundir_prepare(TMP "/runs/afile", 0, 0) == -1, "a file where the directory should be is an error");
}

static void test_losslog(void) {
    const char *dir = TMP "/runs/loss";
    rundir_prepare(dir, 1, 0);
    LossLog log;
    check(losslog_open(&log, dir, "step d_loss g_loss D(x) D(G(z))", -1) == 0 && log.n_columns == 5,
          "losslog_open: 5 columns");
    for (int s = 1; s <= 3; s++) losslog_write(&log, (double[]){s * 100, 1.5, 0.25 * s, 0.75, 1e-7});
    losslog_close(&log);
    unsigned char *text = NULL;
    read_file(TMP "/runs/loss/loss.dat", &text);
    check(text && !strncmp((char *)text, "# step d_loss g_loss D(x) D(G(z))\n100 1.5 0.25 0.75 1e-07\n", 58),
          "loss.dat: '#' header naming the columns, then rows: %.80s", text ? (char *)text : "");
    free(text);
    // Resume from step 200: the row of step 300 (after the checkpoint) goes.
    check(losslog_open(&log, dir, "step d_loss g_loss D(x) D(G(z))", 200) == 0, "losslog_open for resume");
    losslog_write(&log, (double[]){300, 2, 2, 0.5, 0.5});
    losslog_close(&log);
    read_file(TMP "/runs/loss/loss.dat", &text);
    check(text && count_lines((char *)text) == 4 && strstr((char *)text, "\n300 2 2 0.5 0.5\n") &&
              !strstr((char *)text, "300 1.5"),
          "resume keeps rows up to step 200 and appends: %s", text ? (char *)text : "");
    free(text);
}

static void test_metrics_samples(void) {
    const char *dir = TMP "/runs/metrics";
    rundir_prepare(dir, 1, 0);
    Metrics m = {0};
    metrics_set(&m, "steps", 5000);
    metrics_set_str(&m, "dataset", "ring8");
    metrics_set(&m, "steps", 6000);  // replaces
    ToyMetrics t = {.modes_covered = 7, .modes_total = 8, .high_quality_fraction = 0.5f, .mode_kl = 0.25f};
    metrics_set_toy(&m, &t);
    check(metrics_write(&m, dir) == 0, "metrics_write");
    unsigned char *text = NULL;
    read_file(TMP "/runs/metrics/metrics.txt", &text);
    check(text && !strcmp((char *)text, "steps 6000\ndataset ring8\nmodes_covered 7\nmodes_total 8\n"
                                        "high_quality_fraction 0.5\nmode_kl 0.25\n"),
          "metrics.txt holds 'key value' lines in order: %s", text ? (char *)text : "");
    free(text);

    float xy[6] = {0.5f, -1, 2, 3.25f, -0.125f, 1e-3f};
    check(samples_write_txt(dir, "samples.txt", xy, 3) == 0, "samples_write_txt");
    read_file(TMP "/runs/metrics/samples.txt", &text);
    check(text && !strcmp((char *)text, "0.5 -1\n2 3.25\n-0.125 0.001\n"), "samples.txt rows 'x y'");
    free(text);

    float img[2 * 1 * 2 * 3] = {-1, 0, 1, 0.5f, -2, 2, 1, 1, 1, 1, 1, 1};
    check(samples_write_idx(dir, img, 2, 1, 2, 3) == 0, "samples_write_idx");
    Idx idx;
    check(idx_read(TMP "/runs/metrics/samples.idx", &idx) == 0 && idx.ndim == 3 && idx.dims[0] == 2 &&
              idx.dims[1] == 2 && idx.dims[2] == 3,
          "samples.idx: IDX (2, 2, 3) for 1-channel images");
    if (idx.data)
        check(idx.data[0] == 0 && idx.data[1] == 128 && idx.data[2] == 255 && idx.data[3] == 191 && idx.data[4] == 0 &&
                  idx.data[5] == 255 && idx.data[6] == 255,
              "samples.idx pixels: (x + 1) * 127.5, clipped");
    idx_free(&idx);
    float rgb[1 * 3 * 1 * 1] = {1, -1, 0};
    check(samples_write_idx(dir, rgb, 1, 3, 1, 1) == 0 && idx_read(TMP "/runs/metrics/samples.idx", &idx) == 0 &&
              idx.ndim == 4 && idx.dims[1] == 3,
          "samples.idx: 4 dims (N, C, H, W) for RGB");
    idx_free(&idx);
}

// ---------------------------------------------------------------------------
// Progress line and plots (in children: they print)

static void progress_child(void *arg) {
    (void)arg;
    Progress p;
    progress_begin(&p, 0, 3);
    for (int s = 1; s <= 3; s++) progress_update(&p, s, "d_loss %.2f g_loss %.2f", 1.0 + s, 0.5);
    progress_end(&p);
}

static void plots_child(void *arg) {
    int rc = plots_finish((const char *)arg);
    printf("rc=%d\n", rc);
}

static void no_gnuplot_child(void *arg) {
    setenv("PATH", "/nonexistent", 1);
    plots_child(arg);
}

static void test_progress_plots(void) {
    char out[8192];
    int code = run_child(progress_child, NULL, out, sizeof out);
    check(code == 0 && strstr(out, "step 1/3 ") && strstr(out, "step 3/3 ") && strstr(out, "it/s  ETA ") &&
              strstr(out, "d_loss 4.00 g_loss 0.50\n") && strstr(out, "done: 3 steps") && !strchr(out, '\r'),
          "progress: plain lines when stdout is not a terminal, first and last step, it/s, ETA, losses: %s", out);

    const char *dir = TMP "/runs/plots";
    rundir_prepare(dir, 1, 0);
    LossLog log;
    losslog_open(&log, dir, "step d_loss g_loss D(x) D(G(z))", -1);
    for (int s = 0; s <= 50; s++)
        losslog_write(&log, (double[]){s, 1.4 - s * 0.01, 0.7 + s * 0.01, 0.5 + s * 0.004, 0.5 - s * 0.004});
    losslog_close(&log);

    code = run_child(no_gnuplot_child, (void *)dir, out, sizeof out);
    check(code == 0 && strstr(out, "gnuplot not found: install it (apt-get install gnuplot-nox) and run make plots\n") &&
              strstr(out, "rc=1") && count_lines(out) == 2,
          "without gnuplot: one line saying how to render: %s", out);

    if (!plots_have_gnuplot()) {
        printf("  skip: gnuplot is not installed; loss.gp, scatter.gp, gradnorm.gp not exercised\n");
        return;
    }
    code = run_child(plots_child, (void *)dir, out, sizeof out);
    unsigned char *png = NULL;
    long n = read_file(TMP "/runs/plots/loss.png", &png);
    check(code == 0 && strstr(out, "rc=0") && n > 8 && !memcmp(png, "\x89PNG", 4), "plots/loss.gp renders loss.png");
    check(strstr(out, "d_loss") && strstr(out, "g_loss") && count_lines(out) > 15,
          "the ASCII chart (dumb terminal) is printed with the loss names");
    free(png);

    float real[8] = {1, 0, 0, 1, -1, 0, 0, -1}, fake[4] = {0.9f, 0.1f, 0.1f, 0.9f};
    samples_write_txt(dir, "real.txt", real, 4);
    samples_write_txt(dir, "samples.txt", fake, 2);
    char vars[1024];
    snprintf(vars, sizeof vars, "fakefile='%s/samples.txt'; realfile='%s/real.txt'; outfile='%s/scatter.png'; extent=1.5",
             dir, dir, dir);
    check(plots_gnuplot("scatter.gp", vars) == 0 && exists(TMP "/runs/plots/scatter.png"), "plots/scatter.gp renders");
    write_text(TMP "/runs/plots/gradnorm.dat", "# step saturating nonsat\n0 1e-6 0.5\n1 2e-6 0.4\n2 1e-5 0.3\n");
    snprintf(vars, sizeof vars, "datafile='%s/gradnorm.dat'; outfile='%s/gradnorm.png'", dir, dir);
    check(plots_gnuplot("gradnorm.gp", vars) == 0 && exists(TMP "/runs/plots/gradnorm.png"), "plots/gradnorm.gp renders");
}

int main(void) {
    check_begin("io");
    mkdir("tests/tmp", 0755);
    mkdir(TMP, 0755);
    char root[4200];
    snprintf(root, sizeof root, "%s/plots/loss.gp", ganbook_root());
    check(exists(root), "ganbook_root() finds the repository (%s)", ganbook_root());
    test_png();
    test_grid();
    test_scatter();
    test_cli_good();
    test_cli_bad();
    test_rundir();
    test_losslog();
    test_metrics_samples();
    test_progress_plots();
    return check_summary();
}
