// Chapter 1: the vanilla GAN (Goodfellow et al., 2014).
//
// Two networks play a game. The generator G turns noise z ~ N(0, I) into a
// sample G(z); the discriminator D looks at a sample and outputs the
// probability D(x) that it came from the data rather than from G. Their game
// is the value function
//
//     V(D, G) = E_x[ log D(x) ] + E_z[ log(1 - D(G(z))) ]        (paper, eq. 1)
//
// D maximizes V (it wants D(x) -> 1 on data, D(G(z)) -> 0 on fakes), G
// minimizes it: min_G max_D V(D, G). For a fixed G the best D is
// D*(x) = p_data(x) / (p_data(x) + p_g(x)), and at the game's solution
// p_g = p_data, D = 1/2 everywhere and V = -log 4.
//
// This program trains that game exactly as written, with the *saturating*
// generator loss log(1 - D(G(z))), on a 2-D toy (ring8 by default, grid25) or
// on MNIST / Fashion-MNIST. Read it top to bottom: the networks, the losses,
// one training step (Algorithm 1 of the paper with k = 1), main.
//
//     make chapter1 && ./chapter1                   ring8, ~30 s on 2 cores
//     ./chapter1 --dataset grid25 --out runs/ch1-grid
//     ./chapter1 --dataset mnist --out runs/ch1-mnist
//     ./chapter1 --help
#include <math.h>
#include <stdio.h>

#include "ch01_vanilla_gan/exercises.h"  // ex_discriminator_loss, ex_generator_loss_minimax (exercises 1.1, 1.2)
#include "gan_run.h"                     // data, logs, samples, checkpoints: the plumbing chapters 1-2 share
#include "mlp.h"

// ---------------------------------------------------------------------------
// 1. The networks: two multilayer perceptrons.
//
// 2-D toys  G: z (B, 2) -> 128 -> 128 -> 128 -> x (B, 2), ReLU, no squashing
//              at the output (the data are not bounded to [-1, 1]).
//           D: x (B, 2) -> 128 -> 128 -> 128 -> logit (B, 1), LeakyReLU 0.2.
// images    G: z (B, 100) -> 256 -> 512 -> 1024 -> 784, LeakyReLU 0.2, tanh
//              (pixels live in [-1, 1]).
//           D: 784 -> 512 -> 256 -> logit (B, 1), LeakyReLU 0.2.
// D returns a logit l, not a probability: D(x) = sigmoid(l). The losses work
// on logits because log(sigmoid(l)) computed in that order overflows.

typedef struct {
    Params params;  // "G.fc1.weight", ...
    Mlp net;
} Generator;

typedef struct {
    Params params;  // "D.fc1.weight", ...
    Mlp net;
} Discriminator;

static void build_networks(Generator *g, Discriminator *d, GanRun *run) {
    params_init(&g->params, "G");
    params_init(&d->params, "D");
    if (run->toy) {
        mlp_init(&g->net, &g->params, (int[]){run->z_dim, 128, 128, 128, 2}, 5, ACT_RELU, ACT_NONE, &run->rng);
        mlp_init(&d->net, &d->params, (int[]){2, 128, 128, 128, 1}, 5, ACT_LEAKY_RELU, ACT_NONE, &run->rng);
    } else {
        mlp_init(&g->net, &g->params, (int[]){run->z_dim, 256, 512, 1024, run->x_dim}, 5, ACT_LEAKY_RELU, ACT_TANH,
                 &run->rng);
        mlp_init(&d->net, &d->params, (int[]){run->x_dim, 512, 256, 1}, 4, ACT_LEAKY_RELU, ACT_NONE, &run->rng);
    }
}

// G(z): z (B, z_dim) -> samples (B, x_dim). (The signature gan_run.h wants.)
static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    (void)labels;  // unconditional: gan_run passes NULL
    return mlp_forward(&((Generator *)model)->net, z);
}

// The logit of D: x (B, x_dim) -> (B, 1).
static Tensor *discriminate(Discriminator *d, Tensor *x) { return mlp_forward(&d->net, x); }

// ---------------------------------------------------------------------------
// 2. The losses (solutions/ch01_losses.c; your versions in exercises/).
//
// Each player minimizes its own loss, written from V:
//   D:  L_D = -( mean log D(x) + mean log(1 - D(G(z))) )   = -V      exercise 1.1
//   G:  L_G =    mean log(1 - D(G(z)))                       (V's G part) exercise 1.2
// L_D is the binary cross entropy of D's outputs against the labels real = 1,
// fake = 0; at the solution it equals log 4 = 1.386. L_G is <= 0 and is what
// the paper's Algorithm 1 descends. Its slope with respect to D's logit l is
// -sigmoid(l)/B: almost nothing while D easily spots the fakes (l << 0). That
// saturation is why the generator learns slowly at first, and chapter 2's
// subject.

// ---------------------------------------------------------------------------
// 3. One training step: Algorithm 1 of the paper with k = 1 (one D update,
//    then one G update), Adam instead of plain SGD.

typedef struct {
    double d_loss, g_loss;  // L_D and L_G of this step
    double d_real, d_fake;  // mean D(x) and mean D(G(z)) on the D step's batches
} StepStats;

static StepStats train_step(GanRun *run, Generator *g, Discriminator *d, Optimizer *opt_g, Optimizer *opt_d) {
    StepStats s;
    int B = run->args.batch;

    // D step: ascend V, i.e. descend L_D, on B real and B generated samples.
    Tensor *x = gan_real_batch(run);           // x ~ p_data         (B, x_dim)
    Tensor *z = gan_noise(run, B);             // z ~ N(0, I)        (B, z_dim)
    int prev = t_set_grad_enabled(0);
    Tensor *fake = generate(g, z, NULL);       // G(z), no graph: the D step must not reach G
    t_set_grad_enabled(prev);
    Tensor *logits_real = discriminate(d, x);     // (B, 1)
    Tensor *logits_fake = discriminate(d, fake);  // (B, 1)
    Tensor *loss_d = ex_discriminator_loss(logits_real, logits_fake);  // exercise 1.1
    optim_zero_grad(opt_d);
    t_backward(loss_d);
    optim_step(opt_d);
    s.d_loss = t_item(loss_d);
    s.d_real = gan_mean_probability(logits_real);
    s.d_fake = gan_mean_probability(logits_fake);

    // G step: descend L_G = mean log(1 - D(G(z))) on fresh noise, through the
    // (updated, now frozen) D.
    params_requires_grad(&d->params, 0);  // freeze D: no gradients for its weights
    z = gan_noise(run, B);
    Tensor *logits = discriminate(d, generate(g, z, NULL));
    Tensor *loss_g = ex_generator_loss_minimax(logits);  // exercise 1.2
    optim_zero_grad(opt_g);
    t_backward(loss_g);
    optim_step(opt_g);
    params_requires_grad(&d->params, 1);
    s.g_loss = t_item(loss_g);
    return s;
}

// ---------------------------------------------------------------------------
// 4. main: flags, data, networks, optimizers, the loop.

int main(int argc, char **argv) {
    GanRun run;
    gan_run_defaults(&run, "chapter1", argc, argv);
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv,
                  "Chapter 1: the vanilla GAN (Goodfellow et al., 2014), minimax loss, MLP G and D.\n"
                  "Writes loss.dat, sample pictures, samples, metrics.txt and checkpoint.bin to --out.",
                  "");
    run.evaluate = 1;  // images: FID, inception score, classes covered, class KL at the end
    if (gan_run_load_data(&run) != 0) return 1;

    static Generator g;      // static: built in place, never copied (nn.h)
    static Discriminator d;
    build_networks(&g, &d, &run);
    Optimizer *opt_g = optim_adam(&g.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    Optimizer *opt_d = optim_adam(&d.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    gan_run_track(&run, &g.params, &d.params, opt_g, opt_d);
    if (run.sample_only) return gan_run_sample(&run, generate, &g);

    char desc[160];
    printf("G: %s (%ld parameters)\n", mlp_describe(&g.net, desc, sizeof desc), params_numel(&g.params, 1));
    printf("D: %s (%ld parameters)\n", mlp_describe(&d.net, desc, sizeof desc), params_numel(&d.params, 1));
    if (gan_run_begin(&run, "step d_loss g_loss D(x) D(G(z))", generate, &g) != 0) return 1;

    while (run.step < run.args.steps) {
        t_arena_reset();  // every tensor of the last step is garbage now
        StepStats s = train_step(&run, &g, &d, opt_g, opt_d);
        double row[5] = {0, s.d_loss, s.g_loss, s.d_real, s.d_fake};
        gan_run_step_done(&run, row, generate, &g);
    }

    Metrics m = {0};
    metrics_set_str(&m, "loss", "minimax");
    return gan_run_finish(&run, &m, generate, &g);
}
