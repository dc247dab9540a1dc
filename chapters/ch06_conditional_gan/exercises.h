// chapters/ch06_conditional_gan/exercises.h: the exercises of chapter 6, the
// conditional GAN. Like every chapter's exercises they sit in the real code
// path: chapters/ch06_conditional_gan/main.c calls both in every training
// step, so `make chapter6 SRC=exercises` trains with your code. Reference
// versions: solutions/ch06_conditioning.c; stubs: exercises/ch06_conditioning.c
// (made by tests/grader/make_stubs.sh); tests: tests/grader/grade_ch06.c.
//
// A label y is a class index 0..K-1 stored as a float (the library's label
// tensors hold floats, ops.h). A network sees it through a code: the one-hot
// vector t_one_hot(y, K) (a constant) or a learned row t_embedding(E, y).
// Both exercises are built from library ops, so autograd differentiates them:
// the gradient reaches the images, the noise, the features and, when the code
// is learned, the embedding table.
#ifndef GANBOOK_CH06_EXERCISES_H
#define GANBOOK_CH06_EXERCISES_H

#include "tensor.h"

// 6.1 label conditioning by concatenation (Mirza & Osindero, 2014): glue the
// label's code to a network's input.
//   x (B, F),       code (B, K) -> (B, F + K):       [x_i, code_i], row by row
//                                                     (G's input: [z, y])
//   x (B, C, H, W), code (B, K) -> (B, C + K, H, W):  x's C channels, then K
//                   "label maps": channel C + k of image i is the constant
//                   code[i][k] at every pixel (D's input: the image beside its
//                   label, one plane per class).
// Gradients flow to x and to code (summed over the H x W pixels of each
// label map), whichever of them requires one. Library ops: t_concat,
// t_reshape, t_expand.
// Reference: 6 lines.
Tensor *ex_concat_label(Tensor *x, Tensor *code);

// 6.2 the projection term of the projection discriminator (Miyato & Koyama,
// 2018, eq. 3): D(x, y) = psi(phi(x)) + <E[y], phi(x)>, where phi(x) (B, F)
// are D's features of x, E (K, F) a learned embedding, one row per class.
// Returns the second term, one value per sample:
//   out[i] = sum_f E[labels[i]][f] * phi[i][f]            -> (B, 1)
// Gradients flow to phi and to E (rows of classes not in the batch get 0;
// a class that appears twice gets the sum of both samples' phi).
// Library ops: t_embedding, t_mul, t_sum_dim.
// Reference: 1 line.
Tensor *ex_projection(Tensor *phi, Tensor *embed_weight, Tensor *labels);

#endif
