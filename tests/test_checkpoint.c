// test_checkpoint.c: checkpoints save everything and resume exactly, and
// every bad file is refused with a clear message while the live run stays
// untouched.
//
//   round trip:  parameters, buffers, optimizer state, step counts, the step
//                and the Rng come back bit for bit (memcmp);
//   resume:      k steps + save + load into a differently initialized model
//                + k steps == 2k uninterrupted steps, bit for bit, for Adam,
//                SGD (nesterov) and RMSprop (centered, momentum);
//   bad files:   missing, empty, cut short at many points, garbage, a PNG,
//                text, a flipped byte, another format version, extra bytes,
//                another model (other shapes, other names, other optimizer):
//                each returns its status and a message with a HINT, and the
//                live state is unchanged byte for byte.
// Temporary files go to tests/tmp/ (git-ignored), named after this test and
// its process id, and are removed at the end.
#include "check.h"
#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// A tiny model: Linear(3,H) -> BatchNorm (buffers!) -> leaky ReLU -> Linear(H,1)

typedef struct {
    Params params;
    Linear fc1, fc2;
    BatchNorm2d bn1;
} Mlp;

static void mlp_build(Mlp *m, const char *prefix, int hidden, uint64_t seed) {
    Rng init;
    rng_seed(&init, seed);
    params_init(&m->params, prefix);
    linear_init(&m->fc1, &m->params, "fc1", 3, hidden, WITH_BIAS, &init);
    batch_norm2d_init(&m->bn1, &m->params, "bn1", hidden);
    linear_init(&m->fc2, &m->params, "fc2", hidden, 1, WITH_BIAS, &init);
}

static Tensor *mlp_forward(Mlp *m, Tensor *x) {
    Tensor *h = t_leaky_relu(batch_norm2d_forward(&m->bn1, linear_forward(&m->fc1, x)), 0.2f);
    return linear_forward(&m->fc2, h);
}

// One step on a fresh batch drawn from `rng`: is the product x0*x1 positive?
static void train_step(Mlp *m, Optimizer *opt, Rng *rng) {
    t_arena_reset();
    Tensor *x = t_empty(2, 32, 3), *y = t_empty(2, 32, 1);
    rng_fill_normal(rng, x, 0.0f, 1.0f);
    for (int n = 0; n < 32; n++) y->data[n] = x->data[3 * n] * x->data[3 * n + 1] > 0;
    Tensor *loss = t_bce_with_logits(mlp_forward(m, x), y);
    optim_zero_grad(opt);
    t_backward(loss);
    optim_step(opt);
}

typedef enum { USE_ADAM, USE_SGD, USE_RMSPROP } Which;

static Optimizer *make_opt(Which w, Params *ps) {
    switch (w) {
    case USE_ADAM: return optim_adam(ps, 1e-2f, 0.5f, 0.999f, 1e-8f, 1e-4f);
    case USE_SGD: return optim_sgd(ps, 0.05f, 0.9f, 1e-4f, 1);
    case USE_RMSPROP: return optim_rmsprop(ps, 1e-3f, 0.99f, 1e-8f, 0.0f, 0.5f, 1);
    }
    return NULL;
}

// ---------------------------------------------------------------------------
// Snapshots of the whole live state, to prove a failed load changed nothing.

typedef struct {
    unsigned char *bytes;
    size_t size;
} Snapshot;

static void snap_add(Snapshot *s, const void *p, size_t n) {
    s->bytes = realloc(s->bytes, s->size + n);
    memcpy(s->bytes + s->size, p, n);
    s->size += n;
}

static Snapshot snapshot(const Checkpoint *ck) {
    Snapshot s = {NULL, 0};
    for (int g = 0; g < ck->n_params; g++)
        for (int i = 0; i < ck->params[g]->count; i++) {
            Tensor *t = ck->params[g]->items[i].t;
            snap_add(&s, t->data, (size_t)t->numel * sizeof(float));
        }
    for (int g = 0; g < ck->n_optims; g++) {
        Optimizer *o = ck->optims[g];
        for (int i = 0; i < o->state_params.count; i++) {
            Tensor *t = o->state_params.items[i].t;
            snap_add(&s, t->data, (size_t)t->numel * sizeof(float));
        }
        snap_add(&s, o->steps, (size_t)o->n * sizeof(int64_t));
    }
    if (ck->rng) {
        uint8_t b[RNG_STATE_BYTES];
        rng_serialize(ck->rng, b);
        snap_add(&s, b, sizeof b);
    }
    snap_add(&s, &ck->step, sizeof ck->step);
    return s;
}

static int snapshot_equal(Snapshot a, Snapshot b) { return a.size == b.size && memcmp(a.bytes, b.bytes, a.size) == 0; }

// ---------------------------------------------------------------------------
// Files

static char tmp_dir[] = "tests/tmp";
static int pid;

static const char *tmp_path(const char *what) {
    static char ring[8][256];
    static int k;
    char *p = ring[k++ & 7];
    snprintf(p, 256, "%s/test_checkpoint.%d.%s", tmp_dir, pid, what);
    return p;
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*size + 1);
    if (fread(b, 1, *size, f) != *size) *size = 0;
    fclose(f);
    return b;
}

static void write_all(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) t_fatal("test: cannot write %s", path);
    fclose(f);
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

// ---------------------------------------------------------------------------
// Round trip

static void bits_equal(const char *what, const Tensor *a, const Tensor *b) {
    check(a->numel == b->numel && memcmp(a->data, b->data, (size_t)a->numel * sizeof(float)) == 0,
          "%s: bit-exact", what);
}

static void round_trip(void) {
    Rng rng1, rng2;
    rng_seed(&rng1, 77);
    rng_seed(&rng2, 78);
    Mlp a, b;
    mlp_build(&a, "C", 16, 1);
    mlp_build(&b, "C", 16, 2);
    Optimizer *oa = make_opt(USE_ADAM, &a.params), *ob = make_opt(USE_ADAM, &b.params);
    for (int i = 0; i < 3; i++) train_step(&a, oa, &rng1);
    rng_normal(&rng1);  // leave a cached Box-Muller spare in the state
    Checkpoint ck;
    ckpt_init(&ck, "test_checkpoint round trip --hidden 16", &rng1);
    ckpt_add_params(&ck, &a.params);
    ckpt_add_optimizer(&ck, oa);
    ck.step = 1234567890123LL;
    const char *path = tmp_path("roundtrip.bin");
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    check(ckpt_save(&ck, path) == CKPT_OK && ck.error[0] == 0, "save succeeds (%s)", ck.error);
    check(file_exists(path) && !file_exists(tmp), "save leaves the file and no .tmp behind");

    Checkpoint cl;
    ckpt_init(&cl, "test_checkpoint round trip --hidden 16", &rng2);
    ckpt_add_params(&cl, &b.params);
    ckpt_add_optimizer(&cl, ob);
    CkptStatus st = ckpt_load(&cl, path);
    check(st == CKPT_OK && cl.error[0] == 0, "load succeeds (%d: %s)", st, cl.error);
    for (int i = 0; i < a.params.count; i++) bits_equal(a.params.items[i].t->name, b.params.items[i].t, a.params.items[i].t);
    for (int i = 0; i < oa->state_params.count; i++)
        bits_equal(oa->state_params.items[i].t->name, ob->state_params.items[i].t, oa->state_params.items[i].t);
    check(memcmp(oa->steps, ob->steps, (size_t)oa->n * sizeof(int64_t)) == 0 && ob->steps[0] == 3,
          "optimizer step counts restored (%lld)", (long long)ob->steps[0]);
    check(cl.step == 1234567890123LL, "training step restored: %lld", (long long)cl.step);
    check(strcmp(cl.file_header, "test_checkpoint round trip --hidden 16") == 0, "file header read back: '%s'",
          cl.file_header);
    int rng_ok = memcmp(rng1.s, rng2.s, sizeof rng1.s) == 0 && rng1.has_spare == rng2.has_spare &&
                 memcmp(&rng1.spare, &rng2.spare, sizeof(double)) == 0 && rng2.has_spare == 1;
    float x1 = rng_normal(&rng1), x2 = rng_normal(&rng2), y1 = rng_normal(&rng1), y2 = rng_normal(&rng2);
    check(rng_ok && x1 == x2 && y1 == y2, "Rng state restored, cached spare included");

    CkptInfo info;
    st = ckpt_peek(path, &info);
    check(st == CKPT_OK && info.step == 1234567890123LL && info.version == CKPT_VERSION &&
              strcmp(info.header, "test_checkpoint round trip --hidden 16") == 0 &&
              info.n_entries == (uint32_t)(a.params.count + oa->state_params.count + oa->n),
          "ckpt_peek reads header, step, version, entry count (%u)", info.n_entries);

    // Saving over an existing checkpoint replaces it.
    ck.step = 5;
    check(ckpt_save(&ck, path) == CKPT_OK && ckpt_peek(path, &info) == CKPT_OK && info.step == 5 && !file_exists(tmp),
          "saving again replaces the file atomically (step %lld)", (long long)info.step);
    remove(path);
}

// ---------------------------------------------------------------------------
// Resume == uninterrupted, bit for bit

static void resume_equals_uninterrupted(Which w, const char *label, int k) {
    // A: 2k steps in one go.
    Rng ra;
    rng_seed(&ra, 2024);
    Mlp a;
    mlp_build(&a, "C", 8, 1);
    Optimizer *oa = make_opt(w, &a.params);
    for (int s = 0; s < 2 * k; s++) train_step(&a, oa, &ra);

    // B: k steps, then save.
    Rng rb;
    rng_seed(&rb, 2024);
    Mlp b;
    mlp_build(&b, "C", 8, 1);
    Optimizer *ob = make_opt(w, &b.params);
    for (int s = 0; s < k; s++) train_step(&b, ob, &rb);
    Checkpoint ckb;
    ckpt_init(&ckb, label, &rb);
    ckpt_add_params(&ckb, &b.params);
    ckpt_add_optimizer(&ckb, ob);
    ckb.step = k;
    const char *path = tmp_path("resume.bin");
    CkptStatus saved = ckpt_save(&ckb, path);

    // C: a fresh process would build the model from another init and seed,
    // then load and carry on for k steps.
    Rng rc;
    rng_seed(&rc, 31337);
    Mlp c;
    mlp_build(&c, "C", 8, 999);
    Optimizer *oc = make_opt(w, &c.params);
    Checkpoint ckc;
    ckpt_init(&ckc, label, &rc);
    ckpt_add_params(&ckc, &c.params);
    ckpt_add_optimizer(&ckc, oc);
    CkptStatus loaded = ckpt_load(&ckc, path);
    check(saved == CKPT_OK && loaded == CKPT_OK && ckc.step == k, "%s: save + load at step %d (%s)", label, k,
          ckc.error);
    for (int64_t s = ckc.step; s < 2 * k; s++) train_step(&c, oc, &rc);

    int same = 1;
    for (int i = 0; i < a.params.count; i++) {
        Tensor *x = a.params.items[i].t, *y = c.params.items[i].t;
        if (memcmp(x->data, y->data, (size_t)x->numel * sizeof(float)) != 0) {
            same = 0;
            check(0, "%s: %s differs after resuming", label, x->name);
        }
    }
    for (int i = 0; i < oa->state_params.count; i++) {
        Tensor *x = oa->state_params.items[i].t, *y = oc->state_params.items[i].t;
        if (memcmp(x->data, y->data, (size_t)x->numel * sizeof(float)) != 0) {
            same = 0;
            check(0, "%s: %s differs after resuming", label, x->name);
        }
    }
    same &= memcmp(oa->steps, oc->steps, (size_t)oa->n * sizeof(int64_t)) == 0;
    same &= memcmp(ra.s, rc.s, sizeof ra.s) == 0;
    check(same, "%s: %d steps + save + load + %d steps == %d steps, every parameter, buffer and state bit-exact",
          label, k, k, 2 * k);
    // And the model did train (the comparison is not between two untouched models).
    Mlp fresh;
    mlp_build(&fresh, "C", 8, 1);
    check(memcmp(fresh.fc1.weight->data, a.fc1.weight->data, (size_t)a.fc1.weight->numel * sizeof(float)) != 0 &&
              memcmp(fresh.bn1.running_mean->data, a.bn1.running_mean->data, 8 * sizeof(float)) != 0,
          "%s: the weights and running statistics did change during training", label);
    remove(path);
}

// ---------------------------------------------------------------------------
// Bad files

typedef struct {
    Mlp *m;
    Optimizer *opt;
    Rng *rng;
    Checkpoint ck;
} Live;

// Load `path` into the live run and check status, message and untouched state.
static void expect_refused(Live *live, const char *what, const char *path, CkptStatus want_status,
                           const char *want_text) {
    live->ck.step = 42;
    Snapshot before = snapshot(&live->ck);
    CkptStatus st = ckpt_load(&live->ck, path);
    Snapshot after = snapshot(&live->ck);
    const char *msg = live->ck.error;
    check(st == want_status, "%s: status %d (want %d)", what, st, want_status);
    check(strstr(msg, "HINT:") != NULL && strstr(msg, want_text) != NULL,
          "%s: message mentions '%s' and has a HINT:\n      %s", what, want_text, msg);
    check(snapshot_equal(before, after), "%s: live parameters, buffers, state, step and Rng unchanged", what);
    free(before.bytes);
    free(after.bytes);
}

static void bad_files(void) {
    // The file everything below is derived from.
    Rng rng;
    rng_seed(&rng, 5);
    Mlp src;
    mlp_build(&src, "C", 16, 1);
    Optimizer *osrc = make_opt(USE_ADAM, &src.params);
    for (int i = 0; i < 2; i++) train_step(&src, osrc, &rng);
    Checkpoint ck;
    const char *header = "test_checkpoint --hidden 16";
    ckpt_init(&ck, header, &rng);
    ckpt_add_params(&ck, &src.params);
    ckpt_add_optimizer(&ck, osrc);
    ck.step = 2;
    const char *good = tmp_path("good.bin");
    check(ckpt_save(&ck, good) == CKPT_OK, "save the reference file");
    size_t size = 0;
    unsigned char *bytes = read_all(good, &size);

    // The live run that every bad load must leave alone: same architecture.
    Rng live_rng;
    rng_seed(&live_rng, 9);
    rng_normal(&live_rng);
    Mlp m;
    mlp_build(&m, "C", 16, 3);
    Optimizer *opt = make_opt(USE_ADAM, &m.params);
    train_step(&m, opt, &live_rng);  // nonzero optimizer state to protect
    Live live = {.m = &m, .opt = opt, .rng = &live_rng};
    ckpt_init(&live.ck, "test_checkpoint --hidden 16", &live_rng);
    ckpt_add_params(&live.ck, &m.params);
    ckpt_add_optimizer(&live.ck, opt);

    expect_refused(&live, "missing file", tmp_path("does_not_exist.bin"), CKPT_ERR_IO, "cannot open");
    expect_refused(&live, "a directory", tmp_dir, CKPT_ERR_IO, "tests/tmp");
    const char *p = tmp_path("bad.bin");
    write_all(p, bytes, 0);
    expect_refused(&live, "empty file", p, CKPT_ERR_TRUNCATED, "empty");

    // Cut short at many points. The first tensor's data starts after the
    // preamble (8 magic, 4 version, 4 + header, 8 step, 48 rng, 4 count) and
    // its entry head (4 + "C.fc1.weight", 4 type, 4 ndim, 2 x 4 dims, 8 bytes).
    size_t data0 = 8 + 4 + 4 + strlen(header) + 8 + RNG_STATE_BYTES + 4 + 4 + strlen("C.fc1.weight") + 4 + 4 + 8 + 8;
    struct {
        size_t at;
        const char *text;
    } cuts[] = {
        {3, "truncated"},                       // inside the magic
        {10, "format version"},                 // inside the version
        {8 + 4 + 4 + 5, "header"},              // inside the header text
        {8 + 4 + 4 + strlen(header) + 3, "step"},
        {8 + 4 + 4 + strlen(header) + 8 + 20, "random generator"},
        {data0 - 10, "C.fc1.weight"},           // inside the first entry's shape
        {data0 + 10, "in the middle of tensor 'C.fc1.weight'"},
        {size / 2, "truncated"},
        {size - 8, "checksum"},                 // every entry there, checksum missing
        {size - 1, "checksum"},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "cut at byte %zu of %zu", cuts[i].at, size);
        write_all(p, bytes, cuts[i].at);
        expect_refused(&live, what, p, CKPT_ERR_TRUNCATED, cuts[i].text);
    }

    // Other kinds of file.
    unsigned char junk[4096];
    Rng jr;
    rng_seed(&jr, 1);
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)rng_u64(&jr);
    junk[0] = 0xA7;  // not by chance a G
    write_all(p, junk, sizeof junk);
    expect_refused(&live, "random bytes", p, CKPT_ERR_FORMAT, "not a ganbook checkpoint");
    unsigned char png[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    write_all(p, png, sizeof png);
    expect_refused(&live, "a PNG image", p, CKPT_ERR_FORMAT, "PNG");
    const char *text = "step,loss_d,loss_g\n1,0.69,0.69\n";
    write_all(p, text, strlen(text));
    expect_refused(&live, "a text file", p, CKPT_ERR_FORMAT, "text");

    // Damaged checkpoints.
    unsigned char *copy = malloc(size + 16);
    memcpy(copy, bytes, size);
    copy[data0 + 5] ^= 0x10;  // one bit of a weight
    write_all(p, copy, size);
    expect_refused(&live, "one flipped bit in a weight", p, CKPT_ERR_CHECKSUM, "checksum");
    memcpy(copy, bytes, size);
    copy[8] = 2;  // format version 2
    write_all(p, copy, size);
    expect_refused(&live, "format version 2", p, CKPT_ERR_VERSION, "version 2");
    memcpy(copy, bytes, size);
    memcpy(copy + size, "trailing", 8);
    write_all(p, copy, size + 8);
    expect_refused(&live, "extra bytes at the end", p, CKPT_ERR_FORMAT, "extra bytes");
    memcpy(copy, bytes, size);
    copy[data0 - 7] = 0x7f;  // second byte of the first tensor's byte count: 192 -> 0x7fc0
    write_all(p, copy, size);
    expect_refused(&live, "a byte count that contradicts the shape", p, CKPT_ERR_FORMAT, "byte count");
    free(copy);

    // Checkpoints of other models.
    {
        Mlp wide;
        mlp_build(&wide, "C", 32, 1);
        Optimizer *ow = make_opt(USE_ADAM, &wide.params);
        Checkpoint cw;
        ckpt_init(&cw, "test_checkpoint --hidden 32", &rng);
        ckpt_add_params(&cw, &wide.params);
        ckpt_add_optimizer(&cw, ow);
        const char *q = tmp_path("wide.bin");
        ckpt_save(&cw, q);
        expect_refused(&live, "another hidden size", q, CKPT_ERR_MISMATCH,
                       "C.fc1.weight: (32, 3) in the file, (16, 3) here");
        expect_refused(&live, "another hidden size (headers)", q, CKPT_ERR_MISMATCH, "--hidden 32");
        remove(q);

        Mlp other;
        mlp_build(&other, "X", 16, 1);
        Checkpoint cx;
        ckpt_init(&cx, "another model", NULL);
        ckpt_add_params(&cx, &other.params);
        q = tmp_path("other.bin");
        ckpt_save(&cx, q);
        expect_refused(&live, "other names, no optimizer", q, CKPT_ERR_MISMATCH, "C.fc1.weight: missing from the file");
        expect_refused(&live, "other names (unexpected entries)", q, CKPT_ERR_MISMATCH,
                       "X.fc1.weight: in the file, not in this model");
        expect_refused(&live, "other names (count)", q, CKPT_ERR_MISMATCH, "... and");
        // The same model saved without an Rng cannot resume a run that has one.
        Checkpoint cn;
        ckpt_init(&cn, "weights only", NULL);
        ckpt_add_params(&cn, &src.params);
        ckpt_add_optimizer(&cn, osrc);
        ckpt_save(&cn, q);
        expect_refused(&live, "saved without an Rng", q, CKPT_ERR_MISMATCH, "no random generator state");
        remove(q);

        Mlp same;
        mlp_build(&same, "C", 16, 1);
        Optimizer *orms = make_opt(USE_RMSPROP, &same.params);
        Checkpoint cr;
        ckpt_init(&cr, "rmsprop run", &rng);
        ckpt_add_params(&cr, &same.params);
        ckpt_add_optimizer(&cr, orms);
        q = tmp_path("rmsprop.bin");
        ckpt_save(&cr, q);
        expect_refused(&live, "same model, another optimizer", q, CKPT_ERR_MISMATCH, "C.fc1.weight.adam_exp_avg");
        remove(q);
    }

    // Peek refuses what load refuses, with the same kind of message.
    CkptInfo info;
    write_all(p, png, sizeof png);
    check(ckpt_peek(p, &info) == CKPT_ERR_FORMAT && strstr(info.error, "PNG") && strstr(info.error, "HINT:"),
          "ckpt_peek on a PNG: %s", info.error);
    check(ckpt_peek(tmp_path("does_not_exist.bin"), &info) == CKPT_ERR_IO && strstr(info.error, "HINT:"),
          "ckpt_peek on a missing file: %s", info.error);
    write_all(p, bytes, 30);
    check(ckpt_peek(p, &info) == CKPT_ERR_TRUNCATED && strstr(info.error, "HINT:"), "ckpt_peek on a cut file: %s",
          info.error);

    // The live run is still usable: the good file loads into it.
    check(ckpt_load(&live.ck, good) == CKPT_OK && live.ck.step == 2 &&
              memcmp(m.fc2.weight->data, src.fc2.weight->data, 16 * sizeof(float)) == 0,
          "after all that, the good file loads (%s)", live.ck.error);
    remove(p);
    remove(good);
    free(bytes);
}

// ---------------------------------------------------------------------------
// Partial loads, save errors

static void partial_and_save_errors(void) {
    Rng rng;
    rng_seed(&rng, 8);
    Mlp g, d;
    mlp_build(&g, "G", 8, 1);
    mlp_build(&d, "D", 8, 2);
    Optimizer *og = make_opt(USE_ADAM, &g.params), *od = make_opt(USE_ADAM, &d.params);
    Checkpoint full;
    ckpt_init(&full, "a GAN", &rng);
    ckpt_add_params(&full, &g.params);
    ckpt_add_params(&full, &d.params);
    ckpt_add_optimizer(&full, og);
    ckpt_add_optimizer(&full, od);
    full.step = 17;
    const char *path = tmp_path("gan.bin");
    check(ckpt_save(&full, path) == CKPT_OK, "save a G + D checkpoint");

    // --sample: only the generator, no optimizer, no Rng.
    Mlp g2;
    mlp_build(&g2, "G", 8, 5);
    Checkpoint only_g;
    ckpt_init(&only_g, "sampling", NULL);
    ckpt_add_params(&only_g, &g2.params);
    check(ckpt_load(&only_g, path) == CKPT_ERR_MISMATCH && strstr(only_g.error, "D.fc1.weight: in the file"),
          "loading G alone is refused by default (the file has more)");
    only_g.allow_unused = 1;
    CkptStatus st = ckpt_load(&only_g, path);
    int same = st == CKPT_OK && only_g.step == 17;
    for (int i = 0; same && i < g.params.count; i++)
        same = memcmp(g.params.items[i].t->data, g2.params.items[i].t->data,
                      (size_t)g.params.items[i].t->numel * sizeof(float)) == 0;
    check(same, "allow_unused = 1 loads the generator alone from a full checkpoint (%s)", only_g.error);

    // Two models with one prefix cannot be told apart in a file.
    Mlp twin;
    mlp_build(&twin, "G", 8, 3);
    Checkpoint dup;
    ckpt_init(&dup, "", NULL);
    ckpt_add_params(&dup, &g.params);
    ckpt_add_params(&dup, &twin.params);
    const char *dpath = tmp_path("dup.bin");
    check(ckpt_save(&dup, dpath) == CKPT_ERR_FORMAT && strstr(dup.error, "G.fc1.weight") && strstr(dup.error, "HINT:") &&
              !file_exists(dpath),
          "two models with the same prefix: save refuses (%s)", dup.error);

    // A directory that does not exist.
    CkptStatus s2 = ckpt_save(&full, "tests/tmp/no/such/dir/checkpoint.bin");
    check(s2 == CKPT_ERR_IO && strstr(full.error, "HINT:") && strstr(full.error, "directory"),
          "save into a missing directory: %s", full.error);
    remove(path);
}

int main(void) {
    check_begin("checkpoint");
    pid = (int)getpid();
    if (mkdir(tmp_dir, 0777) != 0 && errno != EEXIST) t_fatal("cannot create %s", tmp_dir);
    round_trip();
    resume_equals_uninterrupted(USE_ADAM, "Adam", 40);
    resume_equals_uninterrupted(USE_SGD, "SGD nesterov", 40);
    resume_equals_uninterrupted(USE_RMSPROP, "RMSprop centered momentum", 40);
    bad_files();
    partial_and_save_errors();
    return check_summary();
}
