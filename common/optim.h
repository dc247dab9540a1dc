// optim.h: SGD, Adam and RMSprop with PyTorch's exact update rules, and the
// weight clipping of WGAN.
//
// An optimizer is created once for one model's registry:
//
//     Optimizer *opt_d = optim_adam(&d.params, 2e-4f, 0.5f, 0.999f, 1e-8f, 0.0f);
//     ...every step:
//     optim_zero_grad(opt_d);      // grads = 0
//     t_backward(loss_d);          // grads += d loss / d param
//     optim_step(opt_d);           // params -= update(grads, state)
//
// The arguments follow torch.optim's order (SGD's dampening is not offered:
// it is always 0). At creation it allocates, in the persistent store, the
// state its rule needs for every trainable tensor the registry holds at that
// moment (so build the model first); a step allocates nothing. The state is
// registered under names that extend the parameter's, as PyTorch's
// state_dict does ("D.conv2.weight.adam_exp_avg"), and each tensor has its
// own step count ("D.conv2.weight.adam_step"), which checkpoints save.
//
// A parameter whose .grad is NULL (no loss has reached it yet) is skipped:
// it does not move and its step count does not advance, as in PyTorch. Note
// that optim_zero_grad fills grads with 0 rather than dropping them (PyTorch's
// zero_grad(set_to_none=False)): a parameter reached once keeps being updated
// afterwards, with whatever its momentum says.
//
// The rules, with g the gradient, p the parameter, wd the weight decay (added
// to the gradient: L2, not AdamW's decoupled decay):
//   SGD      g += wd p; b = g on the first step, else b = momentum b + g;
//            nesterov: g = g + momentum b, else g = b (when momentum > 0);
//            p -= lr g
//   Adam     exercise 0.4 (ex_adam_step in exercises.h): m, v moving averages of
//            g and g^2, bias-corrected by 1 - beta^t, p -= lr m^ / (sqrt(v^) + eps)
//   RMSprop  g += wd p; s = alpha s + (1 - alpha) g^2;
//            centered: a = alpha a + (1 - alpha) g, d = sqrt(s - a^2) + eps,
//            else d = sqrt(s) + eps   (eps added AFTER the square root);
//            momentum > 0: b = momentum b + g / d, p -= lr b;  else p -= lr g / d
#ifndef GANBOOK_OPTIM_H
#define GANBOOK_OPTIM_H

#include <stdint.h>

#include "nn.h"

typedef enum { OPTIM_SGD, OPTIM_ADAM, OPTIM_RMSPROP } OptimKind;

// Up to three state tensors per parameter:
//   SGD:     [0] momentum_buffer (only when momentum > 0)
//   Adam:    [0] exp_avg (m), [1] exp_avg_sq (v)
//   RMSprop: [0] square_avg, [1] momentum_buffer (momentum > 0), [2] grad_avg (centered)
#define OPTIM_MAX_STATE 3

typedef struct Optimizer {
    OptimKind kind;
    // Hyperparameters: read at every step, so a schedule may change lr.
    float lr, weight_decay;
    float momentum;       // SGD, RMSprop
    int nesterov;         // SGD
    float beta1, beta2;   // Adam
    float alpha;          // RMSprop smoothing constant
    float eps;            // Adam, RMSprop
    int centered;         // RMSprop

    Params *params;       // the model's registry it updates
    int n;                // trainable tensors (fixed at creation)
    Tensor **param;       // [n] those tensors, in registry order
    Tensor **state[OPTIM_MAX_STATE];  // [slot][n], NULL where the rule needs no such slot
    int64_t *steps;       // [n] steps taken by each parameter (0: never stepped)
    const char **step_names;  // [n] "D.fc1.weight.adam_step"
    Params state_params;  // every state tensor, named, as buffers: what checkpoints save
} Optimizer;

// Creation (persistent; never freed). Defaults in PyTorch: SGD momentum 0;
// Adam betas (0.9, 0.999), eps 1e-8; RMSprop alpha 0.99, eps 1e-8.
Optimizer *optim_sgd(Params *ps, float lr, float momentum, float weight_decay, int nesterov);
Optimizer *optim_adam(Params *ps, float lr, float beta1, float beta2, float eps, float weight_decay);
Optimizer *optim_rmsprop(Params *ps, float lr, float alpha, float eps, float weight_decay, float momentum,
                         int centered);

// One update of every trainable parameter that has a .grad. Stops with a
// message if tensors were added to the registry after the optimizer was made.
void optim_step(Optimizer *opt);
// Fill the grads of the optimizer's parameters with 0 (params_zero_grad).
void optim_zero_grad(Optimizer *opt);
// "Adam(lr=0.0002, betas=(0.5, 0.999), eps=1e-08, weight_decay=0)": for banners and logs.
const char *optim_describe(const Optimizer *opt, char *buf, int size);

// Moves the optimizer's state to device d (with params_to_device on its
// model: optimizer state lives where its parameters do).
void optim_to_device(Optimizer *opt, Device d);

// WGAN weight clipping: clamp every trainable parameter of ps into [-c, c]
// (buffers such as running statistics are not touched).
void params_clip(Params *ps, float c);

#endif
