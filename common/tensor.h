// tensor.h: the Tensor, the memory it lives in, and the autograd engine.
//
// A Tensor is a contiguous float32 array of up to 4 dimensions. Images are
// NCHW, vectors (N,F). Every tensor made during a training step comes from the
// *step arena*, a bump allocator that is reset once per iteration, so no op
// ever calls malloc. Parameters, their gradients and optimizer state come from
// the *persistent store* instead and live for the whole run.
//
// Autograd: an op that produces a tensor from inputs that require gradients
// records itself (op, inputs, small arguments) on the result. t_grad() walks
// that graph backwards. Every op's backward is written with the library's own
// differentiable ops, so when create_graph is on, the gradient is itself a
// graph and can be differentiated again (WGAN-GP's gradient penalty).
#ifndef GANBOOK_TENSOR_H
#define GANBOOK_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define T_MAX_DIMS 4
#define T_MAX_INPUTS 3
#define T_MAX_IARGS 8
#define T_MAX_FARGS 4

typedef enum { DEV_CPU = 0, DEV_CUDA = 1 } Device;

typedef struct Tensor Tensor;

// An op: its name (for messages and graph dumps) and its backward. backward
// receives the op's output `out` and the gradient `gout` of the loss with
// respect to `out`; it writes into gin[i] the gradient with respect to input i
// (or leaves gin[i] NULL when input i does not require a gradient). It must
// build gin[i] only from differentiable library ops.
typedef struct Op {
    const char *name;
    void (*backward)(Tensor *out, Tensor *gout, Tensor **gin);
} Op;

struct Tensor {
    int ndim;
    int shape[T_MAX_DIMS];
    long numel;
    float *data;
    Device device;

    // autograd
    int requires_grad;
    Tensor *grad;                   // accumulated by t_backward (leaves only)
    const Op *op;                   // NULL for leaves
    Tensor *in[T_MAX_INPUTS];       // the op's inputs
    int n_in;
    int iarg[T_MAX_IARGS];          // small per-op arguments
    float farg[T_MAX_FARGS];
    Tensor *saved;                  // one extra tensor an op may keep (batch norm stats)

    const char *name;               // parameters: "D.conv2.weight"; others NULL
    int persistent;                 // 1: lives in the persistent store

    // engine scratch
    Tensor *acc;                    // gradient being accumulated during t_grad
    unsigned mark;                  // visit stamp for the topological sort
};

// ---------------------------------------------------------------------------
// Memory

// The step arena. Grows in large chunks on first use; t_arena_reset() makes
// all of it free again without returning it to the system, so from the second
// iteration on a training step allocates nothing.
void t_arena_reset(void);
size_t t_arena_used(void);      // bytes handed out since the last reset
size_t t_arena_capacity(void);  // bytes reserved from the system
void *t_arena_alloc(size_t bytes);  // 64-byte aligned, uninitialized

// Persistent store: memory that lives until exit (parameters, grads, optimizer
// state, fixed sample noise). Plain counted malloc; never called per op.
void *t_persistent_alloc(size_t bytes);
size_t t_persistent_used(void);

// ---------------------------------------------------------------------------
// Creation. Shapes are given as (ndim, d0, d1, ...). New data is uninitialized
// unless the name says otherwise.

Tensor *t_empty(int ndim, ...);                       // arena
Tensor *t_zeros(int ndim, ...);                       // arena
Tensor *t_full(float value, int ndim, ...);           // arena
Tensor *t_empty_shape(int ndim, const int *shape);    // arena
Tensor *t_zeros_like(const Tensor *x);                // arena
Tensor *t_ones_like(const Tensor *x);                 // arena
Tensor *t_empty_like(const Tensor *x);                // arena
Tensor *t_from_data(const float *values, int ndim, const int *shape);  // arena copy
Tensor *t_persistent(const char *name, int ndim, const int *shape);   // zeroed, persistent
Tensor *t_scalar(float value);                        // arena, shape (1)
Tensor *t_header(int ndim, const int *shape);         // arena header, data = NULL

// A new header over the same data, no graph: like torch's .detach().
Tensor *t_detach(Tensor *x);
// Copy values (same numel) from src into dst; no graph.
void t_copy_(Tensor *dst, const Tensor *src);
// Device tag handling: every tensor of one op must live on one device.
void t_check_same_device(const char *opname, const Tensor *a, const Tensor *b);

int t_same_shape(const Tensor *a, const Tensor *b);
const char *t_shape_str(const Tensor *x);  // "(64, 1, 32, 32)", static buffer ring
float t_item(const Tensor *x);              // value of a 1-element tensor

// ---------------------------------------------------------------------------
// Gradient mode. Ops record the graph only while gradients are enabled.

int t_grad_enabled(void);
int t_set_grad_enabled(int enabled);  // returns the previous value

// Result allocation for ops: allocates the output in the arena and, when
// gradients are on and any input requires them, records op and inputs.
Tensor *t_op_result(const Op *op, int ndim, const int *shape, Tensor **inputs, int n_inputs);
// The same over existing data (views such as reshape): allocates no data.
Tensor *t_op_view(const Op *op, int ndim, const int *shape, Tensor **inputs, int n_inputs, float *data);

// ---------------------------------------------------------------------------
// Autograd

// torch.autograd.grad: gradients of sum_i <grad_outputs[i], outputs[i]> with
// respect to inputs[j], written to result[j] (zeros when an input is not
// reached). grad_outputs may be NULL: ones for every output. With
// create_graph, the results are graph nodes that can be differentiated again.
void t_grad(Tensor **outputs, Tensor **grad_outputs, int n_outputs,
            Tensor **inputs, int n_inputs, int create_graph, Tensor **result);

// loss.backward(): accumulates d loss / d leaf into leaf->grad (persistent)
// for every leaf that requires gradients. Builds no graph.
void t_backward(Tensor *loss);

// Abort because `opname`'s backward cannot itself be differentiated.
void t_not_twice_differentiable(const char *opname);

// Write the graph that produced `root` in Graphviz DOT format.
int t_dump_dot(Tensor *root, const char *path);

// Fatal error with a message and a HINT line. Exits with code 1.
void t_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
