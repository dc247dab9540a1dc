// Chapter 2: the non-saturating generator loss.
//
// Chapter 1's generator minimizes L_G = E[log(1 - D(G(z)))], the minimax
// game as written. Goodfellow et al. (2014, section 3) already warn that
// "early in learning, when G is poor, D can reject samples with high
// confidence", and then log(1 - D(G(z))) saturates: it is flat near
// D(G(z)) = 0, so G gets almost no gradient exactly when it needs one. Their
// fix, used by nearly every GAN since: let G maximize log D(G(z)) instead,
//
//     L_G = -E[ log D(G(z)) ]                          (the non-saturating loss)
//
// Both losses push D(G(z)) up and share their fixed points, but in terms of
// D's logit l (D = sigmoid(l)) their slopes are
//
//     d/dl log(1 - sigmoid(l)) = -sigmoid(l)        -> 0 as l -> -inf
//     d/dl -log sigmoid(l)     = -(1 - sigmoid(l))  -> -1 as l -> -inf
//
// This program trains the networks of chapter 1 with either loss
// (--loss nonsat, the default, or --loss minimax) and, on the same batches,
// measures the norm of G's gradient under BOTH losses at every logged step:
// gradnorm.dat / gradnorm.png show the saturating one collapsing whenever D
// gets ahead, and the non-saturating one staying useful. To put D ahead on
// purpose, the first --d-warmup steps (200) train D alone against the
// untrained G, the situation the paper describes.
//
//     make chapter2 && ./chapter2                   ring8, non-saturating
//     ./chapter2 --loss minimax --out runs/ch2-minimax
//     ./chapter2 --dataset mnist --out runs/ch2-mnist
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ch01_vanilla_gan/exercises.h"    // the losses: exercises 1.1, 1.2
#include "ch02_nonsaturating/exercises.h"  // and 2.1
#include "gan_run.h"
#include "mlp.h"

// ---------------------------------------------------------------------------
// 1. The networks: exactly those of chapter 1 (see its main.c).
//   toys:   G z -> 128 -> 128 -> 128 -> 2 (ReLU); D 2 -> 128 -> 128 -> 128 -> logit (LeakyReLU 0.2)
//   images: G z -> 256 -> 512 -> 1024 -> 784 (LeakyReLU 0.2, tanh); D 784 -> 512 -> 256 -> logit

typedef struct {
    Params params;
    Mlp net;
} Generator;

typedef struct {
    Params params;
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

static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    (void)labels;  // unconditional: gan_run passes NULL
    return mlp_forward(&((Generator *)model)->net, z);
}
static Tensor *discriminate(Discriminator *d, Tensor *x) { return mlp_forward(&d->net, x); }

// ---------------------------------------------------------------------------
// 2. The losses.
//   D:                 L_D = -( mean log D(x) + mean log(1 - D(G(z))) )   exercise 1.1
//   G, minimax:        L_G =    mean log(1 - D(G(z)))                     exercise 1.2
//   G, non-saturating: L_G =   -mean log D(G(z))                          exercise 2.1
// (solutions/ch01_losses.c, solutions/ch02_losses.c)

typedef enum { LOSS_MINIMAX, LOSS_NONSAT } GeneratorLoss;

// ---------------------------------------------------------------------------
// 3. The measurement: ||d L_G / d theta_G||, the Euclidean norm of the
//    gradient of a generator loss over all of G's parameters together,
//    computed with t_grad (like torch.autograd.grad: it returns the gradients
//    and leaves every .grad untouched, so it does not disturb training).

static double generator_grad_norm(Tensor *loss, Generator *g) {
    Tensor *params[64], *grads[64];
    int n = 0;
    for (int i = 0; i < g->params.count && n < 64; i++)
        if (param_is_trainable(&g->params.items[i])) params[n++] = g->params.items[i].t;
    t_grad(&loss, NULL, 1, params, n, 0, grads);
    double s = 0.0;
    for (int i = 0; i < n; i++)
        for (long k = 0; k < grads[i]->numel; k++) s += (double)grads[i]->data[k] * grads[i]->data[k];
    return sqrt(s);
}

// ---------------------------------------------------------------------------
// 4. One training step: chapter 1's, with the generator loss to choose. Both
//    losses are computed on the G step's batch; when `measure` is set, both
//    gradient norms are taken before G moves. During the D warm-up
//    (update_g = 0) G is measured but not trained.

typedef struct {
    double d_loss, g_loss, d_real, d_fake;
    double grad_minimax, grad_nonsat;  // ||grad_theta_G L_G|| under each loss (measured steps only)
} StepStats;

static StepStats train_step(GanRun *run, Generator *g, Discriminator *d, Optimizer *opt_g, Optimizer *opt_d,
                            GeneratorLoss which, int update_g, int measure) {
    StepStats s = {0};
    int B = run->args.batch;

    // D step, exactly as in chapter 1.
    Tensor *x = gan_real_batch(run);
    Tensor *z = gan_noise(run, B);
    int prev = t_set_grad_enabled(0);
    Tensor *fake = generate(g, z, NULL);  // no graph into G
    t_set_grad_enabled(prev);
    Tensor *logits_real = discriminate(d, x), *logits_fake = discriminate(d, fake);
    Tensor *loss_d = ex_discriminator_loss(logits_real, logits_fake);  // exercise 1.1
    optim_zero_grad(opt_d);
    t_backward(loss_d);
    optim_step(opt_d);
    s.d_loss = t_item(loss_d);
    s.d_real = gan_mean_probability(logits_real);
    s.d_fake = gan_mean_probability(logits_fake);

    // G step: one forward pass, both losses on it.
    params_requires_grad(&d->params, 0);  // freeze D: no gradients for its weights
    z = gan_noise(run, B);
    Tensor *logits = discriminate(d, generate(g, z, NULL));
    Tensor *loss_minimax = ex_generator_loss_minimax(logits);       // mean log(1 - D(G(z)))   exercise 1.2
    Tensor *loss_nonsat = ex_generator_loss_nonsaturating(logits);  // -mean log D(G(z))       exercise 2.1
    if (measure) {
        s.grad_minimax = generator_grad_norm(loss_minimax, g);
        s.grad_nonsat = generator_grad_norm(loss_nonsat, g);
    }
    Tensor *loss_g = which == LOSS_NONSAT ? loss_nonsat : loss_minimax;
    if (update_g) {
        optim_zero_grad(opt_g);
        t_backward(loss_g);
        optim_step(opt_g);
    }
    params_requires_grad(&d->params, 1);
    s.g_loss = t_item(loss_g);
    return s;
}

// ---------------------------------------------------------------------------
// 5. main

int main(int argc, char **argv) {
    GanRun run;
    gan_run_defaults(&run, "chapter2", argc, argv);
    const char *loss = "nonsat";
    int d_warmup = 200;
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n++] = cli_choice("loss", &loss, "minimax|nonsat", "generator loss: log(1-D(G(z))) or -log D(G(z))");
    flags[n++] = cli_int("d-warmup", &d_warmup, 0, 1e9,
                         "train D alone for N steps first (a strong D: the regime where minimax saturates)");
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv,
                  "Chapter 2: the non-saturating generator loss -log D(G(z)) against the minimax one;\n"
                  "logs the norm of G's gradient under both losses (gradnorm.dat, gradnorm.png).",
                  "loss d-warmup");
    run.evaluate = 1;  // images: FID, inception score, classes covered, class KL at the end
    if (gan_run_load_data(&run) != 0) return 1;
    GeneratorLoss which = strcmp(loss, "nonsat") == 0 ? LOSS_NONSAT : LOSS_MINIMAX;

    static Generator g;
    static Discriminator d;
    build_networks(&g, &d, &run);
    Optimizer *opt_g = optim_adam(&g.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    Optimizer *opt_d = optim_adam(&d.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    gan_run_track(&run, &g.params, &d.params, opt_g, opt_d);
    if (run.sample_only) return gan_run_sample(&run, generate, &g);

    char desc[160];
    printf("G: %s (%ld parameters), loss %s\n", mlp_describe(&g.net, desc, sizeof desc), params_numel(&g.params, 1),
           which == LOSS_NONSAT ? "non-saturating -log D(G(z))" : "minimax log(1 - D(G(z)))");
    printf("D: %s (%ld parameters)\n", mlp_describe(&d.net, desc, sizeof desc), params_numel(&d.params, 1));
    if (gan_run_begin(&run, "step d_loss g_loss D(x) D(G(z))", generate, &g) != 0) return 1;
    LossLog gradlog;
    if (gan_run_open_log(&run, &gradlog, "gradnorm.dat", "step minimax non-saturating") != 0)
        return 1;

    while (run.step < run.args.steps) {
        t_arena_reset();
        int update_g = run.step >= d_warmup;  // steps 1..d_warmup train D alone
        int measure = gan_run_logs_next(&run);
        StepStats s = train_step(&run, &g, &d, opt_g, opt_d, which, update_g, measure);
        if (measure) losslog_write(&gradlog, (double[]){(double)(run.step + 1), s.grad_minimax, s.grad_nonsat});
        double row[5] = {0, s.d_loss, s.g_loss, s.d_real, s.d_fake};
        gan_run_step_done(&run, row, generate, &g);
    }
    losslog_close(&gradlog);

    Metrics m = {0};
    metrics_set_str(&m, "loss", loss);
    metrics_set(&m, "d_warmup", d_warmup);
    int rc = gan_run_finish(&run, &m, generate, &g);
    if (gan_run_plot(&run, "gradnorm.gp", "gradnorm.dat", "gradnorm.png") == 0)
        printf("wrote %s/gradnorm.png\n", run.args.out);
    return rc;
}
