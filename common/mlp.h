// mlp.h: a multilayer perceptron, the network of the first chapters.
//
// An Mlp is a stack of Linear layers given by their sizes, e.g.
// {2, 128, 128, 128, 1}: 2 inputs, three hidden layers of 128, 1 output.
// Every hidden layer is followed by the same activation; the last layer by
// its own (often none: a discriminator returns a logit, not a probability).
//
//     Mlp g;
//     params_init(&params, "G");
//     mlp_init(&g, &params, (int[]){2, 128, 128, 128, 2}, 5, ACT_RELU, ACT_NONE, &rng);
//     Tensor *x = mlp_forward(&g, z);      // z (B, 2) -> x (B, 2)
//
// The layers register as "<prefix>.fc1.weight", "<prefix>.fc1.bias", ...
// and start as PyTorch's nn.Linear does (nn.h).
#ifndef GANBOOK_MLP_H
#define GANBOOK_MLP_H

#include "nn.h"

#define MLP_MAX_LAYERS 8

typedef enum {
    ACT_NONE,        // identity
    ACT_RELU,        // max(x, 0)
    ACT_LEAKY_RELU,  // x > 0 ? x : slope x  (slope 0.2 unless changed after init)
    ACT_TANH,        // squashes to (-1, 1): the range of images scaled to [-1, 1]
    ACT_SIGMOID,     // squashes to (0, 1)
} Activation;

typedef struct {
    Linear layers[MLP_MAX_LAYERS];
    int n_layers;
    int sizes[MLP_MAX_LAYERS + 1];  // sizes[0] inputs ... sizes[n_layers] outputs
    Activation hidden, output;
    float slope;                    // for ACT_LEAKY_RELU
} Mlp;

// sizes[0..n_sizes): the input size, each hidden size, the output size
// (2 <= n_sizes <= MLP_MAX_LAYERS + 1).
void mlp_init(Mlp *m, Params *ps, const int *sizes, int n_sizes, Activation hidden, Activation output, Rng *rng);
// x (B, sizes[0]) -> (B, sizes[n_layers]).
Tensor *mlp_forward(const Mlp *m, Tensor *x);
// "2-128-128-128-2, ReLU, linear output": for banners and READMEs.
const char *mlp_describe(const Mlp *m, char *buf, int size);

Tensor *activation_forward(Activation a, Tensor *x, float slope);
const char *activation_name(Activation a);

#endif
