// dcgan.h: the DCGAN generator and discriminator/critic (Radford, Metz &
// Chintala, 2016), shared by the image chapters (3: DCGAN, 4: WGAN, 5: WGAN-GP,
// 6: conditional GAN). Chapter 3's README explains the architecture; this
// file lets each later chapter change only what its paper changes: the
// critic's normalization, the name of its output, and class conditioning.
//
// With W = width, S = image_size (32 or 64), C = channels, Z = z_dim:
//
//   G  z (B,Z) [+ label code (B,L)] viewed as (B,Z+L,1,1)
//      up1  ConvT(Z+L, 4W, 4, stride 1, pad 0)  norm ReLU   1x1   -> 4x4
//      up2  ConvT(4W, 2W, 4, 2, 1)              norm ReLU   4x4   -> 8x8
//      up3  ConvT(2W, W, 4, 2, 1)               norm ReLU   8x8   -> 16x16
//      up4  ConvT(W, C, 4, 2, 1)                tanh        16x16 -> 32x32
//   D  x (B,C,S,S) [+ label maps (B,K,S,S), concatenation]
//      conv1 Conv(C[+K], W, 4, 2, 1)            LReLU 0.2   32 -> 16
//      conv2 Conv(W, 2W, 4, 2, 1)               norm LReLU  16 -> 8
//      conv3 Conv(2W, 4W, 4, 2, 1)              norm LReLU  8  -> 4     = phi(x)
//      conv4 Conv(4W, 1, 4, 1, 0)               output      4  -> 1     = psi(phi(x))
//      [+ <embed(y), sum_hw phi(x)>, projection]
//
// S = 64 adds one layer to each (G starts at 8W channels, D ends at 8W).
// No layer has a bias where a normalization follows it (its beta does that
// job), nor the output layers; with normalization "none" the hidden layers
// that would have had one get a bias instead (D's first layer never has a
// normalization and has no bias, as in PyTorch's DCGAN example). Weights
// N(0, 0.02), batch norm gamma N(1, 0.02) (nn_init_dcgan).
//
// Normalization of D's hidden layers 2.. (d_norm):
//   batch: BatchNorm2d, the paper's;
//   layer: per sample over (C,H,W), then a learned per-channel scale and
//          shift (gamma 1, beta 0 at the start): what Gulrajani et al. (2017)
//          recommend for a WGAN-GP critic, whose penalty is per sample (batch
//          norm would mix the samples of a batch). Per-channel affine as in
//          their reference code (tflib's Layernorm over axes [1,2,3] with
//          offset/scale of the channel count), not nn.h's per-element one.
//          Composed from primitives: twice differentiable.
//   none:  nothing (a bias per layer instead).
// G's (g_norm) is batch or none.
//
// The output is one number per sample, (B,1): a logit for the GAN losses
// (D(x) = sigmoid(logit)) or a raw score for a WGAN critic. Same tensor
// either way; `output` only names it in messages and banners.
//
// Class conditioning (n_classes > 0). Labels are a Tensor of B class indices
// stored as floats (ops.h's convention, what gan_real_batch_labeled returns),
// shape (B). Into G, concatenated with z:
//   DCGAN_LABEL_ONE_HOT:   one_hot(y) (B,K), a constant, L = K;
//   DCGAN_LABEL_EMBEDDING: a learned table "G.embed.weight" (K, L) from N(0,1)
//                          (PyTorch's nn.Embedding), L = label_dim.
// Into D:
//   DCGAN_D_CONCAT:     the 2014 paper's concatenation adapted to convs: K label
//                       maps, map k all ones when y = k, as extra input channels;
//   DCGAN_D_PROJECTION: Miyato & Koyama (2018): out = psi(phi(x)) + <V[y], pool(phi(x))>,
//                       phi(x) the features before the last layer (B,F,4,4),
//                       pool = global sum over the 4x4 (their sum pooling),
//                       V "D.embed.weight" (K, F) from N(0, 0.02) like the
//                       other weights, so the term starts small.
// Unconditional networks (n_classes = 0) ignore the labels argument (pass NULL).
//
// Chapter 3's --conv student / --bn student: `hooks` (NULL by default)
// replaces the forward of the convolutions and batch norms by the chapter's
// own ops; a NULL member keeps the library's.
//
//     DcganConfig cfg = dcgan_config(32, 1, 64, 100);   // size, channels, width, z_dim
//     cfg.d_norm = DCGAN_NORM_LAYER;
//     static DcganGenerator g;       // static: built in place, never copied (nn.h)
//     static DcganDiscriminator d;
//     dcgan_generator_init(&g, &cfg, &rng);
//     dcgan_discriminator_init(&d, &cfg, &rng);
//     Tensor *fake = dcgan_generator_forward(&g, z, NULL);      // (B,C,S,S) in [-1,1]
//     Tensor *score = dcgan_discriminator_forward(&d, fake, NULL);  // (B,1)
#ifndef GANBOOK_DCGAN_H
#define GANBOOK_DCGAN_H

#include "nn.h"

#define DCGAN_MAX_LAYERS 5

typedef enum { DCGAN_NORM_NONE, DCGAN_NORM_BATCH, DCGAN_NORM_LAYER } DcganNorm;
typedef enum { DCGAN_OUTPUT_LOGIT, DCGAN_OUTPUT_SCORE } DcganOutput;
typedef enum { DCGAN_LABEL_ONE_HOT, DCGAN_LABEL_EMBEDDING } DcganLabelInput;    // into G
typedef enum { DCGAN_D_CONCAT, DCGAN_D_PROJECTION } DcganLabelCritic;           // into D

typedef struct {
    int image_size;            // 32 or 64
    int channels;              // C: 1 for MNIST
    int width;                 // W: channels of D's first and G's last hidden layer (paper: 64)
    int z_dim;                 // Z
    DcganNorm g_norm;          // batch (default) or none
    DcganNorm d_norm;          // batch (default), layer or none
    DcganOutput output;        // logit (default) or score: names D's output
    int n_classes;             // 0 (default): unconditional
    DcganLabelInput g_label;   // one-hot (default) or embedding
    int label_dim;             // embedding size for DCGAN_LABEL_EMBEDDING (default 0: n_classes)
    DcganLabelCritic d_label;  // concat (default) or projection
} DcganConfig;

// The paper's nets: batch norm in both, logit output, unconditional.
DcganConfig dcgan_config(int image_size, int channels, int width, int z_dim);

// Names <-> values, for flags: "batch|layer|none", "logit|score",
// "one-hot|embedding", "concat|projection". The parsers stop with a message
// on an unknown name (a flag table's choice list prevents that).
DcganNorm dcgan_norm_from_name(const char *name);
const char *dcgan_norm_name(DcganNorm n);
const char *dcgan_output_name(DcganOutput o);
DcganLabelInput dcgan_label_input_from_name(const char *name);
DcganLabelCritic dcgan_label_critic_from_name(const char *name);

// The forward of each layer kind; NULL members (and a NULL hooks pointer)
// use the library's conv2d_forward, conv_transpose2d_forward,
// batch_norm2d_forward. The module carries its weight, bias and settings.
typedef struct DcganHooks {
    Tensor *(*conv)(const Conv2d *m, Tensor *x);
    Tensor *(*conv_transpose)(const ConvTranspose2d *m, Tensor *x);
    Tensor *(*batch_norm)(const BatchNorm2d *m, Tensor *x);
    // Class conditioning (chapter 6's exercises 6.1 and 6.2; NULL: the library's ops):
    // concat_label(x, code): [x, code] along dim 1; x (B,Z) is G's z, x (B,C,S,S) is D's
    //   image, code (B,K) then spread over K constant maps -> (B,C+K,S,S);
    // projection(phi, V, labels): <V[y_i], phi_i> per sample, phi (B,F), V (K,F) -> (B,1).
    Tensor *(*concat_label)(Tensor *x, Tensor *code);
    Tensor *(*projection)(Tensor *phi, Tensor *embed, Tensor *labels);
} DcganHooks;

// Per-channel scale and shift after a per-sample layer norm (see above).
typedef struct {
    const char *name;
    Tensor *weight, *bias;  // (C) each
    int channels;
    float eps;              // 1e-5
} DcganLayerNorm;

typedef struct DcganGenerator {
    Params params;                          // "G.up1.weight", "G.bn1.running_mean", "G.embed.weight"
    DcganConfig cfg;
    ConvTranspose2d up[DCGAN_MAX_LAYERS];
    BatchNorm2d bn[DCGAN_MAX_LAYERS - 1];   // bn[i] follows up[i] (g_norm batch); the last layer has none
    Embedding embed;                        // DCGAN_LABEL_EMBEDDING only
    int layers;                             // 4 (S = 32) or 5 (S = 64)
    int label_dim;                          // L: columns the label adds to z (0 unconditional)
    int sample_batch_stats;                 // dcgan_sample with batch statistics (see there)
    const DcganHooks *hooks;                // NULL: the library's kernels
} DcganGenerator;

typedef struct DcganDiscriminator {
    Params params;                          // "D.conv1.weight", "D.bn2.weight", "D.ln2.weight", "D.embed.weight"
    DcganConfig cfg;
    Conv2d conv[DCGAN_MAX_LAYERS];
    BatchNorm2d bn[DCGAN_MAX_LAYERS];       // bn[i] follows conv[i] for 0 < i < layers - 1 (d_norm batch)
    DcganLayerNorm ln[DCGAN_MAX_LAYERS];    // likewise (d_norm layer)
    Tensor *embed;                          // (K, F): the projection's class vectors, or NULL
    int layers;
    const DcganHooks *hooks;
} DcganDiscriminator;

// Build in place: register (prefix "G" / "D") and initialize every tensor
// from rng. Stops with a message and a HINT on a configuration it cannot
// build (size not 32/64, width or z_dim < 1, G with layer norm, ...).
void dcgan_generator_init(DcganGenerator *g, const DcganConfig *cfg, Rng *rng);
void dcgan_discriminator_init(DcganDiscriminator *d, const DcganConfig *cfg, Rng *rng);

// G(z, y): z (B, z_dim), labels (B) or NULL -> images (B, C, S, S) in [-1, 1].
// Batch norm in the mode of g->params (training by default).
Tensor *dcgan_generator_forward(DcganGenerator *g, Tensor *z, Tensor *labels);

// D(x, y): x (B, C, S, S), labels (B) or NULL -> (B, 1) logits or scores.
Tensor *dcgan_discriminator_forward(DcganDiscriminator *d, Tensor *x, Tensor *labels);

// G for pictures and final samples. Batch norm uses its running statistics
// (eval mode), so an image depends on its own z only; with
// g->sample_batch_stats set, the statistics of the batch being drawn instead
// (PyTorch's DCGAN example), with momentum 0 so the running statistics stay
// as they are. Call with gradients off.
Tensor *dcgan_sample(DcganGenerator *g, Tensor *z, Tensor *labels);

#endif
