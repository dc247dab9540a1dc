// Chapter 4: the Wasserstein GAN (Arjovsky, Chintala & Bottou, 2017).
//
// Chapters 1-3 train D to tell real from fake, and their losses say little
// about how good the samples are: at the game's solution L_D = log 4 whatever
// G makes. A WGAN asks a different question: how far is p_g from p_data?
// It measures that with the earth mover's (Wasserstein-1) distance, in the
// dual form of Kantorovich and Rubinstein,
//
//     W(p_data, p_g) = sup over 1-Lipschitz f of  E_x~p_data[f(x)] - E_z[f(G(z))]
//
// The discriminator becomes a *critic* C that plays f: it outputs a score
// (no sigmoid, any real number) and maximizes mean C(x) - mean C(G(z)); G
// minimizes -mean C(G(z)). If C stays K-Lipschitz, the critic's best value is
// K W(p_data, p_g), so -L_C (the Wasserstein estimate this program logs)
// should fall as the samples improve, unlike a GAN's losses. The paper's
// way to keep C Lipschitz is crude: after every update, clip each weight of C
// into [-c, c] (c = 0.01). The critic wants all the slope it can get, so its
// weights pile up at +-c; weights.dat / weights.png show that.
//
// Algorithm 1 of the paper, as this program runs it:
//     for each generator step:
//         n_critic times (5; 100 during the warm-up, see train_step):
//             x ~ data, z ~ N(0, I)
//             L_C = mean C(G(z)) - mean C(x)             exercise 4.1
//             RMSprop step on C (lr 5e-5)
//             clip C's weights into [-c, c]              exercise 4.2
//         z ~ N(0, I);  L_G = -mean C(G(z))              exercise 4.3
//         RMSprop step on G
//
//     make chapter4 && ./chapter4                   ring8, about 1.5 minutes of CPU (README: Time)
//     ./chapter4 --dataset grid25 --out runs/ch4-grid
//     ./chapter4 --dataset mnist --out runs/ch4-mnist     W estimate against FID (wfid.dat)
//     ./chapter4 --clip 0.1 --out runs/ch4-clip01         a looser constraint
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch04_wgan/exercises.h"  // the critic and generator losses, weight clipping (4.1-4.3)
#include "dcgan.h"                // --net dcgan: chapter 3's networks
#include "eval_mnist.h"           // FID of samples over training (wfid.dat)
#include "gan_run.h"              // data, logs, samples, checkpoints: shared with chapters 1-3
#include "mlp.h"

// ---------------------------------------------------------------------------
// 1. The networks. What makes a critic is how its output is used: a score,
//    never passed through a sigmoid. Its last layer is the same Linear (or
//    conv) as a discriminator's.
//
// --net mlp (chapter 1's MLPs; the only choice for the toys):
//   2-D toys  G: z (B, 2) -> 128 -> 128 -> 128 -> x (B, 2), ReLU.
//             C: x (B, 2) -> 128 -> 128 -> 128 -> score (B, 1), LeakyReLU 0.2.
//   images    G: z (B, 100) -> 256 -> 512 -> 1024 -> 784, LeakyReLU 0.2, tanh.
//             C: 784 -> 512 -> 256 -> score (B, 1), LeakyReLU 0.2.
// --net dcgan (images, padded to 32x32): chapter 3's DCGAN pair from
//   common/dcgan.h, the critic's output named a score, its hidden layers
//   normalized by --critic-norm (batch, as in the paper's DCGAN critic, or
//   layer / none). Clipping applies to every trainable value, batch norm's
//   gamma and beta included, as the original code's
//   `for p in netD.parameters(): p.data.clamp_(-c, c)` does.

typedef struct {
    Params params;                // --net mlp: "G.fc1.weight", ...
    Mlp mlp;
    DcganGenerator *dcgan;        // --net dcgan, else NULL (its own registry, dcgan->params)
} Generator;

typedef struct {
    Params params;                // --net mlp: "C.fc1.weight", ...
    Mlp mlp;
    DcganDiscriminator *dcgan;    // --net dcgan, else NULL
} Critic;

static Params *generator_params(Generator *g) { return g->dcgan ? &g->dcgan->params : &g->params; }
static Params *critic_params(Critic *c) { return c->dcgan ? &c->dcgan->params : &c->params; }

static void build_networks(Generator *g, Critic *c, GanRun *run, const char *net, int width, const char *norm) {
    if (strcmp(net, "dcgan") == 0) {
        static DcganGenerator dg;  // static: built in place, never copied (nn.h)
        static DcganDiscriminator dc;
        DcganConfig cfg = dcgan_config(run->image_size, run->C, width, run->z_dim);
        cfg.output = DCGAN_OUTPUT_SCORE;
        cfg.d_norm = dcgan_norm_from_name(norm);
        dcgan_generator_init(&dg, &cfg, &run->rng);
        dcgan_discriminator_init(&dc, &cfg, &run->rng);
        g->dcgan = &dg, c->dcgan = &dc;
        return;
    }
    params_init(&g->params, "G");
    params_init(&c->params, "C");
    if (run->toy) {
        mlp_init(&g->mlp, &g->params, (int[]){run->z_dim, 128, 128, 128, 2}, 5, ACT_RELU, ACT_NONE, &run->rng);
        mlp_init(&c->mlp, &c->params, (int[]){2, 128, 128, 128, 1}, 5, ACT_LEAKY_RELU, ACT_NONE, &run->rng);
    } else {
        mlp_init(&g->mlp, &g->params, (int[]){run->z_dim, 256, 512, 1024, run->x_dim}, 5, ACT_LEAKY_RELU, ACT_TANH,
                 &run->rng);
        mlp_init(&c->mlp, &c->params, (int[]){run->x_dim, 512, 256, 1}, 4, ACT_LEAKY_RELU, ACT_NONE, &run->rng);
    }
}

// G(z) in training: z (B, z_dim) -> (B, 2), (B, 784) or (B, 1, 32, 32).
static Tensor *generator_forward(Generator *g, Tensor *z) {
    return g->dcgan ? dcgan_generator_forward(g->dcgan, z, NULL) : mlp_forward(&g->mlp, z);
}
// G for the pictures, the final samples and wfid.dat (gan_run.h's signature;
// unconditional, labels is NULL): batch norm with its running statistics.
static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    Generator *g = model;
    return g->dcgan ? dcgan_sample(g->dcgan, z, labels) : mlp_forward(&g->mlp, z);
}
// C(x): the score, (B, 1).
static Tensor *critic(Critic *c, Tensor *x) {
    return c->dcgan ? dcgan_discriminator_forward(c->dcgan, x, NULL) : mlp_forward(&c->mlp, x);
}

// ---------------------------------------------------------------------------
// 2. The losses and the constraint (solutions/ch04_wgan.c).
//   critic:     L_C = mean C(G(z)) - mean C(x)        exercise 4.1
//   clipping:   w = clamp(w, -c, c), every weight     exercise 4.2
//   generator:  L_G = -mean C(G(z))                   exercise 4.3
// -L_C = mean C(x) - mean C(G(z)) is the critic's estimate of (a multiple
// of) W(p_data, p_g): loss.dat's W_estimate column.

typedef struct {
    int n_critic;     // --n-critic: critic steps per generator step (5)
    int warmup;       // --warmup on: 100 critic steps for G steps 0-24 and every 500th
    float clip;       // --clip: c (0.01); 0 turns clipping off
} WganSettings;

// ---------------------------------------------------------------------------
// 3. One generator step with its critic steps (Algorithm 1).
//
// The warm-up is the original code's (github.com/martinarjovsky/
// WassersteinGAN, main.py): "if gen_iterations < 25 or gen_iterations % 500
// == 0: Diters = 100". G steps are counted from 0, so G steps 0-24, 500,
// 1000, ... get 100 critic steps: the critic is trained close to optimality
// at the start, and again now and then, so that its estimate can be trusted.
// That code clamps the weights at the *start* of each critic iteration;
// Algorithm 1 of the paper clips right after each update, so that the critic
// G trains against is always inside the constraint. We follow the paper.

typedef struct {
    double w_estimate;  // mean C(x) - mean C(G(z)) on the last critic batch (= -L_C)
    double g_loss;      // L_G on the generator's batch
    double c_real, c_fake;  // mean C(x), mean C(G(z)) on the last critic batch
    int critic_steps;
    long clipped;       // values exercise 4.2 clamped in the last critic step
} StepStats;

// The mean of a logged tensor (copied back first when it lives on a GPU).
static double mean_of(Tensor *t) {
    const float *v = t_to(t, DEV_CPU)->data;
    double s = 0.0;
    for (long i = 0; i < t->numel; i++) s += v[i];
    return t->numel ? s / (double)t->numel : 0.0;
}

// Exercise 4.2 clips on the CPU. On a GPU the library clips instead (the
// exercise's loop reads host memory), and the count it returns is computed
// by ops on the device, only when `count` asks for it (the last critic step
// of a G step: the number is logged, so it is the one value copied back):
// values with |w| > c are relu(sign(|w| - c)) = 1, the others 0, summed
// exactly (whole numbers below 2^24).
static long clip_critic(Params *ps, float c, int count) {
    if (ps->count == 0 || ps->items[0].t->device == DEV_CPU) return ex_clip_weights(ps, c);  // exercise 4.2
    long clipped = 0;
    if (count) {
        int prev = t_set_grad_enabled(0);
        Tensor *total = NULL;
        for (int i = 0; i < ps->count; i++) {
            if (!param_is_trainable(&ps->items[i])) continue;
            Tensor *outside = t_sum(t_relu(t_sign(t_add_scalar(t_abs(ps->items[i].t), -c))));
            total = total ? t_add(total, outside) : outside;
        }
        t_set_grad_enabled(prev);
        clipped = total ? (long)t_item(total) : 0;
    }
    params_clip(ps, c);
    return clipped;
}

static int critic_steps_for(const WganSettings *w, long gen_step) {
    if (w->warmup && (gen_step < 25 || gen_step % 500 == 0)) return 100;
    return w->n_critic;
}

static StepStats train_step(GanRun *run, Generator *g, Critic *c, Optimizer *opt_g, Optimizer *opt_c,
                            const WganSettings *w) {
    StepStats s = {0};
    int B = run->args.batch;
    s.critic_steps = critic_steps_for(w, run->step);

    for (int k = 0; k < s.critic_steps; k++) {
        t_arena_reset();  // the critic steps make a graph each; only the last one's numbers are kept
        Tensor *x = gan_real_batch(run);
        Tensor *z = gan_noise(run, B);
        int prev = t_set_grad_enabled(0);
        Tensor *fake = generator_forward(g, z);  // no graph into G
        t_set_grad_enabled(prev);
        Tensor *scores_real = critic(c, x), *scores_fake = critic(c, fake);
        Tensor *loss_c = ex_critic_loss(scores_real, scores_fake);  // exercise 4.1
        optim_zero_grad(opt_c);
        t_backward(loss_c);
        optim_step(opt_c);
        int last = k == s.critic_steps - 1;  // only its numbers are logged (copied back from a GPU)
        if (w->clip > 0.0f) s.clipped = clip_critic(critic_params(c), w->clip, last);  // exercise 4.2 on the CPU
        if (!last) continue;
        s.w_estimate = -t_item(loss_c);
        s.c_real = mean_of(scores_real);
        s.c_fake = mean_of(scores_fake);
    }

    // G step: the critic is frozen, G follows its slope towards higher scores.
    t_arena_reset();
    params_requires_grad(critic_params(c), 0);  // freeze C: no gradients for its weights
    Tensor *z = gan_noise(run, B);
    Tensor *loss_g = ex_wgan_generator_loss(critic(c, generator_forward(g, z)));  // exercise 4.3
    optim_zero_grad(opt_g);
    t_backward(loss_g);
    optim_step(opt_g);
    params_requires_grad(critic_params(c), 1);
    s.g_loss = t_item(loss_g);
    return s;
}

// ---------------------------------------------------------------------------
// 4. The measurements.
//
// 4a. The critic's weights, as a histogram over training (weights.dat, rows
//     "step weight fraction": HIST_BINS bins over [-c, c], weight = the bin's
//     centre, fraction = the share of all of C's trainable values in it;
//     values exactly at +-c land in the end bins). Taken at step 1, every
//     --sample-every steps and at the end. plots/weights.gp draws it;
//     without gnuplot, print_histogram draws the last one as text.

#define HIST_BINS 40

typedef struct {
    double fraction[HIST_BINS];
    double at_bound;  // share of values exactly at -c or +c
    double lo, hi;    // the range binned
} Histogram;

// Taken at log time only: on a GPU run each weight tensor is copied back to
// the host (t_to) for it; the copies die at the next arena reset.
static Histogram weight_histogram(const Params *ps, float clip) {
    Histogram h = {{0}, 0, 0, 0};
    double range = clip;
    long total = 0, at = 0;
    const float *values[512];  // each trainable tensor's values on the host (NULL: not trainable)
    if (ps->count > 512) t_fatal("weight_histogram: %d tensors, at most 512\nHINT: raise the bound", ps->count);
    for (int i = 0; i < ps->count; i++)
        values[i] = param_is_trainable(&ps->items[i]) ? t_to(ps->items[i].t, DEV_CPU)->data : NULL;
    if (range <= 0.0) {  // no clipping: bin over the largest |w|
        for (int i = 0; i < ps->count; i++)
            if (values[i])
                for (long j = 0; j < ps->items[i].t->numel; j++) {
                    double a = fabs(values[i][j]);
                    if (a > range) range = a;
                }
        if (range == 0.0) range = 1.0;
    }
    h.lo = -range, h.hi = range;
    long count[HIST_BINS] = {0};
    for (int i = 0; i < ps->count; i++) {
        if (!values[i]) continue;
        const Tensor *t = ps->items[i].t;
        for (long j = 0; j < t->numel; j++) {
            double v = values[i][j];
            int b = (int)floor((v + range) / (2.0 * range) * HIST_BINS);
            b = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
            count[b]++;
            if (clip > 0.0f && fabsf(values[i][j]) == clip) at++;
        }
        total += t->numel;
    }
    for (int b = 0; b < HIST_BINS; b++) h.fraction[b] = total ? (double)count[b] / total : 0.0;
    h.at_bound = total ? (double)at / total : 0.0;
    return h;
}

static void log_histogram(GanRun *run, LossLog *log, const Histogram *h) {
    double width = (h->hi - h->lo) / HIST_BINS;
    for (int b = 0; b < HIST_BINS; b++)
        gan_run_log(run, log, (double[]){(double)run->step, h->lo + (b + 0.5) * width, h->fraction[b]});
}

// The last histogram as text, 10 rows of 4 bins each: what weights.png shows,
// for a terminal without gnuplot.
static void print_histogram(const Histogram *h, long step) {
    printf("critic weights at step %ld (%s; %.1f%% exactly at +-c):\n", step,
           h->at_bound > 0 ? "clipped" : "not clipped", 100.0 * h->at_bound);
    for (int r = 0; r < 10; r++) {
        double f = 0.0;
        for (int b = 4 * r; b < 4 * r + 4; b++) f += h->fraction[b];
        double lo = h->lo + r * (h->hi - h->lo) / 10, hi = lo + (h->hi - h->lo) / 10;
        int bar = (int)lround(f * 50.0);
        printf("  [%+.4f, %+.4f) %5.1f%% ", lo, hi, 100.0 * f);
        for (int i = 0; i < bar; i++) putchar('#');
        putchar('\n');
    }
}

// 4b. Images: does the Wasserstein estimate track sample quality? Every
//     --fid-every steps, on fixed sets: the critic's estimate
//     W_critic = mean C(x) - mean C(G(z)) over EVAL_N real images (the first
//     ones of the training set) and EVAL_N samples from a fixed noise batch,
//     and the FID of those samples (eval_mnist.h, the course's classifier).
//     Rows "step W_critic fid" in wfid.dat; plots/wfid.gp draws both.
//     The fixed sets come from streams of their own, so measuring changes
//     nothing in training.

#define EVAL_N 1000
#define SEED_WFID 0x3FA11D5EEDull

typedef struct {
    int on;          // images and --fid-every > 0
    int with_fid;    // the classifier is there
    float *real;     // EVAL_N real images, flattened as the critic sees them
    Tensor *z;       // (EVAL_N, z_dim) persistent
    LossLog log;
    double last_w, last_fid;
} WfidTracker;

// n images from host memory as a batch on the run's device (one upload).
static Tensor *as_batch(const GanRun *run, float *data, int n) {
    int shape[4] = {n, run->C, run->H, run->W};
    if (!run->image_size) shape[1] = run->x_dim;
    Tensor *x = t_empty_on(DEV_CPU, run->image_size ? 4 : 2, shape);
    memcpy(x->data, data, (size_t)n * run->x_dim * sizeof(float));
    return t_to(x, t_default_device());
}

static int wfid_begin(WfidTracker *t, GanRun *run) {
    char err[1024];
    EvalResult probe;
    static float blank[2 * 28 * 28];  // two images: the cheapest call that loads the classifier
    t->with_fid = eval_images(run->args.dataset, blank, 2, 28, 28, &probe, err, sizeof err) == 0;
    if (!t->with_fid) printf("FID over training skipped: %s\n", err);
    if (gan_run_open_log(run, &t->log, "wfid.dat", t->with_fid ? "step W_critic fid" : "step W_critic") != 0) return -1;
    t->real = malloc((size_t)EVAL_N * run->x_dim * sizeof(float));
    int *idx = malloc(EVAL_N * sizeof(int));
    if (!t->real || !idx) t_fatal("out of memory for the W/FID sets\nHINT: free some memory");
    int n = run->images.n < EVAL_N ? run->images.n : EVAL_N;
    for (int i = 0; i < EVAL_N; i++) idx[i] = i % n;
    dataset_batch(&run->images, idx, EVAL_N, t->real, NULL);
    free(idx);
    Rng rng;
    rng_seed(&rng, (uint64_t)run->args.seed ^ SEED_WFID);
    t->z = t_persistent_on(DEV_CPU, "wfid_z", 2, (int[]){EVAL_N, run->z_dim});  // host: as_batch uploads chunks
    rng_fill_normal(&rng, t->z, 0.0f, 1.0f);
    t->on = 1;
    return 0;
}

// A batch-normed critic scores in training mode (batch statistics), as in
// training, with momentum 0 so that measuring leaves its running statistics
// as they are (r = (1 - 0) r + 0 batch): the checkpoint and a resumed run
// must not depend on when wfid.dat was written.
static void critic_bn_momentum(Critic *c, float momentum) {
    if (!c->dcgan || c->dcgan->cfg.d_norm != DCGAN_NORM_BATCH) return;
    for (int i = 1; i < c->dcgan->layers - 1; i++) c->dcgan->bn[i].momentum = momentum;
}

static void wfid_measure(WfidTracker *t, GanRun *run, Generator *g, Critic *c) {
    int chunk = 500, prev = t_set_grad_enabled(0);
    float momentum = c->dcgan ? c->dcgan->bn[1].momentum : 0.0f;
    critic_bn_momentum(c, 0.0f);
    float *fakes = malloc((size_t)EVAL_N * run->x_dim * sizeof(float));
    if (!fakes) t_fatal("out of memory for the W/FID samples\nHINT: free some memory");
    double sum_real = 0, sum_fake = 0;
    for (int i = 0; i < EVAL_N; i += chunk) {
        t_arena_reset();
        int b = EVAL_N - i < chunk ? EVAL_N - i : chunk;
        Tensor *z = t_from_data(t->z->data + (size_t)i * run->z_dim, 2, (int[]){b, run->z_dim});  // uploaded
        Tensor *fake = generate(g, z, NULL);
        t_download(fake, fakes + (size_t)i * run->x_dim);
        sum_fake += mean_of(critic(c, fake)) * b;
        sum_real += mean_of(critic(c, as_batch(run, t->real + (size_t)i * run->x_dim, b))) * b;
    }
    t_set_grad_enabled(prev);
    critic_bn_momentum(c, momentum);
    t->last_w = (sum_real - sum_fake) / EVAL_N;
    if (t->with_fid) {
        EvalResult res;
        char err[1024];
        t->last_fid = eval_images(run->args.dataset, fakes, EVAL_N, run->H, run->W, &res, err, sizeof err) == 0
                          ? res.fid
                          : NAN;
        gan_run_log(run, &t->log, (double[]){(double)run->step, t->last_w, t->last_fid});
    } else {
        gan_run_log(run, &t->log, (double[]){(double)run->step, t->last_w});
    }
    free(fakes);
    t_arena_reset();
}

// Spearman's rank correlation of the two columns of wfid.dat (ties get the
// mean rank): +1 when W and FID fall and rise together.
static double rank_correlation(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    double a[4096], b[4096];
    int n = 0;
    char line[256];
    while (n < 4096 && fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%*s %lf %lf", &a[n], &b[n]) == 2 && isfinite(b[n])) n++;
    fclose(f);
    if (n < 3) return NAN;
    static double ra[4096], rb[4096];
    for (int k = 0; k < 2; k++) {
        double *v = k ? b : a, *r = k ? rb : ra;
        for (int i = 0; i < n; i++) {
            int less = 0, same = 0;
            for (int j = 0; j < n; j++) less += v[j] < v[i], same += v[j] == v[i];
            r[i] = less + (same + 1) / 2.0;
        }
    }
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) ma += ra[i] / n, mb += rb[i] / n;
    for (int i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

// ---------------------------------------------------------------------------
// 5. main

int main(int argc, char **argv) {
    GanRun run;
    gan_run_defaults(&run, "chapter4", argc, argv);
    // The paper's settings: RMSprop with lr 5e-5, c = 0.01, n_critic 5, the
    // warm-up; batch 64 for images (the toys keep batch 256).
    run.args.lr = 5e-5f;
    WganSettings w = {5, 1, 0.01f};
    const char *warmup = "on", *optim = "rmsprop", *net = "mlp", *critic_norm = "batch";
    int fid_every = 500;  // images only
    int width = 32;       // --net dcgan: chapter 3's default width
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n++] = cli_float("clip", &w.clip, 0, 10, "clip the critic's weights into [-c, c] after each update (0: off)");
    flags[n++] = cli_int("n-critic", &w.n_critic, 1, 1000, "critic steps per generator step");
    flags[n++] = cli_choice("warmup", &warmup, "on|off",
                            "100 critic steps for generator steps 0-24 and every 500th (the original code)");
    flags[n++] = cli_choice("optim", &optim, "rmsprop|adam",
                            "optimizer of both nets: RMSprop (the paper) or Adam (--beta1, beta2 0.999)");
    flags[n++] = cli_int("fid-every", &fid_every, 0, 1e9,
                         "images: W estimate and FID of 1,000 samples every N steps into wfid.dat (0: off)");
    flags[n++] = cli_choice("net", &net, "mlp|dcgan", "images: chapter 1's MLPs or chapter 3's DCGAN pair (32x32)");
    flags[n++] = cli_int("width", &width, 1, 512, "--net dcgan: channels of C's first and G's last hidden layer");
    flags[n++] = cli_choice("critic-norm", &critic_norm, "batch|layer|none",
                            "--net dcgan: normalization of the critic's hidden layers (the paper: batch)");
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv,
                  "Chapter 4: Wasserstein GAN (Arjovsky et al., 2017): a critic with weight clipping, RMSprop,\n"
                  "n_critic; logs the W estimate (loss.dat), the critic's weights (weights.dat) and, on images,\n"
                  "the W estimate against FID (wfid.dat).",
                  "clip n-critic warmup optim net width critic-norm");
    int dcgan = strcmp(net, "dcgan") == 0;
    if (dcgan && toy_find(run.args.dataset))
        cli_usage_error(run.chapter, "--net dcgan needs images (--dataset mnist or fashion), not %s", run.args.dataset);
    run.image_size = dcgan ? 32 : 0;  // the DCGAN nets work on 32x32 (MNIST padded); the MLPs on 784 numbers
    run.evaluate = 1;  // images: FID, inception score, classes covered, class KL at the end
    if (gan_run_load_data(&run) != 0) return 1;
    w.warmup = strcmp(warmup, "on") == 0;
    int adam = strcmp(optim, "adam") == 0;

    static Generator g;
    static Critic c;
    build_networks(&g, &c, &run, net, width, critic_norm);
    Params *gp = generator_params(&g), *cp = critic_params(&c);
    // RMSprop as PyTorch's defaults have it (alpha 0.99, eps 1e-8, no momentum):
    // the original code's optim.RMSprop(lr=5e-5). The paper found momentum
    // (Adam's beta1 > 0) made the critic's training unstable.
    Optimizer *opt_g, *opt_c;
    if (adam) {
        opt_g = optim_adam(gp, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
        opt_c = optim_adam(cp, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    } else {
        opt_g = optim_rmsprop(gp, run.args.lr, 0.99f, 1e-8f, 0.0f, 0.0f, 0);
        opt_c = optim_rmsprop(cp, run.args.lr, 0.99f, 1e-8f, 0.0f, 0.0f, 0);
    }
    static char opt_words[64];
    snprintf(opt_words, sizeof opt_words, adam ? "Adam lr %g betas (%g, 0.999)" : "RMSprop lr %g (alpha 0.99)",
             (double)run.args.lr, (double)run.beta1);
    run.optimizer = opt_words;  // for the banner
    gan_run_track(&run, gp, cp, opt_g, opt_c);
    if (run.sample_only) return gan_run_sample(&run, generate, &g);

    char desc[160];
    if (dcgan) {
        snprintf(desc, sizeof desc, "DCGAN width %d, 32x32", width);
        printf("G: %s (%ld parameters)\n", desc, params_numel(gp, 1));
        snprintf(desc, sizeof desc, "DCGAN width %d, %s norm, score output", width, critic_norm);
    } else {
        printf("G: %s (%ld parameters)\n", mlp_describe(&g.mlp, desc, sizeof desc), params_numel(gp, 1));
        mlp_describe(&c.mlp, desc, sizeof desc);
    }
    printf("C: %s (%ld parameters), clip %g, n_critic %d, warm-up %s\n", desc, params_numel(cp, 1), (double)w.clip,
           w.n_critic, warmup);
    if (gan_run_begin(&run, "step W_estimate g_loss C(x) C(G(z))", generate, &g) != 0) return 1;
    LossLog weights;
    if (gan_run_open_log(&run, &weights, "weights.dat", "step weight fraction") != 0) return 1;
    WfidTracker wfid = {0};
    if (!run.toy && fid_every > 0 && wfid_begin(&wfid, &run) != 0) return 1;

    long critic_steps = 0, clipped = 0;
    Histogram h = weight_histogram(cp, w.clip);
    while (run.step < run.args.steps) {
        StepStats s = train_step(&run, &g, &c, opt_g, opt_c, &w);
        critic_steps += s.critic_steps;
        clipped = s.clipped;
        double row[5] = {0, s.w_estimate, s.g_loss, s.c_real, s.c_fake};
        gan_run_step_done(&run, row, generate, &g);
        if (run.step == 1 || (run.args.sample_every > 0 && run.step % run.args.sample_every == 0) ||
            run.step == run.args.steps) {
            h = weight_histogram(cp, w.clip);
            log_histogram(&run, &weights, &h);
        }
        if (wfid.on && run.step % fid_every == 0) wfid_measure(&wfid, &run, &g, &c);
    }
    losslog_close(&weights);
    if (wfid.on) losslog_close(&wfid.log);

    Metrics m = {0};
    metrics_set(&m, "clip", w.clip);
    metrics_set(&m, "n_critic", w.n_critic);
    metrics_set_str(&m, "warmup", warmup);
    metrics_set_str(&m, "optim", optim);
    metrics_set_str(&m, "net", net);
    if (dcgan) metrics_set(&m, "width", width), metrics_set_str(&m, "critic_norm", critic_norm);
    metrics_set(&m, "critic_steps_this_run", (double)critic_steps);
    metrics_set(&m, "weights_at_bound", h.at_bound);
    char wfid_path[4200];
    double rho = NAN;
    if (wfid.on) {
        run_path(wfid_path, sizeof wfid_path, run.args.out, "wfid.dat");
        metrics_set(&m, "last_W_critic", wfid.last_w);
        if (wfid.with_fid) {
            rho = rank_correlation(wfid_path);
            metrics_set(&m, "last_fid_1000", wfid.last_fid);
            if (isfinite(rho)) metrics_set(&m, "spearman_W_fid", rho);
        }
    }
    print_histogram(&h, run.step);
    if (w.clip > 0.0f)  // exercise 4.2's count: how hard RMSprop pushes against the walls
        printf("the last critic step pushed %.1f%% of the critic's values past +-c (clipped back)\n",
               100.0 * (double)clipped / (double)params_numel(cp, 1));
    if (gan_run_plot(&run, "wasserstein.gp", "loss.dat", "wasserstein.png") == 0)
        printf("wrote %s/wasserstein.png\n", run.args.out);
    if (gan_run_plot(&run, "weights.gp", "weights.dat", "weights.png") == 0)
        printf("wrote %s/weights.png\n", run.args.out);
    if (wfid.on) {
        if (isfinite(rho))
            printf("W estimate against FID over training (wfid.dat): Spearman rank correlation %.2f "
                   "(+1: they fall together)\n", rho);
        if (gan_run_plot(&run, "wfid.gp", "wfid.dat", "wfid.png") == 0) printf("wrote %s/wfid.png\n", run.args.out);
    }
    free(wfid.real);
    // The last samples, the toy metrics or the image evaluation, metrics.txt,
    // loss.png and the list of every file the run wrote (plots above included).
    return gan_run_finish(&run, &m, generate, &g);
}
