// spectral_norm.c: W / sigma(W) with one power-iteration step per forward
// pass (spectral_norm.h explains the method).
//
// Devices: u and v are buffers of the layer's registry, so they move with
// the model (params_to_device) and live on its device. On the CPU the step
// is exercise 7.1 (in double); on a GPU it is made of library ops on the
// device (two matrix-vector products, two norms by the deterministic
// reductions, results copied into u and v), nothing random and nothing
// copied to the host. sigma stays on the device too (sigma_dev) and is
// copied back only when spectral_norm_sigma asks for it (at log time).
#include "spectral_norm.h"

#include <math.h>
#include <stdlib.h>

#include "ch07_modern_recipe/exercises.h"  // 7.1 ex_power_iteration

static void normalize_in_place(float *a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * a[i];
    double norm = fmax(sqrt(s), 1e-12);
    for (int i = 0; i < n; i++) a[i] = (float)(a[i] / norm);
}

void spectral_norm_init(SpectralNorm *sn, Params *ps, const char *layer, Tensor *weight, Rng *rng) {
    sn->weight = weight;
    sn->rows = weight->shape[0];
    sn->cols = (int)(weight->numel / sn->rows);
    sn->u = params_add(ps, layer, "sn_u", ROLE_BUFFER, 1, &sn->rows);
    sn->v = params_add(ps, layer, "sn_v", ROLE_BUFFER, 1, &sn->cols);
    for (int i = 0; i < sn->rows; i++) sn->u->data[i] = rng_normal(rng);
    for (int j = 0; j < sn->cols; j++) sn->v->data[j] = rng_normal(rng);
    normalize_in_place(sn->u->data, sn->rows);
    normalize_in_place(sn->v->data, sn->cols);
    sn->sigma = 0.0f;
    sn->sigma_dev = NULL;
    sn->owner = ps;
}

// a / max(||a||, 1e-12) by ops, with max(n, e) written as relu(n - e) + e.
static Tensor *normalized(Tensor *a) {
    Tensor *norm = t_sqrt(t_sum(t_mul(a, a)));  // (1)
    return t_div(a, t_add_scalar(t_relu(t_add_scalar(norm, -1e-12f)), 1e-12f));
}

// Exercise 7.1's step on a GPU: v = normalize(W^T u), u = normalize(W v).
static void power_iteration_on_device(SpectralNorm *sn) {
    int prev = t_set_grad_enabled(0);  // no graph: u and v are constants of the forward
    Tensor *w = t_reshape(sn->weight, 2, (int[]){sn->rows, sn->cols});
    Tensor *v = normalized(t_matmul(t_reshape(sn->u, 2, (int[]){1, sn->rows}), w, 0, 0));  // (1, cols) = (W^T u)^T
    t_copy_(sn->v, v);
    Tensor *u = normalized(t_matmul(w, t_reshape(v, 2, (int[]){sn->cols, 1}), 0, 0));     // (rows, 1)
    t_copy_(sn->u, u);
    t_set_grad_enabled(prev);
}

// An arena copy of a buffer, on its device, viewed as (d0, d1).
static Tensor *constant_copy(Tensor *buf, int d0, int d1) {
    Tensor *c = t_empty_on(buf->device, 2, (int[]){d0, d1});
    t_copy_(c, buf);
    return c;
}

Tensor *spectral_norm_weight(SpectralNorm *sn) {
    if (sn->owner->training) {
        if (sn->weight->device == DEV_CPU) ex_power_iteration(sn->weight->data, sn->rows, sn->cols, sn->u->data, sn->v->data);
        else power_iteration_on_device(sn);
    }
    // sigma = u^T W v with u, v as constants (arena copies: later iterations
    // must not change the values this graph was built with).
    Tensor *u = constant_copy(sn->u, 1, sn->rows);
    Tensor *v = constant_copy(sn->v, sn->cols, 1);
    Tensor *w = t_reshape(sn->weight, 2, (int[]){sn->rows, sn->cols});
    Tensor *sigma = t_reshape(t_matmul(t_matmul(u, w, 0, 0), v, 0, 0), 1, (int[]){1});  // (1)
    if (sigma->device == DEV_CPU) {
        sn->sigma = sigma->data[0];
    } else {  // kept on the device (one persistent value, made at the first step), read at log time
        if (!sn->sigma_dev) sn->sigma_dev = t_persistent_on(sigma->device, "sn_sigma", 1, (int[]){1});
        t_copy_(sn->sigma_dev, sigma);
    }
    return t_div(sn->weight, sigma);
}

float spectral_norm_sigma(SpectralNorm *sn) {
    if (sn->weight->device != DEV_CPU && sn->sigma_dev) sn->sigma = t_item(sn->sigma_dev);
    return sn->sigma;
}

double spectral_norm_estimate(const Tensor *wt, int iters) {
    int rows = wt->shape[0], cols = (int)(wt->numel / rows);
    const Tensor *w = t_to((Tensor *)wt, DEV_CPU);  // a plot's number: copied back from a GPU
    double *u = malloc(sizeof(double) * rows), *v = malloc(sizeof(double) * cols), sigma = 0;
    if (!u || !v) t_fatal("spectral_norm_estimate: out of memory for a %d x %d matrix", rows, cols);
    for (int j = 0; j < cols; j++) v[j] = 1.0 / sqrt(cols) * (1.0 + 0.1 * (j % 7));  // a fixed, generic start
    for (int it = 0; it < iters; it++) {
        double nu = 0, nv = 0;
        for (int i = 0; i < rows; i++) {
            double s = 0;
            for (int j = 0; j < cols; j++) s += (double)w->data[(long)i * cols + j] * v[j];
            u[i] = s;
            nu += s * s;
        }
        nu = fmax(sqrt(nu), 1e-30);
        for (int i = 0; i < rows; i++) u[i] /= nu;
        for (int j = 0; j < cols; j++) {
            double s = 0;
            for (int i = 0; i < rows; i++) s += (double)w->data[(long)i * cols + j] * u[i];
            v[j] = s;
            nv += s * s;
        }
        sigma = sqrt(nv);  // ||W^T u|| with u a unit vector: converges to sigma_max
        nv = fmax(sigma, 1e-30);
        for (int j = 0; j < cols; j++) v[j] /= nv;
    }
    free(u);
    free(v);
    return sigma;
}
