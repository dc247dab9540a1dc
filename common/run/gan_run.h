// gan_run.h: the plumbing every GAN chapter shares, so that a chapter's
// main.c holds only the networks, the losses and the training step.
//
// It owns: the flags and their per-dataset defaults, the data (2-D toys, or
// MNIST / Fashion-MNIST as flat vectors or as padded images), the run's random generator, the
// fixed noise batch the sample pictures are drawn from, the run directory,
// loss.dat, the progress line, checkpoints and --resume, --sample, and the end
// of a run (final samples, toy metrics, metrics.txt, plots).
//
// A chapter (see chapters/ch01_vanilla_gan/main.c):
//
//     GanRun run;
//     gan_run_defaults(&run, "chapter1", argc, argv);      // per-dataset defaults
//     CliFlag flags[CLI_MAX_FLAGS];
//     int n = gan_run_flags(&run, flags);                   // the shared flags
//     flags[n] = (CliFlag){0};
//     gan_run_parse(&run, flags, argc, argv, "Vanilla GAN ...", "");
//     if (gan_run_load_data(&run) != 0) return 1;
//     ...build G and D with &run.rng, make the optimizers...
//     gan_run_track(&run, &g.params, &d.params, opt_g, opt_d);
//     if (run.sample_only) return gan_run_sample(&run, generate, &g);
//     if (gan_run_begin(&run, "step d_loss g_loss D(x) D(G(z))", generate, &g) != 0) return 1;
//     // (the columns of loss.dat; the progress line and metrics.txt use the same names)
//     while (run.step < run.args.steps) {
//         t_arena_reset();
//         Tensor *x = gan_real_batch(&run);        // (B, x_dim)
//         Tensor *z = gan_noise(&run, B);           // (B, z_dim)
//         ...one D step, one G step...
//         gan_run_step_done(&run, row, generate, &g);   // step++, log, samples, checkpoint
//     }
//     return gan_run_finish(&run, &metrics, generate, &g);
//
// Reproducibility: everything random in training comes from run.rng, seeded
// by --seed and saved in every checkpoint; the fixed noise, the real points
// drawn beside the samples and the final evaluation samples come from
// generators of their own derived from the seed, so they never depend on how
// long the run trained. On the CPU a run is repeatable bit for bit for the
// same --threads, and --resume continues it exactly.
#ifndef GANBOOK_GAN_RUN_H
#define GANBOOK_GAN_RUN_H

#include "checkpoint.h"
#include "cli.h"
#include "data.h"
#include "optim.h"
#include "rng.h"
#include "runlog.h"
#include "toy.h"

// The generator as the run sees it: z (B, z_dim), labels (B) class indices
// as floats or NULL (always NULL when run.n_classes is 0) -> samples
// (B, x_dim), or (B, C, H, W) for image chapters. The run calls it with
// gradients off, for the pictures, --sample and the final samples.
typedef Tensor *(*GenerateFn)(void *model, Tensor *z, Tensor *labels);

typedef struct GanRun {
    // --- settings (flags) ---
    CommonArgs args;
    int z_dim;             // --z-dim: size of the noise vector z
    int log_every;         // --log-every: a loss.dat row every N steps (and at step 1)
    float beta1;           // --beta1: Adam's first-moment decay (beta2 is 0.999)
    const char *optimizer; // the banner's words for the optimizers; NULL: "Adam lr L betas (B1, 0.999)"
    const char *chapter;   // "chapter1": names the program and the default run directory
    const char *datasets;  // the choices of --dataset; NULL: "ring8|grid25|mnist|fashion"
    char out_default[64];  // "runs/chapter1"
    char defining[256];    // flags a checkpoint records and a resumed run keeps

    // --- data ---
    const ToySpec *toy;    // ring8 / grid25, or NULL for images
    Dataset images;        // mnist / fashion (when toy is NULL)
    int image_size;        // 0: images as flat 28x28 vectors (chapters 1-2); 32: (B,1,32,32),
                           // MNIST padded 28 -> 32; 64: (B,1,64,64), padded, then each pixel
                           // doubled (nearest neighbour). Set before gan_run_load_data.
    int evaluate;          // 1: score the final samples of images with eval_mnist.h (FID, ...)
    int n_classes;         // > 0: a conditional chapter (images only); the pictures and the final
                           // samples ask the generator for labels (see fixed_labels). Set before
                           // gan_run_load_data.
    int C, H, W;           // image shape (0 for toys)
    int x_dim;             // 2 for toys, C*H*W for images

    // --- randomness ---
    Rng rng;               // the training stream: weights, noise, toy batches
    Tensor *fixed_z;       // (n_fixed, z_dim), persistent: every sample picture uses it
    Tensor *fixed_labels;  // (n_fixed) with n_classes > 0: image i of the 10 x 10 grid is of class
                           // (i / 10) % n_classes, one class per row; NULL otherwise
    int n_fixed;
    float *fixed_real;     // toys: n_fixed real points drawn beside the samples
    Params state;          // run state a checkpoint keeps besides the models ("data.batches")
    Tensor *batches_drawn; // image batches taken so far (their order derives from it)
    int *perm;             // the current epoch's order of the images
    long perm_epoch;

    // --- the run ---
    long step;             // training steps done
    int sample_only;       // --sample given
    int resuming;          // --resume given
    const char *ckpt_source;  // the --resume / --sample file
    char source_header[CKPT_HEADER_MAX];  // its header, once its checksum passed (gan_run_parse)
    Checkpoint ck;
    char ckpt_path[4200];
    long last_saved;       // step of the last checkpoint written (-1: none)
    const char *last_good; // where that checkpoint is (this run's, or the --resume file); NULL: none
    LossLog log;
    Progress progress;
    double row[16];        // the last row written to loss.dat
    int n_row;
    char columns[16][32];  // the names of loss.dat's columns (gan_run_begin's `columns`)
    char out_dir[4096];    // --out's default with --resume / --sample: the checkpoint's directory
    char adopted[8][256];  // settings taken from a checkpoint (the flags point here)
    int n_adopted;
    Params *g_params;      // the generator's registry (what --sample loads)
    int failed;            // a checkpoint or log write failed: the run exits non-zero
    double t_start;        // seconds (monotonic) when training began
    const CliFlag *table;
    int argc;
    char **argv;
} GanRun;

// Clears the run and sets the defaults of every shared flag. They depend on
// the dataset, which is read from argv here (--dataset, or the checkpoint of
// --resume / --sample) so that --help shows the defaults that will be used:
// one table for the 2-D toys, one for images (TOY_DEFAULTS, IMAGE_DEFAULTS in
// gan_run.c, the one place they are written; --help prints them).
void gan_run_defaults(GanRun *r, const char *chapter, int argc, char **argv);

// For image-only chapters (chapter 3 on): the image defaults above whatever
// the dataset, and --dataset mnist when it is not given. Call right after
// gan_run_defaults; set r->datasets to the chapter's choices ("mnist|fashion").
void gan_run_image_defaults(GanRun *r);

// Writes the shared flags (cli.h's common flags + --z-dim, --log-every,
// --beta1) into table and returns how many. The caller appends its own and
// ends the table with (CliFlag){0}.
int gan_run_flags(GanRun *r, CliFlag *table);

// Parses argv with `table` (exits 2 on a mistake, 0 after --help). With
// --resume or --sample, the settings the checkpoint was trained with
// (dataset, z-dim, batch, lr, beta1, seed, log-every and the chapter's
// `extra_defining` flags, space separated, e.g. "loss") are taken from it; a
// flag given on the command line that contradicts them is a usage error. The
// run directory defaults to the checkpoint's directory. A checkpoint is
// refused (error + HINT, exit 1) unless its whole file passes its checksum,
// it was written by this chapter, and each of its settings passes its flag's
// own checks (range, choice); gan_run_track then compares the header's
// fingerprint (chapter, settings, every tensor's name and shape) with the
// networks built from those settings.
void gan_run_parse(GanRun *r, CliFlag *table, int argc, char **argv, const char *description,
                   const char *extra_defining);

// Loads the dataset, seeds run.rng with --seed and draws the fixed batches.
// Returns 0, or -1 after an error line and a HINT (missing or damaged data).
int gan_run_load_data(GanRun *r);

// Everything a checkpoint saves: both models, both optimizers, the run's Rng,
// the step and the run state. Call once, after building the models.
void gan_run_track(GanRun *r, Params *g, Params *d, Optimizer *opt_g, Optimizer *opt_d);

// --sample CKPT: loads the generator from the checkpoint and writes
// <out>/sample_step<N>.png (a scatter beside real points for 2-D data, a grid
// for images). Returns the process exit code.
int gan_run_sample(GanRun *r, GenerateFn generate, void *model);

// Prepares the run directory (refuses to overwrite an earlier run without
// --force; --resume writes into the checkpoint's own directory, or into an
// --out that holds no other run's outputs unless --force), loads the --resume
// checkpoint, opens loss.dat with `columns`
// ("step d_loss ..."), prints the banner, writes the step-0 samples of a new
// run and starts the progress line. Returns 0 or -1 (message printed).
int gan_run_begin(GanRun *r, const char *columns, GenerateFn generate, void *model);

// A real batch, in the arena: toy points (B, 2) from run.rng, or images in
// [-1, 1] in a shuffled order that changes every epoch: flattened to
// (B, 784), or (B, C, H, W) when image_size is set.
Tensor *gan_real_batch(GanRun *r);
// The same batch with its labels: *labels = (B) class indices stored as
// floats (ops.h's convention: t_one_hot, t_embedding), in the arena, each
// checked on the host before it goes up to a GPU (t_labels_to); NULL for
// the 2-D toys, which have none. Takes the same batch gan_real_batch would.
Tensor *gan_real_batch_labeled(GanRun *r, Tensor **labels);
// Noise z ~ N(0, I): (B, z_dim), in the arena, from run.rng.
Tensor *gan_noise(GanRun *r, int B);

// 1 when the step about to be taken (run.step + 1) will be logged: step 1 and
// every --log-every steps. A chapter measures extra things only then.
int gan_run_logs_next(const GanRun *r);

// After a training step: run.step += 1; when the step is logged, writes
// row[1..] (row[0] is set to the step) to loss.dat; writes the sample picture
// every --sample-every steps and the checkpoint every --checkpoint-every
// steps and at the last one (a write that fails, e.g. on a full disk, stops
// the run: its error, then the last good checkpoint to resume from, exit 1); updates the progress line with row[1..] under
// the column names given to gan_run_begin.
void gan_run_step_done(GanRun *r, double *row, GenerateFn generate, void *model);

// The end of a run: the last samples, samples.txt (2,500 points) or
// samples.idx (10,000 images) from fresh noise (with n_classes > 0, sample i
// asks for class i % n_classes, and samples_labels.idx holds those labels, IDX
// unsigned byte), the toy metrics
// (modes_covered, modes_total, high_quality_fraction, mode_kl) or, for images
// with r->evaluate set, the figures of eval_mnist.h (fid, inception_score,
// classes_covered, class_kl, beside the real-data calibration; a HINT and no
// figures when the classifier is not trained) on screen and
// in metrics.txt together with `m` (the chapter's own keys), loss.png and the
// ASCII chart (or a hint without gnuplot), scatter.png for 2-D data, and the
// list of every output file in the run directory. A failed write stops the
// run (see gan_run_step_done); a failed plot is reported. Returns the process
// exit code.
int gan_run_finish(GanRun *r, Metrics *m, GenerateFn generate, void *model);

// An extra log file beside loss.dat (e.g. gradnorm.dat) with the same rules:
// a "# columns" header, rows from losslog_write, and on --resume the rows up
// to the checkpoint's step are kept. Returns 0 or -1 (message printed).
int gan_run_open_log(GanRun *r, LossLog *log, const char *file, const char *columns);

// A row of such a log. A failed write (disk full) stops the run like a
// failed write of loss.dat: one error, where to resume from, exit 1.
void gan_run_log(GanRun *r, LossLog *log, const double *row);

// Renders <out>/<png> from <out>/<dat> with plots/<script> when gnuplot is
// there (returns 1 and does nothing otherwise). Returns 0 when the picture
// was written; -1 after an error (gnuplot failed, or left an empty file),
// which also makes the run's exit status 1. Call before gan_run_finish, so
// that its list of outputs names the picture.
int gan_run_plot(GanRun *r, const char *script, const char *dat, const char *png);

// "outputs in DIR/: checkpoint.bin, loss.dat, ...": every output file in the
// run directory (gan_run_finish prints it last).
void gan_run_list_outputs(const GanRun *r);

// The mean of sigmoid(logits): D's average probability that its input is real.
double gan_mean_probability(const Tensor *logits);

#endif
