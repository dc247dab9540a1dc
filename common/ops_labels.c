// ops_labels.c: placeholder until the label ops land.
#include "ops.h"
Tensor *t_one_hot(Tensor *labels, int classes) { (void)labels; (void)classes; t_fatal("one_hot: not implemented yet"); }
Tensor *t_embedding(Tensor *weight, Tensor *labels) { (void)weight; (void)labels; t_fatal("embedding: not implemented yet"); }
Tensor *t_embedding_scatter(Tensor *g, Tensor *labels, int vocab) { (void)g; (void)labels; (void)vocab; t_fatal("embedding_scatter: not implemented yet"); }
