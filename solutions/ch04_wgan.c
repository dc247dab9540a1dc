// Exercises 4.1-4.3: the WGAN losses and weight clipping (Arjovsky, Chintala
// & Bottou 2017, Algorithm 1). chapters/ch04_wgan/main.c calls all three in
// every training step: 4.1 in each critic step, 4.2 right after each critic
// update, 4.3 in the generator step. Specs: chapters/ch04_wgan/exercises.h.
#include "ch04_wgan/exercises.h"
#include "exercises.h"
#include "ops.h"

// 4.1 L_C = mean C(G(z)) - mean C(x), from the critic's scores (no sigmoid,
// no log: the scores are used as they are). scores_real (B,1), scores_fake
// (B',1) -> (1).
// Reference: 1 line.
Tensor *ex_critic_loss(Tensor *scores_real, Tensor *scores_fake) {
    // BEGIN EXERCISE 4.1
    return t_sub(t_mean(scores_fake), t_mean(scores_real));
    // END EXERCISE 4.1
}

// 4.2 clamp every trainable value of ps into [-c, c] in place; return how
// many were outside before. Loop over ps->items[0..count), skip the entries
// param_is_trainable says no to, and work on t->data[0..t->numel) directly:
// clipping is not part of any graph (PyTorch: p.data.clamp_(-c, c)).
// Reference: 9 lines.
long ex_clip_weights(Params *ps, float c) {
    // BEGIN EXERCISE 4.2
    long clipped = 0;
    for (int i = 0; i < ps->count; i++) {
        if (!param_is_trainable(&ps->items[i])) continue;
        float *p = ps->items[i].t->data;
        for (long j = 0; j < ps->items[i].t->numel; j++) {
            if (p[j] > c) p[j] = c, clipped++;
            else if (p[j] < -c) p[j] = -c, clipped++;
        }
    }
    return clipped;
    // END EXERCISE 4.2
}

// 4.3 L_G = -mean C(G(z)). scores_fake (B,1) -> (1).
// Reference: 1 line.
Tensor *ex_wgan_generator_loss(Tensor *scores_fake) {
    // BEGIN EXERCISE 4.3
    return t_neg(t_mean(scores_fake));
    // END EXERCISE 4.3
}
