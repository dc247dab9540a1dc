// tensor.c: devices and their backend tables, memory (a step arena and a
// persistent store per device) and tensor creation.
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
// Devices and backends

static const Backend *backends[DEV_COUNT] = {&backend_cpu, NULL};
static Device default_device = DEV_CPU;

// cuda/backend.cu: the table, and whether the runtime reports a usable GPU.
// Weak references: a CUDA build links backend.cu's object (the Makefile
// forces it in with -Wl,-u,cuda_backend, from libganbook_cuda.a made by nvcc,
// or from libganbook_cuda_emu.a, the emulated GPU of the tests); a CPU-only
// build leaves both NULL. So the C objects are the same in both builds.
extern const Backend *cuda_backend(void) __attribute__((weak));
extern int cuda_device_available(void) __attribute__((weak));

int t_built_with_cuda(void) { return cuda_backend != NULL; }

const char *t_device_name(Device d) { return d == DEV_CPU ? "cpu" : "cuda"; }

void t_register_backend(Device d, const Backend *b) { backends[d] = b; }

int t_device_available(Device d) {
    if (backends[d]) return 1;
    return d == DEV_CUDA && cuda_backend && cuda_device_available && cuda_device_available();
}

const Backend *t_backend(Device d) {
    if (backends[d]) return backends[d];
    if (t_device_available(d)) return backends[d] = cuda_backend();
    t_fatal("a tensor lives on the %s, but %s\nHINT: run with --device cpu", t_device_name(d),
            t_built_with_cuda() ? "no CUDA GPU is available" : "this program was built without CUDA");
}

const Backend *t_backend_of(const Tensor *x) { return t_backend(x->device); }

void t_set_default_device(Device d) {
    t_backend(d);  // fails here, with its message, rather than at the first tensor
    default_device = d;
}

Device t_default_device(void) { return default_device; }

// ---------------------------------------------------------------------------
// Step arena: per device, a list of big chunks. Allocation bumps an offset in
// the current chunk; when it is full we move to the next chunk (allocating
// one only the first time the step needs that much). Reset rewinds to the
// first chunk. Host chunks come from aligned_alloc, a GPU's from its
// backend's alloc (cudaMalloc): a few per run, never one per op.

#define ARENA_CHUNK (64u << 20)  // 64 MiB: a DCGAN step at batch 128 fits in a few
#define ALIGN 64                 // host: a cache line
#define DEVICE_ALIGN 256         // GPU: cudaMalloc's alignment, so kernels may use vector loads

typedef struct Chunk {
    char *base;
    size_t size, used;
    struct Chunk *next;
} Chunk;

typedef struct {
    Chunk *first, *cur;
    size_t reserved, handed;
} Arena;

static Arena arenas[DEV_COUNT];

static Chunk *chunk_new(Device d, size_t size) {
    Chunk *c = malloc(sizeof(Chunk));
    if (!c) t_fatal("out of memory reserving the step arena\nHINT: use a smaller --batch");
    if (d == DEV_CPU) {
        c->base = aligned_alloc(ALIGN, size);
        if (!c->base)
            t_fatal("out of memory reserving %zu MiB for the step arena\nHINT: use a smaller --batch", size >> 20);
    } else {
        c->base = t_backend(d)->alloc(size);
    }
    c->size = size;
    c->used = 0;
    c->next = NULL;
    arenas[d].reserved += size;
    return c;
}

// Exact mode (tests): every device allocation of a step is a block of its
// own, of exactly the size asked, released at the next reset. Slow, but a
// kernel that writes or reads past a tensor's end then hits the end of an
// allocation, where the emulator's guard zones (or compute-sanitizer) see it,
// instead of the neighbouring tensor in a chunk.
static int arena_exact;
typedef struct ExactBlock {
    void *p;
    struct ExactBlock *next;
} ExactBlock;
static ExactBlock *exact_blocks[DEV_COUNT];

void t_set_arena_exact(int on) { arena_exact = on; }

void *t_arena_alloc_on(Device d, size_t bytes) {
    if (arena_exact && d != DEV_CPU) {
        ExactBlock *b = malloc(sizeof *b);
        if (!b) t_fatal("out of memory");
        b->p = t_backend(d)->alloc(bytes);
        b->next = exact_blocks[d];
        exact_blocks[d] = b;
        arenas[d].handed += bytes;
        return b->p;
    }
    Arena *a = &arenas[d];
    size_t align = d == DEV_CPU ? ALIGN : DEVICE_ALIGN;
    bytes = (bytes + align - 1) & ~(size_t)(align - 1);
    if (!a->first) a->first = a->cur = chunk_new(d, ARENA_CHUNK);
    while (a->cur->used + bytes > a->cur->size) {
        if (!a->cur->next) {
            size_t size = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
            a->cur->next = chunk_new(d, size);
        }
        a->cur = a->cur->next;
        a->cur->used = 0;
    }
    void *p = a->cur->base + a->cur->used;
    a->cur->used += bytes;
    a->handed += bytes;
    return p;
}

void *t_arena_alloc(size_t bytes) { return t_arena_alloc_on(DEV_CPU, bytes); }

void t_arena_reset(void) {
    for (int d = 0; d < DEV_COUNT; d++) {
        while (exact_blocks[d]) {
            ExactBlock *b = exact_blocks[d];
            exact_blocks[d] = b->next;
            t_backend((Device)d)->release(b->p);
            free(b);
        }
        Arena *a = &arenas[d];
        for (Chunk *c = a->first; c; c = c->next) c->used = 0;
        a->cur = a->first;
        a->handed = 0;
    }
}

size_t t_arena_used(void) { return arenas[DEV_CPU].handed; }
size_t t_arena_capacity(void) { return arenas[DEV_CPU].reserved; }
size_t t_arena_used_on(Device d) { return arenas[d].handed; }

static size_t persistent_bytes[DEV_COUNT];

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
    persistent_bytes[DEV_CPU] += bytes;
    return p + ALIGN;
}

// On a GPU: one zeroed block per tensor, made while a model is built (or
// moved), never during a step; it lives until exit like the host store.
void *t_persistent_alloc_on(Device d, size_t bytes) {
    if (d == DEV_CPU) return t_persistent_alloc(bytes);
    const Backend *be = t_backend(d);
    bytes = (bytes + DEVICE_ALIGN - 1) & ~(size_t)(DEVICE_ALIGN - 1);
    void *p = be->alloc(bytes ? bytes : DEVICE_ALIGN);
    be->zero(p, bytes);
    persistent_bytes[d] += bytes;
    return p;
}

size_t t_persistent_used(void) { return persistent_bytes[DEV_CPU]; }
size_t t_persistent_used_on(Device d) { return persistent_bytes[d]; }

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

Tensor *t_empty_on(Device d, int ndim, const int *shape) {
    Tensor *t = header_new(ndim, shape, 0);
    t->device = d;
    t->data = t_arena_alloc_on(d, (size_t)t->numel * sizeof(float));
    return t;
}

Tensor *t_empty_shape(int ndim, const int *shape) { return t_empty_on(default_device, ndim, shape); }

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

static void zero(Tensor *t) { t_backend_of(t)->zero(t->data, (size_t)t->numel * sizeof(float)); }
static void fill(Tensor *t, float v) { t_backend_of(t)->fill(t->data, t->numel, v); }

Tensor *t_zeros(int ndim, ...) {
    int shape[T_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    shape_from_va(ndim, ap, shape);
    va_end(ap);
    Tensor *t = t_empty_shape(ndim, shape);
    zero(t);
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

Tensor *t_empty_like(const Tensor *x) { return t_empty_on(x->device, x->ndim, x->shape); }

Tensor *t_zeros_like(const Tensor *x) {
    Tensor *t = t_empty_like(x);
    zero(t);
    return t;
}

Tensor *t_ones_like(const Tensor *x) {
    Tensor *t = t_empty_like(x);
    fill(t, 1.0f);
    return t;
}

Tensor *t_from_data(const float *values, int ndim, const int *shape) {
    Tensor *t = t_empty_shape(ndim, shape);
    t_upload(t, values);
    return t;
}

Tensor *t_scalar(float value) {
    int one = 1;
    Tensor *t = t_empty_shape(1, &one);
    if (t->device == DEV_CPU) t->data[0] = value;
    else t_upload(t, &value);
    return t;
}

Tensor *t_persistent_on(Device d, const char *name, int ndim, const int *shape) {
    Tensor *t = header_new(ndim, shape, 1);
    t->device = d;
    t->data = t_persistent_alloc_on(d, (size_t)t->numel * sizeof(float));
    t->name = name;
    return t;
}

Tensor *t_persistent(const char *name, int ndim, const int *shape) {
    return t_persistent_on(default_device, name, ndim, shape);
}

Tensor *t_detach(Tensor *x) {
    Tensor *t = header_new(x->ndim, x->shape, 0);
    t->data = x->data;
    t->device = x->device;
    return t;
}

// Between two devices one of them is the host (two GPUs are not supported).
static void copy_values(float *dst, Device dd, const float *src, Device sd, long n) {
    size_t bytes = (size_t)n * sizeof(float);
    if (dd == sd) t_backend(dd)->copy(dst, src, bytes);
    else if (sd == DEV_CPU) t_backend(dd)->upload(dst, src, bytes);
    else if (dd == DEV_CPU) t_backend(sd)->download(dst, src, bytes);
    else t_fatal("copy between two GPUs is not supported");
}

void t_copy_(Tensor *dst, const Tensor *src) {
    if (dst->numel != src->numel)
        t_fatal("copy of %ld values into a tensor of %ld", src->numel, dst->numel);
    copy_values(dst->data, dst->device, src->data, src->device, src->numel);
}

void t_download(const Tensor *x, float *host) { copy_values(host, DEV_CPU, x->data, x->device, x->numel); }
void t_upload(Tensor *x, const float *host) { copy_values(x->data, x->device, host, DEV_CPU, x->numel); }

Tensor *t_to(Tensor *x, Device d) {
    if (x->device == d) return x;
    Tensor *t = t_empty_on(d, x->ndim, x->shape);
    copy_values(t->data, d, x->data, x->device, x->numel);
    return t;
}

void t_move_(Tensor *x, Device d) {
    if (!x->persistent) t_fatal("t_move_: only persistent tensors move in place (shape %s)", t_shape_str(x));
    if (x->device == d) return;
    float *data = t_persistent_alloc_on(d, (size_t)x->numel * sizeof(float));
    copy_values(data, d, x->data, x->device, x->numel);
    x->data = data;
    x->device = d;
    if (x->grad) t_move_(x->grad, d);
}

void t_check_same_device(const char *opname, const Tensor *a, const Tensor *b) {
    if (a->device != b->device)
        t_fatal("%s: inputs live on different devices (%s and %s)\nHINT: move both to one device first",
                opname, t_device_name(a->device), t_device_name(b->device));
}

int t_same_shape(const Tensor *a, const Tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

void t_shape4(const Tensor *x, int *s4) {
    int pad = 4 - x->ndim;
    for (int i = 0; i < 4; i++) s4[i] = i < pad ? 1 : x->shape[i - pad];
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
    if (x->device == DEV_CPU) return x->data[0];
    float v;
    t_download(x, &v);
    return v;
}
