// ops_loss.c: binary cross entropy with logits, the loss of chapters 1-3 and 6.
//
// Forward: on the CPU the value comes from exercise 0.3
// (ex_bce_with_logits_forward in solutions/lib_losses.c), so a build against
// exercises/ trains with the student's loss; on a GPU from the backend's
// kernel (the same formula, the CPU backend's is its reference). Per element, with s = sigmoid(x):
//   l(x, y) = -[y log s + (1 - y) log(1 - s)] = max(x,0) - x y + log(1 + exp(-|x|))
// and the op returns the mean over the n elements, shape (1).
// Backward: the derivatives are short and tidy,
//   dl/dx = s - y        dl/dy = -x
// (the log terms cancel against sigmoid's own derivative), and are written
// with library ops, so the loss can be differentiated twice.
#include "ops.h"
#include "exercises.h"

// g (1): the upstream gradient of the mean.
static void bce_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *x = out->in[0], *y = out->in[1];
    Tensor *g_over_n = t_mul_scalar(g, 1.0f / (float)x->numel);     // d mean / d l_i = 1/n
    if (t_wants(out, 0)) gin[0] = t_mul(t_sub(t_sigmoid(x), y), g_over_n);  // (s - y) g / n
    if (t_wants(out, 1)) gin[1] = t_mul(t_neg(x), g_over_n);                // -x g / n
}
static const Op OP_BCE_WITH_LOGITS = {"bce_with_logits", bce_backward};

// Can `small` be broadcast up to `big` (numpy rules, right-aligned)?
static int broadcasts_to(const Tensor *small, const Tensor *big) {
    if (small->ndim > big->ndim) return 0;
    for (int i = 0; i < small->ndim; i++) {
        int d = small->shape[small->ndim - 1 - i];
        if (d != 1 && d != big->shape[big->ndim - 1 - i]) return 0;
    }
    return 1;
}

// logits (any shape), targets (same shape, or broadcastable to it, e.g. (1)
// for "all real") -> (1)
Tensor *t_bce_with_logits(Tensor *logits, Tensor *targets) {
    t_check_same_device("bce_with_logits", logits, targets);
    if (!t_same_shape(logits, targets)) {
        if (!broadcasts_to(targets, logits))
            t_fatal("bce_with_logits: targets %s do not match logits %s\n"
                    "HINT: give targets the logits' shape (t_reshape), or a single value to broadcast",
                    t_shape_str(targets), t_shape_str(logits));
        // Materialized so the exercise sees two arrays of n values; the
        // expand is an op, so a gradient for targets still flows back.
        targets = t_expand(targets, logits->ndim, logits->shape);
    }
    int one = 1;
    Tensor *in[2] = {logits, targets};
    Tensor *out = t_op_result(&OP_BCE_WITH_LOGITS, 1, &one, in, 2);
    if (logits->device == DEV_CPU)
        out->data[0] = (float)ex_bce_with_logits_forward(logits->data, targets->data, logits->numel);  // exercise 0.3
    else
        t_backend_of(logits)->bce_with_logits(logits->data, targets->data, logits->numel, out->data);
    return out;
}
