// nn.h: layers (modules) and the parameter registry that names their tensors.
//
// A model is a plain struct of modules plus one Params registry, e.g.
//
//     typedef struct { Params params; Linear fc1, fc2; } Discriminator;
//
//     params_init(&d->params, "D");
//     linear_init(&d->fc1, &d->params, "fc1", 784, 256, WITH_BIAS, &rng);
//     linear_init(&d->fc2, &d->params, "fc2", 256, 1, WITH_BIAS, &rng);
//     ...
//     Tensor *h = t_leaky_relu(linear_forward(&d->fc1, x), 0.2f);
//     Tensor *logit = linear_forward(&d->fc2, h);
//
// Build a model in place, through a pointer to its struct (as above), and do
// not copy the struct afterwards: batch norm layers keep a pointer to their
// Params to read its train/eval flag.
//
// Every module registers its tensors in the Params it is given, under
// "<prefix>.<layer>.<what>" ("D.fc1.weight"). The registry is what the
// optimizers update (optim.h), what the checkpoints save (checkpoint.h) and
// what the startup banner prints (params_print).
//
// Two kinds of entries:
//   parameters: trained; requires_grad = 1; t_backward fills their .grad;
//   buffers:    saved and restored, never trained (batch norm running stats).
// All of them live in the persistent store (allocated once, never freed).
//
// Initialization follows PyTorch's defaults, so a model built here starts
// like the same model built with torch.nn:
//   Linear, Conv2d, ConvTranspose2d: weight and bias U(-1/sqrt(fan_in), +1/sqrt(fan_in))
//     (kaiming_uniform with a = sqrt(5) reduces to exactly that bound);
//     fan_in = weight.size(1) * K * K, which for ConvTranspose2d, whose weight
//     is (C_in, C_out, K, K), is C_out * K * K: PyTorch's convention, kept.
//   BatchNorm2d, LayerNorm: weight 1, bias 0; running mean 0, running var 1.
//   Embedding: N(0, 1).
// nn_init_dcgan() then re-initializes a model the DCGAN way.
#ifndef GANBOOK_NN_H
#define GANBOOK_NN_H

#include <stdio.h>

#include "ops.h"
#include "rng.h"

// ---------------------------------------------------------------------------
// The parameter registry

// What a tensor is for: decides nn_init_dcgan's treatment and trainability.
typedef enum {
    ROLE_WEIGHT,     // Linear / Conv2d / ConvTranspose2d weight: DCGAN init N(0, 0.02)
    ROLE_BIAS,       // their bias: DCGAN init 0
    ROLE_BN_WEIGHT,  // BatchNorm2d gamma: DCGAN init N(1, 0.02)
    ROLE_BN_BIAS,    // BatchNorm2d beta: DCGAN init 0
    ROLE_OTHER,      // trained, left alone by nn_init_dcgan (LayerNorm, Embedding, your own)
    ROLE_BUFFER,     // not trained, but saved in checkpoints (BN running stats)
} ParamRole;

typedef struct Param {
    Tensor *t;       // t->name is the full name, "D.conv2.weight"
    ParamRole role;
} Param;

typedef struct Params {
    const char *prefix;  // "G", "D": the first part of every name
    Param *items;        // in registration order (that is also the checkpoint order)
    int count, cap;
    int training;        // 1 (default): batch norm normalizes with batch statistics
                         // and updates its running ones; 0: uses the running ones
} Params;

// An empty registry whose names start with `prefix` ("" for none).
void params_init(Params *ps, const char *prefix);

// Register a new zero-filled persistent tensor named "<prefix>.<layer>.<what>"
// (an empty layer or prefix is left out with its dot). Parameters (every role
// but ROLE_BUFFER) get requires_grad = 1. Stops with a message if the name is
// already taken. Modules call this; a chapter may too, for a tensor of its own.
Tensor *params_add(Params *ps, const char *layer, const char *what, ParamRole role, int ndim,
                   const int *shape);

int param_is_trainable(const Param *p);                  // role != ROLE_BUFFER
Tensor *params_find(const Params *ps, const char *name);  // by full name; NULL if absent
// Number of values: trainable_only = 1 counts parameters, 0 counts buffers too.
long params_numel(const Params *ps, int trainable_only);

// The startup banner: one line per tensor (name, shape, count, "buffer" for
// buffers) and the totals.
void params_print(const Params *ps, FILE *f);

// Train / eval mode for every batch norm registered here (model.train() /
// model.eval()).
void params_set_training(Params *ps, int training);

// Freeze (0) or unfreeze (1) every parameter registered here: sets
// requires_grad (buffers are never trained and stay as they are). A frozen
// network records no graph for its own weights, so the backward of the other
// player's loss computes no gradient for them (PyTorch's
// `for p in D.parameters(): p.requires_grad_(on)`). Gradients still flow
// through it to its input: the G step differentiates D(G(z)) in z.
void params_requires_grad(Params *ps, int on);

// Set every existing .grad to zero (grads not yet created stay NULL).
void params_zero_grad(Params *ps);
// Euclidean norm of all parameter gradients together (missing grads count 0).
double params_grad_norm(const Params *ps);

// DCGAN initialization (Radford et al., 2016): every Linear/Conv/ConvTranspose
// weight from N(0, 0.02), every batch norm weight from N(1, 0.02), their biases
// 0. LayerNorm, Embedding, ROLE_OTHER tensors and buffers are left as they are.
void nn_init_dcgan(Params *ps, Rng *rng);

// ---------------------------------------------------------------------------
// Modules: a struct, an init that registers (and initializes) its tensors, a
// forward built from ops.h. `name` is the layer's name inside the model
// ("conv2"); the module keeps its full name ("D.conv2") for error messages.
// A module must not be used with a Params other than the one it registered in.

enum { NO_BIAS = 0, WITH_BIAS = 1 };

// y = x W^T + b. x (N,IN) -> (N,OUT). weight (OUT,IN), bias (OUT) or NULL.
typedef struct Linear {
    const char *name;
    Tensor *weight, *bias;
    int in, out;
} Linear;
void linear_init(Linear *m, Params *ps, const char *name, int in, int out, int bias, Rng *rng);
Tensor *linear_forward(const Linear *m, Tensor *x);

// Square-kernel convolution. x (N,C,H,W) -> (N,OC,HO,WO), HO = (H + 2 pad - K)/stride + 1.
// weight (OC,C,K,K), bias (OC) or NULL.
typedef struct Conv2d {
    const char *name;
    Tensor *weight, *bias;
    int in_ch, out_ch, k, stride, pad;
} Conv2d;
void conv2d_init(Conv2d *m, Params *ps, const char *name, int in_ch, int out_ch, int k, int stride,
                 int pad, int bias, Rng *rng);
Tensor *conv2d_forward(const Conv2d *m, Tensor *x);

// Transposed convolution (the "upsampling" layer of a DCGAN generator).
// x (N,C,H,W) -> (N,OC,HO,WO), HO = (H-1) stride - 2 pad + K + out_pad.
// weight (C,OC,K,K) as in PyTorch, bias (OC) or NULL.
typedef struct ConvTranspose2d {
    const char *name;
    Tensor *weight, *bias;
    int in_ch, out_ch, k, stride, pad, out_pad;
} ConvTranspose2d;
void conv_transpose2d_init(ConvTranspose2d *m, Params *ps, const char *name, int in_ch, int out_ch,
                           int k, int stride, int pad, int out_pad, int bias, Rng *rng);
Tensor *conv_transpose2d_forward(const ConvTranspose2d *m, Tensor *x);

// Batch norm per channel. x (N,C,H,W), or (N,C) with statistics over N only
// (BatchNorm1d). Mode from the owning Params' `training` flag.
// weight/bias (C) are parameters; running_mean/running_var (C) are buffers.
// momentum 0.1 and eps 1e-5 as in PyTorch; change the fields after init.
typedef struct BatchNorm2d {
    const char *name;
    Tensor *weight, *bias, *running_mean, *running_var;
    int channels;
    float momentum, eps;
    const Params *owner;  // where the train/eval flag is read
} BatchNorm2d;
void batch_norm2d_init(BatchNorm2d *m, Params *ps, const char *name, int channels);
Tensor *batch_norm2d_forward(const BatchNorm2d *m, Tensor *x);

// Layer norm over every dim but the batch: `shape` is x's shape without its
// first dim, e.g. (C,H,W) for a critic's feature maps (what WGAN-GP uses in
// place of batch norm). weight 1 and bias 0 of that shape; eps 1e-5.
typedef struct LayerNorm {
    const char *name;
    Tensor *weight, *bias;
    int ndim, shape[T_MAX_DIMS - 1];
    float eps;
} LayerNorm;
void layer_norm_init(LayerNorm *m, Params *ps, const char *name, int ndim, const int *shape);
Tensor *layer_norm_forward(const LayerNorm *m, Tensor *x);

// A learned vector per class: labels (N) holding class indices as floats ->
// (N,DIM). weight (NUM,DIM) from N(0,1).
typedef struct Embedding {
    const char *name;
    Tensor *weight;
    int num, dim;
} Embedding;
void embedding_init(Embedding *m, Params *ps, const char *name, int num, int dim, Rng *rng);
Tensor *embedding_forward(const Embedding *m, Tensor *labels);

#endif
