// test_modern.c: chapter 7's library pieces.
//
//   spectral norm    against torch.nn.utils.spectral_norm over 3 training
//                    passes (W_SN, u, v, the gradient reaching the weight),
//                    eval mode leaves u and v alone, and the estimate of
//                    sigma_max against a matrix whose singular values are known
//   hinge losses     values against plain loops; gradcheck
//   R1 penalty       value against a critic whose input gradient is known in
//                    closed form; its gradient with respect to the critic's
//                    weights by finite differences of the penalty
//   EMA              the average after k updates against the closed form;
//                    swap twice is the identity
//   augmentation     translate against a hand-computed shift; gradcheck and
//                    gradgradcheck of every policy (random draws replayed
//                    from a fixed seed, so each evaluation sees the same
//                    transformation)
#include "check.h"

#include <math.h>
#include <string.h>

#include "augment.h"
#include "ch07_modern_recipe/exercises.h"
#include "ema.h"
#include "spectral_norm.h"

#define FIXTURE "tests/fixtures/modern.bin"

static Fixture *fx;

// ---------------------------------------------------------------------------
static void spectral_norm_fixture(const char *layer) {
    char key[64];
    snprintf(key, sizeof key, "%s.w0", layer);
    Tensor *w0 = fixture_get(fx, key);
    Params ps;
    params_init(&ps, "D");
    Tensor *w = params_add(&ps, layer, "weight", ROLE_WEIGHT, w0->ndim, w0->shape);
    t_copy_(w, w0);
    Rng rng;
    rng_seed(&rng, 1);
    SpectralNorm sn;
    spectral_norm_init(&sn, &ps, layer, w, &rng);
    snprintf(key, sizeof key, "%s.u0", layer);
    t_copy_(sn.u, fixture_get(fx, key));
    snprintf(key, sizeof key, "%s.v0", layer);
    t_copy_(sn.v, fixture_get(fx, key));
    snprintf(key, sizeof key, "%s.r", layer);
    Tensor *r = params_add(&ps, layer, "r", ROLE_BUFFER, w0->ndim, w0->shape);
    t_copy_(r, fixture_get(fx, key));
    for (int k = 1; k <= 3; k++) {
        t_arena_reset();
        Tensor *wsn = spectral_norm_weight(&sn);
        char what[64];
        snprintf(key, sizeof key, "%s.wsn%d", layer, k);
        snprintf(what, sizeof what, "spectral norm %s: W_SN after pass %d", layer, k);
        check_tensor_close(what, wsn, fixture_get(fx, key), 1e-5f, 1e-6f);
        snprintf(key, sizeof key, "%s.u%d", layer, k);
        snprintf(what, sizeof what, "spectral norm %s: u after pass %d", layer, k);
        check_tensor_close(what, sn.u, fixture_get(fx, key), 1e-5f, 1e-6f);
        snprintf(key, sizeof key, "%s.v%d", layer, k);
        snprintf(what, sizeof what, "spectral norm %s: v after pass %d", layer, k);
        check_tensor_close(what, sn.v, fixture_get(fx, key), 1e-5f, 1e-6f);
        Tensor *loss = t_sum(t_mul(wsn, r)), *g;
        t_grad(&loss, NULL, 1, &w, 1, 0, &g);
        snprintf(key, sizeof key, "%s.grad%d", layer, k);
        snprintf(what, sizeof what, "spectral norm %s: dL/dW after pass %d", layer, k);
        check_tensor_close(what, g, fixture_get(fx, key), 1e-4f, 1e-6f);
        // The step PyTorch took (with its own gradient), so every pass starts from the same weight.
        const Tensor *g_ref = fixture_get(fx, key);
        for (long i = 0; i < w->numel; i++) w->data[i] -= 0.05f * g_ref->data[i];
    }
    // Eval mode: no power iteration, u and v stay as they are.
    float u_before = sn.u->data[0], v_before = sn.v->data[0];
    params_set_training(&ps, 0);
    t_arena_reset();
    spectral_norm_weight(&sn);
    check(sn.u->data[0] == u_before && sn.v->data[0] == v_before, "spectral norm %s: eval mode keeps u and v",
          layer);
}

// sigma_max of diag(3, -5, 2) padded to 3 x 4 is 5; of an outer product a b^T it is |a||b|.
static void spectral_norm_estimates(void) {
    t_arena_reset();
    Tensor *d = t_zeros(2, 3, 4);
    d->data[0] = 3.0f, d->data[5] = -5.0f, d->data[10] = 2.0f;
    double s = spectral_norm_estimate(d, 100);
    check(fabs(s - 5.0) < 1e-4, "spectral_norm_estimate of diag(3,-5,2): got %.6f expected 5", s);
    Tensor *o = t_empty(4, 2, 3, 1, 2);  // (2, 6) as a matrix: a (2) b (6)^T
    float a[2] = {1.0f, -2.0f}, b[6] = {0.5f, 1.0f, -1.0f, 2.0f, 0.0f, 1.5f};
    double nb = 0;
    for (int j = 0; j < 6; j++) nb += b[j] * b[j];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 6; j++) o->data[i * 6 + j] = a[i] * b[j];
    s = spectral_norm_estimate(o, 50);
    check(fabs(s - sqrt(5.0) * sqrt(nb)) < 1e-4, "spectral_norm_estimate of an outer product: got %.6f expected %.6f",
          s, sqrt(5.0) * sqrt(nb));
}

// ---------------------------------------------------------------------------
static Tensor *hinge_d(Tensor **in, void *ctx) {
    (void)ctx;
    return ex_hinge_loss_d(in[0], in[1]);
}
static Tensor *hinge_g(Tensor **in, void *ctx) {
    (void)ctx;
    return ex_hinge_loss_g(in[0]);
}

static void hinge_losses(void) {
    t_arena_reset();
    int s[2] = {5, 1};
    float real[5] = {2.0f, 0.5f, -1.0f, 1.0f, 0.25f}, fake[5] = {-2.0f, -0.5f, 1.0f, 0.0f, -1.5f};
    Tensor *r = t_from_data(real, 2, s), *f = t_from_data(fake, 2, s);
    double want_d = 0, want_g = 0;
    for (int i = 0; i < 5; i++) {
        want_d += fmax(0.0, 1.0 - real[i]) / 5 + fmax(0.0, 1.0 + fake[i]) / 5;
        want_g -= fake[i] / 5.0;
    }
    float got_d = t_item(ex_hinge_loss_d(r, f)), got_g = t_item(ex_hinge_loss_g(f));
    check(fabs(got_d - want_d) < 1e-6, "hinge L_D: got %.7f expected %.7f", got_d, want_d);
    check(fabs(got_g - want_g) < 1e-6, "hinge L_G: got %.7f expected %.7f", got_g, want_g);
    // Away from the kinks at +-1, so the finite differences are clean.
    rand_tensor_seed(5);
    Tensor *in[2] = {rand_tensor(-0.8f, 0.8f, 2, s), rand_tensor(-0.8f, 0.8f, 2, s)};
    in[0]->data[0] = 2.5f, in[1]->data[1] = -2.5f;  // one term past each hinge: zero gradient there
    in[0]->requires_grad = in[1]->requires_grad = 1;
    gradcheck("hinge L_D", hinge_d, NULL, in, 2, 1e-3f, 1e-2f);
    gradcheck("hinge L_G", hinge_g, NULL, in + 1, 1, 1e-3f, 1e-2f);
}

// ---------------------------------------------------------------------------
// R1 on the critic D(x) = sum_j w2_j tanh(<w1_j, x>): x (B, 3), w1 (4, 3), w2 (1, 4).
// dD/dx = sum_j w2_j (1 - tanh^2(<w1_j, x>)) w1_j, computed in double.
static Tensor *r1_x;

static Tensor *r1_of_weights(Tensor **w, void *ctx) {
    float gamma = *(float *)ctx;
    // The penalty is itself a gradient: it needs the graph even where
    // gradcheck evaluates it with gradients off.
    int prev = t_set_grad_enabled(1);
    Tensor *x = t_detach(r1_x);
    x->requires_grad = 1;
    Tensor *scores = t_matmul(t_tanh(t_matmul(x, w[0], 0, 1)), w[1], 0, 1);  // (B, 1)
    Tensor *r1 = ex_r1_penalty(x, scores, gamma);
    t_set_grad_enabled(prev);
    return r1;
}

static void r1_penalty(void) {
    t_arena_reset();
    rand_tensor_seed(9);
    int xs[2] = {3, 3}, w1s[2] = {4, 3}, w2s[2] = {1, 4};
    r1_x = rand_tensor(-1.0f, 1.0f, 2, xs);
    Tensor *w[2] = {rand_tensor(-1.0f, 1.0f, 2, w1s), rand_tensor(-1.0f, 1.0f, 2, w2s)};
    float gamma = 10.0f;
    double want = 0;
    for (int b = 0; b < 3; b++) {
        double g[3] = {0, 0, 0};
        for (int j = 0; j < 4; j++) {
            double a = 0;
            for (int k = 0; k < 3; k++) a += (double)w[0]->data[j * 3 + k] * r1_x->data[b * 3 + k];
            double t = tanh(a);
            for (int k = 0; k < 3; k++) g[k] += w[1]->data[j] * (1 - t * t) * w[0]->data[j * 3 + k];
        }
        want += (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]) / 3.0;
    }
    want *= gamma / 2;
    float got = t_item(r1_of_weights(w, &gamma));
    check(fabs(got - want) <= 1e-5 * fabs(want), "R1 value: got %.7f expected %.7f", got, want);
    w[0]->requires_grad = w[1]->requires_grad = 1;
    gradcheck("R1 gradient with respect to the critic's weights", r1_of_weights, &gamma, w, 2, 1e-3f, 1e-2f);
}

// ---------------------------------------------------------------------------
static void ema(void) {
    Params g, keep;
    params_init(&g, "G");
    params_init(&keep, "");
    int n = 5, one = 1;
    Tensor *w = params_add(&g, "fc", "weight", ROLE_WEIGHT, 1, &n);
    Tensor *rm = params_add(&g, "bn", "running_mean", ROLE_BUFFER, 1, &one);
    for (int i = 0; i < n; i++) w->data[i] = (float)i;
    rm->data[0] = 1.0f;
    Ema e;
    ema_init(&e, &g, &keep, "ema", 0.9f);
    check(params_find(&keep, "ema.G.fc.weight") != NULL, "EMA registers ema.G.fc.weight");
    // Weights jump to i + 10 and stay: avg = (i + 10) - 10 * 0.9^k.
    for (int i = 0; i < n; i++) w->data[i] = (float)i + 10.0f;
    rm->data[0] = 7.0f;
    for (int k = 0; k < 3; k++) ema_update(&e);
    Tensor *avg = params_find(&keep, "ema.G.fc.weight");
    float want[5];
    for (int i = 0; i < n; i++) want[i] = (float)(i + 10.0 - 10.0 * pow(0.9, 3));
    check_close("EMA after 3 updates", avg->data, want, n, 1e-6f, 1e-5f);
    check(params_find(&keep, "ema.G.bn.running_mean")->data[0] == 7.0f, "EMA copies buffers");
    ema_swap(&e);
    check(fabsf(w->data[1] - want[1]) < 1e-5f, "after ema_swap the model holds the average");
    ema_swap(&e);
    check(w->data[1] == 11.0f, "a second ema_swap restores the trained weights");
}

// ---------------------------------------------------------------------------
typedef struct {
    AugmentPolicy policy;
    unsigned long long seed;
} AugCtx;

static Tensor *augmented(Tensor **in, void *vctx) {
    AugCtx *c = vctx;
    Rng rng;
    rng_seed(&rng, c->seed);  // the same draws at every evaluation
    return augment_apply(&c->policy, in[0], &rng);
}

static void augmentation(void) {
    t_arena_reset();
    // translate by hand: a 1x1x3x4 image moved right 1 and up 1.
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    float want[12] = {0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0};
    int dx = 1, dy = -1;
    Tensor *y = t_translate(t_from_data(x, 4, (int[]){1, 1, 3, 4}), &dx, &dy);
    check_close("translate (+1, -1)", y->data, want, 12, 0.0f, 0.0f);
    AugmentPolicy p;
    check(augment_parse("translation,cutout", &p) == 0 && p.translation && p.cutout && !p.color,
          "augment_parse translation,cutout");
    check(augment_parse("color,zoom", &p) == -1, "augment_parse rejects an unknown policy");
    check(augment_parse("none", &p) == 0 && !augment_any(&p), "augment_parse none");
    const char *policies[4] = {"color", "translation", "cutout", "color,translation,cutout"};
    for (int k = 0; k < 4; k++) {
        for (int c = 1; c <= 3; c += 2) {  // grayscale, and 3 channels (saturation)
            t_arena_reset();
            AugCtx ctx = {.seed = 100 + k};
            augment_parse(policies[k], &ctx.policy);
            rand_tensor_seed(11 + k);
            Tensor *in = rand_tensor(-1.0f, 1.0f, 4, (int[]){3, c, 8, 8});
            in->requires_grad = 1;
            char name[64];
            snprintf(name, sizeof name, "DiffAugment %s, %d channel(s)", policies[k], c);
            // Every policy is linear in x (given its random draws), so the
            // difference quotient has no truncation error at any h: a large h
            // only shrinks the float rounding noise of L(x +- h) / 2h.
            gradcheck(name, augmented, &ctx, &in, 1, 3e-2f, 1e-2f);
            gradgradcheck(name, augmented, &ctx, &in, 1, 3e-2f, 2e-2f);
        }
    }
}

int main(void) {
    check_begin("modern");
    fx = fixture_load(FIXTURE);
    spectral_norm_fixture("conv");
    spectral_norm_fixture("linear");
    spectral_norm_estimates();
    hinge_losses();
    r1_penalty();
    ema();
    augmentation();
    fixture_free(fx);
    return check_summary();
}
