// conv_scratch.h: the grow-only scratch buffer of the CPU convolution kernels
// (conv_cpu.c, conv_tiled.c, conv_direct.c) and the channels-last copy that
// conv_cpu.c and conv_direct.c both make. A file of its own so that the
// kernel files share them without depending on each other: conv_cpu.c
// dispatches to the others, and nothing goes back the other way.
#ifndef GANBOOK_CONV_SCRATCH_H
#define GANBOOK_CONV_SCRATCH_H

#include <stddef.h>

// A scratch buffer that grows to the largest request and is then reused:
// after the first training step, no kernel allocates. 64-byte aligned; its
// old contents are lost when it grows. Out of memory stops with a HINT.
typedef struct {
    float *data;
    size_t floats;
} ConvScratch;
float *conv_scratch(ConvScratch *b, long floats);

// t (N,C,H,W) -> (N,H+2pad,W+2pad,C) in buf, zero-padded. Per input row a
// (C x W) -> (W x C) transpose; on the OpenMP team when it is big.
float *conv_channels_last(ConvScratch *buf, const float *t, int N, int C, int H, int W, int pad);
// The same with any zero border: t's pixel (h, w) at (top + h, left + w) of
// an (N, HP, WP, C) buffer, the rest zeros.
float *conv_channels_last_at(ConvScratch *buf, const float *t, int N, int C, int H, int W, int top, int left, int HP,
                             int WP);
// One sample of it, on the calling thread: t (C,H,W) -> d (HP,WP,C).
void conv_channels_last_sample(const float *t, int C, int H, int W, int top, int left, int HP, int WP, float *d);

#endif
