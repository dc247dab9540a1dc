// spectral_norm.h: spectral normalization of a layer's weight (Miyato,
// Kataoka, Koyama & Yoshida, 2018), as torch.nn.utils.spectral_norm does it.
//
// A critic is K-Lipschitz when each layer is, and a linear map's Lipschitz
// constant is its largest singular value sigma(W). So divide the weight by
// it: W_SN = W / sigma(W) has sigma 1. sigma is estimated by one step of the
// power iteration per forward pass (exercise 7.1), continuing from the last
// pass's vectors u and v (buffers, saved in checkpoints):
//   v = normalize(W^T u),  u = normalize(W v),  sigma = u^T W v
// W is the weight viewed as a matrix (OC, C*K*K) for a conv, (OUT, IN) for a
// linear layer. In the backward u and v are constants and sigma = u^T W v is
// differentiated as a function of W (so the gradient has the term that keeps
// W / sigma on the sphere), exactly as PyTorch does. The iteration runs only
// in training mode (the owning Params' training flag); eval mode reuses the
// stored u and v.
#ifndef GANBOOK_SPECTRAL_NORM_H
#define GANBOOK_SPECTRAL_NORM_H

#include "nn.h"

typedef struct SpectralNorm {
    Tensor *weight;       // the trained weight (PyTorch's weight_orig), any shape (rows, ...)
    Tensor *u, *v;        // buffers "<layer>.sn_u" (rows), "<layer>.sn_v" (cols)
    int rows, cols;
    float sigma;          // the last estimate, for plots and logs (read it with spectral_norm_sigma)
    Tensor *sigma_dev;    // on a GPU: the last estimate, kept there (NULL before the first GPU step)
    const Params *owner;  // where the training flag is read
} SpectralNorm;

// Registers u and v in ps under `layer` and draws them as normalized
// N(0, I) vectors from rng. weight is the layer's weight tensor (already
// registered); it keeps being the tensor the optimizer trains.
void spectral_norm_init(SpectralNorm *sn, Params *ps, const char *layer, Tensor *weight, Rng *rng);

// W / sigma(W) as a graph tensor of weight's shape (one power-iteration step
// first, in training mode). Use it in place of the weight in the layer's op.
Tensor *spectral_norm_weight(SpectralNorm *sn);

// The last estimate of sigma(W) (copied back when the layer lives on a GPU:
// call it at log time, not in a training step).
float spectral_norm_sigma(SpectralNorm *sn);

// The largest singular value of w viewed as (shape[0], rest), by `iters`
// steps of the power iteration from a fixed start, in double: what the
// chapter plots for each layer, with or without spectral norm.
double spectral_norm_estimate(const Tensor *w, int iters);

#endif
