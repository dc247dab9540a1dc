// deflate.h: a small deflate compressor (RFC 1951) in a zlib wrapper
// (RFC 1950), enough for the PNG writer: LZ77 with a hash-chain match finder
// and, per block, whichever is smallest of stored, fixed-Huffman and
// dynamic-Huffman coding. Deterministic: the same input gives the same bytes.
#ifndef GANBOOK_DEFLATE_H
#define GANBOOK_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

// Compresses src[0..n) (n may be 0) into a zlib stream: header 0x78 0x9C,
// deflate blocks, Adler-32 of src (big-endian). Returns a malloc'd buffer
// (the caller frees it) and its length in *out_n, or NULL when out of memory.
unsigned char *zlib_compress(const unsigned char *src, size_t n, size_t *out_n);

// Adler-32 of p[0..n): two sums mod 65521 (the largest prime below 2^16).
uint32_t zlib_adler32(const unsigned char *p, size_t n);

#endif
