// deflate.c: deflate (RFC 1951) in a zlib wrapper (RFC 1950), compressing.
//
// LZ77. Every position p with 3 bytes left is hashed on those 3 bytes;
// head[h] is the latest position with hash h, prev[p % 32K] the one before p
// with the same hash, so each hash has a chain through the last 32 KiB. At
// each position we walk the chain (at most MAX_CHAIN steps) for the longest
// earlier copy of what follows: 3..258 bytes at a distance of 1..32768. One
// step of "lazy" matching, as zlib does: when the next position has a longer
// match, the current byte goes out as a literal and that match is taken.
//
// Blocks. The literals and (length, distance) pairs are collected; every
// BLOCK_SYMS of them close a block, written in whichever of the three block
// types costs the fewest bits (counted exactly before writing):
//   00 stored: the raw bytes, pieces of <= 65535 (wins on noise);
//   01 fixed Huffman codes from the RFC (wins on tiny blocks);
//   10 dynamic Huffman codes built from the block's own symbol counts, at
//      most 15 bits long, their lengths sent run-length coded with a third
//      code (the "code length code", at most 7 bits).
// Bits are packed from the least significant bit of each byte up; Huffman
// codes go most significant bit first, so we store them bit-reversed.
#include "deflate.h"

#include <stdlib.h>
#include <string.h>

enum {
    WSIZE = 32768, WMASK = WSIZE - 1, HASH_BITS = 15,
    MIN_MATCH = 3, MAX_MATCH = 258,
    MAX_CHAIN = 64,    // chain steps per search: speed against ratio
    LAZY_BELOW = 32,   // try the next position only for matches shorter than this
    BLOCK_SYMS = 16384 // symbols per block
};
#define NIL ((size_t)-1)

// Length codes 257..285 and distance codes 0..29: base value and extra bits.
static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,    65,    97,    129,
                                       193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// The order in which the code length code's lengths are sent.
static const uint8_t cl_order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

static int len_code(int len) {  // 0..28, for symbol 257 + code
    int c = 0;
    while (c < 28 && len_base[c + 1] <= len) c++;
    return c;
}

static int dist_code(int dist) {
    int c = 0;
    while (c < 29 && dist_base[c + 1] <= dist) c++;
    return c;
}

uint32_t zlib_adler32(const unsigned char *p, size_t n) {
    uint32_t a = 1, b = 0;
    while (n > 0) {
        size_t k = n < 5552 ? n : 5552;  // the most bytes before b can overflow 32 bits
        n -= k;
        while (k--) a += *p++, b += a;
        a %= 65521u, b %= 65521u;
    }
    return (b << 16) | a;
}

// ---------------------------------------------------------------------------
// Bit output

typedef struct {
    unsigned char *buf;
    size_t n, cap;
    uint64_t acc;  // pending bits, the next one lowest
    int nacc;
} Bits;

static int reserve(Bits *b, size_t more) {
    if (b->n + more <= b->cap) return 1;
    size_t cap = b->cap * 2 > b->n + more ? b->cap * 2 : b->n + more;
    unsigned char *p = realloc(b->buf, cap);
    if (!p) return 0;
    b->buf = p, b->cap = cap;
    return 1;
}

static void put(Bits *b, uint32_t v, int n) {  // n <= 32
    b->acc |= (uint64_t)v << b->nacc;
    b->nacc += n;
    while (b->nacc >= 8) b->buf[b->n++] = (unsigned char)b->acc, b->acc >>= 8, b->nacc -= 8;
}

static void put_align(Bits *b) {
    if (b->nacc) put(b, 0, 8 - b->nacc);
}

// ---------------------------------------------------------------------------
// Huffman codes

typedef struct {
    uint8_t len[288];
    uint16_t code[288];  // bit-reversed, ready for put()
} Code;

// Lengths of an optimal prefix code for freq[0..n), none over `limit` bits:
// Huffman's algorithm (two queues over the symbols sorted by count, then
// symbol); while the deepest leaf is too deep, the counts are halved
// (rounding up) and we start again. Fewer than two used symbols get a
// second one, so that every code is complete (as inflate wants).
static void huff_lengths(const uint32_t *freq, int n, int limit, uint8_t *len) {
    uint32_t f[288], w[2 * 288];
    int sym[288], parent[2 * 288], depth[2 * 288];
    for (int i = 0; i < n; i++) f[i] = freq[i];
    int m = 0;
    for (int i = 0; i < n; i++) m += f[i] != 0;
    for (int i = 0; m < 2 && i < n; i++)
        if (!f[i]) f[i] = 1, m++;
    for (;;) {
        m = 0;
        for (int i = 0; i < n; i++) {  // insertion sort by (count, symbol)
            if (!f[i]) continue;
            int k = m++;
            while (k > 0 && f[sym[k - 1]] > f[i]) sym[k] = sym[k - 1], k--;
            sym[k] = i;
        }
        for (int i = 0; i < m; i++) w[i] = f[sym[i]];
        int leaf = 0, node = m, next = m;  // leaves 0..m-1, inner nodes m..2m-2 in order of creation
        for (; next < 2 * m - 1; next++) {
            int pick[2];
            for (int k = 0; k < 2; k++) pick[k] = (leaf < m && (node >= next || w[leaf] <= w[node])) ? leaf++ : node++;
            w[next] = w[pick[0]] + w[pick[1]];
            parent[pick[0]] = parent[pick[1]] = next;
        }
        int deepest = 0;
        depth[2 * m - 2] = 0;
        for (int i = 2 * m - 3; i >= 0; i--) {
            depth[i] = depth[parent[i]] + 1;
            if (depth[i] > deepest) deepest = depth[i];
        }
        if (deepest <= limit) {
            memset(len, 0, (size_t)n);
            for (int i = 0; i < m; i++) len[sym[i]] = (uint8_t)depth[i];
            return;
        }
        for (int i = 0; i < n; i++) f[i] = (f[i] + 1) / 2;
    }
}

// Canonical codes from lengths (RFC 1951, 3.2.2), bit-reversed.
//
// NO_IVOPTS: Debian's aarch64 gcc 12.2 miscompiles this function's loops at
// -O1 and above: the induction-variable pass (ivopts) leaves c->code[] of the
// dynamic codes unwritten, and every PNG with a dynamic Huffman block came
// out corrupt (17 of test_io's 137 checks failed under qemu-aarch64). What
// points at the compiler rather than at this code: -fno-ivopts on this one
// function fixes it at -O1, -O2, -O3 and -Os; x86-64 at any level, and
// aarch64 builds with -fsanitize=undefined or =address, give the right
// bytes and report nothing; x86-64 MSan reports no uninitialized read.
#if defined(__GNUC__) && !defined(__clang__) && defined(__aarch64__)
#define NO_IVOPTS __attribute__((optimize("no-ivopts")))
#else
#define NO_IVOPTS
#endif
NO_IVOPTS static void huff_codes(Code *c, int n) {
    int count[16] = {0}, next[16];
    for (int i = 0; i < n; i++) count[c->len[i]]++;
    count[0] = 0;
    int code = 0;
    for (int b = 1; b < 16; b++) code = (code + count[b - 1]) << 1, next[b] = code;
    for (int i = 0; i < n; i++) {
        int l = c->len[i];
        if (!l) continue;
        unsigned v = (unsigned)next[l]++, r = 0;
        for (int k = 0; k < l; k++) r = (r << 1) | (v & 1), v >>= 1;
        c->code[i] = (uint16_t)r;
    }
}

// ---------------------------------------------------------------------------
// Blocks

typedef struct {
    const unsigned char *src;
    size_t n;
    size_t *head, *prev;
    uint16_t *lit, *dist;  // per symbol: a literal byte (dist 0), or a match length and its distance
    int nsym;
    size_t block_start, covered;  // bytes of src: where this block starts, how far symbols reach
    Bits out;
    int fail;
} Deflate;

static size_t stored_bits(size_t bytes) {  // header + padding (at most) + LEN/NLEN per piece, then the bytes
    size_t pieces = bytes ? (bytes + 65534) / 65535 : 1;
    return pieces * (3 + 7 + 32) + 8 * bytes;
}

// Bits for the block's symbols with the given codes (without the header).
static size_t data_bits(const Deflate *d, const Code *lc, const Code *dc) {
    size_t bits = lc->len[256];
    for (int i = 0; i < d->nsym; i++) {
        if (!d->dist[i]) {
            bits += lc->len[d->lit[i]];
        } else {
            int l = len_code(d->lit[i]), k = dist_code(d->dist[i]);
            bits += lc->len[257 + l] + len_extra[l] + dc->len[k] + dist_extra[k];
        }
    }
    return bits;
}

static void put_data(Deflate *d, const Code *lc, const Code *dc) {
    for (int i = 0; i < d->nsym; i++) {
        int v = d->lit[i], dist = d->dist[i];
        if (!dist) {
            put(&d->out, lc->code[v], lc->len[v]);
            continue;
        }
        int l = len_code(v), k = dist_code(dist);
        put(&d->out, lc->code[257 + l], lc->len[257 + l]);
        put(&d->out, (uint32_t)(v - len_base[l]), len_extra[l]);
        put(&d->out, dc->code[k], dc->len[k]);
        put(&d->out, (uint32_t)(dist - dist_base[k]), dist_extra[k]);
    }
    put(&d->out, lc->code[256], lc->len[256]);
}

static void flush_block(Deflate *d, int final) {
    if (d->fail) return;
    // Fixed codes.
    Code fixed_l, fixed_d;
    for (int i = 0; i < 288; i++) fixed_l.len[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    for (int i = 0; i < 30; i++) fixed_d.len[i] = 5;
    huff_codes(&fixed_l, 288), huff_codes(&fixed_d, 30);

    // Dynamic codes from this block's counts.
    uint32_t lf[286] = {0}, df[30] = {0}, cf[19] = {0};
    lf[256] = 1;
    for (int i = 0; i < d->nsym; i++) {
        if (!d->dist[i]) lf[d->lit[i]]++;
        else lf[257 + len_code(d->lit[i])]++, df[dist_code(d->dist[i])]++;
    }
    Code dyn_l, dyn_d, cl;
    huff_lengths(lf, 286, 15, dyn_l.len), huff_codes(&dyn_l, 286);
    huff_lengths(df, 30, 15, dyn_d.len), huff_codes(&dyn_d, 30);
    int hlit = 286, hdist = 30;
    while (hlit > 257 && !dyn_l.len[hlit - 1]) hlit--;
    while (hdist > 1 && !dyn_d.len[hdist - 1]) hdist--;
    // The lengths, run-length coded: 0..15 literally, 16 = repeat the previous
    // 3..6 times, 17 = 3..10 zeros, 18 = 11..138 zeros.
    uint8_t lens[286 + 30], rle[286 + 30], rle_extra[286 + 30];
    int n_lens = hlit + hdist, n_rle = 0;
    memcpy(lens, dyn_l.len, (size_t)hlit), memcpy(lens + hlit, dyn_d.len, (size_t)hdist);
    for (int i = 0; i < n_lens;) {
        int v = lens[i], run = 1;
        while (i + run < n_lens && lens[i + run] == v) run++;
        i += run;
        if (v == 0) {
            for (; run >= 11; run -= rle_extra[n_rle - 1] + 11)
                rle[n_rle] = 18, rle_extra[n_rle++] = (uint8_t)((run > 138 ? 138 : run) - 11);
            if (run >= 3) rle[n_rle] = 17, rle_extra[n_rle++] = (uint8_t)(run - 3), run = 0;
        } else {
            rle[n_rle] = (uint8_t)v, rle_extra[n_rle++] = 0, run--;
            for (; run >= 3; run -= rle_extra[n_rle - 1] + 3)
                rle[n_rle] = 16, rle_extra[n_rle++] = (uint8_t)((run > 6 ? 6 : run) - 3);
        }
        while (run-- > 0) rle[n_rle] = (uint8_t)v, rle_extra[n_rle++] = 0;
    }
    for (int i = 0; i < n_rle; i++) cf[rle[i]]++;
    huff_lengths(cf, 19, 7, cl.len), huff_codes(&cl, 19);
    int hclen = 19;
    while (hclen > 4 && !cl.len[cl_order[hclen - 1]]) hclen--;

    // What each block type would cost, in bits.
    size_t bytes = d->covered - d->block_start;
    size_t cost_stored = stored_bits(bytes);
    size_t cost_fixed = 3 + data_bits(d, &fixed_l, &fixed_d);
    size_t cost_dyn = 3 + 5 + 5 + 4 + 3 * (size_t)hclen + data_bits(d, &dyn_l, &dyn_d);
    for (int i = 0; i < n_rle; i++) cost_dyn += cl.len[rle[i]] + (rle[i] == 16 ? 2 : rle[i] == 17 ? 3 : rle[i] == 18 ? 7 : 0);
    size_t best = cost_stored < cost_fixed ? cost_stored : cost_fixed;
    if (cost_dyn < best) best = cost_dyn;
    if (!reserve(&d->out, best / 8 + 16)) {
        d->fail = 1;
        return;
    }

    Bits *b = &d->out;
    if (best == cost_stored) {
        size_t at = d->block_start;
        do {
            size_t len = bytes - (at - d->block_start) > 65535 ? 65535 : bytes - (at - d->block_start);
            put(b, final && at + len == d->covered, 3);  // BFINAL on the last piece, BTYPE 00
            put_align(b);
            put(b, (uint32_t)len, 16), put(b, (uint32_t)(~len & 0xFFFF), 16);
            memcpy(b->buf + b->n, d->src + at, len);
            b->n += len, at += len;
        } while (at < d->covered);
    } else if (best == cost_fixed) {
        put(b, (uint32_t)final | 1u << 1, 3);
        put_data(d, &fixed_l, &fixed_d);
    } else {
        put(b, (uint32_t)final | 2u << 1, 3);
        put(b, (uint32_t)(hlit - 257), 5), put(b, (uint32_t)(hdist - 1), 5), put(b, (uint32_t)(hclen - 4), 4);
        for (int i = 0; i < hclen; i++) put(b, cl.len[cl_order[i]], 3);
        for (int i = 0; i < n_rle; i++) {
            put(b, cl.code[rle[i]], cl.len[rle[i]]);
            if (rle[i] >= 16) put(b, rle_extra[i], rle[i] == 16 ? 2 : rle[i] == 17 ? 3 : 7);
        }
        put_data(d, &dyn_l, &dyn_d);
    }
    d->nsym = 0;
    d->block_start = d->covered;
}

static void emit(Deflate *d, int lit_or_len, int dist, int bytes) {
    d->lit[d->nsym] = (uint16_t)lit_or_len, d->dist[d->nsym] = (uint16_t)dist;
    d->covered += (size_t)bytes;
    if (++d->nsym == BLOCK_SYMS) flush_block(d, 0);
}

// ---------------------------------------------------------------------------
// LZ77

static size_t hash3(const unsigned char *p) {
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void insert(Deflate *d, size_t p) {
    if (p + MIN_MATCH > d->n) return;
    size_t h = hash3(d->src + p);
    d->prev[p & WMASK] = d->head[h];
    d->head[h] = p;
}

// The longest match for position p (not yet inserted; every position before
// it is): its length (0 when under MIN_MATCH) and distance.
static int longest(const Deflate *d, size_t p, int *dist) {
    if (p + MIN_MATCH > d->n) return 0;
    const unsigned char *s = d->src + p;
    size_t max = d->n - p < MAX_MATCH ? d->n - p : MAX_MATCH, best = MIN_MATCH - 1;
    size_t cand = d->head[hash3(s)];
    for (int chain = MAX_CHAIN; cand != NIL && p - cand <= WSIZE && chain > 0; chain--) {
        const unsigned char *c = d->src + cand;
        if (c[best] == s[best] && c[0] == s[0] && c[1] == s[1]) {
            size_t l = 2;
            while (l < max && c[l] == s[l]) l++;
            if (l > best) {
                best = l, *dist = (int)(p - cand);
                if (l == max) break;
            }
        }
        size_t next = d->prev[cand & WMASK];
        if (next == NIL || next >= cand) break;
        cand = next;
    }
    return best >= MIN_MATCH ? (int)best : 0;
}

unsigned char *zlib_compress(const unsigned char *src, size_t n, size_t *out_n) {
    Deflate d;
    memset(&d, 0, sizeof d);
    d.src = src, d.n = n;
    d.head = malloc(sizeof(size_t) << HASH_BITS), d.prev = malloc(sizeof(size_t) * WSIZE);
    d.lit = malloc(sizeof(uint16_t) * BLOCK_SYMS), d.dist = malloc(sizeof(uint16_t) * BLOCK_SYMS);
    d.out.cap = n / 4 + 1024;
    d.out.buf = malloc(d.out.cap);
    d.fail = !d.head || !d.prev || !d.lit || !d.dist || !d.out.buf;
    if (!d.fail) {
        for (size_t i = 0; i < (size_t)1 << HASH_BITS; i++) d.head[i] = NIL;
        for (size_t i = 0; i < WSIZE; i++) d.prev[i] = NIL;
        d.out.buf[d.out.n++] = 0x78, d.out.buf[d.out.n++] = 0x9C;  // deflate, 32K window, default level
        size_t i = 0;
        int dist = 0, dist2 = 0, len = longest(&d, 0, &dist);
        while (i < n && !d.fail) {
            if (len) {
                insert(&d, i);
                if (len < LAZY_BELOW) {
                    int len2 = longest(&d, i + 1, &dist2);
                    if (len2 > len) {  // a literal, then the longer match one byte on
                        emit(&d, src[i], 0, 1);
                        i++, len = len2, dist = dist2;
                        continue;
                    }
                }
                emit(&d, len, dist, len);
                for (int k = 1; k < len; k++) insert(&d, i + (size_t)k);
                i += (size_t)len;
            } else {
                emit(&d, src[i], 0, 1);
                insert(&d, i);
                i++;
            }
            len = longest(&d, i, &dist);
        }
        flush_block(&d, 1);
    }
    if (!d.fail && reserve(&d.out, 8)) {
        put_align(&d.out);
        uint32_t a = zlib_adler32(src, n);
        for (int k = 3; k >= 0; k--) d.out.buf[d.out.n++] = (unsigned char)(a >> (8 * k));
    } else {
        d.fail = 1;
    }
    free(d.head), free(d.prev), free(d.lit), free(d.dist);
    if (d.fail) {
        free(d.out.buf);
        return NULL;
    }
    *out_n = d.out.n;
    return d.out.buf;
}
