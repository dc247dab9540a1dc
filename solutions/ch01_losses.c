// Exercises 1.1 and 1.2: the two losses of the minimax game of Goodfellow et
// al. (2014). chapters/ch01_vanilla_gan/main.c calls them in every training
// step, so a build with SRC=exercises trains with what you write here.
//
// D outputs a logit l (any real number); D(x) = sigmoid(l). Work with logits,
// never with sigmoid(l) itself: log(sigmoid(l)) computed in that order is
// log(0) = -inf for l = -100, because sigmoid(-100) rounds to 0 in float. The
// stable forms use softplus(t) = log(1 + exp(t)):
//   log D       = log sigmoid(l)     = -softplus(-l)
//   log(1 - D)  = log sigmoid(-l)    = -softplus(l)
// and t_bce_with_logits(l, y) = mean of -(y log sigmoid(l) + (1-y) log(1 - sigmoid(l)))
// computes exactly these, stably (exercise 0.3 is its forward):
//   t_bce_with_logits(l, ones)  = mean softplus(-l) = -mean log D
//   t_bce_with_logits(l, zeros) = mean softplus(l)  = -mean log(1 - D)
#include "ch01_vanilla_gan/exercises.h"
#include "exercises.h"
#include "ops.h"

// 1.1 L_D = -( mean log D(x) + mean log(1 - D(G(z))) ).
// logits_real (B,1), logits_fake (B,1) -> shape (1). Minimizing it is D
// maximizing the value function V(D, G); at the game's optimum D = 1/2
// everywhere and L_D = log 4 = 1.386. Allowed: any ops.h op (t_bce_with_logits
// with t_ones_like / t_zeros_like targets is the short way).
// Reference: 3 lines.
Tensor *ex_discriminator_loss(Tensor *logits_real, Tensor *logits_fake) {
    // BEGIN EXERCISE 1.1
    Tensor *real_term = t_bce_with_logits(logits_real, t_ones_like(logits_real));  // -mean log D(x)
    Tensor *fake_term = t_bce_with_logits(logits_fake, t_zeros_like(logits_fake));  // -mean log(1 - D(G(z)))
    return t_add(real_term, fake_term);
    // END EXERCISE 1.1
}

// 1.2 L_G = mean log(1 - D(G(z))), the generator's side of the minimax game.
// logits_fake (B,1) -> shape (1). Note the sign: G *minimizes* this, which is
// the same as maximizing -L_G = -mean log(1 - D) = t_bce_with_logits(l, zeros).
// Its gradient with respect to l is -sigmoid(l) / B: nearly 0 where D is sure
// the sample is fake (l << 0), which is the saturation chapter 2 measures.
// Reference: 1 line.
Tensor *ex_generator_loss_minimax(Tensor *logits_fake) {
    // BEGIN EXERCISE 1.2
    return t_neg(t_bce_with_logits(logits_fake, t_zeros_like(logits_fake)));
    // END EXERCISE 1.2
}
