// png.c: PNG files by hand. A PNG is an 8-byte signature and a list of
// chunks; each chunk is: u32 length, 4-byte type, data, u32 CRC-32 of type +
// data (all integers big-endian). We write three chunks:
//   IHDR  width, height, bit depth 8, colour type (0 gray, 2 RGB), 0, 0, 0
//   IDAT  a zlib stream (deflate.c) of the "filtered" image: each row
//         prefixed by its filter byte, height * (1 + width * channels) bytes
//   IEND  empty
// Filters make rows easier to compress: each byte x is replaced by x minus a
// prediction from its left neighbour a, the byte above b and the one above
// left c (0 outside the image; neighbours are a pixel apart, `channels`
// bytes): 0 none, 1 Sub (a), 2 Up (b), 3 Average (floor((a + b) / 2)),
// 4 Paeth (whichever of a, b, c is closest to a + b - c). All arithmetic is
// mod 256. Per row we keep the filter whose output has the smallest sum of
// |byte read as a signed char|, the heuristic libpng uses: small numbers mean
// a good prediction and compress well.
#include "png.h"

#include "deflate.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *path, const char *what, const char *hint) {
    fprintf(stderr, "error: cannot write %s: %s\nHINT: %s\n", path, what, hint);
    return -1;
}

// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) over a chunk's type and
// data, computed with a 256-entry table built on first use.
static uint32_t crc_table[256];

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
    if (!crc_table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static void put_u32be(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

static int write_chunk(FILE *f, const char *type, const unsigned char *data, size_t n) {
    unsigned char head[8], tail[4];
    put_u32be(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    uint32_t crc = crc32_update(0, head + 4, 4);
    crc = crc32_update(crc, data, n);
    put_u32be(tail, crc);
    return fwrite(head, 1, 8, f) == 8 && (n == 0 || fwrite(data, 1, n, f) == n) && fwrite(tail, 1, 4, f) == 4;
}

static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Filters row `cur` (n bytes; `up` is the row above, NULL for the first) with
// filter type t into out.
static void filter_row(int t, const unsigned char *cur, const unsigned char *up, size_t n, int bpp,
                       unsigned char *out) {
    for (size_t x = 0; x < n; x++) {
        int a = x >= (size_t)bpp ? cur[x - bpp] : 0, b = up ? up[x] : 0;
        int c = up && x >= (size_t)bpp ? up[x - bpp] : 0;
        int pred = t == 0 ? 0 : t == 1 ? a : t == 2 ? b : t == 3 ? (a + b) / 2 : paeth(a, b, c);
        out[x] = (unsigned char)(cur[x] - pred);
    }
}

int png_write(const char *path, const unsigned char *pixels, int width, int height, int channels) {
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3))
        return fail(path, "bad image size or channel count", "png_write takes width, height > 0 and 1 or 3 channels");
    size_t n = (size_t)width * channels, row = 1 + n, raw_n = row * height;
    unsigned char *raw = malloc(raw_n), *trial = malloc(n);
    if (!raw || !trial) {
        free(raw), free(trial);
        return fail(path, "out of memory", "write a smaller grid");
    }
    for (int y = 0; y < height; y++) {
        const unsigned char *cur = pixels + (size_t)y * n, *up = y ? cur - n : NULL;
        unsigned char *dst = raw + (size_t)y * row;
        unsigned long best = (unsigned long)-1;
        for (int t = 0; t < 5; t++) {
            filter_row(t, cur, up, n, channels, trial);
            unsigned long sum = 0;
            for (size_t x = 0; x < n; x++) sum += trial[x] < 128 ? trial[x] : 256u - trial[x];
            if (sum < best) best = sum, dst[0] = (unsigned char)t, memcpy(dst + 1, trial, n);
        }
    }
    size_t k = 0;
    unsigned char *z = zlib_compress(raw, raw_n, &k);
    free(raw), free(trial);
    if (!z) return fail(path, "out of memory", "write a smaller grid");

    unsigned char ihdr[13];
    put_u32be(ihdr, (uint32_t)width);
    put_u32be(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8, ihdr[9] = channels == 1 ? 0 : 2, ihdr[10] = ihdr[11] = ihdr[12] = 0;

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL;
    if (ok) {
        static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        ok = fwrite(signature, 1, 8, f) == 8 && write_chunk(f, "IHDR", ihdr, 13) && write_chunk(f, "IDAT", z, k) &&
             write_chunk(f, "IEND", NULL, 0);
        ok = (fclose(f) == 0) && ok;
        ok = ok && rename(tmp, path) == 0;
        if (!ok) remove(tmp);
    }
    free(z);
    return ok ? 0 : fail(path, "cannot create or write the file", "check that the run directory exists and the disk is not full");
}

// ---------------------------------------------------------------------------
// Grids of images

#define GRID_BORDER 2
#define GRID_GRAY 128

static int auto_scale(int H) {
    int s = 1;
    while (H * s < 48) s++;
    return s;
}

static void grid_layout(int N, int *rows, int *cols) {
    if (*cols <= 0 && *rows <= 0) {
        *cols = 1;
        while (*cols * *cols < N) (*cols)++;
    }
    if (*cols <= 0) *cols = (N + *rows - 1) / *rows;
    if (*rows <= 0) *rows = (N + *cols - 1) / *cols;
    if (*rows < 1) *rows = 1;
    if (*cols < 1) *cols = 1;
}

void png_grid_size(int N, int H, int W, int rows, int cols, int scale, int *width, int *height) {
    if (scale <= 0) scale = auto_scale(H);
    grid_layout(N, &rows, &cols);
    *width = cols * W * scale + (cols + 1) * GRID_BORDER;
    *height = rows * H * scale + (rows + 1) * GRID_BORDER;
}

static unsigned char to_byte(float v) {
    // [-1, 1] -> [0, 255]; NaN counts as -1.
    if (!(v > -1.0f)) return 0;
    if (v >= 1.0f) return 255;
    return (unsigned char)lrintf((v + 1.0f) * 127.5f);
}

int png_write_grid(const char *path, const float *images, int N, int C, int H, int W, int rows, int cols,
                   int scale) {
    if (N <= 0 || (C != 1 && C != 3) || H <= 0 || W <= 0)
        return fail(path, "bad grid shape", "images must be (N, C, H, W) with N > 0 and C = 1 or 3");
    if (scale <= 0) scale = auto_scale(H);
    grid_layout(N, &rows, &cols);
    int width, height;
    png_grid_size(N, H, W, rows, cols, scale, &width, &height);
    unsigned char *px = malloc((size_t)width * height * C);
    if (!px) return fail(path, "out of memory", "write fewer images");
    memset(px, GRID_GRAY, (size_t)width * height * C);
    for (int i = 0; i < N && i < rows * cols; i++) {
        int x0 = GRID_BORDER + (i % cols) * (W * scale + GRID_BORDER);
        int y0 = GRID_BORDER + (i / cols) * (H * scale + GRID_BORDER);
        const float *img = images + (size_t)i * C * H * W;
        for (int y = 0; y < H * scale; y++)
            for (int x = 0; x < W * scale; x++)
                for (int c = 0; c < C; c++)
                    px[((size_t)(y0 + y) * width + x0 + x) * C + c] = to_byte(img[((size_t)c * H + y / scale) * W + x / scale]);
    }
    int rc = png_write(path, px, width, height, C);
    free(px);
    return rc;
}

// ---------------------------------------------------------------------------
// Scatter plots

static void set_px(unsigned char *px, int size, int x, int y, const unsigned char rgb[3]) {
    if (x < 0 || y < 0 || x >= size || y >= size) return;
    memcpy(px + ((size_t)y * size + x) * 3, rgb, 3);
}

static void draw_points(unsigned char *px, int size, const float *xy, int n, float lo, float hi,
                        const unsigned char rgb[3]) {
    float k = (size - 1) / (hi - lo);
    for (int i = 0; i < n; i++) {
        float fx = xy[2 * i], fy = xy[2 * i + 1];
        if (!(fx >= lo && fx <= hi && fy >= lo && fy <= hi)) continue;  // also skips NaN
        int cx = (int)lrintf((fx - lo) * k), cy = (int)lrintf((hi - fy) * k);  // y grows upwards
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                if (dx * dx + dy * dy <= 1) set_px(px, size, cx + dx, cy + dy, rgb);  // a small plus
    }
}

int png_write_scatter(const char *path, const float *real, int n_real, const float *fake, int n_fake, float lo,
                      float hi, float tick, int size) {
    if (!(hi > lo) || size < 16 || size > 8192)
        return fail(path, "bad scatter axes or size", "png_write_scatter needs hi > lo and 16 <= size <= 8192");
    unsigned char *px = malloc((size_t)size * size * 3);
    if (!px) return fail(path, "out of memory", "use a smaller size");
    memset(px, 255, (size_t)size * size * 3);
    static const unsigned char light[3] = {225, 225, 225}, axis[3] = {150, 150, 150}, frame[3] = {0, 0, 0};
    static const unsigned char blue[3] = {31, 119, 180}, red[3] = {214, 39, 40};
    float k = (size - 1) / (hi - lo);
    if (tick > 0 && (hi - lo) / tick <= 200) {
        for (float t = ceilf(lo / tick) * tick; t <= hi; t += tick) {
            int p = (int)lrintf((t - lo) * k), q = (int)lrintf((hi - t) * k);
            const unsigned char *c = fabsf(t) < 1e-6f * tick ? axis : light;
            for (int i = 0; i < size; i++) set_px(px, size, p, i, c), set_px(px, size, i, q, c);
        }
    }
    for (int i = 0; i < size; i++) {
        set_px(px, size, i, 0, frame), set_px(px, size, i, size - 1, frame);
        set_px(px, size, 0, i, frame), set_px(px, size, size - 1, i, frame);
    }
    draw_points(px, size, real, real ? n_real : 0, lo, hi, blue);
    draw_points(px, size, fake, fake ? n_fake : 0, lo, hi, red);  // fakes on top: they are what we judge
    int rc = png_write(path, px, size, size, 3);
    free(px);
    return rc;
}
