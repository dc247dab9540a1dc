// augment.h: differentiable augmentation (DiffAugment; Zhao, Liu, Lin, Zhu &
// Han, 2020), for training a GAN on little data.
//
// With a few thousand images the discriminator memorizes the training set:
// its scores on real images climb while its scores on held-out real images
// do not, and its feedback to G stops meaning anything. Augmenting only the
// real images would teach G to draw augmented images. DiffAugment applies
// the same random transformations to real AND generated images every time D
// sees them, and since every transformation here is differentiable, G's
// gradient flows back through them. The three policies of the paper:
//   color        brightness x + (r - 0.5); saturation (for C > 1)
//                (x - mean_c x) * 2r + mean_c x; contrast (x - mean x) * (r + 0.5) + mean x,
//                r ~ U[0, 1) per image (means per image: over channels, then over C, H, W)
//   translation  each image shifted by up to 1/8 of its size in x and y,
//                zeros coming in (exercise 7.5)
//   cutout       a square of half the image size, at a random centre, set to 0
// Random draws come from the Rng given (the run's training stream), on the
// host, in the same order on every device; on a GPU they go up as a small
// table per batch and the pixels are done there (augment.c says how).
#ifndef GANBOOK_AUGMENT_H
#define GANBOOK_AUGMENT_H

#include "ops.h"
#include "rng.h"

typedef struct {
    int color, translation, cutout;
} AugmentPolicy;

// "color,translation,cutout", any subset in any order, or "none". Returns 0,
// or -1 for an unknown word (the caller reports it).
int augment_parse(const char *spec, AugmentPolicy *p);
int augment_any(const AugmentPolicy *p);

// The augmented batch: x (N, C, H, W) -> same shape, a graph through x.
Tensor *augment_apply(const AugmentPolicy *p, Tensor *x, Rng *rng);

// The translation op: image n moves by (dx[n], dy[n]) pixels with zero fill.
// Its backward is the same op with the shifts negated (closed under
// differentiation, so gradients of any order work).
Tensor *t_translate(Tensor *x, const int *dx, const int *dy);

#endif
