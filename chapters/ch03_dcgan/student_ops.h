// student_ops.h: chapter 3's exercises (3.1-3.3) as ops of the library, so
// that the DCGAN trains on them (--conv student, --bn student). main.c plugs
// them into the shared networks through dcgan.h's hooks.
#ifndef GANBOOK_CH03_STUDENT_OPS_H
#define GANBOOK_CH03_STUDENT_OPS_H

#include "dcgan.h"

// The forwards to hand to the networks (g.hooks, d.hooks): with `conv`, D's
// convolutions run on exercise 3.1 and G's transposed convolutions on 3.2;
// with `bn`, every batch norm in training mode runs on 3.3 (eval mode, for
// the pictures, keeps the library's op). Their backward passes use the
// library's kernels. NULL when neither is asked for.
const DcganHooks *student_hooks(int conv, int bn);

// Seconds spent so far inside exercise 3.1's loops.
double student_conv_seconds(void);

#endif
