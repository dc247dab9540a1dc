// data.c: IDX files, MNIST-style datasets, shuffled minibatches.
#include "data.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "root.h"  // ganbook_root
#include "tensor.h"  // t_fatal

#define IDX_HINT "run make data (it fetches the datasets again when a file is damaged)"

static int idx_error(const char *path, const char *hint, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Prints "error: PATH: ..." and the HINT; returns -1.
static int idx_error(const char *path, const char *hint, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: %s: ", path);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nHINT: %s\n", hint);
    va_end(ap);
    return -1;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int idx_read(const char *path, Idx *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return idx_error(path, IDX_HINT, "cannot open (%s)", strerror(errno));
    unsigned char head[4 + 4 * 4];
    size_t got = fread(head, 1, 4, f);
    if (got != 4) {
        fclose(f);
        return idx_error(path, IDX_HINT, "too short to be an IDX file (%zu bytes)", got);
    }
    if (head[0] != 0 || head[1] != 0 || head[3] < 1 || head[3] > 4) {
        fclose(f);
        return idx_error(path, IDX_HINT, "not an IDX file (magic %02x %02x %02x %02x)", head[0], head[1], head[2],
                         head[3]);
    }
    if (head[2] != 0x08) {
        fclose(f);
        return idx_error(path, IDX_HINT, "IDX element type 0x%02x is not supported (unsigned byte 0x08 only)", head[2]);
    }
    int ndim = head[3];
    if (fread(head + 4, 4, (size_t)ndim, f) != (size_t)ndim) {
        fclose(f);
        return idx_error(path, IDX_HINT, "truncated header");
    }
    // Expected size, with overflow checks: dims come from an untrusted file.
    uint64_t total = 1;
    out->ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        uint32_t v = be32(head + 4 + 4 * d);
        if (v > 0x7FFFFFFFu) {
            fclose(f);
            return idx_error(path, IDX_HINT, "dimension %d is %u: not a plausible IDX file", d, v);
        }
        out->dims[d] = (int)v;
        total *= v;
        if (total > ((uint64_t)1 << 36)) {
            fclose(f);
            return idx_error(path, IDX_HINT, "header announces more than 64 GiB: not a plausible IDX file");
        }
    }
    long header = 4 + 4L * ndim;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (size < 0 || (uint64_t)(size - header) != total) {
        fclose(f);
        if (size >= 0 && (uint64_t)(size - header) < total)
            return idx_error(path, IDX_HINT, "truncated: the header announces %llu bytes of data, the file holds %ld",
                             (unsigned long long)total, size - header);
        return idx_error(path, IDX_HINT, "the file holds %ld bytes of data, the header announces %llu",
                         size - header, (unsigned long long)total);
    }
    out->item_bytes = out->dims[0] ? (size_t)(total / (uint64_t)out->dims[0]) : 0;
    out->data = malloc(total ? (size_t)total : 1);
    if (!out->data) {
        fclose(f);
        return idx_error(path, "free some memory", "out of memory reading %llu bytes", (unsigned long long)total);
    }
    fseek(f, header, SEEK_SET);
    if (fread(out->data, 1, (size_t)total, f) != (size_t)total) {
        fclose(f);
        idx_free(out);
        return idx_error(path, IDX_HINT, "read error");
    }
    fclose(f);
    return 0;
}

void idx_free(Idx *idx) {
    free(idx->data);
    idx->data = NULL;
}

int idx_write(const char *path, const unsigned char *data, int ndim, const int *dims) {
    if (ndim < 1 || ndim > 4) return idx_error(path, "IDX files have 1 to 4 dims", "bad ndim %d", ndim);
    size_t total = 1;
    unsigned char head[4 + 16] = {0, 0, 0x08, (unsigned char)ndim};
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0) return idx_error(path, "dims must be >= 0", "bad dimension %d", dims[d]);
        uint32_t v = (uint32_t)dims[d];
        head[4 + 4 * d] = (unsigned char)(v >> 24), head[5 + 4 * d] = (unsigned char)(v >> 16);
        head[6 + 4 * d] = (unsigned char)(v >> 8), head[7 + 4 * d] = (unsigned char)v;
        total *= (size_t)dims[d];
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return idx_error(path, "check that the directory exists and is writable", "cannot create (%s)", strerror(errno));
    int ok = fwrite(head, 1, 4 + 4 * (size_t)ndim, f) == 4 + 4 * (size_t)ndim && fwrite(data, 1, total, f) == total;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return idx_error(path, "check free disk space", "write failed");
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Datasets

void dataset_dir(const char *name, char *buf, size_t n) {
    const char *data = getenv("GANBOOK_DATA");
    if (data && *data) snprintf(buf, n, "%s/%s", data, name);
    else snprintf(buf, n, "%s/datasets/data/%s", ganbook_root(), name);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

// Runs datasets/fetch.sh for `name`; returns its exit status (-1: not run).
static int fetch(const char *name) {
    char script[4200], cmd[4400];
    const char *root = ganbook_root();
    snprintf(script, sizeof script, "%s/datasets/fetch.sh", root);
    if (!file_exists(script)) {
        fprintf(stderr, "error: cannot find datasets/fetch.sh (the repository root was not found from here)\n"
                        "HINT: run the program from the repository, or set GANBOOK_ROOT=/path/to/ganbook\n");
        return -1;
    }
    if (strchr(root, '\'')) return -1;  // would break the quoting below
    snprintf(cmd, sizeof cmd, "bash '%s' %s", script, name);
    fflush(stdout);
    return system(cmd);
}

int dataset_load(Dataset *ds, const char *name, Split split, int pad32) {
    memset(ds, 0, sizeof *ds);
    if (!strcmp(name, "fashion-mnist")) name = "fashion";
    if (strcmp(name, "mnist") != 0 && strcmp(name, "fashion") != 0) {
        fprintf(stderr, "error: unknown image dataset '%s'\nHINT: the image datasets are mnist and fashion\n", name);
        return -1;
    }
    char dir[4096], images_path[4200], labels_path[4200];
    dataset_dir(name, dir, sizeof dir);
    const char *prefix = split == SPLIT_TRAIN ? "train" : "t10k";
    snprintf(images_path, sizeof images_path, "%s/%s-images-idx3-ubyte", dir, prefix);
    snprintf(labels_path, sizeof labels_path, "%s/%s-labels-idx1-ubyte", dir, prefix);

    if (!file_exists(images_path) || !file_exists(labels_path)) {
        const char *no_fetch = getenv("GANBOOK_NO_FETCH");
        if (no_fetch && *no_fetch && *no_fetch != '0') {
            fprintf(stderr, "error: dataset %s not found in %s\nHINT: run make data\n", name, dir);
            return -1;
        }
        printf("dataset %s not found in %s: fetching it now (bash datasets/fetch.sh %s)\n", name, dir, name);
        int rc = fetch(name);
        if (rc == -1) return -1;  // already explained
        if (rc != 0 || !file_exists(images_path) || !file_exists(labels_path)) {
            fprintf(stderr, "error: could not fetch dataset %s\nHINT: run make data and read its messages; datasets/README.md lists the sources\n", name);
            return -1;
        }
    }

    Idx images, labels;
    if (idx_read(images_path, &images) != 0) return -1;
    if (idx_read(labels_path, &labels) != 0) {
        idx_free(&images);
        return -1;
    }
    const char *bad = NULL;
    if (images.ndim != 3 || images.dims[1] != 28 || images.dims[2] != 28) bad = "images are not N x 28 x 28";
    else if (labels.ndim != 1) bad = "labels are not a 1-D list";
    else if (labels.dims[0] != images.dims[0]) bad = "image and label counts differ";
    else if (images.dims[0] == 0) bad = "no images";
    for (int i = 0; !bad && i < labels.dims[0]; i++)
        if (labels.data[i] > 9) bad = "a label is outside 0..9";
    if (bad) {
        fprintf(stderr, "error: %s: %s\nHINT: %s\n", dir, bad, IDX_HINT);
        idx_free(&images), idx_free(&labels);
        return -1;
    }

    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->n = images.dims[0];
    ds->pad = pad32 ? 2 : 0;
    ds->C = 1;
    ds->H = ds->W = 28 + 2 * ds->pad;
    ds->n_classes = 10;
    ds->pixels = images.data;
    ds->labels = labels.data;
    snprintf(ds->source, sizeof ds->source, "unknown (no SOURCE file)");
    char source_path[4200];
    snprintf(source_path, sizeof source_path, "%s/SOURCE", dir);
    FILE *f = fopen(source_path, "r");
    if (f) {
        char line[256];
        if (fgets(line, sizeof line, f) && !strncmp(line, "source: ", 8)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(ds->source, sizeof ds->source, "%s", line + 8);
        }
        fclose(f);
    }
    return 0;
}

void dataset_free(Dataset *ds) {
    free(ds->pixels);
    free(ds->labels);
    ds->pixels = ds->labels = NULL;
    ds->n = 0;
}

void dataset_batch(const Dataset *ds, const int *idx, int B, float *images, float *labels) {
    int H = ds->H, W = ds->W, p = ds->pad;
    for (int b = 0; b < B; b++) {
        int i = idx[b];
        if (i < 0 || i >= ds->n) t_fatal("dataset_batch: index %d outside 0..%d\nHINT: a bug in the caller's batch indices", i, ds->n - 1);
        const unsigned char *src = ds->pixels + (size_t)i * 28 * 28;
        float *dst = images + (size_t)b * H * W;
        for (int k = 0; k < H * W; k++) dst[k] = -1.0f;  // the background value, also the padding
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) dst[(y + p) * W + x + p] = src[y * 28 + x] / 127.5f - 1.0f;
        if (labels) labels[b] = (float)ds->labels[i];
    }
}

// ---------------------------------------------------------------------------
// Minibatches

static void new_epoch(Batcher *b) {
    if (b->shuffle) b->shuffle(b->rng, b->order, b->n);
    b->pos = 0;
    b->epoch++;
}

int batcher_init(Batcher *b, int n, ShuffleFn shuffle, void *rng) {
    memset(b, 0, sizeof *b);
    if (n < 1) {
        fprintf(stderr, "error: batcher_init: no examples\nHINT: check the dataset\n");
        return -1;
    }
    b->order = malloc((size_t)n * sizeof(int));
    if (!b->order) {
        fprintf(stderr, "error: out of memory for a batch order of %d examples\nHINT: free some memory\n", n);
        return -1;
    }
    for (int i = 0; i < n; i++) b->order[i] = i;
    b->n = n;
    b->shuffle = shuffle;
    b->rng = rng;
    new_epoch(b);
    return 0;
}

const int *batcher_next(Batcher *b, int B) {
    if (B < 1 || B > b->n) {
        fprintf(stderr, "error: batch size %d does not fit a dataset of %d examples\nHINT: use a --batch between 1 and %d\n", B, b->n, b->n);
        exit(2);
    }
    if (b->pos + B > b->n) new_epoch(b);
    const int *idx = b->order + b->pos;
    b->pos += B;
    return idx;
}

void batcher_free(Batcher *b) {
    free(b->order);
    b->order = NULL;
}
