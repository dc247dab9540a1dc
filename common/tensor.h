// tensor.h: the Tensor, the memory it lives in, and the autograd engine.
//
// A Tensor is a contiguous float32 array of up to 4 dimensions. Images are
// NCHW, vectors (N,F). Every tensor made during a training step comes from the
// *step arena*, a bump allocator that is reset once per iteration, so no op
// ever calls malloc. Parameters, their gradients and optimizer state come from
// the *persistent store* instead and live for the whole run.
//
// Devices: a tensor lives on one device (DEV_CPU or DEV_CUDA). Each device
// has its own step arena and persistent store, carved from that device's
// memory (on a GPU: a few large cudaMallocs, never one per op), and its own
// backend table of kernels (kernels.h). An op runs on its inputs' device and
// puts its result there. Creation functions without an input tensor
// (t_zeros, t_full, t_scalar, t_from_data, t_persistent, ...) use the
// *default device* (t_set_default_device; DEV_CPU until a program says
// otherwise). Host code reads or writes a tensor's values only through
// t_to(x, DEV_CPU), t_download, t_upload and t_item.
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

#include "kernels.h"  // Device, Backend

#define T_MAX_DIMS 4
#define T_MAX_INPUTS 3
#define T_MAX_IARGS 8
#define T_MAX_FARGS 4

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
    float *data;                    // memory of `device` (host memory only for DEV_CPU)
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

// The same per device (t_arena_alloc and t_persistent_alloc are the host's:
// tensor headers and host scratch always live there). Device memory comes
// from the device's backend (alloc) in chunks of 64 MiB for the arena and
// one block per tensor for the persistent store (zeroed); t_arena_reset
// rewinds every device's arena.
void *t_arena_alloc_on(Device d, size_t bytes);
void *t_persistent_alloc_on(Device d, size_t bytes);
size_t t_arena_used_on(Device d);
size_t t_persistent_used_on(Device d);
// Tests: with on = 1, every device (not host) arena allocation is a block of
// its own of exactly the size asked, freed at the next t_arena_reset, so an
// out-of-bounds access lands outside an allocation (the emulator's guard
// zones catch it) rather than in a neighbouring tensor.
void t_set_arena_exact(int on);

// ---------------------------------------------------------------------------
// Devices and backends

// The kernel table of a device. DEV_CPU's is built in; DEV_CUDA's is
// registered by a CUDA build (cuda_backend() from cuda/backend.cu) the first
// time it is asked for, or by a test (the emulated GPU). Fatal with a HINT
// when the device has none.
const Backend *t_backend(Device d);
const Backend *t_backend_of(const Tensor *x);  // t_backend(x->device)
void t_register_backend(Device d, const Backend *b);
// 1 when t_backend(d) would succeed: always for DEV_CPU; for DEV_CUDA, a
// CUDA build whose runtime reports a usable GPU (or a registered backend).
int t_device_available(Device d);
// 1 when this program was built with CUDA (make CUDA=1).
int t_built_with_cuda(void);
const char *t_device_name(Device d);  // "cpu", "cuda"

// Where creation functions without an input tensor allocate (DEV_CPU by default).
void t_set_default_device(Device d);
Device t_default_device(void);

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
Tensor *t_empty_on(Device d, int ndim, const int *shape);             // arena of device d
Tensor *t_persistent_on(Device d, const char *name, int ndim, const int *shape);  // zeroed, persistent on d

// The values of x on device d: x itself when it is there already, else a
// new arena tensor holding a copy (no graph). t_to(x, DEV_CPU)->data is how
// host code reads a tensor wherever it lives.
Tensor *t_to(Tensor *x, Device d);
// Moves a persistent tensor (a parameter, a buffer, optimizer state) and its
// .grad to device d in place: the Tensor keeps its address, so modules that
// hold it see the move (model.to(device)). The old memory is not reused.
void t_move_(Tensor *x, Device d);
// Host <-> tensor copies of all x->numel values, whatever x's device.
void t_download(const Tensor *x, float *host);
void t_upload(Tensor *x, const float *host);

// A new header over the same data, no graph: like torch's .detach().
Tensor *t_detach(Tensor *x);
// Copy values (same numel) from src into dst; no graph.
void t_copy_(Tensor *dst, const Tensor *src);
// Device tag handling: every tensor of one op must live on one device.
void t_check_same_device(const char *opname, const Tensor *a, const Tensor *b);

int t_same_shape(const Tensor *a, const Tensor *b);
const char *t_shape_str(const Tensor *x);  // "(64, 1, 32, 32)", static buffer ring
float t_item(const Tensor *x);              // value of a 1-element tensor (copied back from a GPU)
// x's shape padded on the left with 1s to 4 dims (the kernels' shape form).
void t_shape4(const Tensor *x, int *s4);

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

// Fatal error with a message and a HINT line. Exits with code 1 (declared in
// kernels.h, which kernels share).

#endif
