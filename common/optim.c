// optim.c: SGD, Adam, RMSprop (torch.optim's single-tensor rules, 1.13) and
// weight clipping. Every update is elementwise, so splitting a tensor across
// threads changes nothing in the result: a run is bit-for-bit the same with
// 1 or 16 threads, and a resumed run equals an uninterrupted one.
#include "optim.h"

#include <stdio.h>
#include <string.h>

#include "exercises.h"

// Below this many values a tensor is updated by one thread: starting a team
// costs a few microseconds, about what 64K multiply-adds take.
#define PARALLEL_MIN 65536L
// Adam calls the student's ex_adam_step on chunks of this many values.
#define ADAM_CHUNK 16384L

static const char *kind_prefix(OptimKind kind) {
    return kind == OPTIM_SGD ? "sgd" : kind == OPTIM_ADAM ? "adam" : "rmsprop";
}

static int count_trainable(const Params *ps) {
    int n = 0;
    for (int i = 0; i < ps->count; i++) n += param_is_trainable(&ps->items[i]);
    return n;
}

// The common part of creation: parameter list, step counters and their
// names. State slots are added by add_state().
static Optimizer *optim_new(OptimKind kind, Params *ps, float lr, float weight_decay) {
    Optimizer *o = t_persistent_alloc(sizeof(Optimizer));  // zeroed
    o->kind = kind;
    o->lr = lr;
    o->weight_decay = weight_decay;
    o->params = ps;
    o->n = count_trainable(ps);
    if (o->n == 0)
        t_fatal("optimizer for %s: the model has no trainable parameters yet\n"
                "HINT: build the model (its *_init calls) before creating its optimizer",
                *ps->prefix ? ps->prefix : "a model");
    o->param = t_persistent_alloc((size_t)o->n * sizeof(Tensor *));
    o->steps = t_persistent_alloc((size_t)o->n * sizeof(int64_t));
    o->step_names = t_persistent_alloc((size_t)o->n * sizeof(char *));
    params_init(&o->state_params, "");
    for (int i = 0, k = 0; i < ps->count; i++) {
        if (!param_is_trainable(&ps->items[i])) continue;
        o->param[k] = ps->items[i].t;
        char buf[600];
        snprintf(buf, sizeof buf, "%s.%s_step", o->param[k]->name, kind_prefix(kind));
        char *name = t_persistent_alloc(strlen(buf) + 1);
        memcpy(name, buf, strlen(buf) + 1);
        o->step_names[k++] = name;
    }
    return o;
}

// One zeroed state tensor per parameter in `slot`, named "<param>.<kind>_<what>".
static void add_state(Optimizer *o, int slot, const char *what) {
    char suffix[64];
    snprintf(suffix, sizeof suffix, "%s_%s", kind_prefix(o->kind), what);
    o->state[slot] = t_persistent_alloc((size_t)o->n * sizeof(Tensor *));
    for (int i = 0; i < o->n; i++) {
        o->state[slot][i] = params_add(&o->state_params, o->param[i]->name, suffix, ROLE_BUFFER,
                                       o->param[i]->ndim, o->param[i]->shape);
        t_move_(o->state[slot][i], o->param[i]->device);  // state lives where its parameter does
    }
}

Optimizer *optim_sgd(Params *ps, float lr, float momentum, float weight_decay, int nesterov) {
    if (nesterov && momentum <= 0.0f)
        t_fatal("SGD: nesterov needs a momentum > 0 (got %g)\nHINT: set a momentum such as 0.9", momentum);
    Optimizer *o = optim_new(OPTIM_SGD, ps, lr, weight_decay);
    o->momentum = momentum;
    o->nesterov = nesterov;
    if (momentum != 0.0f) add_state(o, 0, "momentum_buffer");
    return o;
}

Optimizer *optim_adam(Params *ps, float lr, float beta1, float beta2, float eps, float weight_decay) {
    Optimizer *o = optim_new(OPTIM_ADAM, ps, lr, weight_decay);
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    add_state(o, 0, "exp_avg");
    add_state(o, 1, "exp_avg_sq");
    return o;
}

Optimizer *optim_rmsprop(Params *ps, float lr, float alpha, float eps, float weight_decay, float momentum,
                         int centered) {
    Optimizer *o = optim_new(OPTIM_RMSPROP, ps, lr, weight_decay);
    o->alpha = alpha;
    o->eps = eps;
    o->momentum = momentum;
    o->centered = centered;
    add_state(o, 0, "square_avg");
    if (momentum > 0.0f) add_state(o, 1, "momentum_buffer");
    if (centered) add_state(o, 2, "grad_avg");
    return o;
}

// ---------------------------------------------------------------------------
// The rules, one parameter tensor at a time, by the parameter's device's
// backend (kernels.h; the CPU's, in kernels_cpu.c, mirror torch/optim line
// by line). Adam on the CPU runs the student's ex_adam_step instead.

static float *state_data(const Optimizer *o, int slot, int i) { return o->state[slot] ? o->state[slot][i]->data : NULL; }

static void adam_update_exercise(const Optimizer *o, int i) {
    float *p = o->param[i]->data, *m = o->state[0][i]->data, *v = o->state[1][i]->data;
    const float *g = o->param[i]->grad->data;
    long n = o->param[i]->numel, chunks = (n + ADAM_CHUNK - 1) / ADAM_CHUNK;
    int t = (int)o->steps[i];
    // Exercise 0.4 does the arithmetic; it is elementwise, so chunks of one
    // tensor can go to different threads.
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
#endif
    for (long c = 0; c < chunks; c++) {
        long start = c * ADAM_CHUNK, len = n - start < ADAM_CHUNK ? n - start : ADAM_CHUNK;
        ex_adam_step(p + start, g + start, m + start, v + start, len, o->lr, o->beta1, o->beta2, o->eps,
                     o->weight_decay, t);
    }
}

static void update(const Optimizer *o, int i) {
    Tensor *p = o->param[i];
    const Backend *be = t_backend_of(p);
    const float *g = p->grad->data;
    switch (o->kind) {
    case OPTIM_SGD:
        be->sgd(p->data, g, state_data(o, 0, i), p->numel, o->lr, o->weight_decay, o->momentum, o->steps[i] == 1,
                o->nesterov);
        break;
    case OPTIM_ADAM:
        if (p->device == DEV_CPU) adam_update_exercise(o, i);  // exercise 0.4
        else be->adam(p->data, g, o->state[0][i]->data, o->state[1][i]->data, p->numel, o->lr, o->beta1, o->beta2,
                      o->eps, o->weight_decay, (int)o->steps[i]);
        break;
    case OPTIM_RMSPROP:
        be->rmsprop(p->data, g, o->state[0][i]->data, state_data(o, 1, i), state_data(o, 2, i), p->numel, o->lr,
                    o->weight_decay, o->alpha, o->eps, o->momentum);
        break;
    }
}

void optim_step(Optimizer *o) {
    if (count_trainable(o->params) != o->n)
        t_fatal("optimizer for %s was made for %d tensors, the model now has %d\n"
                "HINT: create the optimizer after the model is complete",
                *o->params->prefix ? o->params->prefix : "a model", o->n, count_trainable(o->params));
    for (int i = 0; i < o->n; i++) {
        if (!o->param[i]->grad) continue;  // never reached by a loss: PyTorch skips it too
        if (o->param[i]->grad->device != o->param[i]->device)
            t_fatal("optimizer: %s and its gradient live on different devices\n"
                    "HINT: move the model before the first backward (params_to_device)", o->param[i]->name);
        o->steps[i]++;
        update(o, i);
    }
}

void optim_zero_grad(Optimizer *o) { params_zero_grad(o->params); }

const char *optim_describe(const Optimizer *o, char *buf, int size) {
    switch (o->kind) {
    case OPTIM_SGD:
        snprintf(buf, (size_t)size, "SGD(lr=%g, momentum=%g, weight_decay=%g, nesterov=%d)", o->lr, o->momentum,
                 o->weight_decay, o->nesterov);
        break;
    case OPTIM_ADAM:
        snprintf(buf, (size_t)size, "Adam(lr=%g, betas=(%g, %g), eps=%g, weight_decay=%g)", o->lr, o->beta1,
                 o->beta2, o->eps, o->weight_decay);
        break;
    case OPTIM_RMSPROP:
        snprintf(buf, (size_t)size, "RMSprop(lr=%g, alpha=%g, eps=%g, weight_decay=%g, momentum=%g, centered=%d)",
                 o->lr, o->alpha, o->eps, o->weight_decay, o->momentum, o->centered);
        break;
    }
    return buf;
}

// WGAN (Arjovsky et al., 2017): after each critic update, clamp every weight
// to [-c, c], a crude way to keep the critic K-Lipschitz for some K.
void params_clip(Params *ps, float c) {
    for (int i = 0; i < ps->count; i++) {
        if (!param_is_trainable(&ps->items[i])) continue;
        Tensor *t = ps->items[i].t;
        t_backend_of(t)->clip(t->data, t->numel, c);
    }
}

void optim_to_device(Optimizer *o, Device d) { params_to_device(&o->state_params, d); }
