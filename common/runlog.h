// runlog.h: everything a chapter run leaves behind, and what it prints.
//
// A run directory (runs/chapterN/ by default, --out DIR) holds:
//   loss.dat        one row per logged step, whitespace columns, and a first
//                   line "# step d_loss g_loss D(x) D(G(z)) ..." naming them
//   *.png           sample grids (png.h), loss.png (gnuplot), scatter plots
//   checkpoint.bin  (checkpoint code, not here)
//   metrics.txt     "key value" lines
//   samples.txt     final samples of 2-D data: rows "x y" (2,500 of them)
//   samples.idx     final samples of images: IDX unsigned byte, (N, H, W) for
//                   one channel, (N, C, H, W) otherwise; pixel = (x+1)*127.5
// A typical chapter:
//
//     if (rundir_prepare(args.out, args.force, *args.resume != 0)) return 2;
//     LossLog log;
//     losslog_open(&log, args.out, "step d_loss g_loss D(x) D(G(z))", resume_step);
//     Progress p;
//     progress_begin(&p, start_step, args.steps);
//     for (step...) {
//         ...
//         losslog_write(&log, (double[]){step, d_loss, g_loss, dx, dgz});
//         progress_update(&p, step, "d_loss %.3f g_loss %.3f", d_loss, g_loss);
//     }
//     progress_end(&p);
//     losslog_close(&log);
//     Metrics m = {0};
//     metrics_set(&m, "steps", args.steps);
//     metrics_write(&m, args.out);
//     plots_finish(args.out);   // loss.png + ASCII chart, or a one-line hint
//
// Functions that can fail return 0, or -1 after printing "error: ..." and a
// "HINT: ..." line to stderr.
#ifndef GANBOOK_RUNLOG_H
#define GANBOOK_RUNLOG_H

#include <stddef.h>
#include <stdio.h>

#include "root.h"  // ganbook_root
#include "toy.h"


// "dir/file" into buf.
void run_path(char *buf, size_t n, const char *dir, const char *file);

// ---------------------------------------------------------------------------
// Run directory

// Creates `dir` (like mkdir -p). When it already holds outputs of an earlier
// run (files matching the patterns below) and neither `force` nor `resume`
// is set, refuses: error + HINT naming --force, --resume and --out. With
// `force`, deletes only those outputs, never other files. With `resume`,
// leaves everything in place. The output patterns: loss.dat and any *.dat,
// *.png, checkpoint.bin, metrics.txt, samples.txt, samples.idx,
// samples_labels.idx, real.txt,
// and *.tmp leftovers; a chapter that writes other files names them to fit.
// (--sample CKPT only adds a picture to an existing run: pass resume = 1.)
int rundir_prepare(const char *dir, int force, int resume);
// 1 when `name` is one of the output files rundir_prepare manages.
int rundir_is_output(const char *name);

// ---------------------------------------------------------------------------
// loss.dat

typedef struct {
    FILE *f;
    int n_columns;
    char path[4096];
} LossLog;

// Opens dir/loss.dat with the header "# " + columns (space separated names;
// the first is the step). resume_step < 0 starts a new file; resume_step >= 0
// keeps the rows of an existing file with step <= resume_step (those written
// after the last checkpoint are dropped, so a resumed run has no duplicate
// steps) and appends after them.
int losslog_open(LossLog *log, const char *dir, const char *columns, long resume_step);
// One row: values[0..n_columns). The step (values[0]) is printed as an
// integer, the others with %.6g. Flushed, so the file can be plotted live.
int losslog_write(LossLog *log, const double *values);
void losslog_close(LossLog *log);

// ---------------------------------------------------------------------------
// metrics.txt: "key value" lines, in the order keys were first set.

#define METRICS_MAX 64
typedef struct {
    int n;
    char key[METRICS_MAX][48];
    char value[METRICS_MAX][80];
} Metrics;

void metrics_set(Metrics *m, const char *key, double value);           // %.6g
void metrics_set_str(Metrics *m, const char *key, const char *value);  // no spaces in keys
// modes_covered, modes_total, high_quality_fraction, mode_kl.
void metrics_set_toy(Metrics *m, const ToyMetrics *t);
// Writes dir/metrics.txt (atomically).
int metrics_write(const Metrics *m, const char *dir);

// ---------------------------------------------------------------------------
// Progress line. On a terminal one line rewritten in place (\r), at most
// ten times a second:
//   step 1200/5000  350 it/s  ETA 0:11  d_loss 1.32 g_loss 0.71
// When stdout is not a terminal (a log file, CI), a plain line at the first
// step, then every 2 seconds or so, and at the last step.

typedef struct {
    long start_step, total;
    double t_start, t_last;  // seconds (monotonic)
    long last_step;
    int tty, printed;
} Progress;

// start_step: steps already done (0, or the step resumed from); total: the
// step the run ends at.
void progress_begin(Progress *p, long start_step, long total);
// step: steps done so far. fmt/...: the current losses, printf-style.
void progress_update(Progress *p, long step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// Ends the line and prints the total time and mean speed.
void progress_end(Progress *p);

// ---------------------------------------------------------------------------
// Final samples in standard forms

// dir/<file>: n rows "x y" from xy (n, 2), %.6g each. file is
// "samples.txt" for the final generated points; "real.txt" for a set of real
// points to draw beside them (plots/scatter.gp).
int samples_write_txt(const char *dir, const char *file, const float *xy, int n);
// dir/samples.idx: images (N, C, H, W) in [-1, 1] as IDX unsigned bytes.
int samples_write_idx(const char *dir, const float *images, int N, int C, int H, int W);

// ---------------------------------------------------------------------------
// Plots with gnuplot (scripts in <root>/plots/, see plots/README.md)

// 1 when a `gnuplot` executable is on PATH.
int plots_have_gnuplot(void);
// Runs `gnuplot -e "<vars>" <root>/plots/<script>`; vars is gnuplot code
// such as "datafile='runs/chapter1/loss.dat'; outfile='runs/chapter1/loss.png'".
// Output goes to this program's stdout. Returns gnuplot's exit status (0 ok),
// or -1 when gnuplot is missing or a path would break the quoting.
int plots_gnuplot(const char *script, const char *vars);
// The end of a run: renders dir/loss.png from dir/loss.dat with loss.gp and
// prints the losses as an ASCII chart (gnuplot's dumb terminal). Without
// gnuplot, prints one line saying how to get the plots. Returns 0 when
// loss.png was written, 1 when gnuplot is missing, -1 on failure.
int plots_finish(const char *dir);

#endif
