// gan_run.c: the shared plumbing of the MLP GAN chapters. See gan_run.h.
#include "gan_run.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ch01_vanilla_gan/exercises.h"  // ex_mode_kl (exercise 1.3)
#include "eval_mnist.h"
#include "ops.h"
#include "png.h"

// Seeds of the side streams, mixed with --seed: the fixed noise and real
// points of the pictures, the final evaluation samples, each epoch's order.
#define SEED_FIXED 0x0F1CED5EEDull
#define SEED_EVAL 0x00E7A15EEDull
#define SEED_EPOCH 0x000E70C45EEDull

#define TOY_FIXED 1000     // points in each toy picture (real and generated)
#define IMAGE_FIXED 100    // images in each grid (10 x 10)
#define IMAGE_EVAL 10000   // images in samples.idx
#define SCATTER_SIZE 320   // pixels of the toy pictures

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float uniform_fn(void *rng) { return rng_uniform(rng); }
static float normal_fn(void *rng) { return rng_normal(rng); }

// ---------------------------------------------------------------------------
// Flags

// The value of --name in argv ("--name V" or "--name=V", the last one wins),
// or NULL.
static const char *argv_value(int argc, char **argv, const char *name) {
    const char *v = NULL;
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) break;
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0) continue;
        if (a[2 + n] == '=') v = a + 3 + n;
        else if (a[2 + n] == 0 && i + 1 < argc) v = argv[i + 1];
    }
    return v;
}

static int argv_has(int argc, char **argv, const char *name) {
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, n) == 0 && (a[2 + n] == 0 || a[2 + n] == '=')) return 1;
    }
    return 0;
}

// "key=value" in a checkpoint header, copied into out; 0 when absent.
static int header_value(const char *header, const char *key, char *out, size_t size) {
    size_t n = strlen(key);
    for (const char *p = header; (p = strstr(p, key)) != NULL; p += n) {
        if ((p != header && p[-1] != ' ') || p[n] != '=') continue;
        const char *v = p + n + 1;
        size_t len = strcspn(v, " \n");
        if (len >= size) len = size - 1;
        memcpy(out, v, len);
        out[len] = 0;
        return 1;
    }
    return 0;
}

static int is_toy_name(const char *name) { return toy_find(name) != NULL; }

// The defaults of the shared flags, per kind of data: the one place they
// are written (--help shows them; a chapter overrides what it needs after
// gan_run_defaults / gan_run_image_defaults). Adam's beta1 is 0.5 for both
// (Radford et al., 2016).
typedef struct {
    int steps, batch;
    float lr;
    int sample_every, checkpoint_every, z_dim, log_every, threads;
} RunDefaults;

// 2-D toys. 5,000 steps of batch 256 see 1.28 million points: enough for the
// grid to be learned (or to collapse), in under half a minute. One thread:
// matrices of 256 x 128 are too small to share between cores (two threads
// ran 3x slower than one on a busy 2-core machine).
static const RunDefaults TOY_DEFAULTS = {
    .steps = 5000, .batch = 256, .lr = 1e-3f, .sample_every = 500, .checkpoint_every = 1000,
    .z_dim = 2, .log_every = 10, .threads = 1,
};

// Images: the MLP of Goodfellow et al. (2014) sized as in
// shared/benchmarks.md (mlp_b64), Adam 2e-4 as in DCGAN. 15,000 steps (about
// 6 minutes on one core) give recognizable digits. One thread here too: this
// MLP's layers are small, and two threads gain little (67 against 59 steps
// per second on the idle 2-core machine) and lose that when anything else
// runs. (Before cli_openmp_passive, two spinning threads on a busy machine
// ran this MLP ten times slower than one.) --threads 0 uses every core.
static const RunDefaults IMAGE_DEFAULTS = {
    .steps = 15000, .batch = 64, .lr = 2e-4f, .sample_every = 1000, .checkpoint_every = 1000,
    .z_dim = 100, .log_every = 50, .threads = 1,
};

#define DEFAULT_BETA1 0.5f

static void apply_defaults(GanRun *r, const RunDefaults *d) {
    r->args.steps = d->steps;
    r->args.batch = d->batch;
    r->args.lr = d->lr;
    r->args.sample_every = d->sample_every;
    r->args.checkpoint_every = d->checkpoint_every;
    r->z_dim = d->z_dim;
    r->log_every = d->log_every;
    r->args.threads = d->threads;
}

void gan_run_defaults(GanRun *r, const char *chapter, int argc, char **argv) {
    cli_openmp_passive(argv);  // may restart the program once (cli.h)
    memset(r, 0, sizeof *r);
    r->chapter = chapter;
    r->argc = argc;
    r->argv = argv;
    r->last_saved = -1;
    r->perm_epoch = -1;
    snprintf(r->out_default, sizeof r->out_default, "runs/%s", chapter);
    snprintf(r->defining, sizeof r->defining, "dataset z-dim batch lr beta1 seed log-every");

    // Which dataset? The defaults below depend on it.
    static char dataset[32] = "ring8";
    const char *given = argv_value(argc, argv, "dataset");
    const char *ckpt = argv_value(argc, argv, "resume");
    if (!ckpt || !*ckpt) ckpt = argv_value(argc, argv, "sample");
    if (given) {
        snprintf(dataset, sizeof dataset, "%s", given);
    } else if (ckpt && *ckpt) {
        static CkptInfo info;  // big; the load later reports any problem with the file
        if (ckpt_peek(ckpt, &info) == CKPT_OK) header_value(info.header, "dataset", dataset, sizeof dataset);
    }

    cli_common_defaults(&r->args, r->out_default);
    r->beta1 = DEFAULT_BETA1;
    int toy = is_toy_name(dataset) || !(strcmp(dataset, "mnist") == 0 || strcmp(dataset, "fashion") == 0);
    apply_defaults(r, toy ? &TOY_DEFAULTS : &IMAGE_DEFAULTS);
    r->args.dataset = given ? given : "ring8";
}

void gan_run_image_defaults(GanRun *r) {
    if (!argv_value(r->argc, r->argv, "dataset")) r->args.dataset = "mnist";  // a checkpoint's wins later
    apply_defaults(r, &IMAGE_DEFAULTS);
}

int gan_run_flags(GanRun *r, CliFlag *table) {
    int n = cli_common_flags(table, &r->args, r->datasets ? r->datasets : "ring8|grid25|mnist|fashion");
    table[n++] = cli_int("z-dim", &r->z_dim, 1, 1024, "size of the noise vector z ~ N(0, I)");
    table[n++] = cli_float("beta1", &r->beta1, 0, 0.9999, "Adam's beta1 for G and D (beta2 0.999)");
    table[n++] = cli_int("log-every", &r->log_every, 1, 1e9, "a loss.dat row every N steps (and at step 1)");
    return n;
}

static const CliFlag *find_flag(const CliFlag *table, const char *name) {
    for (const CliFlag *f = table; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

// The flag's current value as the checkpoint header writes it.
static void format_flag(const CliFlag *f, char *buf, size_t n) {
    switch (f->type) {
    case CLI_INT: snprintf(buf, n, "%d", *(int *)f->value); break;
    case CLI_FLOAT: snprintf(buf, n, "%.9g", (double)*(float *)f->value); break;
    case CLI_BOOL: snprintf(buf, n, "%d", *(int *)f->value); break;
    default: snprintf(buf, n, "%s", *(const char **)f->value); break;
    }
}

// A setting already checked (cli_set_value) into its flag's variable; text
// settings point into r->adopted, which lives as long as the run.
static void set_flag(GanRun *r, const CliFlag *f, const char *text) {
    if (f->type == CLI_STRING || f->type == CLI_CHOICE) {
        if (r->n_adopted == (int)(sizeof r->adopted / sizeof r->adopted[0]))
            t_fatal("too many text settings in the checkpoint header\nHINT: a bug in gan_run.c");
        char *copy = r->adopted[r->n_adopted++];
        snprintf(copy, sizeof r->adopted[0], "%s", text);
        text = copy;
    }
    char why[512];
    if (cli_set_value(f, text, why, sizeof why) != 0) t_fatal("%s\nHINT: a bug in gan_run.c (checked before)", why);
}

// The first two words of a header, "ganbook chapter1": who wrote the file.
static void header_chapter(const char *header, char *out, size_t size) {
    out[0] = 0;
    if (strncmp(header, "ganbook ", 8) != 0) return;
    size_t len = strcspn(header + 8, " \n");
    snprintf(out, size, "%.*s", (int)len, header + 8);
}

// An error about the --resume / --sample checkpoint: one line and a HINT, exit 1.
static void checkpoint_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void checkpoint_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

// With --resume / --sample: take the settings the checkpoint was trained
// with, in this order of trust: the whole file passes its checksum (a
// damaged file is reported as damaged, not through its strange settings);
// it was written by this chapter; every setting passes the checks its flag
// makes (a checksum catches accidents, not edits: a header edited by hand,
// its checksum recomputed, must not set --log-every 0 or --z-dim 1000000);
// a flag on the command line that contradicts it is a usage error. The
// model and loss the settings describe are checked against the file's
// fingerprint in gan_run_track, once the networks exist.
static void adopt_checkpoint_settings(GanRun *r, const char *path) {
    static CkptInfo info;
    if (ckpt_verify(path, &info) != CKPT_OK) checkpoint_error("%s", info.error);
    snprintf(r->source_header, sizeof r->source_header, "%s", info.header);
    char who[64];
    header_chapter(info.header, who, sizeof who);
    if (!*who)
        checkpoint_error("%s was not written by a ganbook chapter (its header: '%.80s')\n"
                         "HINT: pass the checkpoint.bin of a %s run", path, info.header, r->chapter);
    if (strcmp(who, r->chapter) != 0)
        checkpoint_error("%s was written by %s, not by %s: its networks and loss are another chapter's\n"
                         "HINT: continue it with ./%s --resume %s, or start a new %s run (without --resume)",
                         path, who, r->chapter, who, path, r->chapter);
    char words[sizeof r->defining];
    snprintf(words, sizeof words, "%s", r->defining);
    for (char *key = strtok(words, " "); key; key = strtok(NULL, " ")) {
        const CliFlag *f = find_flag(r->table, key);
        char saved[256], current[256], why[512];
        if (!f || !header_value(info.header, key, saved, sizeof saved)) continue;
        union {
            int i;
            float x;
            const char *s;
        } probe;
        CliFlag check = *f;
        check.value = &probe;
        if (cli_set_value(&check, saved, why, sizeof why) != 0)
            checkpoint_error("%s: its header sets %s=%s, which the flag refuses (%s)\n"
                             "HINT: the header was edited or damaged; use the run's own checkpoint, or start a new run",
                             path, key, saved, why);
        format_flag(f, current, sizeof current);
        if (strcmp(saved, current) == 0) continue;
        if (argv_has(r->argc, r->argv, key)) {
            if (f->type == CLI_FLOAT) {  // show floats as typed, not with 9 digits
                snprintf(current, sizeof current, "%g", (double)*(float *)f->value);
                snprintf(saved, sizeof saved, "%g", (double)strtof(saved, NULL));
            }
            cli_usage_error(r->chapter,
                            "--%s %s contradicts the checkpoint, which was trained with --%s %s "
                            "(a resumed run keeps its settings; start a new run with --out to change them)",
                            key, current, key, saved);
        }
        set_flag(r, f, saved);
    }
}

// dirname(path) into out.
static const char *directory_of(const char *path, char *out, size_t size) {
    snprintf(out, size, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash) snprintf(out, size, ".");
    else if (slash == out) slash[1] = 0;
    else *slash = 0;
    return out;
}

void gan_run_parse(GanRun *r, CliFlag *table, int argc, char **argv, const char *description,
                   const char *extra_defining) {
    r->table = table;
    if (extra_defining && *extra_defining) {
        size_t len = strlen(r->defining);
        snprintf(r->defining + len, sizeof r->defining - len, " %s", extra_defining);
    }
    cli_parse(argc, argv, table, r->chapter, description);
    r->resuming = *r->args.resume != 0;
    r->sample_only = *r->args.sample != 0;
    if (r->resuming || r->sample_only) {
        r->ckpt_source = r->resuming ? r->args.resume : r->args.sample;
        if (!(r->resuming && r->sample_only)) adopt_checkpoint_settings(r, r->ckpt_source);
        if (!argv_has(argc, argv, "out")) r->args.out = directory_of(r->ckpt_source, r->out_dir, sizeof r->out_dir);
    }
    cli_apply_common(&r->args);  // --resume with --sample, --device, --threads
}

// ---------------------------------------------------------------------------
// Data

// What the run allocated outside the persistent store (the end of a run, or
// a failure that ends it).
static void release(GanRun *r) {
    if (r->images.pixels) dataset_free(&r->images);
    free(r->perm);
    r->perm = NULL;
}

int gan_run_load_data(GanRun *r) {
    r->toy = toy_find(r->args.dataset);
    if (r->toy) {
        r->x_dim = 2;
        r->n_fixed = TOY_FIXED;
    } else {
        if (dataset_load(&r->images, r->args.dataset, SPLIT_TRAIN, r->image_size >= 32) != 0) return -1;
        r->C = r->images.C, r->H = r->images.H, r->W = r->images.W;
        if (r->image_size == 64) r->H *= 2, r->W *= 2;
        r->x_dim = r->C * r->H * r->W;
        r->n_fixed = IMAGE_FIXED;
        if (r->args.batch > r->images.n)
            cli_usage_error(r->chapter, "--batch %d is larger than the %d training images of %s", r->args.batch,
                            r->images.n, r->args.dataset);
        r->perm = malloc((size_t)r->images.n * sizeof *r->perm);
        if (!r->perm) t_fatal("out of memory for the image order\nHINT: free some memory");
    }
    rng_seed(&r->rng, (uint64_t)r->args.seed);

    // The fixed batches of the pictures, from their own stream.
    Rng fixed;
    rng_seed(&fixed, (uint64_t)r->args.seed ^ SEED_FIXED);
    r->fixed_z = t_persistent("fixed_z", 2, (int[]){r->n_fixed, r->z_dim});
    rng_fill_normal(&fixed, r->fixed_z, 0.0f, 1.0f);
    if (r->toy) {
        r->fixed_real = t_persistent_alloc((size_t)r->n_fixed * 2 * sizeof(float));
        toy_sample(r->toy, r->fixed_real, r->n_fixed, uniform_fn, normal_fn, &fixed);
    }
    if (r->n_classes > 0) {  // one class per row of the 10 x 10 grid
        if (r->toy) t_fatal("%s: a conditional run needs labelled images\nHINT: use --dataset mnist or fashion", r->chapter);
        r->fixed_labels = t_persistent("fixed_labels", 1, (int[]){r->n_fixed});
        for (int i = 0; i < r->n_fixed; i++) r->fixed_labels->data[i] = (float)((i / 10) % r->n_classes);
    }

    // Run state the checkpoint keeps: how many image batches were taken.
    params_init(&r->state, "data");
    r->batches_drawn = params_add(&r->state, "", "batches", ROLE_BUFFER, 1, (int[]){1});
    return 0;
}

// Each pixel of (B, C, H, W) images `in` becomes a 2x2 block of `out`
// (B, C, 2H, 2W): nearest-neighbour upsampling, undone exactly by averaging
// every 2x2 block (downsample2x), which is how 64x64 samples are scored.
static void upsample2x(const float *in, float *out, long planes, int H, int W) {
    for (long p = 0; p < planes; p++)
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++) out[(p * 2 * H + y) * 2 * W + x] = in[(p * H + y / 2) * W + x / 2];
}

static void downsample2x(const float *in, float *out, long planes, int H, int W) {  // H, W: the output's
    for (long p = 0; p < planes; p++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const float *a = in + (p * 2 * H + 2 * y) * 2 * W + 2 * x;
                out[(p * H + y) * W + x] = 0.25f * (a[0] + a[1] + a[2 * W] + a[2 * W + 1]);
            }
}

Tensor *gan_real_batch(GanRun *r) { return gan_real_batch_labeled(r, NULL); }

// The batch (and its labels) is made on the host and uploaded in one copy when
// the run trains on a GPU (the only host -> device copy of a training step).
Tensor *gan_real_batch_labeled(GanRun *r, Tensor **labels) {
    int B = r->args.batch;
    Tensor *x = r->image_size ? t_empty_on(DEV_CPU, 4, (int[]){B, r->C, r->H, r->W})
                              : t_empty_on(DEV_CPU, 2, (int[]){B, r->x_dim});
    if (labels) *labels = NULL;
    if (r->toy) {
        toy_sample(r->toy, x->data, B, uniform_fn, normal_fn, &r->rng);
        return t_to(x, t_default_device());
    }
    float *y = NULL;
    if (labels) {
        *labels = t_empty_on(DEV_CPU, 1, (int[]){B});
        y = (*labels)->data;
    }
    // Batch k of the run is batch k % per_epoch of epoch k / per_epoch, whose
    // order is a permutation seeded by (seed, epoch): the whole data order is
    // a function of k, the one number the checkpoint has to keep.
    long per_epoch = r->images.n / B;
    long k = (long)r->batches_drawn->data[0];
    long epoch = k / per_epoch, pos = (k % per_epoch) * B;
    if (epoch != r->perm_epoch) {
        Rng order;
        rng_seed(&order, ((uint64_t)r->args.seed ^ SEED_EPOCH) + 0x9E3779B97F4A7C15ull * (uint64_t)epoch);
        rng_permutation(&order, r->perm, r->images.n);
        r->perm_epoch = epoch;
    }
    if (r->image_size == 64) {
        float *small = t_arena_alloc((size_t)B * r->x_dim / 4 * sizeof(float));
        dataset_batch(&r->images, r->perm + pos, B, small, y);
        upsample2x(small, x->data, (long)B * r->C, r->H / 2, r->W / 2);
    } else {
        dataset_batch(&r->images, r->perm + pos, B, x->data, y);
    }
    r->batches_drawn->data[0] += 1.0f;  // exact up to 2^24 batches
    if (labels) *labels = t_labels_to(*labels, r->images.n_classes, t_default_device());  // checked, then up
    return t_to(x, t_default_device());
}

// Drawn on the host from run.rng (rng_fill_normal uploads it on a GPU run), so
// a GPU run sees the same noise as a CPU run with the same seed.
Tensor *gan_noise(GanRun *r, int B) {
    Tensor *z = t_empty(2, B, r->z_dim);
    rng_fill_normal(&r->rng, z, 0.0f, 1.0f);
    return z;
}

double gan_mean_probability(const Tensor *logits) {
    double s = 0.0;
    const float *v = t_to((Tensor *)logits, DEV_CPU)->data;  // logged: copied back from a GPU
    for (long i = 0; i < logits->numel; i++) s += 1.0 / (1.0 + exp(-(double)v[i]));
    return logits->numel ? s / (double)logits->numel : 0.0;
}

// ---------------------------------------------------------------------------
// Checkpoints

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

// What decides the model and the loss: the chapter, its defining settings
// (key=value, as the header writes them) and every tensor of both networks
// (name and shape). FNV-1a 64 over their text.
static uint64_t fingerprint(const char *chapter, const char *settings, const Params *g, const Params *d) {
    uint64_t h = fnv1a(14695981039346656037ull, chapter, strlen(chapter));
    h = fnv1a(h, settings, strlen(settings));
    const Params *nets[2] = {g, d};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < nets[k]->count; i++) {
            const Tensor *t = nets[k]->items[i].t;
            h = fnv1a(h, t->name, strlen(t->name));
            h = fnv1a(h, t->shape, (size_t)t->ndim * sizeof t->shape[0]);
        }
    return h;
}

void gan_run_track(GanRun *r, Params *g, Params *d, Optimizer *opt_g, Optimizer *opt_d) {
    char header[CKPT_HEADER_MAX], words[sizeof r->defining], settings[CKPT_HEADER_MAX - 256] = "";
    int n = 0;
    snprintf(words, sizeof words, "%s", r->defining);
    for (char *key = strtok(words, " "); key && n < (int)sizeof settings; key = strtok(NULL, " ")) {
        const CliFlag *f = find_flag(r->table, key);
        if (!f) continue;
        char v[256];
        format_flag(f, v, sizeof v);
        n += snprintf(settings + n, sizeof settings - (size_t)n, " %s=%s", key, v);
    }
    unsigned long long print = fingerprint(r->chapter, settings, g, d);
    snprintf(header, sizeof header, "ganbook %s%s fingerprint=%016llx", r->chapter, settings, print);
    // A checkpoint's settings were adopted by gan_run_parse; if the model and
    // loss built from them are not what its fingerprint says, the header was
    // edited, or the file comes from another version of the chapter.
    char saved[64], mine[32];
    snprintf(mine, sizeof mine, "%016llx", print);
    if (r->source_header[0] && header_value(r->source_header, "fingerprint", saved, sizeof saved) &&
        strcmp(saved, mine) != 0)
        checkpoint_error("%s does not match the model and loss its header describes (fingerprint %s, here %s)\n"
                         "HINT: its header was edited after the run saved it, or another version of %s wrote it; "
                         "use the run's own checkpoint, or start a new run",
                         r->ckpt_source, saved, mine, r->chapter);
    ckpt_init(&r->ck, header, &r->rng);
    ckpt_add_params(&r->ck, g);
    ckpt_add_params(&r->ck, d);
    ckpt_add_params(&r->ck, &r->state);
    ckpt_add_optimizer(&r->ck, opt_g);
    ckpt_add_optimizer(&r->ck, opt_d);
    r->g_params = g;
    // --device: the models, their optimizer state and the fixed noise move to
    // the device, and every tensor a step makes is made there. The run's own
    // state (batches drawn) stays on the host, where it is read.
    Device dev = r->args.device_resolved;
    if (dev != DEV_CPU) {
        params_to_device(g, dev);
        params_to_device(d, dev);
        if (opt_g) optim_to_device(opt_g, dev);
        if (opt_d) optim_to_device(opt_d, dev);
        if (r->fixed_z) t_move_(r->fixed_z, dev);
        if (r->fixed_labels) t_move_(r->fixed_labels, dev);
    }
    t_set_default_device(dev);
}

static void save_checkpoint(GanRun *r) {
    r->ck.step = r->step;
    if (ckpt_save(&r->ck, r->ckpt_path) != CKPT_OK) {
        fprintf(stderr, "\nerror: %s\n", r->ck.error);
        r->failed = 1;
        return;
    }
    r->last_saved = r->step;
    r->last_good = r->ckpt_path;
}

// After a write failed (disk full, directory gone): its error is printed;
// the run stops here, with where to continue from, rather than train on and
// report the same failure again at every write. The last good checkpoint is
// intact (checkpoints are written to a .tmp file, then renamed).
static void stop_if_failed(GanRun *r) {
    if (!r->failed) return;
    fflush(stdout);
    if (r->last_good)
        fprintf(stderr, "the run stops at step %ld; its last good checkpoint is %s (step %ld): once there is room, "
                        "continue with --resume %s\n",
                r->step, r->last_good, r->last_saved, r->last_good);
    else
        fprintf(stderr, "the run stops at step %ld, before its first checkpoint\n", r->step);
    exit(1);
}

// ---------------------------------------------------------------------------
// Pictures

// The generator on the fixed noise: a scatter beside the fixed real points
// (2-D data) or a 10 x 10 grid (images).
static int write_picture(GanRun *r, const char *path, GenerateFn generate, void *model) {
    int prev = t_set_grad_enabled(0);
    Tensor *fake = t_to(generate(model, r->fixed_z, r->fixed_labels), DEV_CPU);
    t_set_grad_enabled(prev);
    if (r->toy)
        return png_write_scatter(path, r->fixed_real, r->n_fixed, fake->data, r->n_fixed, -r->toy->extent,
                                 r->toy->extent, r->toy->tick, SCATTER_SIZE);
    return png_write_grid(path, fake->data, r->n_fixed, r->C, r->H, r->W, 0, 0, 0);
}

static void write_step_picture(GanRun *r, GenerateFn generate, void *model) {
    char file[64], path[4200];
    snprintf(file, sizeof file, "samples_%06ld.png", r->step);
    run_path(path, sizeof path, r->args.out, file);
    if (write_picture(r, path, generate, model) != 0) r->failed = 1;
}

int gan_run_sample(GanRun *r, GenerateFn generate, void *model) {
    Checkpoint only_g;
    ckpt_init(&only_g, "", NULL);
    ckpt_add_params(&only_g, r->g_params);
    only_g.allow_unused = 1;  // the file also holds D and the optimizers
    int rc = 1;
    char file[64], path[4200];
    if (ckpt_load(&only_g, r->args.sample) != CKPT_OK) {
        fprintf(stderr, "error: %s\n", only_g.error);
    } else if (rundir_prepare(r->args.out, 0, 1) == 0) {
        snprintf(file, sizeof file, "sample_step%06lld.png", (long long)only_g.step);
        run_path(path, sizeof path, r->args.out, file);
        if (write_picture(r, path, generate, model) == 0) {
            printf("%s: generator of %s (step %lld): wrote %s\n", r->chapter, r->args.sample,
                   (long long)only_g.step, path);
            rc = 0;
        }
    }
    release(r);
    return rc;
}

// ---------------------------------------------------------------------------
// The run

static int begin(GanRun *r, const char *columns, GenerateFn generate, void *model);

int gan_run_begin(GanRun *r, const char *columns, GenerateFn generate, void *model) {
    int rc = begin(r, columns, generate, model);
    if (rc != 0) release(r);  // the run ends here
    return rc;
}

// 1 when a and b name the same existing directory.
static int same_directory(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The logs (*.dat) of the run being resumed, copied from its directory into
// a new one, so that loss.dat and the chapter's own logs there start at step 1
// (losslog_open and gan_run_open_log then keep the rows up to the resumed step).
static int copy_logs(const char *from, const char *to) {
    DIR *d = opendir(from);
    if (!d) return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".dat") != 0) continue;
        char src[4200], dst[4200], buf[65536];
        run_path(src, sizeof src, from, e->d_name);
        run_path(dst, sizeof dst, to, e->d_name);
        FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
        size_t got;
        while (out && (got = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, got, out) != got) rc = -1;
        if (in) fclose(in);
        if (!out || fclose(out) != 0) rc = -1;
        if (rc != 0)
            fprintf(stderr, "error: cannot copy %s to %s (%s)\nHINT: check free disk space and permissions\n", src,
                    dst, strerror(errno));
    }
    closedir(d);
    return rc;
}

static int begin(GanRun *r, const char *columns, GenerateFn generate, void *model) {
    // --resume continues a run in its own directory. Into another one only
    // when that holds no run's outputs, or with --force, which deletes them
    // first: two runs' loss.dat rows and pictures must never mix.
    int elsewhere = 0;
    if (r->resuming) {
        char own[4096], list[1024];
        directory_of(r->args.resume, own, sizeof own);
        elsewhere = !same_directory(own, r->args.out);
        if (elsewhere && !r->args.force && rundir_outputs(r->args.out, list, sizeof list) > 0) {
            fprintf(stderr, "error: --out %s holds the outputs of another run (%.200s), and --resume continues the run "
                            "of %s\n"
                            "HINT: leave out --out to continue in %s/, choose an empty --out, or add --force to delete "
                            "%s's outputs first\n",
                    r->args.out, list, own, own, r->args.out);
            return -1;
        }
    }
    if (rundir_prepare(r->args.out, r->args.force, r->resuming && !elsewhere) != 0) return -1;
    if (elsewhere) {
        char own[4096];
        if (copy_logs(directory_of(r->args.resume, own, sizeof own), r->args.out) != 0) return -1;
    }
    run_path(r->ckpt_path, sizeof r->ckpt_path, r->args.out, "checkpoint.bin");
    if (r->resuming) {
        if (ckpt_load(&r->ck, r->args.resume) != CKPT_OK) {
            fprintf(stderr, "error: %s\n", r->ck.error);
            return -1;
        }
        r->step = (long)r->ck.step;
        r->last_saved = r->step;
        r->last_good = r->args.resume;
        if (r->step >= r->args.steps) {
            fprintf(stderr, "error: %s is at step %ld, and --steps is %d: nothing to train\n"
                            "HINT: pass a larger --steps to train longer, e.g. --steps %ld\n",
                    r->args.resume, r->step, r->args.steps, 2 * r->step);
            return -1;
        }
    }
    if (losslog_open(&r->log, r->args.out, columns, r->resuming ? r->step : -1) != 0) return -1;
    r->n_row = r->log.n_columns < 16 ? r->log.n_columns : 16;
    const char *c = columns;
    for (int i = 0; i < r->n_row; i++) {  // the names, for the progress line and metrics.txt
        c += strspn(c, " ");
        size_t len = strcspn(c, " ");
        snprintf(r->columns[i], sizeof r->columns[i], "%.*s", (int)len, c);
        c += len;
    }

    char opt[64];
    if (r->optimizer) snprintf(opt, sizeof opt, "%s", r->optimizer);  // a chapter's own (chapter 4: RMSprop)
    else snprintf(opt, sizeof opt, "Adam lr %g betas (%g, 0.999)", (double)r->args.lr, (double)r->beta1);
    if (r->toy)
        printf("%s: %s (%d Gaussians, sigma %g), %d steps of batch %d, z-dim %d, %s, seed %d\n", r->chapter,
               r->toy->name, r->toy->n_modes, (double)r->toy->sigma, r->args.steps, r->args.batch, r->z_dim, opt,
               r->args.seed);
    else
        printf("%s: %s (%d images %dx%d, from %s), %d steps of batch %d, z-dim %d, %s, seed %d\n", r->chapter,
               r->args.dataset, r->images.n, r->H, r->W, r->images.source, r->args.steps, r->args.batch, r->z_dim,
               opt, r->args.seed);
    if (r->resuming) printf("resuming from step %ld of %s\n", r->step, r->args.resume);
    if (r->args.device_resolved != DEV_CPU) printf("device: %s (--device %s)\n", t_device_name(r->args.device_resolved), r->args.device);
    printf("run directory: %s/\n", r->args.out);
    fflush(stdout);

    if (!r->resuming) write_step_picture(r, generate, model);  // what G makes before any training
    r->t_start = now_seconds();
    progress_begin(&r->progress, r->step, r->args.steps);
    return 0;
}

int gan_run_logs_next(const GanRun *r) {
    long s = r->step + 1;
    return s == 1 || s % r->log_every == 0;
}

void gan_run_step_done(GanRun *r, double *row, GenerateFn generate, void *model) {
    int logged = gan_run_logs_next(r);
    r->step++;
    row[0] = (double)r->step;
    for (int i = 1; i < r->n_row; i++)
        if (!isfinite(row[i])) {
            fprintf(stderr, "\nerror: training diverged at step %ld: column %d of loss.dat is %g\n"
                            "HINT: try a smaller --lr, or resume from the last checkpoint (%s)\n",
                    r->step, i + 1, row[i], r->last_saved >= 0 ? r->ckpt_path : "none yet");
            exit(1);
        }
    memcpy(r->row, row, (size_t)r->n_row * sizeof *row);
    if (logged && losslog_write(&r->log, row) != 0) r->failed = 1;
    if (r->args.sample_every > 0 && r->step % r->args.sample_every == 0) write_step_picture(r, generate, model);
    if ((r->args.checkpoint_every > 0 && r->step % r->args.checkpoint_every == 0) || r->step == r->args.steps)
        save_checkpoint(r);
    stop_if_failed(r);
    char text[512];
    int n = 0;
    for (int i = 1; i < r->n_row && n < (int)sizeof text; i++)
        // 3 decimals, or 3 significant digits for small values (a clipped
        // critic's W estimate on the toys is about 1e-4)
        n += snprintf(text + n, sizeof text - (size_t)n, fabs(row[i]) < 0.01 && row[i] != 0 ? "%s%s %.3g" : "%s%s %.3f",
                      i > 1 ? " " : "", r->columns[i], row[i]);
    progress_update(&r->progress, r->step, "%s", n ? text : "");
}

// With r->evaluate: the image figures of eval_mnist.h (FID, inception score,
// classes covered, class KL) for the final samples, on screen beside the real-data
// calibration and into metrics.txt. Without a trained classifier, the reason
// and its HINT (make classifier), and the run goes on. 64x64 samples are
// scored at 32x32 (each 2x2 block averaged: the inverse of the upsampling).
static void evaluate_images(GanRun *r, float *images, int n, Metrics *m) {
    if (!r->evaluate || r->C != 1) return;
    float *scored = images;
    int H = r->H, W = r->W;
    if (r->image_size == 64) {
        H /= 2, W /= 2;
        scored = malloc((size_t)n * H * W * sizeof(float));
        if (!scored) t_fatal("out of memory for %d samples\nHINT: free some memory", n);
        downsample2x(images, scored, n, H, W);
    }
    EvalResult res;
    char err[1024];
    if (eval_images(r->args.dataset, scored, n, H, W, &res, err, sizeof err) == 0) {
        eval_print(stdout, r->args.dataset, &res);
        eval_metrics_set(m, &res);
    } else {
        printf("evaluation skipped: %s\n", err);
    }
    if (scored != images) free(scored);
}

// samples_labels.idx: the class each final sample was asked for (i % n_classes),
// IDX unsigned byte (N), like the datasets' label files.
static int write_sample_labels(GanRun *r, int n) {
    unsigned char *y = malloc((size_t)n);
    if (!y) t_fatal("out of memory for %d labels\nHINT: free some memory", n);
    for (int i = 0; i < n; i++) y[i] = (unsigned char)(i % r->n_classes);
    char path[4200];
    run_path(path, sizeof path, r->args.out, "samples_labels.idx");
    int rc = idx_write(path, y, 1, (int[]){n});
    free(y);
    return rc;
}

// How many final samples: `dflt`, or GANBOOK_EVAL_SAMPLES when set (tests
// that run a chapter on the emulated GPU, where 10,000 images take minutes).
static int eval_samples(int dflt) {
    const char *e = getenv("GANBOOK_EVAL_SAMPLES");
    int n = e ? atoi(e) : 0;
    return n > 0 && n < dflt ? n : dflt;
}

// Final samples from fresh noise of their own stream: the same points for a
// run and for its resumed twin.
static int write_final_samples(GanRun *r, GenerateFn generate, void *model, Metrics *m) {
    Rng eval;
    rng_seed(&eval, (uint64_t)r->args.seed ^ SEED_EVAL);
    int prev = t_set_grad_enabled(0);
    int rc = 0;
    if (r->toy) {
        int n = eval_samples(TOY_EVAL_SAMPLES);
        Tensor *z = t_empty(2, n, r->z_dim);
        rng_fill_normal(&eval, z, 0.0f, 1.0f);
        Tensor *fake = t_to(generate(model, z, NULL), DEV_CPU);
        float *real = t_arena_alloc((size_t)n * 2 * sizeof(float));
        toy_sample(r->toy, real, n, uniform_fn, normal_fn, &eval);
        rc |= samples_write_txt(r->args.out, "samples.txt", fake->data, n);
        rc |= samples_write_txt(r->args.out, "real.txt", real, n);

        ToyMetrics tm = toy_metrics(r->toy, fake->data, n);
        tm.mode_kl = (float)ex_mode_kl(tm.counts, tm.modes_total);  // exercise 1.3
        metrics_set_toy(m, &tm);
        printf("toy metrics over %d samples (high quality: within 3 sigma = %g of a mode):\n", n,
               3.0 * r->toy->sigma);
        printf("  modes_covered %d / modes_total %d   high_quality_fraction %.3f   mode_kl %.3f\n",
               tm.modes_covered, tm.modes_total, (double)tm.high_quality_fraction, (double)tm.mode_kl);
        printf("  samples per mode:");
        for (int k = 0; k < tm.modes_total; k++) printf(" %d", tm.counts[k]);
        printf("\n");
    } else {
        int n = eval_samples(IMAGE_EVAL), chunk = 500;
        float *all = malloc((size_t)n * r->x_dim * sizeof(float));
        if (!all) t_fatal("out of memory for %d samples\nHINT: free some memory", n);
        for (int i = 0; i < n; i += chunk) {
            t_arena_reset();
            int b = n - i < chunk ? n - i : chunk;
            Tensor *z = t_empty(2, b, r->z_dim), *labels = NULL;
            rng_fill_normal(&eval, z, 0.0f, 1.0f);
            if (r->n_classes > 0) {  // sample i asks for class i % n_classes
                labels = t_empty_on(DEV_CPU, 1, (int[]){b});
                for (int k = 0; k < b; k++) labels->data[k] = (float)((i + k) % r->n_classes);
                labels = t_labels_to(labels, r->n_classes, t_default_device());
            }
            Tensor *fake = t_to(generate(model, z, labels), DEV_CPU);
            memcpy(all + (size_t)i * r->x_dim, fake->data, (size_t)b * r->x_dim * sizeof(float));
        }
        rc |= samples_write_idx(r->args.out, all, n, r->C, r->H, r->W);
        if (r->n_classes > 0) rc |= write_sample_labels(r, n);
        evaluate_images(r, all, n, m);
        free(all);
    }
    t_set_grad_enabled(prev);
    return rc;
}

int gan_run_finish(GanRun *r, Metrics *m, GenerateFn generate, void *model) {
    progress_end(&r->progress);
    double seconds = now_seconds() - r->t_start;
    stop_if_failed(r);  // e.g. a chapter's own pictures could not be written
    if (r->last_saved != r->step) save_checkpoint(r);
    stop_if_failed(r);
    losslog_close(&r->log);
    t_arena_reset();
    if (r->args.sample_every == 0 || r->step % r->args.sample_every != 0) write_step_picture(r, generate, model);
    stop_if_failed(r);

    Metrics all = {0};
    metrics_set_str(&all, "dataset", r->args.dataset);
    metrics_set(&all, "steps", (double)r->step);
    metrics_set(&all, "seed", r->args.seed);
    for (int i = 0; i < m->n; i++) metrics_set_str(&all, m->key[i], m->value[i]);
    for (int i = 1; i < r->n_row; i++) {  // the last logged row, under the chapter's column names
        char key[48];
        snprintf(key, sizeof key, "final_%s", r->columns[i]);
        metrics_set(&all, key, r->row[i]);
    }
    if (write_final_samples(r, generate, model, &all) != 0) r->failed = 1;
    stop_if_failed(r);
    metrics_set(&all, "train_seconds", seconds);
    if (metrics_write(&all, r->args.out) != 0) r->failed = 1;
    stop_if_failed(r);

    // loss.png + ASCII chart, or one line saying how; a failure is reported
    // there, and the run's exit status says so.
    if (plots_finish(r->args.out) < 0) r->failed = 1;
    if (!r->failed && r->toy && plots_have_gnuplot() && !strchr(r->args.out, '\'')) {
        char vars[9000], png[4200];
        run_path(png, sizeof png, r->args.out, "scatter.png");
        snprintf(vars, sizeof vars,
                 "fakefile='%s/samples.txt'; realfile='%s/real.txt'; outfile='%s'; extent=%g", r->args.out,
                 r->args.out, png, (double)r->toy->extent);
        if (plots_render("scatter.gp", vars, png) != 0) r->failed = 1;
    }
    gan_run_list_outputs(r);
    release(r);
    return r->failed ? 1 : 0;
}

void gan_run_list_outputs(const GanRun *r) {
    char list[8192];
    rundir_outputs(r->args.out, list, sizeof list);
    printf("outputs in %s/: %s\n", r->args.out, list);
}

// ---------------------------------------------------------------------------
// Extra logs and plots

int gan_run_open_log(GanRun *r, LossLog *log, const char *file, const char *columns) {
    memset(log, 0, sizeof *log);
    run_path(log->path, sizeof log->path, r->args.out, file);
    log->n_columns = 1;
    for (const char *c = columns; *c; c++)
        if (*c == ' ' && c[1] && c[1] != ' ') log->n_columns++;
    // Written to FILE.tmp, then renamed: a resumed run keeps the old rows up
    // to the checkpoint's step, a new run starts with the header alone.
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", log->path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "error: cannot create %s (%s)\nHINT: check that the run directory is writable\n", tmp,
                strerror(errno));
        return -1;
    }
    fprintf(out, "# %s\n", columns);
    FILE *old = r->resuming ? fopen(log->path, "r") : NULL;
    char line[4096];
    while (old && fgets(line, sizeof line, old)) {
        char *end;
        double step = strtod(line, &end);
        if (line[0] == '#' || end == line || step > (double)r->step) continue;
        fputs(line, out);
        if (!strchr(line, '\n')) fputc('\n', out);
    }
    if (old) fclose(old);
    if (fclose(out) != 0 || rename(tmp, log->path) != 0 || !(log->f = fopen(log->path, "a"))) {
        fprintf(stderr, "error: cannot write %s (%s)\nHINT: check free disk space\n", log->path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

int gan_run_plot(GanRun *r, const char *script, const char *dat, const char *png) {
    if (!plots_have_gnuplot() || strchr(r->args.out, '\'')) return 1;
    char vars[9000], path[4200];
    run_path(path, sizeof path, r->args.out, png);
    snprintf(vars, sizeof vars, "datafile='%s/%s'; outfile='%s'", r->args.out, dat, path);
    if (plots_render(script, vars, path) != 0) {
        r->failed = 1;
        return -1;
    }
    return 0;
}

void gan_run_log(GanRun *r, LossLog *log, const double *row) {
    if (losslog_write(log, row) != 0) r->failed = 1;
    stop_if_failed(r);
}
