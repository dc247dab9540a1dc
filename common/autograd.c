// autograd.c: the reverse-mode engine.
//
// Backward = topological order, then a reverse loop. Concretely:
//   1. depth-first search from the outputs collects every node that requires
//      a gradient, inputs before the nodes made from them (post-order);
//   2. a node is *needed* if it is one of the targets (an input of t_grad, or
//      a leaf for t_backward) or if any of its inputs is needed: nothing else
//      has its backward called;
//   3. walking that list from the end, each needed node hands its accumulated
//      gradient to its op's backward, which returns one gradient per input;
//      those are added (+) into the inputs' accumulators, so a tensor used
//      twice (fan-out) needs no special case.
// With create_graph the additions and backwards record a graph of their own:
// the returned gradients can be differentiated again.
#include "tensor.h"
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grad_enabled = 1;

int t_grad_enabled(void) { return grad_enabled; }

int t_set_grad_enabled(int enabled) {
    int prev = grad_enabled;
    grad_enabled = enabled;
    return prev;
}

static Tensor *record(Tensor *out, const Op *op, Tensor **inputs, int n_inputs);

// The result lives on the device of the op's first input (every input of an
// op is on one device), or on the default device for an op without inputs.
Tensor *t_op_result(const Op *op, int ndim, const int *shape, Tensor **inputs, int n_inputs) {
    Device d = n_inputs > 0 && inputs[0] ? inputs[0]->device : t_default_device();
    return record(t_empty_on(d, ndim, shape), op, inputs, n_inputs);
}

Tensor *t_op_view(const Op *op, int ndim, const int *shape, Tensor **inputs, int n_inputs, float *data) {
    Tensor *out = t_header(ndim, shape);
    out->data = data;
    return record(out, op, inputs, n_inputs);
}

static Tensor *record(Tensor *out, const Op *op, Tensor **inputs, int n_inputs) {
    if (n_inputs > 0) out->device = inputs[0]->device;
    if (!grad_enabled) return out;
    int any = 0;
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] && inputs[i]->requires_grad) any = 1;
    if (!any) return out;
    out->requires_grad = 1;
    out->op = op;
    out->n_in = n_inputs;
    for (int i = 0; i < n_inputs; i++) out->in[i] = inputs[i];
    return out;
}

void t_not_twice_differentiable(const char *opname) {
    t_fatal("%s cannot be differentiated twice\n"
            "HINT: a gradient penalty (create_graph) cannot pass through %s; "
            "use layer norm or no normalization in the critic",
            opname, opname);
}

// ---------------------------------------------------------------------------
// Topological order. Visit stamps avoid clearing flags between calls: a node
// is visited in this pass iff mark>>1 == stamp; bit 0 says "needed".

static unsigned stamp;
static Tensor **order;
static size_t order_len, order_cap;

static void order_push(Tensor *t) {
    if (order_len == order_cap) {
        order_cap = order_cap ? 2 * order_cap : 1024;
        order = realloc(order, order_cap * sizeof(Tensor *));
        if (!order) t_fatal("out of memory sorting the autograd graph");
    }
    order[order_len++] = t;
}

static int visited(const Tensor *t) { return (t->mark >> 1) == stamp; }
static int needed(const Tensor *t) { return visited(t) && (t->mark & 1); }

// Iterative post-order DFS (deep graphs would overflow a recursive one).
typedef struct { Tensor *node; int next; } Frame;
static Frame *dfs_stack;
static size_t dfs_cap;

static void topo_from(Tensor *root) {
    if (!root->requires_grad || visited(root)) return;
    size_t sp = 0;
    if (dfs_cap == 0) {
        dfs_cap = 1024;
        dfs_stack = malloc(dfs_cap * sizeof(Frame));
    }
    dfs_stack[sp++] = (Frame){root, 0};
    root->mark = stamp << 1;
    while (sp) {
        Frame *f = &dfs_stack[sp - 1];
        Tensor *n = f->node;
        if (n->op && f->next < n->n_in) {
            Tensor *c = n->in[f->next++];
            if (c && c->requires_grad && !visited(c)) {
                c->mark = stamp << 1;
                if (sp == dfs_cap) {
                    dfs_cap *= 2;
                    dfs_stack = realloc(dfs_stack, dfs_cap * sizeof(Frame));
                    if (!dfs_stack) t_fatal("out of memory sorting the autograd graph");
                }
                dfs_stack[sp++] = (Frame){c, 0};
            }
        } else {
            order_push(n);
            sp--;
        }
    }
}

static int is_target(Tensor *t, Tensor **targets, int n_targets) {
    if (!targets) return t->op == NULL;  // t_backward: every leaf
    for (int i = 0; i < n_targets; i++)
        if (targets[i] == t) return 1;
    return 0;
}

int t_wants(const Tensor *out, int i) {
    Tensor *x = out->in[i];
    return x && x->requires_grad && needed(x);
}

static void accumulate(Tensor *t, Tensor *g) {
    if (!t_same_shape(t, g) && t->numel == g->numel) g = t_reshape(g, t->ndim, t->shape);
    if (!t_same_shape(t, g))
        t_fatal("internal: gradient of shape %s for a tensor of shape %s (op %s)",
                t_shape_str(g), t_shape_str(t), t->op ? t->op->name : "leaf");
    t->acc = t->acc ? t_add(t->acc, g) : g;
}

// The shared engine. targets == NULL means "all leaves" (t_backward).
static void run_backward(Tensor **outputs, Tensor **grad_outputs, int n_outputs,
                         Tensor **targets, int n_targets, int create_graph) {
    stamp++;
    if (stamp >= (1u << 30)) stamp = 1;  // marks of old tensors are stale; arena resets clear them anyway
    order_len = 0;
    for (int i = 0; i < n_outputs; i++) {
        if (!outputs[i]->requires_grad)
            t_fatal("gradient requested of a tensor that does not require one (shape %s)\n"
                    "HINT: no input of the computation that made it requires a gradient, "
                    "or it was made with gradients disabled",
                    t_shape_str(outputs[i]));
        topo_from(outputs[i]);
    }
    // Needed flags: order is post-order, so inputs come before their users.
    for (size_t k = 0; k < order_len; k++) {
        Tensor *n = order[k];
        int need = is_target(n, targets, n_targets);
        for (int i = 0; i < n->n_in && !need && n->op; i++)
            if (n->in[i] && needed(n->in[i])) need = 1;
        n->mark = (stamp << 1) | (unsigned)need;
        n->acc = NULL;
    }
    int prev = t_set_grad_enabled(create_graph);
    for (int i = 0; i < n_outputs; i++) {
        Tensor *g = grad_outputs && grad_outputs[i] ? grad_outputs[i] : t_ones_like(outputs[i]);
        accumulate(outputs[i], g);
    }
    for (size_t k = order_len; k-- > 0;) {
        Tensor *n = order[k];
        if (!n->op || !n->acc || !needed(n)) continue;
        Tensor *gin[T_MAX_INPUTS] = {0};
        n->op->backward(n, n->acc, gin);
        for (int i = 0; i < n->n_in; i++)
            if (gin[i] && t_wants(n, i)) accumulate(n->in[i], gin[i]);
    }
    t_set_grad_enabled(prev);
}

static void clear_acc(void) {
    for (size_t k = 0; k < order_len; k++) order[k]->acc = NULL;
}

void t_grad(Tensor **outputs, Tensor **grad_outputs, int n_outputs,
            Tensor **inputs, int n_inputs, int create_graph, Tensor **result) {
    for (int j = 0; j < n_inputs; j++)
        if (!inputs[j]->requires_grad)
            t_fatal("t_grad: input %d (shape %s) does not require a gradient\n"
                    "HINT: set requires_grad = 1 on it before computing the outputs",
                    j, t_shape_str(inputs[j]));
    run_backward(outputs, grad_outputs, n_outputs, inputs, n_inputs, create_graph);
    for (int j = 0; j < n_inputs; j++) {
        Tensor *a = visited(inputs[j]) ? inputs[j]->acc : NULL;
        result[j] = a ? a : t_zeros_like(inputs[j]);
    }
    clear_acc();
}

void t_backward(Tensor *loss) {
    if (loss->numel != 1)
        t_fatal("t_backward needs a scalar loss, got shape %s\nHINT: reduce it with t_mean or t_sum first",
                t_shape_str(loss));
    run_backward(&loss, NULL, 1, NULL, 0, 0);
    for (size_t k = 0; k < order_len; k++) {
        Tensor *n = order[k];
        if (n->op || !n->acc) continue;
        if (!n->grad) {
            n->grad = n->persistent ? t_persistent_on(n->device, NULL, n->ndim, n->shape) : t_zeros_like(n);
        }
        t_accumulate_(n->grad, n->acc);
    }
    clear_acc();
}

// ---------------------------------------------------------------------------
// Graph dump for teaching: `dot -Tpng graph.dot -o graph.png`.

static void dot_node(FILE *f, Tensor *t) {
    if (t->op)
        fprintf(f, "  n%p [label=\"%s\\n%s\", shape=box];\n", (void *)t, t->op->name, t_shape_str(t));
    else
        fprintf(f, "  n%p [label=\"%s\\n%s\", shape=ellipse%s];\n", (void *)t,
                t->name ? t->name : "leaf", t_shape_str(t), t->requires_grad ? ", style=bold" : "");
}

int t_dump_dot(Tensor *root, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "digraph autograd {\n  rankdir=BT;\n");
    stamp++;
    order_len = 0;
    topo_from(root);
    for (size_t k = 0; k < order_len; k++) {
        Tensor *n = order[k];
        dot_node(f, n);
        for (int i = 0; n->op && i < n->n_in; i++) {
            Tensor *c = n->in[i];
            if (!c) continue;
            if (!c->requires_grad) dot_node(f, c);
            fprintf(f, "  n%p -> n%p;\n", (void *)c, (void *)n);
        }
    }
    fprintf(f, "}\n");
    return fclose(f);
}
