// test_gan_run.c: what gan_run.h gives a conditional chapter (chapter 6) and
// a chapter with its own loss.dat columns (chapters 4-5), driven the way a
// chapter's main.c drives it, on a tiny conditional DCGAN and MNIST:
//   - gan_real_batch_labeled returns the labels of exactly the images it
//     returns (the dataset's labels at the same positions of the epoch order),
//     and the same images as gan_real_batch would;
//   - the generator callback gets the fixed labels (one class per grid row)
//     for the pictures and i % n_classes for the final samples, and
//     samples_labels.idx records those;
//   - the progress line and metrics.txt use the chapter's column names.
// Skipped (passing) without datasets/data/mnist.
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcgan.h"
#include "gan_run.h"

#define OUT "tests/tmp/gan_run"

static int calls_with_labels, calls_without, grid_labels_ok = 1, final_labels_ok = 1, final_seen;

// The callback: records what it was asked for.
static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    if (!labels) {
        calls_without++;
    } else {
        calls_with_labels++;
        int B = z->shape[0];
        if (B == 100) {  // the 10 x 10 grid
            for (int i = 0; i < B; i++) grid_labels_ok &= labels->data[i] == (float)((i / 10) % 10);
        } else {  // the final samples, in chunks: labels continue i % 10 across chunks
            for (int i = 0; i < B; i++) final_labels_ok &= labels->data[i] == (float)((final_seen + i) % 10);
            final_seen += B;
        }
    }
    return dcgan_sample(model, z, labels);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int main(int argc, char **argv) {
    check_begin("gan_run");
    char dir[4200];
    dataset_dir("mnist", dir, sizeof dir);
    char probe[4300];
    snprintf(probe, sizeof probe, "%s/train-labels-idx1-ubyte", dir);
    if (access(probe, R_OK) != 0) {
        printf("  skip: no %s (run make data)\n", probe);
        check(1, "skipped");
        return check_summary();
    }
    (void)argc;
    char *args[] = {argv[0], "--dataset", "mnist", "--steps", "3", "--batch", "16", "--out", OUT, "--force",
                    "--sample-every", "0", "--log-every", "1", NULL};
    int n_args = 14;
    GanRun run;
    gan_run_defaults(&run, "test_gan_run", n_args, args);
    gan_run_image_defaults(&run);
    run.datasets = "mnist";
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, n_args, args, "test", "");
    run.image_size = 32;
    run.n_classes = 10;
    run.evaluate = 0;
    check(gan_run_load_data(&run) == 0, "MNIST loads");
    check(run.fixed_labels && run.fixed_labels->numel == 100, "conditional run: 100 fixed labels");

    DcganConfig cfg = dcgan_config(32, 1, 2, run.z_dim);
    cfg.n_classes = 10;
    static DcganGenerator g;
    static DcganDiscriminator d;
    dcgan_generator_init(&g, &cfg, &run.rng);
    dcgan_discriminator_init(&d, &cfg, &run.rng);
    Optimizer *opt_g = optim_adam(&g.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    Optimizer *opt_d = optim_adam(&d.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    gan_run_track(&run, &g.params, &d.params, opt_g, opt_d);

    // stdout into a file, to read the progress line back
    fflush(stdout);
    int saved = dup(1);
    FILE *cap = freopen(OUT ".stdout", "w", stdout);
    check(cap != NULL, "stdout redirected");
    int begun = gan_run_begin(&run, "step critic_loss g_loss w_estimate", generate, &g) == 0;

    int labels_match = 1, same_images = 1;
    while (run.step < run.args.steps) {
        t_arena_reset();
        // the batch gan_real_batch would give: the position before drawing
        long k = (long)run.batches_drawn->data[0], per_epoch = run.images.n / run.args.batch;
        Tensor *labels = NULL;
        Tensor *x = gan_real_batch_labeled(&run, &labels);
        for (int i = 0; i < run.args.batch; i++) {
            int idx = run.perm[(k % per_epoch) * run.args.batch + i];
            labels_match &= labels && labels->data[i] == (float)run.images.labels[idx];
        }
        run.batches_drawn->data[0] -= 1.0f;  // draw the same batch again, without labels
        Tensor *x2 = gan_real_batch(&run);
        same_images &= memcmp(x->data, x2->data, (size_t)x->numel * sizeof(float)) == 0;
        Tensor *score = dcgan_discriminator_forward(&d, x, labels);
        double row[4] = {0, t_item(t_mean(score)), 0.5, -1.25};
        gan_run_step_done(&run, row, generate, &g);
    }
    Metrics m = {0};
    int rc = gan_run_finish(&run, &m, generate, &g);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    check(begun && rc == 0, "the run begins and finishes (rc %d)", rc);
    check(labels_match, "gan_real_batch_labeled: each label is the dataset's label of its image");
    check(same_images, "gan_real_batch_labeled and gan_real_batch give the same images");
    check(calls_without == 0 && calls_with_labels > 0, "conditional run: every generator call gets labels (%d with, %d without)",
          calls_with_labels, calls_without);
    check(grid_labels_ok, "the grid asks for class (i / 10) %% 10: one class per row");
    check(final_labels_ok && final_seen == 10000, "the final samples ask for class i %% 10 (%d samples)", final_seen);

    // samples_labels.idx: IDX unsigned byte, (10000), i % 10
    FILE *f = fopen(OUT "/samples_labels.idx", "rb");
    unsigned char head[8], y[10000];
    int idx_ok = f && fread(head, 1, 8, f) == 8 && fread(y, 1, 10000, f) == 10000 && head[2] == 0x08 && head[3] == 1 &&
                 ((head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7]) == 10000;
    for (int i = 0; idx_ok && i < 10000; i++) idx_ok = y[i] == i % 10;
    if (f) fclose(f);
    check(idx_ok, "samples_labels.idx holds the 10000 requested labels (i %% 10)");

    // the chapter's column names, in metrics.txt and on the progress line
    FILE *mt = fopen(OUT "/metrics.txt", "r");
    char text[8192] = {0};
    if (mt) {
        size_t got = fread(text, 1, sizeof text - 1, mt);
        text[got] = 0;
        fclose(mt);
    }
    check(strstr(text, "final_critic_loss ") && strstr(text, "final_w_estimate -1.25") && !strstr(text, "final_D(x)"),
          "metrics.txt: final_<column> under the chapter's names");
    FILE *so = fopen(OUT ".stdout", "r");
    char out[65536] = {0};
    if (so) {
        size_t got = fread(out, 1, sizeof out - 1, so);
        out[got] = 0;
        fclose(so);
    }
    check(strstr(out, "critic_loss ") && strstr(out, "w_estimate -1.250") && !strstr(out, "D(G(z))"),
          "the progress line shows the chapter's columns");
    check(file_size(OUT "/samples_000003.png") > 0, "the last picture is written");
    return check_summary();
}
