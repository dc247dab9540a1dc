#!/usr/bin/env bash
# test_png.sh: the PNGs png.c writes, read back by Python's zlib (a second,
# independent inflate next to the one in test_io.c). A small C program built
# from common/run/png.c and common/run/deflate.c writes a few pictures (noise, a
# constant, odd sizes, a digit-like grid) and their raw pixels; Python checks
# the chunk CRCs, inflates the IDAT stream (zlib checks the header and the
# Adler-32), undoes the row filters and compares every pixel. Skips, saying
# so, when python3 with zlib is not there. Temp files go under tests/tmp/png.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
CC=${CC:-gcc}
tmp=tests/tmp/png

if ! python3 -c 'import zlib' 2>/dev/null; then
    echo "  skip: python3 with zlib not found: PNGs not checked against zlib"
    echo "png: 0 passed, 0 failed (skipped)"
    exit 0
fi
rm -rf "$tmp" && mkdir -p "$tmp"

cat >"$tmp/write.c" <<'EOF'
#include "png.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long state = 88172645463325252ull;
static unsigned char rnd(void) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (unsigned char)(state >> 32);
}

// name.png and name.raw (the pixels), and a line "name w h channels" on stdout.
static int both(const char *dir, const char *name, const unsigned char *px, int w, int h, int ch) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.raw", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(px, 1, (size_t)w * h * ch, f) != (size_t)w * h * ch) return 1;
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    printf("%s %d %d %d\n", name, w, h, ch);
    return png_write(path, px, w, h, ch) != 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    unsigned char *px = malloc(600 * 600 * 3);
    int bad = 0;
    for (int i = 0; i < 300 * 200 * 3; i++) px[i] = rnd();
    bad |= both(dir, "noise_rgb", px, 300, 200, 3);
    bad |= both(dir, "noise_1000x1", px, 1000, 1, 1);
    bad |= both(dir, "odd_3x7_rgb", px, 3, 7, 3);
    bad |= both(dir, "one_pixel", px, 1, 1, 1);
    memset(px, 200, 640 * 400);
    bad |= both(dir, "constant", px, 640, 400, 1);
    // Digit-like tiles, scaled 2x with borders, as png_write_grid draws them.
    memset(px, 128, 582 * 582);
    for (int i = 0; i < 100; i++)
        for (int y = 0; y < 56; y++)
            for (int x = 0; x < 56; x++) {
                float dx = x / 2 - 12.0f - i % 5, dy = y / 2 - 12.0f - i / 20, e = fabsf(sqrtf(dx * dx + dy * dy) - 4 - i % 7);
                px[(2 + i / 10 * 58 + y) * 582 + 2 + i % 10 * 58 + x] = e < 1 ? 255 : e < 2 ? (unsigned char)(255 * (2 - e)) : 0;
            }
    bad |= both(dir, "digit_grid", px, 582, 582, 1);
    float *img = malloc(sizeof(float) * 16 * 3 * 20 * 20);
    for (int i = 0; i < 16 * 3 * 20 * 20; i++) img[i] = sinf(i * 0.01f);
    char path[512];
    snprintf(path, sizeof path, "%s/grid_rgb.png", dir);
    bad |= png_write_grid(path, img, 16, 3, 20, 20, 0, 0, 0) != 0;
    free(px), free(img);
    return bad;
}
EOF

if ! out=$($CC -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -Icommon -Icommon/run "$tmp/write.c" common/run/png.c \
    common/run/deflate.c -lm -o "$tmp/write" 2>&1); then
    echo "  FAIL: the PNG writer does not build without warnings:"
    echo "$out" | sed 's/^/    /'
    echo "png: 0 passed, 1 failed"
    exit 1
fi
if ! "$tmp/write" "$tmp" >"$tmp/list.txt"; then
    echo "  FAIL: writing the test PNGs failed"
    echo "png: 0 passed, 1 failed"
    exit 1
fi

python3 - "$tmp" <<'EOF'
import os, struct, sys, zlib

tmp = sys.argv[1]
verbose = os.environ.get("CHECK_VERBOSE", "0") not in ("", "0")
passed = failed = 0

def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        if verbose: print("  ok  : " + what)
    else:
        failed += 1
        print("  FAIL: " + what)

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c

def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("no PNG signature")
    pos, idat, chunks, header = 8, b"", [], None
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        crc, = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) != crc:
            raise ValueError("bad CRC in " + kind.decode())
        chunks.append(kind.decode())
        if kind == b"IHDR": header = struct.unpack(">IIBBBBB", body)
        if kind == b"IDAT": idat += body
        pos += 12 + n
    w, h, depth, color = header[:4]
    if chunks != ["IHDR", "IDAT", "IEND"] or depth != 8 or color not in (0, 2) or header[4:] != (0, 0, 0):
        raise ValueError("unexpected chunks or IHDR: %s %s" % (chunks, header))
    ch = 1 if color == 0 else 3
    d = zlib.decompressobj()
    raw = d.decompress(idat) + d.flush()   # checks the zlib header and the Adler-32
    if not d.eof or d.unused_data:
        raise ValueError("zlib stream not ended, or bytes after it")
    stride = w * ch
    if len(raw) != h * (stride + 1):
        raise ValueError("inflated %d bytes, want %d" % (len(raw), h * (stride + 1)))
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        t, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if t > 4:
            raise ValueError("filter type %d" % t)
        for x in range(stride):
            a = row[x - ch] if x >= ch else 0
            b = prev[x] if y else 0
            c = prev[x - ch] if y and x >= ch else 0
            pred = (0, a, b, (a + b) >> 1, paeth(a, b, c))[t]
            row[x] = (row[x] + pred) & 255
        out += row
        prev = row
    return w, h, ch, bytes(out), len(idat)

for line in open(os.path.join(tmp, "list.txt")):
    name, w, h, ch = line.split()
    w, h, ch = int(w), int(h), int(ch)
    try:
        got = read_png(os.path.join(tmp, name + ".png"))
        want = open(os.path.join(tmp, name + ".raw"), "rb").read()
        check(got[:3] == (w, h, ch) and got[3] == want,
              "%s: %dx%d, %d channel(s): Python's zlib inflates it, every pixel comes back (IDAT %d bytes for %d)"
              % (name, w, h, ch, got[4], h * (w * ch + 1)))
    except Exception as e:
        check(False, "%s: %s" % (name, e))
try:
    w, h, ch, px, n = read_png(os.path.join(tmp, "grid_rgb.png"))
    check((w, h, ch) == (4 * 60 + 10, 4 * 60 + 10, 3) and px[:3] == b"\x80\x80\x80",
          "png_write_grid RGB: Python's zlib inflates it, %dx%d with a gray border" % (w, h))
except Exception as e:
    check(False, "grid_rgb: %s" % e)
print("png: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
