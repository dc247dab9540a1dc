// png.h: a PNG writer with no library behind it, and the two pictures every
// chapter draws: a grid of sample images and a scatter of 2-D points.
//
// The files are valid PNGs (8-bit grayscale or RGB, no interlace), and
// compressed: each row is filtered (libpng's heuristic picks one of the five
// PNG filters per row), then deflated by deflate.c (LZ77 + Huffman codes). A
// 10x10 grid of MNIST digits (582x582 pixels) is ~29 KB instead of ~340 KB
// raw. The same pixels always give the same bytes.
// Every file is written to PATH.tmp and renamed, so a reader never sees half
// a picture. All functions return 0, or -1 after printing one "error:" line
// and a "HINT:" line to stderr.
#ifndef GANBOOK_PNG_H
#define GANBOOK_PNG_H

// Raw pixels, row-major, top row first: width * height * channels bytes,
// channels 1 (gray) or 3 (RGB).
int png_write(const char *path, const unsigned char *pixels, int width, int height, int channels);

// A grid of images. images: (N, C, H, W) floats in [-1, 1] (values outside
// are clipped), C = 1 or 3. The grid has `rows` x `cols` tiles (0 for either:
// chosen to be about square), images in reading order, a 2-pixel gray border
// around and between tiles, empty tiles gray. Each pixel becomes a
// scale x scale block; scale 0 picks the smallest that makes a tile at
// least 48 pixels high (28 -> 2, 64 -> 1, 2 -> 24).
int png_write_grid(const char *path, const float *images, int N, int C, int H, int W, int rows, int cols,
                   int scale);

// Pixel size of what png_write_grid would write (for tests and layouts).
void png_grid_size(int N, int H, int W, int rows, int cols, int scale, int *width, int *height);

// A square scatter plot of 2-D points, drawn by us (no gnuplot needed):
// real points blue, fake (generated) points red, on a white square of
// size x size pixels whose axes run from lo to hi in both x and y (fixed, so
// pictures taken during training can be compared); light gray lines mark
// every `tick` units (0: none), a darker one the axes through 0. real and fake
// are (n, 2) arrays of (x, y); either may be NULL with n = 0. Points outside
// the square are not drawn.
int png_write_scatter(const char *path, const float *real, int n_real, const float *fake, int n_fake, float lo,
                      float hi, float tick, int size);

#endif
