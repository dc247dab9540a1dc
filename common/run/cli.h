// cli.h: one command-line parser for every program of the course.
//
// A program lists its flags in a table; each entry points at the variable
// that receives the value, and the variable's initial value is the default
// shown by --help. Accepted forms: `--steps 500` and `--steps=500`; a bool
// flag alone (`--force`) means 1, `--force=0|1|true|false|yes|no` also works.
// Any mistake (unknown flag, missing or malformed value, value out of range,
// choice not in the list, stray argument) prints exactly two lines to stderr:
//     error: --steps: 'abc' is not an integer
//     HINT: ./chapter1 --help lists every flag and its default
// and exits with code 2. --help prints the usage to stdout and exits 0.
//
// A chapter starts from the flags every chapter shares and adds its own:
//
//     CommonArgs args;
//     cli_common_defaults(&args, "runs/chapter1");
//     args.dataset = "ring8"; args.steps = 5000;          // chapter defaults
//     const char *loss = "minimax";
//     CliFlag flags[CLI_MAX_FLAGS];
//     int n = cli_common_flags(flags, &args, "ring8|grid25|mnist");
//     flags[n++] = cli_choice("loss", &loss, "minimax|nonsat", "generator loss");
//     flags[n] = (CliFlag){0};                              // end of table
//     cli_parse(argc, argv, flags, "chapter1", "Vanilla GAN (Goodfellow et al., 2014).");
//     cli_apply_common(&args);                              // --device, --threads
#ifndef GANBOOK_CLI_H
#define GANBOOK_CLI_H

#include <stdio.h>

#include "tensor.h"  // Device

#define CLI_MAX_FLAGS 48

typedef enum {
    CLI_INT,     // value: int *
    CLI_FLOAT,   // value: float *
    CLI_STRING,  // value: const char ** (points into argv afterwards)
    CLI_CHOICE,  // value: const char ** ; must be one of `choices`
    CLI_BOOL,    // value: int * (0 or 1)
} CliType;

typedef struct {
    const char *name;     // without the dashes: "steps"; NULL ends the table
    CliType type;
    void *value;          // where the parsed value goes (see CliType)
    const char *help;     // one line for --help
    const char *choices;  // CLI_CHOICE: "auto|cpu|cuda"
    double min, max;      // CLI_INT / CLI_FLOAT: allowed range, used when min < max
    const char *metavar;  // the value's name in --help ("DIR", "CKPT"); NULL: N, X, TEXT or the choices
} CliFlag;

// Table entries, type-checked: the pointer must match the flag's type.
// min < max enables a range check [min, max]; min = max = 0 disables it.
CliFlag cli_int(const char *name, int *value, double min, double max, const char *help);
CliFlag cli_float(const char *name, float *value, double min, double max, const char *help);
CliFlag cli_string(const char *name, const char **value, const char *help);
CliFlag cli_choice(const char *name, const char **value, const char *choices, const char *help);
CliFlag cli_bool(const char *name, int *value, const char *help);

// Parses argv into the table's variables. Returns only on success; --help
// exits 0, any error exits 2 (see above). `program` names the executable in
// messages, `description` is the first line of --help.
void cli_parse(int argc, char **argv, CliFlag *table, const char *program, const char *description);

// One value for one flag, with the checks cli_parse makes (integer, range,
// choice, ...): sets *f->value and returns 0, or returns -1 with the message
// cli_parse would give ("--log-every: 0 is out of range [1, 1000000000]") in
// err and the variable unchanged. A string or choice keeps the pointer
// `text`, which must outlive the variable. (gan_run.c checks the settings of
// a checkpoint's header with it.)
int cli_set_value(const CliFlag *f, const char *text, char *err, size_t size);

// Prints the usage (--help's text) to `out`.
void cli_usage(FILE *out, const CliFlag *table, const char *program, const char *description);

// Reports a usage error the same way cli_parse does (error + HINT, exit 2),
// for checks a chapter makes after parsing (e.g. --batch larger than the data).
void cli_usage_error(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

// ---------------------------------------------------------------------------
// The flags every chapter shares.
typedef struct {
    const char *dataset;     // --dataset: one of the chapter's datasets
    int steps;               // --steps: training iterations (generator steps)
    int batch;               // --batch: minibatch size
    float lr;                // --lr: learning rate
    int seed;                // --seed: makes a CPU run repeatable
    const char *out;         // --out: run directory
    int sample_every;        // --sample-every: sample grid every N steps (0: only at the end)
    int checkpoint_every;    // --checkpoint-every: checkpoint every N steps (0: only at the end)
    const char *device;      // --device: auto|cpu|cuda
    int threads;             // --threads: CPU threads, 0 = all cores
    const char *resume;      // --resume CKPT: continue that run ("" = no)
    const char *sample;      // --sample CKPT: only write a sample grid from CKPT ("" = no)
    int force;               // --force: overwrite the outputs of an earlier run in --out

    Device device_resolved;  // set by cli_apply_common: DEV_CPU or DEV_CUDA
    const char *program;     // set by cli_apply_common: the name given to cli_parse
} CommonArgs;

// Generic defaults (steps 5000, batch 64, lr 2e-4, seed 1, sample/checkpoint
// every 1000, device auto, threads 0); out = `out_dir`. Chapters then
// override what they need before building the table.
void cli_common_defaults(CommonArgs *args, const char *out_dir);

// Writes the shared flags into table[0..n) and returns n; `datasets` is the
// chapter's list of choices for --dataset ("ring8|grid25|mnist"). The caller
// appends its own flags and ends the table with (CliFlag){0}.
int cli_common_flags(CliFlag *table, CommonArgs *args, const char *datasets);

// After cli_parse: checks combinations (--resume with --sample), resolves
// --device (auto -> cuda when this build has CUDA and the runtime reports a
// usable GPU, else cpu; cuda without one is a usage error with a HINT, exit
// 2: "this build has no CUDA (built without CUDA)" or "no usable CUDA GPU")
// and applies --threads (omp_set_num_threads when built with OpenMP).
// gan_run_track then moves the models there (t_set_default_device).
void cli_apply_common(CommonArgs *args);

// Makes OpenMP's idle threads sleep instead of spin (OMP_WAIT_POLICY=passive)
// unless the user set OMP_WAIT_POLICY. The OpenMP runtime reads that variable
// once, when the program loads, so the only way to change it from inside is
// to set it and start the program again: on Linux this re-executes the
// program (its path read from /proc/self/exe) with the same argv; elsewhere,
// or if that fails, it does nothing. Call it first thing in main, before
// anything is printed.
// Why: spinning threads steal the core that another busy program needs. On
// the 2-core machine with one other busy process, chapter 3's default step
// took 265 ms with two spinning threads, 154 ms with two sleeping ones and
// 155 ms on one thread (idle: 94 to 105 ms on two, 135 on one). The MLPs of
// chapters 1-2 fared worse still with spinning: up to 10x slower than one
// thread. On an idle machine sleeping costs about 6% (chapter 3: 94 against
// 89 ms per step).
// Between the two: a waiting thread first spins 1,000 rounds (cli.c)
// (GOMP_SPINCOUNT, about 10 microseconds; libgomp's default is 300,000, about
// 3 ms) and then sleeps, unless the user set GOMP_SPINCOUNT. A training step
// opens ~100 parallel regions back to back; a thread that slept between two
// of them costs a futex wake-up each time. Measured on the 2-core Zen 3, 2
// threads, bench_gan mlp_b64: quiet, 20.6 ms/iter sleeping at once, 16.5
// with 1,000 rounds, 15.3 with 10,000; with another busy process on one
// core, 27.6, 26.8 and 48.8 (10,000 rounds already spins on the core the
// other process needs). Runs differ by 10% or more on this shared machine.
void cli_openmp_passive(char **argv);

#endif
