// conv_scratch.h: the grow-only scratch buffer of the CPU convolution kernels
// (conv_cpu.c and conv_tiled.c). A file of its own so that the two kernel
// files share it without depending on each other: conv_cpu.c dispatches to
// conv_tiled.c, and nothing goes back the other way.
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

#endif
