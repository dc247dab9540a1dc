// spectral_norm.c: W / sigma(W) with one power-iteration step per forward
// pass (spectral_norm.h explains the method).
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
    sn->owner = ps;
}

Tensor *spectral_norm_weight(SpectralNorm *sn) {
    if (sn->owner->training) ex_power_iteration(sn->weight->data, sn->rows, sn->cols, sn->u->data, sn->v->data);
    // sigma = u^T W v with u, v as constants (arena copies: later iterations
    // must not change the values this graph was built with).
    Tensor *u = t_from_data(sn->u->data, 2, (int[]){1, sn->rows});
    Tensor *v = t_from_data(sn->v->data, 2, (int[]){sn->cols, 1});
    Tensor *w = t_reshape(sn->weight, 2, (int[]){sn->rows, sn->cols});
    Tensor *sigma = t_reshape(t_matmul(t_matmul(u, w, 0, 0), v, 0, 0), 1, (int[]){1});  // (1)
    sn->sigma = t_item(sigma);
    return t_div(sn->weight, sigma);
}

double spectral_norm_estimate(const Tensor *w, int iters) {
    int rows = w->shape[0], cols = (int)(w->numel / rows);
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
