// mlp.c: a stack of Linear layers with activations. See mlp.h.
#include "mlp.h"

#include <stdio.h>
#include <string.h>

void mlp_init(Mlp *m, Params *ps, const int *sizes, int n_sizes, Activation hidden, Activation output, Rng *rng) {
    if (n_sizes < 2 || n_sizes > MLP_MAX_LAYERS + 1)
        t_fatal("mlp_init: %d sizes given, need 2..%d\nHINT: sizes are the input size, each hidden size, the output size",
                n_sizes, MLP_MAX_LAYERS + 1);
    memset(m, 0, sizeof *m);
    m->n_layers = n_sizes - 1;
    m->hidden = hidden;
    m->output = output;
    m->slope = 0.2f;
    memcpy(m->sizes, sizes, (size_t)n_sizes * sizeof *sizes);
    static const char *names[MLP_MAX_LAYERS] = {"fc1", "fc2", "fc3", "fc4", "fc5", "fc6", "fc7", "fc8"};
    for (int i = 0; i < m->n_layers; i++)
        linear_init(&m->layers[i], ps, names[i], sizes[i], sizes[i + 1], WITH_BIAS, rng);
}

Tensor *activation_forward(Activation a, Tensor *x, float slope) {
    switch (a) {
    case ACT_RELU: return t_relu(x);
    case ACT_LEAKY_RELU: return t_leaky_relu(x, slope);
    case ACT_TANH: return t_tanh(x);
    case ACT_SIGMOID: return t_sigmoid(x);
    default: return x;
    }
}

const char *activation_name(Activation a) {
    switch (a) {
    case ACT_RELU: return "ReLU";
    case ACT_LEAKY_RELU: return "LeakyReLU";
    case ACT_TANH: return "tanh";
    case ACT_SIGMOID: return "sigmoid";
    default: return "linear";
    }
}

Tensor *mlp_forward(const Mlp *m, Tensor *x) {
    for (int i = 0; i < m->n_layers; i++) {
        x = linear_forward(&m->layers[i], x);
        x = activation_forward(i + 1 < m->n_layers ? m->hidden : m->output, x, m->slope);
    }
    return x;
}

const char *mlp_describe(const Mlp *m, char *buf, int size) {
    int n = 0;
    for (int i = 0; i <= m->n_layers && n < size; i++) n += snprintf(buf + n, (size_t)(size - n), "%s%d", i ? "-" : "", m->sizes[i]);
    if (n < size) {
        if (m->hidden == ACT_LEAKY_RELU)
            snprintf(buf + n, (size_t)(size - n), ", LeakyReLU %g, %s output", (double)m->slope, activation_name(m->output));
        else
            snprintf(buf + n, (size_t)(size - n), ", %s, %s output", activation_name(m->hidden), activation_name(m->output));
    }
    return buf;
}
