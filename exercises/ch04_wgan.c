// exercises/ch04_wgan.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
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
    // TODO 4.1: return mean C(G(z)) - mean C(x) from the scores, with library ops (t_mean, t_sub):
    //     no sigmoid and no log, the scores are used as they are.
    // Reference: 1 line. Replace the TODO and the lines below with your code.
    (void)scores_real; (void)scores_fake;
    exercise_not_implemented("4.1", "exercises/ch04_wgan.c", "ex_critic_loss");
    // END EXERCISE 4.1
}

// 4.2 clamp every trainable value of ps into [-c, c] in place; return how
// many were outside before. Loop over ps->items[0..count), skip the entries
// param_is_trainable says no to, and work on t->data[0..t->numel) directly:
// clipping is not part of any graph (PyTorch: p.data.clamp_(-c, c)).
// Reference: 9 lines.
long ex_clip_weights(Params *ps, float c) {
    // BEGIN EXERCISE 4.2
    // TODO 4.2: for each trainable entry of ps (param_is_trainable), clamp t->data[0..numel) into
    //     [-c, c] in place, counting the values that were outside; return the count.
    // Reference: 9 lines. Replace the TODO and the lines below with your code.
    (void)ps; (void)c;
    exercise_not_implemented("4.2", "exercises/ch04_wgan.c", "ex_clip_weights");
    // END EXERCISE 4.2
}

// 4.3 L_G = -mean C(G(z)). scores_fake (B,1) -> (1).
// Reference: 1 line.
Tensor *ex_wgan_generator_loss(Tensor *scores_fake) {
    // BEGIN EXERCISE 4.3
    // TODO 4.3: return -mean C(G(z)) from the scores (t_mean, t_neg).
    // Reference: 1 line. Replace the TODO and the lines below with your code.
    (void)scores_fake;
    exercise_not_implemented("4.3", "exercises/ch04_wgan.c", "ex_wgan_generator_loss");
    // END EXERCISE 4.3
}
