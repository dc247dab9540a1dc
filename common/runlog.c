// runlog.c: run directory, loss.dat, metrics.txt, progress line, final
// samples, gnuplot. See runlog.h.
#include "runlog.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data.h"  // idx_write

static int fail(const char *hint, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const char *hint, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nHINT: %s\n", hint);
    va_end(ap);
    return -1;
}

void run_path(char *buf, size_t n, const char *dir, const char *file) { snprintf(buf, n, "%s/%s", dir, file); }

// ---------------------------------------------------------------------------
// Run directory

static const char *output_patterns[] = {"*.dat", "*.png", "checkpoint.bin", "metrics.txt", "samples.txt",
                                        "samples.idx", "samples_labels.idx", "real.txt", "*.tmp", NULL};

int rundir_is_output(const char *name) {
    for (int i = 0; output_patterns[i]; i++)
        if (fnmatch(output_patterns[i], name, 0) == 0) return 1;
    return 0;
}

static int mkdir_p(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int rundir_prepare(const char *dir, int force, int resume) {
    if (!dir || !*dir) return fail("pass --out DIR", "empty run directory name");
    if (mkdir_p(dir) != 0)
        return fail("choose another --out DIR, or check permissions", "cannot create run directory %s (%s)", dir,
                    strerror(errno));
    if (resume) return 0;
    DIR *d = opendir(dir);
    if (!d) return fail("check permissions of the run directory", "cannot read %s (%s)", dir, strerror(errno));
    char found[512] = "";
    int n_found = 0, removed_all = 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!rundir_is_output(e->d_name)) continue;
        char path[4200];
        run_path(path, sizeof path, dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;  // only plain files
        if (force) {
            if (unlink(path) != 0) removed_all = 0;
            continue;
        }
        if (n_found < 4) {
            size_t len = strlen(found);
            snprintf(found + len, sizeof found - len, "%s%s", n_found ? ", " : "", e->d_name);
        }
        n_found++;
    }
    closedir(d);
    if (!removed_all) return fail("remove them by hand or choose another --out DIR", "cannot delete the old outputs in %s", dir);
    if (n_found) {
        fprintf(stderr, "error: %s already holds the outputs of an earlier run (%s%s)\n", dir, found,
                n_found > 4 ? ", ..." : "");
        fprintf(stderr, "HINT: add --force to overwrite them, --resume %s/checkpoint.bin to continue that run, "
                        "or --out DIR to write elsewhere\n", dir);
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// loss.dat

static int count_words(const char *s) {
    int n = 0, in = 0;
    for (; *s; s++) {
        int space = *s == ' ' || *s == '\t';
        if (!space && !in) n++;
        in = !space;
    }
    return n;
}

// Rewrites `path` keeping the data rows with step <= resume_step.
static int keep_rows_until(const char *path, const char *header, long resume_step) {
    FILE *in = fopen(path, "r");
    if (!in) return 0;  // nothing to keep
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return -1;
    }
    fprintf(out, "# %s\n", header);
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *end;
        double step = strtod(line, &end);
        if (end == line || step > (double)resume_step) continue;
        fputs(line, out);
        if (!strchr(line, '\n')) fputc('\n', out);
    }
    fclose(in);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

int losslog_open(LossLog *log, const char *dir, const char *columns, long resume_step) {
    memset(log, 0, sizeof *log);
    run_path(log->path, sizeof log->path, dir, "loss.dat");
    log->n_columns = count_words(columns);
    if (log->n_columns < 1) return fail("name the columns, e.g. \"step d_loss g_loss\"", "loss.dat: no column names");
    if (resume_step >= 0) {
        if (keep_rows_until(log->path, columns, resume_step) != 0)
            return fail("check the run directory", "cannot rewrite %s for resuming", log->path);
        FILE *probe = fopen(log->path, "r");
        int exists = probe != NULL;
        if (probe) fclose(probe);
        log->f = fopen(log->path, "a");
        if (log->f && !exists) fprintf(log->f, "# %s\n", columns);
    } else {
        log->f = fopen(log->path, "w");
        if (log->f) fprintf(log->f, "# %s\n", columns);
    }
    if (!log->f) return fail("check that the run directory exists and is writable", "cannot open %s (%s)", log->path, strerror(errno));
    fflush(log->f);
    return 0;
}

int losslog_write(LossLog *log, const double *values) {
    if (!log->f) return -1;
    fprintf(log->f, "%ld", (long)values[0]);
    for (int i = 1; i < log->n_columns; i++) fprintf(log->f, " %.6g", values[i]);
    fputc('\n', log->f);
    if (fflush(log->f) != 0) return fail("check free disk space", "cannot write %s", log->path);
    return 0;
}

void losslog_close(LossLog *log) {
    if (log->f) fclose(log->f);
    log->f = NULL;
}

// ---------------------------------------------------------------------------
// metrics.txt

void metrics_set_str(Metrics *m, const char *key, const char *value) {
    int i = 0;
    while (i < m->n && strcmp(m->key[i], key) != 0) i++;
    if (i == METRICS_MAX) {
        fprintf(stderr, "warning: metrics.txt is full (%d keys); '%s' not recorded\n", METRICS_MAX, key);
        return;
    }
    if (i == m->n) m->n++;
    snprintf(m->key[i], sizeof m->key[i], "%s", key);
    for (char *c = m->key[i]; *c; c++)
        if (*c == ' ' || *c == '\t') *c = '_';  // keep "key value" parseable
    snprintf(m->value[i], sizeof m->value[i], "%s", value);
}

void metrics_set(Metrics *m, const char *key, double value) {
    char v[64];
    snprintf(v, sizeof v, "%.6g", value);
    metrics_set_str(m, key, v);
}

void metrics_set_toy(Metrics *m, const ToyMetrics *t) {
    metrics_set(m, "modes_covered", t->modes_covered);
    metrics_set(m, "modes_total", t->modes_total);
    metrics_set(m, "high_quality_fraction", t->high_quality_fraction);
    metrics_set(m, "mode_kl", t->mode_kl);
}

int metrics_write(const Metrics *m, const char *dir) {
    char path[4200], tmp[4300];
    run_path(path, sizeof path, dir, "metrics.txt");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return fail("check that the run directory exists and is writable", "cannot create %s", path);
    for (int i = 0; i < m->n; i++) fprintf(f, "%s %s\n", m->key[i], m->value[i]);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return fail("check free disk space", "cannot write %s", path);
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Progress line

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void format_duration(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void progress_begin(Progress *p, long start_step, long total) {
    memset(p, 0, sizeof *p);
    p->start_step = p->last_step = start_step;
    p->total = total;
    p->t_start = p->t_last = now_seconds();
    p->tty = isatty(STDOUT_FILENO);
}

void progress_update(Progress *p, long step, const char *fmt, ...) {
    double now = now_seconds();
    int last = step >= p->total;
    if (p->printed && !last && now - p->t_last < (p->tty ? 0.1 : 2.0)) return;
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (step - p->start_step) / elapsed : 0.0;
    char eta[32], rate_s[32], losses[256] = "";
    format_duration(eta, sizeof eta, rate > 0 ? (p->total - step) / rate : NAN);
    if (rate >= 100) snprintf(rate_s, sizeof rate_s, "%.0f", rate);
    else snprintf(rate_s, sizeof rate_s, "%.3g", rate);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(losses, sizeof losses, fmt, ap);
        va_end(ap);
    }
    printf("%sstep %ld/%ld  %s it/s  ETA %s  %s%s", p->tty ? "\r" : "", step, p->total, rate_s, eta, losses,
           p->tty ? "\033[K" : "\n");
    fflush(stdout);
    p->t_last = now;
    p->last_step = step;
    p->printed = 1;
}

void progress_end(Progress *p) {
    double elapsed = now_seconds() - p->t_start;
    long steps = p->last_step - p->start_step;
    char took[32];
    format_duration(took, sizeof took, elapsed);
    if (p->tty && p->printed) printf("\n");
    printf("done: %ld steps in %s (%.3g it/s)\n", steps, took, elapsed > 0 ? steps / elapsed : 0.0);
    fflush(stdout);
}

// ---------------------------------------------------------------------------
// Final samples

int samples_write_txt(const char *dir, const char *file, const float *xy, int n) {
    char path[4200], tmp[4300];
    run_path(path, sizeof path, dir, file);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return fail("check that the run directory exists and is writable", "cannot create %s", path);
    for (int i = 0; i < n; i++) fprintf(f, "%.6g %.6g\n", xy[2 * i], xy[2 * i + 1]);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return fail("check free disk space", "cannot write %s", path);
    }
    return 0;
}

int samples_write_idx(const char *dir, const float *images, int N, int C, int H, int W) {
    char path[4200];
    run_path(path, sizeof path, dir, "samples.idx");
    size_t total = (size_t)N * C * H * W;
    unsigned char *bytes = malloc(total ? total : 1);
    if (!bytes) return fail("write fewer samples", "out of memory for %s", path);
    for (size_t i = 0; i < total; i++) {
        float v = images[i];
        bytes[i] = !(v > -1.0f) ? 0 : v >= 1.0f ? 255 : (unsigned char)lrintf((v + 1.0f) * 127.5f);
    }
    int dims4[4] = {N, C, H, W}, dims3[3] = {N, H, W};
    int rc = C == 1 ? idx_write(path, bytes, 3, dims3) : idx_write(path, bytes, 4, dims4);
    free(bytes);
    return rc;
}

// ---------------------------------------------------------------------------
// gnuplot

int plots_have_gnuplot(void) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char dir[4096];
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && len < sizeof dir - 16) {
            memcpy(dir, path, len);
            strcpy(dir + len, "/gnuplot");
            if (access(dir, X_OK) == 0) return 1;
        }
        path += len;
        if (*path == ':') path++;
    }
    return 0;
}

int plots_gnuplot(const char *script, const char *vars) {
    if (!plots_have_gnuplot()) return -1;
    char script_path[4200];
    snprintf(script_path, sizeof script_path, "%s/plots/%s", ganbook_root(), script);
    if (access(script_path, R_OK) != 0)
        return fail("set GANBOOK_ROOT to the repository's directory", "plot script %s not found", script_path);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return fail("try again: the system is short of processes", "cannot start gnuplot");
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", "-e", vars, script_path, (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int plots_finish(const char *dir) {
    if (!plots_have_gnuplot()) {
        printf("gnuplot not found: install it (apt-get install gnuplot-nox) and run make plots\n");
        return 1;
    }
    char data[4200], png[4200], vars[9000];
    run_path(data, sizeof data, dir, "loss.dat");
    run_path(png, sizeof png, dir, "loss.png");
    if (strchr(dir, '\'') || strchr(dir, '"'))
        return fail("use an --out directory without quotes in its name", "cannot pass %s to gnuplot", dir);
    if (access(data, R_OK) != 0) return fail("the run wrote no loss.dat", "nothing to plot in %s", dir);
    snprintf(vars, sizeof vars, "datafile='%s'; outfile='%s'", data, png);
    if (plots_gnuplot("loss.gp", vars) != 0)
        return fail("run gnuplot -e \"datafile='...'\" plots/loss.gp by hand to see why", "gnuplot could not render %s", png);
    printf("wrote %s\n", png);
    snprintf(vars, sizeof vars, "datafile='%s'; dumb=1", data);
    plots_gnuplot("loss.gp", vars);  // the ASCII chart; a failure here is cosmetic
    return 0;
}
