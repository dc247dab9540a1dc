// data.h: image datasets (MNIST, Fashion-MNIST) read from IDX files, and
// shuffled minibatches. The 2-D toy data lives in toy.h.
//
// Files: datasets/data/<name>/{train,t10k}-{images-idx3,labels-idx1}-ubyte,
// put there by `make data` (datasets/fetch.sh; see datasets/README.md).
// Images stay in memory as the file's bytes (28x28, 0 = background); a batch
// is converted to floats in [-1, 1] (x / 127.5 - 1) when it is taken, with
// optional zero padding 28 -> 32: two pixels on every side set to -1, the
// value of the background, as DCGAN-style nets want a power of two.
//
// Errors never crash: functions print "error: ..." and "HINT: ..." to stderr
// and return -1; the caller exits non-zero.
#ifndef GANBOOK_DATA_H
#define GANBOOK_DATA_H

#include <stddef.h>

// ---------------------------------------------------------------------------
// IDX: the format of the MNIST files (LeCun). Big-endian header:
//   u8 0, u8 0, u8 type (0x08 = unsigned byte), u8 ndim, u32 dims[ndim],
// then prod(dims) items. We read and write the unsigned-byte type only.

typedef struct {
    int ndim;              // 1..4
    int dims[4];           // dims[0] = number of items
    size_t item_bytes;     // product of dims[1..]
    unsigned char *data;   // dims[0] * item_bytes bytes (malloc'd)
} Idx;

// Reads a whole IDX file. Checks the magic, the type, the dims and that the
// file holds exactly the bytes the header announces; a truncated or garbage
// file gives an error (with HINT: run make data), never a crash.
int idx_read(const char *path, Idx *out);
void idx_free(Idx *idx);
// Writes an unsigned-byte IDX file (PATH.tmp, then renamed).
int idx_write(const char *path, const unsigned char *data, int ndim, const int *dims);

// ---------------------------------------------------------------------------
// Datasets

typedef enum { SPLIT_TRAIN = 0, SPLIT_TEST = 1 } Split;

typedef struct {
    char name[16];            // "mnist" or "fashion"
    int n;                    // number of images
    int C, H, W;              // shape of one image as dataset_batch gives it: 1 x 28 x 28, or 1 x 32 x 32 padded
    int pad;                  // pixels of padding on each side (0 or 2)
    int n_classes;            // 10
    unsigned char *pixels;    // n x 28 x 28 bytes, as in the file
    unsigned char *labels;    // n class indices
    char source[256];         // where the files came from (datasets/data/<name>/SOURCE)
} Dataset;

// Loads the train or test split of "mnist" or "fashion" ("fashion-mnist" is
// accepted too). pad32: 1 pads 28x28 to 32x32. When the files are missing,
// prints that it is fetching them and runs `bash datasets/fetch.sh <name>`
// (unless the environment sets GANBOOK_NO_FETCH=1), then loads. Returns 0,
// or -1 after one error line and a HINT.
int dataset_load(Dataset *ds, const char *name, Split split, int pad32);
void dataset_free(Dataset *ds);

// The directory of a dataset's files: <repo>/datasets/data/<name>, or
// $GANBOOK_DATA/<name> when that is set (fetch.sh honours it too).
void dataset_dir(const char *name, char *buf, size_t n);

// Copies the images idx[0..B) into `images` (B, C, H, W) as floats in
// [-1, 1], padded when the dataset is; `labels` (may be NULL) receives their
// class indices as floats (the library's label tensors hold floats).
void dataset_batch(const Dataset *ds, const int *idx, int B, float *images, float *labels);

// ---------------------------------------------------------------------------
// Shuffled minibatches. The order of examples is reshuffled at the start of
// every epoch by a callback, so this file needs no generator of its own:
//
//     static void shuffle(void *rng, int *a, int n) { rng_shuffle(rng, a, n); }
//     Batcher b;
//     batcher_init(&b, ds.n, shuffle, &rng);
//     const int *idx = batcher_next(&b, batch);   // batch indices
//     dataset_batch(&ds, idx, batch, x->data, NULL);
//
// Every batch is full: when fewer than B examples are left in the epoch, the
// rest are skipped and a new epoch begins (the usual drop-last rule), so
// each example is seen at most once per epoch. shuffle NULL: fixed order.
// The whole state (order, pos, epoch) is plain data a checkpoint can store.

typedef void (*ShuffleFn)(void *rng, int *a, int n);

typedef struct {
    int n;              // examples
    int *order;         // the current epoch's order (malloc'd, n entries)
    int pos;            // next position in `order`
    long epoch;         // epochs started so far (1 after init)
    ShuffleFn shuffle;
    void *rng;
} Batcher;

// Returns 0, or -1 when n < 1 or out of memory.
int batcher_init(Batcher *b, int n, ShuffleFn shuffle, void *rng);
// B indices (1 <= B <= n); the pointer is valid until the next call.
const int *batcher_next(Batcher *b, int B);
void batcher_free(Batcher *b);

#endif
