// ch02_nonsaturating/exercises.h: the exercises of chapter 2 (2.m). Like the
// library's own (common/exercises.h), they sit in the real code path: the
// chapter's main.c calls them, so `make chapter2 SRC=exercises` trains with
// the student's code. Reference versions: solutions/ch02_*.c; stubs:
// exercises/ch02_*.c (made by tests/grader/make_stubs.sh).
#ifndef GANBOOK_CH02_EXERCISES_H
#define GANBOOK_CH02_EXERCISES_H

#include "tensor.h"

// ---------------------------------------------------------------------------
// Chapter 2: the non-saturating loss (solutions/ch02_losses.c)

// 2.1 the non-saturating generator loss: G minimizes
//   L_G = -mean_j log D(G(z_j))
// which is >= 0, is 0 when D is fooled, and is steep where D(G(z)) ~ 0.
Tensor *ex_generator_loss_nonsaturating(Tensor *logits_fake);


#endif
