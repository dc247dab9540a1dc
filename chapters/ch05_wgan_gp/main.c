// Chapter 5: WGAN-GP (Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, 2017).
//
// Chapter 4's WGAN replaces D by a critic C with no sigmoid and trains it to
// estimate the Wasserstein-1 distance,
//
//     W(p_data, p_g) = max over 1-Lipschitz C of  E_x[C(x)] - E_z[C(G(z))],
//
// and enforces "1-Lipschitz" crudely, by clipping every weight to +-c. The
// clipped critic spends its capacity on the clip (its weights pile up at
// +-c) and learns only very simple functions. WGAN-GP keeps the critic free
// and adds a soft constraint instead: a differentiable function is
// 1-Lipschitz exactly when ||grad_x C(x)|| <= 1 everywhere, and the optimal
// critic has norm 1 on the lines between real and generated points
// (Gulrajani et al., Proposition 1). So, on random points of those lines,
//
//     x_hat = eps x + (1 - eps) G(z),  eps ~ U[0, 1] per sample     (exercise 5.1)
//     L_C = E[C(G(z))] - E[C(x)] + lambda E[(||grad_x C(x_hat)||_2 - 1)^2]  (5.2)
//     L_G = -E[C(G(z))]
//
// with lambda 10 (0.1 on the 2-D toys, as in the paper's toy code), n_critic
// 5 critic steps per generator step, Adam 1e-4 with betas (0.5, 0.9) (the
// paper's Algorithm 1 has beta1 0: --beta1 0), and no
// batch norm in the critic: batch norm mixes the samples of a batch, and the
// penalty is about the gradient of one sample's score with respect to that
// sample. Layer norm (per sample) is the paper's drop-in (--critic-norm).
//
// The penalty is a loss made of a gradient: training the critic on it needs
// the gradient of a gradient. The library's t_grad with create_graph builds
// grad_x C(x_hat) as a graph of ordinary ops, so t_backward can go through it
// (common/autograd.c; the check against PyTorch and finite differences is
// tests/test_penalty.c).
//
// Read top to bottom: the networks, the penalty, one training step, what the
// critic looks like (heat map, gradient norms), main.
//
//     make chapter5 && ./chapter5                   ring8, 6,000 steps: about 2 minutes of one core
//     ./chapter5 --dataset grid25 --out runs/ch5-grid
//     ./chapter5 --dataset mnist --out runs/ch5-mnist    conv critic, FID / IS at the end
//     ./chapter5 --help
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch05_wgan_gp/exercises.h"  // ex_interpolates, ex_gradient_penalty (exercises 5.1, 5.2)
#include "gan_run.h"                 // data, logs, samples, checkpoints, evaluation: shared with chapters 1-4
#include "dcgan.h"                   // chapter 3's networks, with a layer-norm critic
#include "mlp.h"

// ---------------------------------------------------------------------------
// 1. The networks.
//
// 2-D toys (the paper's toy networks, narrower: --hidden H, 512 in the paper)
//   G  z (B, 2) -> H -> H -> H -> x (B, 2), ReLU
//   C  x (B, 2) -> H -> H -> H -> score (B, 1), ReLU; with --critic-norm layer,
//      a layer norm over the H features before each ReLU
// images, 32x32: chapter 3's DCGAN (common/dcgan.h), width W = --width
//   G  z (B,100) -> ConvT 4W (4x4) -> 2W (8x8) -> W (16x16) -> 1 (32x32),
//      batch norm + ReLU, tanh at the output (G may keep its batch norm: the
//      penalty differentiates only the critic)
//   C  x (B,1,32,32) -> Conv W (16x16) LReLU -> 2W (8x8) [LN] LReLU ->
//      4W (4x4) [LN] LReLU -> Conv(4W, 1, 4) -> score (B, 1)
//      [LN]: --critic-norm layer (the default for images) or none
// The critic's output is a raw score, not a logit: nothing squashes it.

#define TOY_LAYERS 4

typedef struct {
    Params params;
    Mlp net;
} ToyGenerator;

typedef struct {
    Params params;
    Linear fc[TOY_LAYERS];
    LayerNorm ln[TOY_LAYERS - 1];      // ln[i] follows fc[i] (--critic-norm layer)
    int layer_norm;
} ToyCritic;

typedef struct {
    int toy;
    ToyGenerator toy_g;
    DcganGenerator dcgan_g;
    ToyCritic toy_c;
    DcganDiscriminator dcgan_c;
} Networks;

static void build_toy_critic(ToyCritic *c, int hidden, int layer_norm, Rng *rng) {
    params_init(&c->params, "C");
    c->layer_norm = layer_norm;
    int in = 2;
    for (int i = 0; i < TOY_LAYERS; i++) {
        int last = i == TOY_LAYERS - 1, out = last ? 1 : hidden;
        char name[16];
        snprintf(name, sizeof name, "fc%d", i + 1);
        linear_init(&c->fc[i], &c->params, name, in, out, WITH_BIAS, rng);
        if (!last && layer_norm) {
            snprintf(name, sizeof name, "ln%d", i + 1);
            layer_norm_init(&c->ln[i], &c->params, name, 1, &out);
        }
        in = out;
    }
}

static void build_networks(Networks *nets, GanRun *run, int hidden, int width, int layer_norm) {
    nets->toy = run->toy != NULL;
    if (nets->toy) {
        params_init(&nets->toy_g.params, "G");
        mlp_init(&nets->toy_g.net, &nets->toy_g.params, (int[]){run->z_dim, hidden, hidden, hidden, 2}, 5, ACT_RELU,
                 ACT_NONE, &run->rng);
        build_toy_critic(&nets->toy_c, hidden, layer_norm, &run->rng);
        return;
    }
    DcganConfig cfg = dcgan_config(32, run->C, width, run->z_dim);
    cfg.d_norm = layer_norm ? DCGAN_NORM_LAYER : DCGAN_NORM_NONE;  // never batch norm in a WGAN-GP critic
    cfg.output = DCGAN_OUTPUT_SCORE;
    dcgan_generator_init(&nets->dcgan_g, &cfg, &run->rng);
    dcgan_discriminator_init(&nets->dcgan_c, &cfg, &run->rng);
}

static Params *generator_params(Networks *nets) { return nets->toy ? &nets->toy_g.params : &nets->dcgan_g.params; }
static Params *critic_params(Networks *nets) { return nets->toy ? &nets->toy_c.params : &nets->dcgan_c.params; }

// G(z): z (B, z_dim) -> (B, 2) or images (B, 1, 32, 32) in [-1, 1].
static Tensor *generator_forward(Networks *nets, Tensor *z) {
    return nets->toy ? mlp_forward(&nets->toy_g.net, z) : dcgan_generator_forward(&nets->dcgan_g, z, NULL);
}

// C(x): x (B, 2) or (B, 1, 32, 32) -> scores (B, 1). Every op here is twice
// differentiable (linear, conv, ReLU, leaky ReLU, layer norm): the
// penalty's backward goes through C's backward.
static Tensor *critic_forward(Networks *nets, Tensor *x) {
    if (!nets->toy) return dcgan_discriminator_forward(&nets->dcgan_c, x, NULL);
    ToyCritic *c = &nets->toy_c;
    Tensor *h = x;
    for (int i = 0; i < TOY_LAYERS; i++) {
        h = linear_forward(&c->fc[i], h);
        if (i == TOY_LAYERS - 1) break;
        if (c->layer_norm) h = layer_norm_forward(&c->ln[i], h);
        h = t_relu(h);
    }
    return h;
}

// The pictures and the final samples (the signature gan_run.h wants; this
// GAN is unconditional, labels is NULL). Images: batch norm with its running
// statistics, so an image depends on its own z only (dcgan_sample).
static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    Networks *nets = model;
    return nets->toy ? mlp_forward(&nets->toy_g.net, z) : dcgan_sample(&nets->dcgan_g, z, labels);
}

// ---------------------------------------------------------------------------
// 2. The gradient penalty (solutions/ch05_penalty.c).
//
//   x_hat_i = eps_i x_i + (1 - eps_i) G(z_i)             exercise 5.1, eps (B) ~ U[0, 1]
//   g_i     = grad_x C(x_hat_i)                          t_grad(sum C(x_hat), x_hat, create_graph)
//   P       = mean_i (sqrt(||g_i||^2 + 1e-12) - 1)^2     exercise 5.2, norm over all of sample i
//
// The 1e-12 keeps the norm's derivative g / ||g|| finite where a sample's
// gradient is exactly zero (a ReLU critic that is flat there): sqrt's
// derivative at 0 is infinite, and infinity times the zero gradient is NaN.
// Sum before differentiating: sample i's score depends on x_hat_i only, so
// the gradient of the sum with respect to x_hat holds every g_i at once.

static Tensor *penalty(GanRun *run, Networks *nets, Tensor *real, Tensor *fake, float *norms) {
    int B = real->shape[0];
    // eps drawn on the host from run.rng, like z, and uploaded on a GPU run
    // (B floats): a GPU run draws the same numbers as a CPU run.
    Tensor *eps = t_empty_on(DEV_CPU, 1, (int[]){B});
    for (int i = 0; i < B; i++) eps->data[i] = rng_uniform(&run->rng);
    eps = t_to(eps, real->device);
    Tensor *x_hat = ex_interpolates(real, fake, eps);       // exercise 5.1: a leaf that requires a gradient
    return ex_gradient_penalty(critic_forward(nets, x_hat), x_hat, norms);  // exercise 5.2
}

// ---------------------------------------------------------------------------
// 3. One training step: n_critic critic steps, then one generator step
//    (the paper's Algorithm 1).

typedef struct {
    float lambda;       // --lambda: the penalty's weight (10)
    int n_critic;       // --n-critic: critic steps per generator step (5)
} Settings;

typedef struct {
    double critic_loss, g_loss;   // L_C (with the penalty), L_G
    double w_estimate;            // E[C(x)] - E[C(G(z))]: the critic's estimate of W (last critic step)
    double penalty;               // P, without lambda
    double norm_mean;             // mean ||grad_x C(x_hat)|| over the last critic batch
} StepStats;

static StepStats train_step(GanRun *run, Networks *nets, Optimizer *opt_g, Optimizer *opt_c, const Settings *s) {
    StepStats st = {0};
    int B = run->args.batch;
    float *norms = t_arena_alloc((size_t)B * sizeof(float));  // ||g_i|| of the last critic batch
    for (int k = 0; k < s->n_critic; k++) {
        Tensor *x = gan_real_batch(run);
        Tensor *z = gan_noise(run, B);
        int prev = t_set_grad_enabled(0);
        Tensor *fake = generator_forward(nets, z);  // no graph into G
        t_set_grad_enabled(prev);
        Tensor *score_real = t_mean(critic_forward(nets, x)), *score_fake = t_mean(critic_forward(nets, fake));
        // Only the last critic step's numbers are logged: it alone asks for
        // the norms and reads the scalars (copied back from a GPU).
        int last = k == s->n_critic - 1;
        Tensor *gp = penalty(run, nets, x, fake, last ? norms : NULL);
        Tensor *loss_c = t_add(t_sub(score_fake, score_real), t_mul_scalar(gp, s->lambda));
        optim_zero_grad(opt_c);
        t_backward(loss_c);  // through the penalty: the second derivative of C
        optim_step(opt_c);
        if (!last) continue;
        st.critic_loss = t_item(loss_c);
        st.w_estimate = t_item(score_real) - t_item(score_fake);
        st.penalty = t_item(gp);
    }
    double sum = 0.0;
    for (int i = 0; i < B; i++) sum += norms[i];
    st.norm_mean = sum / B;

    params_requires_grad(critic_params(nets), 0);  // freeze C: G's step computes no gradient for C's weights
    Tensor *loss_g = t_neg(t_mean(critic_forward(nets, generator_forward(nets, gan_noise(run, B)))));
    optim_zero_grad(opt_g);
    t_backward(loss_g);
    optim_step(opt_g);
    params_requires_grad(critic_params(nets), 1);
    st.g_loss = t_item(loss_g);
    return st;
}

// ---------------------------------------------------------------------------
// 4. Looking at the critic (toys).
//
// critic_NNNNNN.png: C(x) on a 100 x 100 grid over the toy's square as a
// heat map, with the fixed real points and G's fixed-noise samples on top
// (plots/critic.gp). The data file critic_NNNNNN.dat holds three blocks for
// gnuplot's `index`: the grid rows "x y C", the real points, the generated.
// gradnorm_hist.dat: ||grad_x C(x_hat)|| for 2,500 interpolates between
// fresh real and generated points at the end, one per line
// (plots/gradnorm_hist.gp draws the histogram; the penalty pulls it to 1).

#define HEAT_GRID 100
#define NORM_SAMPLES 2500

static int write_critic_frame(GanRun *run, Networks *nets) {
    char file[64], path[4200];
    snprintf(file, sizeof file, "critic_%06ld.dat", run->step);
    run_path(path, sizeof path, run->args.out, file);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "error: cannot write %s\nHINT: is the disk full, or the directory read-only?\n", path);
        return -1;
    }
    int prev = t_set_grad_enabled(0), n = HEAT_GRID * HEAT_GRID;
    float e = run->toy->extent;
    Tensor *grid = t_empty_on(DEV_CPU, 2, (int[]){n, 2});  // made on the host, scored on the run's device
    for (int i = 0; i < HEAT_GRID; i++)
        for (int j = 0; j < HEAT_GRID; j++) {
            grid->data[2 * (i * HEAT_GRID + j)] = -e + 2 * e * (j + 0.5f) / HEAT_GRID;
            grid->data[2 * (i * HEAT_GRID + j) + 1] = -e + 2 * e * (i + 0.5f) / HEAT_GRID;
        }
    Tensor *score = critic_forward(nets, t_to(grid, t_default_device()));
    Tensor *fake = generate(nets, run->fixed_z, NULL);
    score = t_to(score, DEV_CPU), fake = t_to(fake, DEV_CPU);  // the picture's values, back on the host
    t_set_grad_enabled(prev);
    fprintf(f, "# critic C(x, y) at step %ld on a %dx%d grid; then real points; then generated points\n", run->step,
            HEAT_GRID, HEAT_GRID);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%.5g %.5g %.6g\n", grid->data[2 * i], grid->data[2 * i + 1], score->data[i]);
        if (i % HEAT_GRID == HEAT_GRID - 1) fputc('\n', f);
    }
    fputs("\n\n", f);
    for (int i = 0; i < run->n_fixed; i++) fprintf(f, "%.5g %.5g\n", run->fixed_real[2 * i], run->fixed_real[2 * i + 1]);
    fputs("\n\n", f);
    for (int i = 0; i < run->n_fixed; i++) fprintf(f, "%.5g %.5g\n", fake->data[2 * i], fake->data[2 * i + 1]);
    if (fclose(f) != 0) {
        fprintf(stderr, "error: cannot write %s\nHINT: is the disk full?\n", path);
        return -1;
    }
    if (!plots_have_gnuplot()) return 0;
    char png[64], vars[9000];
    snprintf(png, sizeof png, "critic_%06ld.png", run->step);
    snprintf(vars, sizeof vars, "datafile='%s/%s'; outfile='%s/%s'; extent=%g; step=%ld", run->args.out, file,
             run->args.out, png, (double)e, run->step);
    if (plots_gnuplot("critic.gp", vars) != 0) {
        fprintf(stderr, "error: gnuplot failed on %s (plots/critic.gp)\n", path);
        return -1;
    }
    return 0;
}

// Per-sample gradient norms on NORM_SAMPLES interpolates, by exercise 5.2
// (its value is not used), in batches of --batch. Returns their mean.
static double write_gradnorm_histogram(GanRun *run, Networks *nets, double *frac_near_1) {
    static float norms[NORM_SAMPLES];
    int B = run->args.batch, done = 0;
    while (done < NORM_SAMPLES) {
        t_arena_reset();
        int n = NORM_SAMPLES - done < B ? NORM_SAMPLES - done : B;
        Tensor *x = gan_real_batch(run);
        if (n < B) x = t_slice(x, 0, 0, n);
        int prev = t_set_grad_enabled(0);
        Tensor *fake = generate(nets, gan_noise(run, n), NULL);
        t_set_grad_enabled(prev);
        penalty(run, nets, x, fake, norms + done);
        done += n;
    }
    char path[4200];
    run_path(path, sizeof path, run->args.out, "gradnorm_hist.dat");
    FILE *f = fopen(path, "w");
    double sum = 0.0;
    int near = 0;
    for (int i = 0; i < NORM_SAMPLES; i++) {
        sum += norms[i];
        near += fabsf(norms[i] - 1.0f) <= 0.1f;
    }
    if (f) {
        fprintf(f, "# ||grad_x C(x_hat)|| of %d interpolates (one per line)\n", NORM_SAMPLES);
        for (int i = 0; i < NORM_SAMPLES; i++) fprintf(f, "%.6g\n", norms[i]);
    }
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "error: cannot write %s\nHINT: is the disk full?\n", path);
        run->failed = 1;
    }
    *frac_near_1 = (double)near / NORM_SAMPLES;
    return sum / NORM_SAMPLES;
}

// ---------------------------------------------------------------------------
// 5. main

int main(int argc, char **argv) {
    GanRun run;
    gan_run_defaults(&run, "chapter5", argc, argv);
    Settings s = {.lambda = 10.0f, .n_critic = 5};
    int hidden = 128, width = 16;
    const char *critic_norm = "none";
    if (strcmp(run.args.dataset, "mnist") == 0 || strcmp(run.args.dataset, "fashion") == 0) {
        // Images: chapter 3's nets at half its width, the paper's lr and
        // betas. A critic step costs about three DCGAN D steps (the penalty
        // is a third forward and a double backward), five of them per G
        // step: README, "MNIST".
        run.args.lr = 1e-4f;
        run.args.steps = 800;
        run.args.batch = 64;
        run.args.threads = 0;
        run.args.sample_every = 100;
        run.args.checkpoint_every = 100;
        run.log_every = 10;
        critic_norm = "layer";
    } else {
        // Toys: README, "Why these defaults". The paper's lr 1e-4 and its
        // toy code's lambda 0.1: with lambda 10 the critic's slope is held
        // near 1, it cannot keep up with G, and on most seeds the two
        // chase each other around the ring instead of settling. The grid
        // is 4 times wider than the ring, and G has further to go: 5 times
        // the step size.
        s.lambda = 0.1f;
        run.args.lr = strcmp(run.args.dataset, "grid25") == 0 ? 5e-4f : 1e-4f;
        run.args.steps = 6000;
        run.args.sample_every = 250;
        run.args.checkpoint_every = 500;
    }
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n++] = cli_float("lambda", &s.lambda, 0, 1e6, "weight of the gradient penalty (paper: 10; its toy code: 0.1)");
    flags[n++] = cli_int("n-critic", &s.n_critic, 1, 100, "critic steps per generator step (paper: 5)");
    flags[n++] = cli_choice("critic-norm", &critic_norm, "none|layer",
                            "normalization in the critic (no batch norm: the penalty is per sample)");
    flags[n++] = cli_int("hidden", &hidden, 1, 4096, "toys: units per hidden layer of G and C (paper: 512)");
    flags[n++] = cli_int("width", &width, 1, 512, "images: channels of C's first and G's last hidden layer");
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv,
                  "Chapter 5: WGAN-GP (Gulrajani et al., 2017): a critic trained with the gradient penalty\n"
                  "lambda E[(||grad C(x_hat)|| - 1)^2], n-critic steps per G step, Adam betas (beta1, 0.9).\n"
                  "Toys: critic heat maps (critic_*.png) and the gradient norms (gradnorm_hist.png);\n"
                  "MNIST/Fashion: a conv critic, FID and inception score at the end.",
                  "lambda n-critic critic-norm hidden width");
    int images = strcmp(run.args.dataset, "mnist") == 0 || strcmp(run.args.dataset, "fashion") == 0;
    run.image_size = images ? 32 : 0;  // images: (B, 1, 32, 32) for chapter 3's nets
    run.evaluate = 1;
    if (gan_run_load_data(&run) != 0) return 1;

    static Networks nets;  // static: built in place, never copied (nn.h)
    build_networks(&nets, &run, hidden, width, strcmp(critic_norm, "layer") == 0);
    Optimizer *opt_g = optim_adam(generator_params(&nets), run.args.lr, run.beta1, 0.9f, 1e-8f, 0.0f);
    Optimizer *opt_c = optim_adam(critic_params(&nets), run.args.lr, run.beta1, 0.9f, 1e-8f, 0.0f);
    gan_run_track(&run, generator_params(&nets), critic_params(&nets), opt_g, opt_c);
    if (run.sample_only) return gan_run_sample(&run, generate, &nets);

    if (run.toy)
        printf("G: MLP %d -> %d -> %d -> %d -> 2, ReLU (%ld parameters)\n"
               "C: MLP 2 -> %d -> %d -> %d -> 1, ReLU, critic norm %s, raw score (%ld parameters)\n",
               run.z_dim, hidden, hidden, hidden, params_numel(generator_params(&nets), 1), hidden, hidden, hidden,
               critic_norm, params_numel(critic_params(&nets), 1));
    else
        printf("G: DCGAN, ConvT %d -> %d -> %d -> %d -> %d channels, batch norm (%ld parameters)\n"
               "C: DCGAN critic, Conv %d -> %d -> %d -> %d -> 1, critic norm %s, raw score (%ld parameters)\n",
               run.z_dim, 4 * width, 2 * width, width, run.C, params_numel(generator_params(&nets), 1), run.C, width,
               2 * width, 4 * width, critic_norm, params_numel(critic_params(&nets), 1));
    printf("WGAN-GP: lambda %g, n_critic %d, Adam lr %g betas (%g, 0.9) for both\n", (double)s.lambda, s.n_critic,
           (double)run.args.lr, (double)run.beta1);
    if (gan_run_begin(&run, "step critic_loss g_loss w_estimate penalty grad_norm", generate, &nets) != 0) return 1;
    if (run.toy && !run.resuming && write_critic_frame(&run, &nets) != 0) run.failed = 1;

    while (run.step < run.args.steps) {
        t_arena_reset();
        StepStats st = train_step(&run, &nets, opt_g, opt_c, &s);
        double row[6] = {0, st.critic_loss, st.g_loss, st.w_estimate, st.penalty, st.norm_mean};
        gan_run_step_done(&run, row, generate, &nets);
        if (run.toy && run.args.sample_every > 0 && run.step % run.args.sample_every == 0 &&
            write_critic_frame(&run, &nets) != 0)
            run.failed = 1;
    }

    Metrics m = {0};
    metrics_set(&m, "lambda", s.lambda);
    metrics_set(&m, "n_critic", s.n_critic);
    metrics_set_str(&m, "critic_norm", critic_norm);
    if (run.toy) {
        metrics_set(&m, "hidden", hidden);
        double near = 0.0, mean = write_gradnorm_histogram(&run, &nets, &near);
        printf("gradient norms at %d interpolates: mean %.3f, within 0.1 of 1: %.1f%% (gradnorm_hist.dat)\n",
               NORM_SAMPLES, mean, 100.0 * near);
        metrics_set(&m, "grad_norm_mean", mean);
        metrics_set(&m, "grad_norm_near_1", near);
    } else {
        metrics_set(&m, "width", width);
    }
    int rc = gan_run_finish(&run, &m, generate, &nets);
    if (run.toy && gan_run_plot(&run, "gradnorm_hist.gp", "gradnorm_hist.dat", "gradnorm_hist.png") == 0)
        printf("wrote %s/gradnorm_hist.png and critic_*.png\n", run.args.out);
    return rc;
}
