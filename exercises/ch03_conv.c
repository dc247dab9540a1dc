// exercises/ch03_conv.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercises 3.1 and 3.2: a convolution written as loops, and a transposed
// convolution obtained as the backward of a convolution (chapter 3, DCGAN).
// chapters/ch03_dcgan/main.c calls both when it runs with --conv student:
// every convolution of the discriminator goes through ex_conv2d_forward and
// every transposed convolution of the generator through ex_conv_transpose2d,
// so a build with SRC=exercises trains a DCGAN on what you write here.
//
// Shapes (as in PyTorch): x (N,C,H,W); a conv2d weight is (OC,C,K,K), a
// conv_transpose2d weight is (C,OC,K,K) (input channels first). Every array
// is contiguous, row-major, the last index fastest: x[n][c][h][w] is
// x[((n*C + c)*H + h)*W + w].
#include "ch03_dcgan/exercises.h"
#include "exercises.h"
#include "ops.h"

// 3.1 conv2d forward, the naive way: one loop nest per output element.
//   y[n,oc,oh,ow] = b[oc] + sum_{c,kh,kw} x[n,c,ih,iw] w[oc,c,kh,kw]
//   ih = oh*stride - pad + kh,  iw = ow*stride - pad + kw
// where x is 0 outside the image (that is what the padding means: ih or iw
// out of [0,H) x [0,W) contributes nothing). Output size
//   HO = (H + 2 pad - K) / stride + 1   (integer division),   WO likewise.
// x (N,C,H,W), w (OC,C,K,K), b (OC) or NULL (no bias) -> y (N,OC,HO,WO),
// overwritten (not accumulated). Accumulate each output in a float or a
// double; no library calls needed. The library's own naive kernel
// (common/conv_cpu.c) and its GEMM one compute the same sums.
// Reference: 20 lines (a pragma among them).
void ex_conv2d_forward(const float *x, const float *w, const float *b, float *y, int N, int C, int H, int W, int OC,
                       int K, int stride, int pad) {
    // BEGIN EXERCISE 3.1
    // TODO 3.1: HO, WO from the formula; for every (n, oc, oh, ow): start from b[oc] (0 when b is
    //     NULL), add x[n,c,ih,iw] * w[oc,c,kh,kw] over c, kh, kw where (ih, iw) is inside the image.
    // Reference: 20 lines (a pragma among them). Replace the TODO and the lines below with your code.
    (void)x; (void)w; (void)b; (void)y; (void)N; (void)C; (void)H; (void)W; (void)OC; (void)K;
    (void)stride; (void)pad;
    exercise_not_implemented("3.1", "exercises/ch03_conv.c", "ex_conv2d_forward");
    // END EXERCISE 3.1
}

// 3.2 conv_transpose2d, as the gradient of a convolution with respect to its
// input. A transposed convolution with weight w (C,OC,K,K), stride s and
// padding p is, by definition, the backward-data pass of the conv2d that
// uses the same w as an (OC'=C, C'=OC, K, K) conv weight and maps an
// (N,OC,HO,WO) image to an (N,C,H,W) one:
//   ex_conv_transpose2d(x, w) = d/du < conv2d(u, w, s, p), x >   for any u,
// because conv2d is linear in u. So:
//   1. the output size: HO = (H - 1) s - 2 p + K + out_pad (WO likewise); the
//      conv maps HO x WO back to H x W: (HO + 2p - K)/s + 1 = H, and
//      out_pad (0 <= out_pad < s) picks one of the s sizes that do;
//   2. u: a zero (N,OC,HO,WO) tensor with requires_grad = 1 (any values would
//      do; zeros make the point that only the shape matters);
//   3. y = t_conv2d(u, w, NULL, s, p), which has x's shape (N,C,H,W);
//   4. t_grad(&y, &x, 1, &u, 1, create_graph, &result): the gradient of
//      sum(y * x) with respect to u, i.e. conv2d's backward applied to x.
// The result must be differentiable with respect to x and w (the generator
// trains through it): pass create_graph = 1 when gradients are enabled, and
// then t_grad records the backward as a graph. The generator is also run with
// gradients off (sample pictures): t_conv2d records nothing then, and t_grad
// would stop with "gradient requested of a tensor that does not require one",
// so switch gradients on around steps 2-4 (t_set_grad_enabled returns the
// previous setting), give t_grad create_graph = that previous setting, and
// restore it before returning.
// x (N,C,H,W), w (C,OC,K,K) -> (N,OC,HO,WO). Allowed: t_zeros, t_conv2d,
// t_grad, t_set_grad_enabled. (The library's t_conv_transpose2d computes the
// same thing; do not call it here.)
// Reference: 11 lines.
Tensor *ex_conv_transpose2d(Tensor *x, Tensor *w, int stride, int pad, int out_pad) {
    // BEGIN EXERCISE 3.2
    // TODO 3.2: HO, WO from the formula; gradients on; u = zeros (N,OC,HO,WO) requiring a gradient;
    //     y = t_conv2d(u, w, NULL, stride, pad); t_grad(&y, &x, 1, &u, 1, <previous setting>, &out).
    // Reference: 11 lines. Replace the TODO and the lines below with your code.
    (void)x; (void)w; (void)stride; (void)pad; (void)out_pad;
    exercise_not_implemented("3.2", "exercises/ch03_conv.c", "ex_conv_transpose2d");
    // END EXERCISE 3.2
}
