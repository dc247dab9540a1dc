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
    int HP = H + 2 * pad, WP = W + 2 * pad;
    long per_sample = (long)HP * WP * C;
    float *d0 = conv_scratch(buf, N * per_sample);
#pragma omp parallel for schedule(dynamic, 4) if (N * per_sample > (1L << 18))
    for (int n = 0; n < N; n++) {
        float *d = d0 + n * per_sample;
        const float *src = t + (long)n * C * H * W;
        for (int r = 0; r < HP; r++) {
            float *row = d + (long)r * WP * C;
            int ih = r - pad;
            if (ih < 0 || ih >= H) {
                memset(row, 0, sizeof(float) * (size_t)WP * C);
                continue;
            }
            memset(row, 0, sizeof(float) * (size_t)pad * C);
            memset(row + (long)(pad + W) * C, 0, sizeof(float) * (size_t)pad * C);
            k_transpose(src + (long)ih * W, (long)H * W, row + (long)pad * C, C, C, W);
        }
    }
    return d0;
}
