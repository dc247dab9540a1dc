// ema.h: an exponential moving average of a model's weights (Karras et al.,
// 2018; BigGAN; StyleGAN2), used to draw the pictures and compute the scores.
//
// The generator's weights keep moving while it chases the discriminator;
// their average over the last ~1/(1 - decay) steps sits in the middle of
// that wandering and usually draws cleaner samples than any single step.
// After each G step, for every parameter (exercise 7.4):
//   ema = decay * ema + (1 - decay) * w
// Buffers (batch norm's running statistics) are copied as they are.
//
// The averaged copies are buffers of a registry of the caller's choice (so a
// checkpoint saves them with the rest of the run). To use them, ema_swap()
// exchanges the model's tensors' data with the averages; calling it again
// puts the trained weights back. Nothing is copied.
#ifndef GANBOOK_EMA_H
#define GANBOOK_EMA_H

#include "nn.h"

typedef struct Ema {
    Params *source;     // the model whose weights are averaged
    Tensor *avg[512];   // avg[i] follows source->items[i]
    int count;
    float decay;
    int swapped;        // 1 between two ema_swap calls
} Ema;

// Registers a copy of every tensor of `source` in `registry` as a buffer
// named "<prefix>.<source name>" ("ema.G.up1.weight"), starting equal to it.
void ema_init(Ema *e, Params *source, Params *registry, const char *prefix, float decay);
// One averaging step (after the optimizer's step on source).
void ema_update(Ema *e);
// Exchange source's data with the averages (call again to undo).
void ema_swap(Ema *e);

#endif
