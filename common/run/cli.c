// cli.c: the flag table parser. See cli.h for the contract.
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *cli_program = "program";

void cli_usage_error(const char *program, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nHINT: ./%s --help lists every flag and its default\n", program ? program : cli_program);
    va_end(ap);
    exit(2);
}

// --- help -------------------------------------------------------------------

static const char *type_word(const CliFlag *f) {
    if (f->metavar) return f->metavar;
    switch (f->type) {
    case CLI_INT: return "N";
    case CLI_FLOAT: return "X";
    case CLI_STRING: return "TEXT";
    case CLI_CHOICE: return f->choices;
    default: return "";
    }
}

// The default, formatted from the variable's current value.
static void format_value(const CliFlag *f, char *buf, size_t n) {
    switch (f->type) {
    case CLI_INT: snprintf(buf, n, "%d", *(int *)f->value); break;
    case CLI_FLOAT: snprintf(buf, n, "%g", (double)*(float *)f->value); break;
    case CLI_BOOL: snprintf(buf, n, "%s", *(int *)f->value ? "on" : "off"); break;
    default: {
        const char *s = *(const char **)f->value;
        snprintf(buf, n, "%s", s && *s ? s : "none");
    }
    }
}

static void usage_to(FILE *out, const CliFlag *table, const char *program, const char *description) {
    fprintf(out, "usage: ./%s [flags]\n", program);
    if (description && *description) fprintf(out, "%s\n", description);
    fprintf(out, "\nflags (default in brackets):\n");
    for (const CliFlag *f = table; f->name; f++) {
        char left[160], def[128];
        if (f->type == CLI_BOOL) snprintf(left, sizeof left, "--%s", f->name);
        else snprintf(left, sizeof left, "--%s %s", f->name, type_word(f));
        format_value(f, def, sizeof def);
        fprintf(out, "  %-30s %s [%s]\n", left, f->help ? f->help : "", def);
    }
    fprintf(out, "  %-30s %s\n", "--help", "show this help and exit");
}

void cli_usage(FILE *out, const CliFlag *table, const char *program, const char *description) {
    usage_to(out, table, program, description);
}

// --- parsing ------------------------------------------------------------------

// Levenshtein distance, for "did you mean --steps?".
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

static void unknown_flag(const CliFlag *table, const char *name) {
    const char *best = NULL;
    int best_d = 3;  // suggest only close names
    for (const CliFlag *f = table; f->name; f++) {
        int d = edit_distance(name, f->name);
        if (d < best_d) best_d = d, best = f->name;
    }
    if (best) cli_usage_error(cli_program, "unknown flag '--%s' (did you mean --%s?)", name, best);
    cli_usage_error(cli_program, "unknown flag '--%s'", name);
}

static int choice_ok(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

// Parses text into the flag's variable, or leaves it as it was and writes
// the reason (as the usage error would state it) into err.
int cli_set_value(const CliFlag *f, const char *text, char *err, size_t size) {
    char *end;
    switch (f->type) {
    case CLI_INT: {
        errno = 0;
        long v = strtol(text, &end, 10);
        if (end == text || *end) return snprintf(err, size, "--%s: '%s' is not an integer", f->name, text), -1;
        if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
            return snprintf(err, size, "--%s: %s does not fit in an int", f->name, text), -1;
        if (f->min < f->max && (v < f->min || v > f->max))
            return snprintf(err, size, "--%s: %s is out of range [%.10g, %.10g]", f->name, text, f->min, f->max), -1;
        *(int *)f->value = (int)v;
        return 0;
    }
    case CLI_FLOAT: {
        errno = 0;
        double v = strtod(text, &end);
        if (end == text || *end) return snprintf(err, size, "--%s: '%s' is not a number", f->name, text), -1;
        if (!isfinite(v) || errno == ERANGE || fabs(v) > 3.0e38)
            return snprintf(err, size, "--%s: %s is not a finite float", f->name, text), -1;
        if (f->min < f->max && (v < f->min || v > f->max))
            return snprintf(err, size, "--%s: %s is out of range [%.10g, %.10g]", f->name, text, f->min, f->max), -1;
        *(float *)f->value = (float)v;
        return 0;
    }
    case CLI_STRING:
        if (!*text) return snprintf(err, size, "--%s: empty value", f->name), -1;
        *(const char **)f->value = text;
        return 0;
    case CLI_CHOICE:
        if (!choice_ok(f->choices, text))
            return snprintf(err, size, "--%s: '%s' is not one of %s", f->name, text, f->choices), -1;
        *(const char **)f->value = text;
        return 0;
    case CLI_BOOL:
        if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on"))
            *(int *)f->value = 1;
        else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off"))
            *(int *)f->value = 0;
        else
            return snprintf(err, size, "--%s: '%s' is not a yes/no value (use --%s or --%s=0)", f->name, text,
                            f->name, f->name),
                   -1;
        return 0;
    }
    return snprintf(err, size, "--%s: unknown flag type", f->name), -1;
}

static void set_value(const CliFlag *f, const char *text) {
    char err[512];
    if (cli_set_value(f, text, err, sizeof err) != 0) cli_usage_error(cli_program, "%s", err);
}

void cli_parse(int argc, char **argv, CliFlag *table, const char *program, const char *description) {
    cli_program = program;
    // --help first, so it shows the defaults even after other flags.
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_to(stdout, table, program, description);
            exit(0);
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2])
            cli_usage_error(program, "unexpected argument '%s' (flags start with --)", arg);
        char name[64];
        const char *eq = strchr(arg + 2, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) cli_usage_error(program, "unknown flag '%s'", arg);
        memcpy(name, arg + 2, len);
        name[len] = 0;
        CliFlag *f = table;
        while (f->name && strcmp(f->name, name) != 0) f++;
        if (!f->name) unknown_flag(table, name);
        if (eq) value = eq + 1;
        else if (f->type == CLI_BOOL) value = "1";
        else if (i + 1 < argc) value = argv[++i];
        else cli_usage_error(program, "--%s needs a value (%s)", name, type_word(f));
        set_value(f, value);
    }
}

// --- table entries ---------------------------------------------------------------

static CliFlag entry(const char *name, CliType type, void *value, const char *help) {
    CliFlag f;
    memset(&f, 0, sizeof f);
    f.name = name, f.type = type, f.value = value, f.help = help;
    return f;
}

CliFlag cli_int(const char *name, int *value, double min, double max, const char *help) {
    CliFlag f = entry(name, CLI_INT, value, help);
    f.min = min, f.max = max;
    return f;
}

CliFlag cli_float(const char *name, float *value, double min, double max, const char *help) {
    CliFlag f = entry(name, CLI_FLOAT, value, help);
    f.min = min, f.max = max;
    return f;
}

CliFlag cli_string(const char *name, const char **value, const char *help) {
    return entry(name, CLI_STRING, value, help);
}

CliFlag cli_choice(const char *name, const char **value, const char *choices, const char *help) {
    CliFlag f = entry(name, CLI_CHOICE, value, help);
    f.choices = choices;
    return f;
}

CliFlag cli_bool(const char *name, int *value, const char *help) { return entry(name, CLI_BOOL, value, help); }

// --- the shared flags -----------------------------------------------------------

void cli_common_defaults(CommonArgs *a, const char *out_dir) {
    memset(a, 0, sizeof *a);
    a->dataset = "ring8";
    a->steps = 5000;
    a->batch = 64;
    a->lr = 2e-4f;
    a->seed = 1;
    a->out = out_dir;
    a->sample_every = 1000;
    a->checkpoint_every = 1000;
    a->device = "auto";
    a->threads = 0;
    a->resume = "";
    a->sample = "";
    a->force = 0;
    a->device_resolved = DEV_CPU;
}

int cli_common_flags(CliFlag *t, CommonArgs *a, const char *datasets) {
    int n = 0;
    t[n++] = cli_choice("dataset", &a->dataset, datasets, "training data");
    t[n++] = cli_int("steps", &a->steps, 1, 1e9, "training steps (generator updates)");
    t[n++] = cli_int("batch", &a->batch, 1, 65536, "minibatch size");
    t[n++] = cli_float("lr", &a->lr, 1e-12, 10, "learning rate");
    t[n++] = cli_int("seed", &a->seed, 0, INT_MAX, "random seed (same seed, same CPU run)");
    t[n++] = cli_string("out", &a->out, "run directory for logs, samples, checkpoints");
    t[n - 1].metavar = "DIR";
    t[n++] = cli_int("sample-every", &a->sample_every, 0, 1e9, "write a sample grid every N steps (0: at the end only)");
    t[n++] = cli_int("checkpoint-every", &a->checkpoint_every, 0, 1e9, "write checkpoint.bin every N steps (0: at the end only)");
    t[n++] = cli_choice("device", &a->device, "auto|cpu|cuda", "where to train");
    t[n++] = cli_int("threads", &a->threads, 0, 4096, "CPU threads (0: all cores)");
    t[n++] = cli_string("resume", &a->resume,
                        "continue the run saved in checkpoint CKPT, with its settings, up to --steps\n"
                        "                                 (the total: pass a larger --steps to train longer); outputs go to\n"
                        "                                 CKPT's directory, or to --out if that holds no other run's outputs\n"
                        "                                 (--force deletes them first)");
    t[n - 1].metavar = "CKPT";
    t[n++] = cli_string("sample", &a->sample, "only write a sample grid from checkpoint CKPT");
    t[n - 1].metavar = "CKPT";
    t[n++] = cli_bool("force", &a->force, "overwrite the outputs of an earlier run in --out");
    return n;
}

// A usage error with its own HINT (two lines, exit 2, like cli_usage_error).
static void device_error(const char *message, const char *hint) {
    fprintf(stderr, "error: %s\nHINT: %s\n", message, hint);
    exit(2);
}

// --device: auto takes the GPU when this is a CUDA build and the CUDA runtime
// reports a usable one (t_device_available: without a driver
// cudaGetDeviceCount fails, error 35, and that counts as none); cuda insists.
void cli_apply_common(CommonArgs *a) {
    a->program = cli_program;
    if (*a->resume && *a->sample)
        cli_usage_error(cli_program, "--resume and --sample cannot be combined (one continues training, the other only samples)");
    if (!strcmp(a->device, "cuda")) {
        if (!t_built_with_cuda())
            device_error("--device cuda: this build has no CUDA (built without CUDA)",
                         "rebuild with make CUDA=1 where nvcc is installed, or run with --device cpu");
        if (!t_device_available(DEV_CUDA))
            device_error("--device cuda: no usable CUDA GPU (the CUDA runtime reports none, or no driver)",
                         "check the GPU and its driver with nvidia-smi, or run with --device cpu");
        a->device_resolved = DEV_CUDA;
    } else if (!strcmp(a->device, "auto")) {
        a->device_resolved = t_device_available(DEV_CUDA) ? DEV_CUDA : DEV_CPU;
    } else {
        a->device_resolved = DEV_CPU;
    }
#ifdef _OPENMP
    if (a->threads > 0) omp_set_num_threads(a->threads);
#endif
}

// Rounds a waiting OpenMP thread spins before it sleeps (cli.h says why 1,000).
#define OPENMP_SPINCOUNT "1000"

void cli_openmp_passive(char **argv) {
#if defined(_OPENMP) && defined(__linux__)
    if (getenv("OMP_WAIT_POLICY")) return;  // the user's choice (or we already restarted)
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    setenv("GOMP_SPINCOUNT", OPENMP_SPINCOUNT, 0);  // unless the user set it (libgomp only)
    // The program's real path (exec'ing /proc/self/exe itself would make
    // ps and top call the process "exe").
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || n >= (ssize_t)sizeof self - 1) return;
    self[n] = '\0';
    fflush(NULL);
    execv(self, argv);  // returns only on failure: go on as we are
#else
    (void)argv;
#endif
}
