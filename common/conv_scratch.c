// conv_scratch.c: the grow-only scratch buffer. See conv_scratch.h.
#include "conv_scratch.h"

#include <stdlib.h>

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
