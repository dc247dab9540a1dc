// conv_scratch.c: the grow-only scratch buffer and the channels-last copy.
// See conv_scratch.h.
#include "conv_scratch.h"

#include <stdlib.h>
#include <string.h>

#include "kernels.h" // k_transpose

#include "tensor.h"  // t_fatal

float *conv_scratch(ConvScratch *b, long floats) {
    if (floats < 16) floats = 16;
    if ((size_t)floats > b->floats) {
        free(b->data);
        size_t bytes = (sizeof(float) * (size_t)floats + 63) & ~(size_t)63;  // aligned_alloc: a multiple of 64
        b->data = aligned_alloc(64, bytes);
        if (!b->data) t_fatal("conv: out of memory for %zu MiB of scratch\nHINT: use a smaller --batch", bytes >> 20);
        b->floats = (size_t)floats;
    }
    return b->data;
}

float *conv_channels_last(ConvScratch *buf, const float *t, int N, int C, int H, int W, int pad) {
    return conv_channels_last_at(buf, t, N, C, H, W, pad, pad, H + 2 * pad, W + 2 * pad);
}

// One sample: t (C,H,W) -> d (HP,WP,C), pixel (h, w) at (top + h, left + w).
void conv_channels_last_sample(const float *t, int C, int H, int W, int top, int left, int HP, int WP, float *d) {
    // Channels in blocks of CB, each block's rows in turn: the reads then
    // follow CB channel planes, which the prefetchers keep up with; all C
    // planes at once (a whole input row per step) they do not. In a
    // microbenchmark on a 2-core Zen 5 (caches flushed between calls) that
    // took a third less time for 64 channels of 16x16 and a sixth less for
    // 32 of 32x32, and nothing off rows of 8 or fewer pixels, which keep
    // the row-at-a-time order.
    int CB = W >= 16 ? 8 : C;
    for (int r = 0; r < HP; r++) {  // the zero border
        float *row = d + (long)r * WP * C;
        if (r < top || r >= top + H) {
            memset(row, 0, sizeof(float) * (size_t)WP * C);
            continue;
        }
        memset(row, 0, sizeof(float) * (size_t)left * C);
        memset(row + (long)(left + W) * C, 0, sizeof(float) * (size_t)(WP - left - W) * C);
    }
    for (int c0 = 0; c0 < C; c0 += CB)
        for (int ih = 0; ih < H; ih++)
            k_transpose(t + (long)c0 * H * W + (long)ih * W, (long)H * W, d + ((long)(top + ih) * WP + left) * C + c0,
                        C, C - c0 < CB ? C - c0 : CB, W);
}

float *conv_channels_last_at(ConvScratch *buf, const float *t, int N, int C, int H, int W, int top, int left, int HP,
                             int WP) {
    long per_sample = (long)HP * WP * C;
    float *d0 = conv_scratch(buf, N * per_sample);
#pragma omp parallel for schedule(dynamic, 4) if (N * per_sample > (1L << 18))
    for (int n = 0; n < N; n++)
        conv_channels_last_sample(t + (long)n * C * H * W, C, H, W, top, left, HP, WP, d0 + n * per_sample);
    return d0;
}
