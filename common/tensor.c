// tensor.c: memory (step arena, persistent store) and tensor creation.
#include "tensor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void t_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

// ---------------------------------------------------------------------------
// Step arena: a list of big chunks. Allocation bumps an offset in the current
// chunk; when it is full we move to the next chunk (allocating one only the
// first time the step needs that much). Reset rewinds to the first chunk.

#define ARENA_CHUNK (64u << 20)  // 64 MiB: a DCGAN step at batch 128 fits in a few
#define ALIGN 64

typedef struct Chunk {
    char *base;
    size_t size, used;
    struct Chunk *next;
} Chunk;

static Chunk *arena_first, *arena_cur;
static size_t arena_reserved, arena_handed;

static Chunk *chunk_new(size_t size) {
    Chunk *c = malloc(sizeof(Chunk));
    if (!c) t_fatal("out of memory reserving the step arena\nHINT: use a smaller --batch");
    c->base = aligned_alloc(ALIGN, size);
    if (!c->base) t_fatal("out of memory reserving %zu MiB for the step arena\nHINT: use a smaller --batch", size >> 20);
    c->size = size;
    c->used = 0;
    c->next = NULL;
    arena_reserved += size;
    return c;
}

void *t_arena_alloc(size_t bytes) {
    bytes = (bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (!arena_first) arena_first = arena_cur = chunk_new(ARENA_CHUNK);
    while (arena_cur->used + bytes > arena_cur->size) {
        if (!arena_cur->next) {
            size_t size = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
            arena_cur->next = chunk_new(size);
        }
        arena_cur = arena_cur->next;
        arena_cur->used = 0;
    }
    void *p = arena_cur->base + arena_cur->used;
    arena_cur->used += bytes;
    arena_handed += bytes;
    return p;
}

void t_arena_reset(void) {
    for (Chunk *c = arena_first; c; c = c->next) c->used = 0;
    arena_cur = arena_first;
    arena_handed = 0;
}

size_t t_arena_used(void) { return arena_handed; }
size_t t_arena_capacity(void) { return arena_reserved; }

static size_t persistent_bytes;

// Every block is chained into a list headed by a global, so the store stays
// reachable until exit: a leak checker (DEBUG=1) sees memory in use, not lost.
typedef struct PersistentBlock { struct PersistentBlock *next; } PersistentBlock;
static PersistentBlock *persistent_blocks;

void *t_persistent_alloc(size_t bytes) {
    bytes = (bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    char *p = aligned_alloc(ALIGN, ALIGN + (bytes ? bytes : ALIGN));  // an ALIGN-byte header keeps the data aligned
    if (!p) t_fatal("out of memory (%zu bytes for parameters/state)", bytes);
    memset(p + ALIGN, 0, bytes);
    ((PersistentBlock *)p)->next = persistent_blocks;
    persistent_blocks = (PersistentBlock *)p;
    persistent_bytes += bytes;
    return p + ALIGN;
}

size_t t_persistent_used(void) { return persistent_bytes; }

// ---------------------------------------------------------------------------
// Creation

static Tensor *header_new(int ndim, const int *shape, int persistent) {
    if (ndim < 1 || ndim > T_MAX_DIMS) t_fatal("tensor with %d dims: the library supports 1 to %d", ndim, T_MAX_DIMS);
    Tensor *t = persistent ? t_persistent_alloc(sizeof(Tensor)) : t_arena_alloc(sizeof(Tensor));
    memset(t, 0, sizeof(Tensor));
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1) t_fatal("tensor dimension %d has size %d", i, shape[i]);
        t->shape[i] = shape[i];
        t->numel *= shape[i];
    }
    t->persistent = persistent;
    t->device = DEV_CPU;
    return t;
}

Tensor *t_header(int ndim, const int *shape) { return header_new(ndim, shape, 0); }

Tensor *t_empty_shape(int ndim, const int *shape) {
    Tensor *t = header_new(ndim, shape, 0);
    t->data = t_arena_alloc((size_t)t->numel * sizeof(float));
    return t;
}

static void shape_from_va(int ndim, va_list ap, int *shape) {
    if (ndim < 1 || ndim > T_MAX_DIMS) t_fatal("tensor with %d dims: the library supports 1 to %d", ndim, T_MAX_DIMS);
    for (int i = 0; i < ndim; i++) shape[i] = va_arg(ap, int);
}

Tensor *t_empty(int ndim, ...) {
    int shape[T_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    shape_from_va(ndim, ap, shape);
    va_end(ap);
    return t_empty_shape(ndim, shape);
}

static void fill(Tensor *t, float v) {
    for (long i = 0; i < t->numel; i++) t->data[i] = v;
}

Tensor *t_zeros(int ndim, ...) {
    int shape[T_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    shape_from_va(ndim, ap, shape);
    va_end(ap);
    Tensor *t = t_empty_shape(ndim, shape);
    memset(t->data, 0, (size_t)t->numel * sizeof(float));
    return t;
}

Tensor *t_full(float value, int ndim, ...) {
    int shape[T_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    shape_from_va(ndim, ap, shape);
    va_end(ap);
    Tensor *t = t_empty_shape(ndim, shape);
    fill(t, value);
    return t;
}

Tensor *t_empty_like(const Tensor *x) { return t_empty_shape(x->ndim, x->shape); }

Tensor *t_zeros_like(const Tensor *x) {
    Tensor *t = t_empty_like(x);
    memset(t->data, 0, (size_t)t->numel * sizeof(float));
    return t;
}

Tensor *t_ones_like(const Tensor *x) {
    Tensor *t = t_empty_like(x);
    fill(t, 1.0f);
    return t;
}

Tensor *t_from_data(const float *values, int ndim, const int *shape) {
    Tensor *t = t_empty_shape(ndim, shape);
    memcpy(t->data, values, (size_t)t->numel * sizeof(float));
    return t;
}

Tensor *t_scalar(float value) {
    int one = 1;
    Tensor *t = t_empty_shape(1, &one);
    t->data[0] = value;
    return t;
}

Tensor *t_persistent(const char *name, int ndim, const int *shape) {
    Tensor *t = header_new(ndim, shape, 1);
    t->data = t_persistent_alloc((size_t)t->numel * sizeof(float));
    t->name = name;
    return t;
}

Tensor *t_detach(Tensor *x) {
    Tensor *t = header_new(x->ndim, x->shape, 0);
    t->data = x->data;
    t->device = x->device;
    return t;
}

void t_copy_(Tensor *dst, const Tensor *src) {
    if (dst->numel != src->numel)
        t_fatal("copy of %ld values into a tensor of %ld", src->numel, dst->numel);
    memcpy(dst->data, src->data, (size_t)src->numel * sizeof(float));
}

void t_check_same_device(const char *opname, const Tensor *a, const Tensor *b) {
    if (a->device != b->device)
        t_fatal("%s: inputs live on different devices (%s and %s)\nHINT: move both to one device first",
                opname, a->device == DEV_CPU ? "cpu" : "cuda", b->device == DEV_CPU ? "cpu" : "cuda");
}

int t_same_shape(const Tensor *a, const Tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *t_shape_str(const Tensor *x) {
    static char ring[8][64];
    static int k;
    char *s = ring[k++ & 7];
    int n = snprintf(s, 64, "(");
    for (int i = 0; i < x->ndim; i++)
        n += snprintf(s + n, 64 - n, i ? ", %d" : "%d", x->shape[i]);
    snprintf(s + n, 64 - n, ")");
    return s;
}

float t_item(const Tensor *x) {
    if (x->numel != 1) t_fatal("t_item on a tensor of shape %s: it needs exactly one element", t_shape_str(x));
    return x->data[0];
}
