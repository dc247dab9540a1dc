// ema.c: the moving average of a model's weights (ema.h).
#include "ema.h"

#include <string.h>

#include "ch07_modern_recipe/exercises.h"  // 7.4 ex_ema_update

void ema_init(Ema *e, Params *source, Params *registry, const char *prefix, float decay) {
    if (source->count > (int)(sizeof e->avg / sizeof e->avg[0]))
        t_fatal("ema_init: %d tensors in %s, at most %d\nHINT: raise Ema.avg's size in common/ema.h",
                source->count, source->prefix, (int)(sizeof e->avg / sizeof e->avg[0]));
    e->source = source;
    e->count = source->count;
    e->decay = decay;
    e->swapped = 0;
    for (int i = 0; i < source->count; i++) {
        const Tensor *t = source->items[i].t;
        e->avg[i] = params_add(registry, prefix, t->name, ROLE_BUFFER, t->ndim, t->shape);
        memcpy(e->avg[i]->data, t->data, sizeof(float) * (size_t)t->numel);
    }
}

void ema_update(Ema *e) {
    if (e->swapped) t_fatal("ema_update: called while the averages are swapped in\nHINT: call ema_swap again first");
    for (int i = 0; i < e->count; i++) {
        const Param *p = &e->source->items[i];
        if (param_is_trainable(p)) ex_ema_update(e->avg[i]->data, p->t->data, p->t->numel, e->decay);  // 7.4
        else memcpy(e->avg[i]->data, p->t->data, sizeof(float) * (size_t)p->t->numel);
    }
}

void ema_swap(Ema *e) {
    for (int i = 0; i < e->count; i++) {
        Tensor *t = e->source->items[i].t;
        float *d = t->data;
        t->data = e->avg[i]->data;
        e->avg[i]->data = d;
    }
    e->swapped = !e->swapped;
}
