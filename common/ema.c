// ema.c: the moving average of a model's weights (ema.h).
//
// Devices: the averages live on the device of the model they follow. They
// are registered (and loaded from a checkpoint) wherever the registry puts
// them, usually the host; the first update or swap after the model moved to
// a GPU moves them there too (t_move_, once), and from then on the update is
// one kernel per tensor (the backend's ema; the CPU runs exercise 7.4) and a
// swap exchanges two device pointers. Nothing is copied to the host.
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
        t_copy_(e->avg[i], t);  // whatever devices the two live on
    }
}

// The averages follow the model to its device (see the top of the file).
static void follow_model(Ema *e) {
    for (int i = 0; i < e->count; i++)
        if (e->avg[i]->device != e->source->items[i].t->device) t_move_(e->avg[i], e->source->items[i].t->device);
}

void ema_update(Ema *e) {
    if (e->swapped) t_fatal("ema_update: called while the averages are swapped in\nHINT: call ema_swap again first");
    follow_model(e);
    for (int i = 0; i < e->count; i++) {
        const Param *p = &e->source->items[i];
        if (!param_is_trainable(p)) t_copy_(e->avg[i], p->t);  // buffers: copied as they are
        else if (p->t->device == DEV_CPU) ex_ema_update(e->avg[i]->data, p->t->data, p->t->numel, e->decay);  // 7.4
        else t_backend_of(p->t)->ema(e->avg[i]->data, p->t->data, p->t->numel, e->decay);
    }
}

void ema_swap(Ema *e) {
    follow_model(e);
    for (int i = 0; i < e->count; i++) {
        Tensor *t = e->source->items[i].t;
        float *d = t->data;
        t->data = e->avg[i]->data;
        e->avg[i]->data = d;
    }
    e->swapped = !e->swapped;
}
