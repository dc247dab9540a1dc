// ops_conv.c: placeholder until the convolution ops land.
#include "ops.h"
static ConvAlgo algo;
Tensor *t_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad) { (void)x; (void)w; (void)b; (void)stride; (void)pad; t_fatal("conv2d: not implemented yet"); }
Tensor *t_conv_transpose2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int out_pad) { (void)x; (void)w; (void)b; (void)stride; (void)pad; (void)out_pad; t_fatal("conv_transpose2d: not implemented yet"); }
Tensor *t_conv2d_weight_grad(Tensor *x, Tensor *gy, int kh, int kw, int stride, int pad) { (void)x; (void)gy; (void)kh; (void)kw; (void)stride; (void)pad; t_fatal("conv2d_weight_grad: not implemented yet"); }
void t_set_conv_algo(ConvAlgo a) { algo = a; }
ConvAlgo t_get_conv_algo(void) { return algo; }
double t_conv_seconds(ConvAlgo a) { (void)a; return 0; }
