// test_io.c: what a run writes and how it is driven: the PNG writer and its
// deflate compressor (decoded here by an independent reader: chunk CRCs, an
// inflate for stored, fixed and dynamic Huffman blocks, Adler-32, the five
// row filters; every pixel must come back exactly), the flag parser (good flags in-process, bad flags in a child
// process: exit code 2 and an error + HINT message), the run directory,
// loss.dat, metrics.txt, final samples, the progress line and the gnuplot
// scripts. Temp files go under tests/tmp/.
#include "check.h"
#include "cli.h"
#include "data.h"
#include "deflate.h"
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
        exit(0);  // exit, not _exit: a --coverage build writes the child's counts
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
// Checksums, computed the slow way (not png.c's tables)

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

// ---------------------------------------------------------------------------
// An independent inflate, written from RFC 1951: stored blocks, fixed and
// dynamic Huffman codes. Stricter than zlib in one way: a dynamic block's
// codes must be complete (deflate.c always makes them so).

typedef struct {
    const unsigned char *in;
    size_t n, pos;
    unsigned long bitbuf;  // bits not yet used, the next one lowest
    int bitcnt, err;
} Inflate;

static int getbits(Inflate *s, int need) {
    unsigned long v = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->pos >= s->n) {
            s->err = 1;
            return 0;
        }
        v |= (unsigned long)s->in[s->pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = v >> need;
    s->bitcnt -= need;
    return (int)(v & ((1UL << need) - 1));
}

// A canonical Huffman code: how many codes of each length, and the symbols
// in code order (by length, then symbol).
typedef struct {
    int count[16], symbol[288];
} Huff;

// Returns 0 for a complete code, > 0 for an incomplete one, < 0 for an
// over-subscribed one (not a prefix code at all).
static int huff_build(Huff *h, const unsigned char *len, int n) {
    int offs[16], left = 1;
    memset(h->count, 0, sizeof h->count);
    for (int s = 0; s < n; s++) h->count[len[s]]++;
    for (int l = 1; l < 16; l++)
        if ((left = 2 * left - h->count[l]) < 0) return -1;
    offs[1] = 0;
    for (int l = 1; l < 15; l++) offs[l + 1] = offs[l] + h->count[l];
    for (int s = 0; s < n; s++)
        if (len[s]) h->symbol[offs[len[s]]++] = s;
    return left;
}

// Codes of length l are consecutive numbers from `first`; read bits (most
// significant first) until the code read so far is one of them.
static int huff_decode(Inflate *s, const Huff *h) {
    int code = 0, first = 0, index = 0;
    for (int l = 1; l < 16 && !s->err; l++) {
        code |= getbits(s, 1);
        if (code >= first && code - first < h->count[l]) return h->symbol[index + code - first];
        index += h->count[l];
        first = (first + h->count[l]) << 1;
        code <<= 1;
    }
    return -1;
}

static const short len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const short len_bits[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const unsigned short dist_base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,    65,    97,    129,
                                             193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const short dist_bits[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

// Inflates the deflate blocks at s into out (at most cap bytes): the number
// of bytes, or -1 for a malformed stream. *types gets 1 << BTYPE for every
// block (1 stored, 2 fixed, 4 dynamic).
static long inflate_blocks(Inflate *s, unsigned char *out, size_t cap, int *types) {
    size_t got = 0;
    for (int final = 0; !final;) {
        final = getbits(s, 1);
        int type = getbits(s, 2);
        if (s->err || type == 3) return -1;
        *types |= 1 << type;
        if (type == 0) {  // stored: skip to a byte boundary, LEN, NLEN = ~LEN, LEN bytes
            s->bitbuf = 0, s->bitcnt = 0;
            if (s->pos + 4 > s->n) return -1;
            const unsigned char *p = s->in + s->pos;
            size_t len = p[0] | p[1] << 8, nlen = p[2] | p[3] << 8;
            s->pos += 4;
            if (len != (~nlen & 0xFFFF) || s->pos + len > s->n || got + len > cap) return -1;
            memcpy(out + got, s->in + s->pos, len);
            s->pos += len, got += len;
            continue;
        }
        unsigned char lens[288 + 32];  // literal/length code lengths, then distance code lengths
        int nlit = 288, ndist = 30;
        if (type == 1) {
            for (int i = 0; i < 288; i++) lens[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
            for (int i = 0; i < 30; i++) lens[288 + i] = 5;
        } else {
            static const unsigned char order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
            nlit = getbits(s, 5) + 257, ndist = getbits(s, 5) + 1;
            int ncl = getbits(s, 4) + 4;
            unsigned char cl[19] = {0};
            for (int i = 0; i < ncl; i++) cl[order[i]] = (unsigned char)getbits(s, 3);
            Huff clh;
            if (nlit > 286 || ndist > 30 || huff_build(&clh, cl, 19) != 0) return -1;
            for (int i = 0; i < nlit + ndist;) {
                int sym = huff_decode(s, &clh), rep = 1, v = sym;
                if (sym < 0) return -1;
                if (sym == 16) {
                    if (i == 0) return -1;
                    v = lens[i - 1], rep = 3 + getbits(s, 2);
                } else if (sym > 16) {
                    v = 0, rep = sym == 17 ? 3 + getbits(s, 3) : 11 + getbits(s, 7);
                }
                if (i + rep > nlit + ndist) return -1;
                while (rep--) lens[i++] = (unsigned char)v;
            }
        }
        Huff lit, dist;
        int lc = huff_build(&lit, lens, nlit), dc = huff_build(&dist, lens + nlit, ndist);
        if (lc < 0 || dc < 0 || (type == 2 && (lc || dc || !lens[256]))) return -1;
        for (;;) {
            int sym = huff_decode(s, &lit);
            if (sym < 0 || sym > 285) return -1;
            if (sym == 256) break;
            if (sym < 256) {
                if (got >= cap) return -1;
                out[got++] = (unsigned char)sym;
                continue;
            }
            size_t len = (size_t)(len_base[sym - 257] + getbits(s, len_bits[sym - 257]));
            int ds = huff_decode(s, &dist);
            if (ds < 0 || ds >= 30) return -1;
            size_t d = dist_base[ds] + (size_t)getbits(s, dist_bits[ds]);
            if (s->err || d > got || got + len > cap) return -1;
            for (size_t k = 0; k < len; k++, got++) out[got] = out[got - d];
        }
    }
    return s->err ? -1 : (long)got;
}

// A zlib stream: CMF/FLG header (deflate, no preset dictionary, check bits),
// deflate blocks, Adler-32 of the output, nothing after it. Returns the
// number of bytes inflated into out, or -1.
static long zlib_inflate(const unsigned char *z, size_t zn, unsigned char *out, size_t cap, int *types) {
    if (zn < 6 || (z[0] & 0x0F) != 8 || (z[0] >> 4) > 7 || ((z[0] << 8) | z[1]) % 31 != 0 || (z[1] & 0x20)) return -1;
    Inflate s = {z, zn - 4, 2, 0, 0, 0};
    long got = inflate_blocks(&s, out, cap, types);
    if (got < 0 || s.pos != zn - 4 || be32(z + zn - 4) != adler_slow(out, (size_t)got)) return -1;
    return got;
}

// ---------------------------------------------------------------------------
// An independent PNG reader, enough for what png.c writes.

typedef struct {
    int ok, width, height, channels, chunks, crc_ok;
    int block_types;   // 1 << BTYPE for each kind of deflate block seen
    int filters;       // 1 << filter type for each kind of row filter seen
    long idat_bytes;   // the size of the zlib stream
    unsigned char *pixels;  // width * height * channels, unfiltered
} Decoded;

// Checks the signature, each chunk's CRC and the IHDR fields, inflates the
// zlib stream (checking its Adler-32) and undoes the row filters.
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
    d.idat_bytes = zn;
    size_t w = (size_t)d.width * d.channels, row = 1 + w, raw_n = row * d.height;
    unsigned char *raw = malloc(raw_n + 1);
    int good = seen_end && d.channels && zlib_inflate(z, (size_t)zn, raw, raw_n, &d.block_types) == (long)raw_n;
    if (good) {
        d.pixels = malloc(raw_n);
        int bpp = d.channels;
        for (int y = 0; y < d.height; y++) {
            int t = raw[y * row];
            const unsigned char *in = raw + y * row + 1, *up = y ? d.pixels + (y - 1) * w : NULL;
            unsigned char *px = d.pixels + y * w;
            if (t > 4) good = 0;
            d.filters |= 1 << t;
            for (size_t x = 0; x < w; x++) {
                int a = x >= (size_t)bpp ? px[x - bpp] : 0, b = up ? up[x] : 0;
                int c = up && x >= (size_t)bpp ? up[x - bpp] : 0, p = a + b - c;
                int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
                int pred = t == 1 ? a : t == 2 ? b : t == 3 ? (a + b) >> 1
                         : t == 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? b : c) : 0;
                px[x] = (unsigned char)(in[x] + pred);
            }
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
    check(d.ok, "gray PNG: signature, zlib header, deflate blocks, Adler-32, filter bytes");
    check(d.crc_ok, "gray PNG: every chunk's CRC-32 matches");
    check(d.chunks == 3, "gray PNG: IHDR, IDAT, IEND (%d chunks)", d.chunks);
    check(d.width == 3 && d.height == 2 && d.channels == 1, "gray PNG: IHDR 3x2, 8-bit gray (%dx%d, %d ch)",
          d.width, d.height, d.channels);
    check(d.ok && !memcmp(d.pixels, gray, 6), "gray PNG: pixel bytes round-trip");
    check(!exists(TMP "/gray.png.tmp"), "no .tmp file left behind");
    free(d.pixels);

    // RGB, more than one 64 KiB stored block would hold (300*300*3 + 300 > 65535).
    int W = 300, H = 300;
    unsigned char *rgb = malloc((size_t)W * H * 3);
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (unsigned char)(i * 7 + i / 1000);
    check(png_write(TMP "/rgb.png", rgb, W, H, 3) == 0, "png_write RGB returns 0");
    d = png_decode(TMP "/rgb.png");
    check(d.ok && d.crc_ok && d.channels == 3 && d.width == W && d.height == H, "RGB 300x300 PNG decodes");
    check(d.idat_bytes < (long)W * H * 3 / 4, "RGB PNG is compressed (IDAT %ld bytes for %d pixel bytes)",
          d.idat_bytes, W * H * 3);
    check(d.ok && !memcmp(d.pixels, rgb, (size_t)W * H * 3), "RGB PNG: pixel bytes round-trip");
    free(d.pixels), free(rgb);

    check(png_write(TMP "/bad.png", gray, 0, 2, 1) == -1, "png_write rejects width 0");
    check(png_write(TMP "/bad.png", gray, 3, 2, 2) == -1, "png_write rejects 2 channels");
    check(png_write("tests/tmp/no/such/dir/x.png", gray, 3, 2, 1) == -1, "png_write into a missing directory fails cleanly");
}

// ---------------------------------------------------------------------------
// Compression: every byte must come back, whatever the data

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static unsigned char rand_byte(void) {  // xorshift64*
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (unsigned char)((rng_state * 0x2545F4914F6CDD1Dull) >> 56);
}

// zlib_compress(src) inflated by the reader above gives src again, in at
// most max_z bytes. Returns the block types seen (1 stored, 2 fixed, 4 dynamic).
static int zlib_roundtrip(const char *what, const unsigned char *src, size_t n, size_t max_z) {
    size_t zn = 0;
    unsigned char *z = zlib_compress(src, n, &zn), *out = malloc(n + 1);
    int types = 0;
    long got = z ? zlib_inflate(z, zn, out, n, &types) : -1;
    check(got == (long)n && !memcmp(out, src, n) && zn <= max_z,
          "zlib_compress %s: %zu bytes -> %zu (at most %zu), inflates back (block types %d)", what, n, zn, max_z, types);
    free(z), free(out);
    return types;
}

static void test_deflate(void) {
    size_t n = 200000;
    unsigned char *buf = malloc(n);
    zlib_roundtrip("empty input", buf, 0, 8);
    buf[0] = 'x';
    zlib_roundtrip("1 byte", buf, 1, 9);

    memset(buf, 0xFF, n);  // 0xFF: the Adler-32 sums grow fastest
    int t = zlib_roundtrip("200000 bytes 0xFF", buf, n, 300);
    check(t == 4, "200000 equal bytes: dynamic Huffman blocks only (%d)", t);

    for (size_t i = 0; i < n; i++) buf[i] = rand_byte();
    t = zlib_roundtrip("200000 random bytes", buf, n, n + n / 1000 + 64);
    check(t == 1, "random bytes: stored blocks only (%d)", t);
    // The farthest a match may reach is 32768 bytes back: one there is
    // found, one a byte farther is not (and must not be written).
    memcpy(buf + 32768, buf, 1000);
    zlib_roundtrip("32768 random bytes, then its first 1000 again", buf, 32768 + 1000, 32768 + 100);
    memcpy(buf + 32769, buf, 1000);
    zlib_roundtrip("32769 random bytes, then its first 1000 again", buf, 32769 + 1000, 33769 + 100);
    // Noise and runs in turns: the block type changes along the stream.
    for (size_t i = 0; i < n; i++) buf[i] = (i / 5000) % 2 ? (unsigned char)(i / 10000) : rand_byte();
    zlib_roundtrip("5000 random bytes and 5000 equal bytes in turns", buf, n, n / 2 + 2000);
    // Text: words drawn at random from a few.
    static const char *words[] = {"generator ", "discriminator ", "loss ", "the ", "of ", "gradient ", "a ", "mode "};
    size_t k = 0;
    while (k < 50000) {
        const char *w = words[rand_byte() % 8];
        size_t len = strlen(w);
        memcpy(buf + k, w, len), k += len;
    }
    t = zlib_roundtrip("50000 bytes of text", buf, k, k / 3);
    check(t & 4, "text: dynamic Huffman blocks (%d)", t);
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)"abc"[i % 3];
    zlib_roundtrip("abcabc...", buf, n, 300);
    free(buf);
}

static int filters_seen, blocks_seen;  // over every roundtrip()

// Writes pixels as a PNG and reads them back: every byte must be there.
// Returns the decoded file for more checks (the caller frees its pixels).
static Decoded roundtrip(const char *name, const unsigned char *px, int w, int h, int ch) {
    char path[256];
    snprintf(path, sizeof path, TMP "/rt_%s.png", name);
    int rc = png_write(path, px, w, h, ch);
    Decoded d = png_decode(path);
    check(rc == 0 && d.ok && d.crc_ok && d.width == w && d.height == h && d.channels == ch &&
              !memcmp(d.pixels, px, (size_t)w * h * ch),
          "%s: %dx%d %s, every pixel comes back (IDAT %ld bytes for %ld; block types %d, filters %#x)", name, w, h,
          ch == 1 ? "gray" : "RGB", d.idat_bytes, (long)(w * ch + 1) * h, d.block_types, d.filters);
    filters_seen |= d.filters, blocks_seen |= d.block_types;
    return d;
}

static unsigned char to_byte_test(float v) {  // the grid's mapping, [-1, 1] -> 0..255
    return !(v > -1.0f) ? 0 : v >= 1.0f ? 255 : (unsigned char)lrintf((v + 1.0f) * 127.5f);
}

static void test_png_compress(void) {
    unsigned char *px = malloc(1000 * 1000 * 3);
    // Noise does not compress: stored blocks, next to nothing added.
    for (int ch = 1; ch <= 3; ch += 2) {
        int w = ch == 1 ? 300 : 257, h = ch == 1 ? 200 : 131;
        long raw = (long)(w * ch + 1) * h;
        for (long i = 0; i < (long)w * h * ch; i++) px[i] = rand_byte();
        Decoded d = roundtrip(ch == 1 ? "noise_gray" : "noise_rgb", px, w, h, ch);
        check(d.block_types == 1 && d.idat_bytes <= raw + raw / 1000 + 64,
              "noise: stored blocks, IDAT %ld bytes for %ld (at most 0.1%% + 64 more)", d.idat_bytes, raw);
        free(d.pixels);
    }
    // A constant image is next to nothing.
    memset(px, 77, 640 * 480);
    Decoded d = roundtrip("constant_gray", px, 640, 480, 1);
    check(d.idat_bytes < 640 * 481 / 200 && !(d.block_types & 1), "constant gray: IDAT %ld bytes, under 0.5%%",
          d.idat_bytes);
    free(d.pixels);
    for (int i = 0; i < 400 * 300; i++) px[3 * i] = 10, px[3 * i + 1] = 200, px[3 * i + 2] = 30;
    d = roundtrip("constant_rgb", px, 400, 300, 3);
    check(d.idat_bytes < 1201 * 300 / 200, "constant RGB: IDAT %ld bytes, under 0.5%%", d.idat_bytes);
    free(d.pixels);
    // Odd sizes, random pixels.
    static const int sizes[][2] = {{1, 1}, {3, 7}, {1000, 1}, {1, 1000}, {2, 2}, {7, 3}};
    for (int ch = 1; ch <= 3; ch += 2)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int w = sizes[s][0], h = sizes[s][1];
            for (int i = 0; i < w * h * ch; i++) px[i] = rand_byte();
            char name[64];
            snprintf(name, sizeof name, "odd_%dx%d_%d", w, h, ch);
            d = roundtrip(name, px, w, h, ch);
            free(d.pixels);
        }
    px[0] = 0, px[1] = 255, px[2] = 128;
    d = roundtrip("one_pixel_gray", px, 1, 1, 1), free(d.pixels);
    d = roundtrip("one_pixel_rgb", px, 1, 1, 3), free(d.pixels);
    // A smooth picture with a little noise.
    for (int y = 0; y < 96; y++)
        for (int x = 0; x < 128; x++)
            for (int c = 0; c < 3; c++) {
                int v = y < 32 ? x * 2 + c * 40 : y < 64 ? (x * x + y * y) / 64 + c * 10 : (x ^ y) + (rand_byte() & 7);
                px[(y * 128 + x) * 3 + c] = (unsigned char)(v + (rand_byte() & 3));
            }
    d = roundtrip("smooth_rgb", px, 128, 96, 3);
    free(d.pixels);
    check(filters_seen == 0x1F, "the pictures above use all five filter types (%#x)", filters_seen);
    check(blocks_seen == 7, "the pictures above use stored, fixed and dynamic blocks (%d)", blocks_seen);
    free(px);

    // A typical grid: 100 digit-like 28x28 images (soft-edged rings and bars,
    // +1 on -1, like MNIST in [-1, 1]), 10 x 10 at scale 2.
    float *img = malloc(sizeof(float) * 100 * 28 * 28);
    for (int i = 0; i < 100; i++)
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                float cx = 12.0f + i % 5, cy = 12.0f + i / 20, r = 4.0f + i % 7;
                float e = fabsf(sqrtf((x - cx) * (x - cx) + (y - cy) * (y - cy)) - r);
                if (i % 3 == 0) e = fminf(e, fabsf(x - cx - r));  // a stem, like a 9 or a 6
                img[(i * 28 + y) * 28 + x] = e < 1.0f ? 1.0f : e < 2.0f ? 1.0f - 2.0f * (e - 1.0f) : -1.0f;
            }
    int w, h;
    png_grid_size(100, 28, 28, 10, 10, 0, &w, &h);
    unsigned char *want = malloc((size_t)w * h);
    memset(want, 128, (size_t)w * h);
    for (int i = 0; i < 100; i++)
        for (int y = 0; y < 56; y++)
            for (int x = 0; x < 56; x++)
                want[(size_t)(2 + i / 10 * 58 + y) * w + 2 + i % 10 * 58 + x] = to_byte_test(img[(i * 28 + y / 2) * 28 + x / 2]);
    check(png_write_grid(TMP "/grid_digits.png", img, 100, 1, 28, 28, 10, 10, 0) == 0 &&
              png_write_grid(TMP "/grid_digits2.png", img, 100, 1, 28, 28, 10, 10, 0) == 0,
          "digit grid written (twice)");
    d = png_decode(TMP "/grid_digits.png");
    long raw = (long)(w + 1) * h;
    check(d.ok && d.crc_ok && d.width == w && d.height == h && !memcmp(d.pixels, want, (size_t)w * h),
          "digit grid %dx%d: every pixel comes back", w, h);
    check(d.idat_bytes < raw / 8 && (d.block_types & 4),
          "digit grid: IDAT %ld bytes for %ld (under 1/8), dynamic Huffman blocks (block types %d, filters %#x)",
          d.idat_bytes, raw, d.block_types, d.filters);
    free(d.pixels);
    unsigned char *f1 = NULL, *f2 = NULL;
    long n1 = read_file(TMP "/grid_digits.png", &f1), n2 = read_file(TMP "/grid_digits2.png", &f2);
    check(n1 > 0 && n1 == n2 && !memcmp(f1, f2, (size_t)n1), "the same grid twice gives the same bytes");
    free(f1), free(f2), free(want), free(img);
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
    Device want = t_device_available(DEV_CUDA) ? DEV_CUDA : DEV_CPU;
    check(args.device_resolved == want, "--device auto resolves to %s here", t_device_name(want));
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
        {{"--resume", "a", "--sample", "b"}, 1},
        {{"--device", "cuda"}, 1},    // last: left out where a GPU is available
    };
    size_t n_cases = sizeof cases / sizeof *cases - (t_device_available(DEV_CUDA) ? 1 : 0);
    char out[4096];
    for (size_t i = 0; i < n_cases; i++) {
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
    if (!t_built_with_cuda()) {
        run_child(parse_child, &cuda, out, sizeof out);
        check(strstr(out, "this build has no CUDA (built without CUDA)") != NULL,
              "--device cuda says this build has no CUDA: %s", out);
    } else if (!t_device_available(DEV_CUDA)) {  // a CUDA build on a machine without a GPU (or driver)
        run_child(parse_child, &cuda, out, sizeof out);
        check(strstr(out, "no usable CUDA GPU") != NULL, "--device cuda says there is no usable GPU: %s", out);
    }

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
        check_skip("gnuplot is not installed; loss.gp, scatter.gp, gradnorm.gp not exercised");
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
    test_deflate();
    test_png_compress();
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
