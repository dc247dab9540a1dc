// grader.c: the exercise grader (`make grade`). Runs every exercise test,
// prints one line per test, a subtotal per exercise and `Score: x/y`, and
// exits 0 only on full marks.
//
//   make grade                        grade exercises/ (your code)
//   make grade ONLY="3.1 3.2"         only those exercises ("3" = all of chapter
//                                     3; a word matches test names: adam)
//   make grade FORMAT=json            the same as one JSON document (autograders)
//   make grade SRC=solutions          grade the reference solutions
//   make handout ONLY="3.1 3.2"       stub only those exercises in exercises/
//                                     (the others stay solved); make grade then
//                                     grades that subset (exercises/HANDOUT)
// Always go through make grade: it rebuilds the student's code, recomputes what
// each exercise calls and refuses code that could tamper with the grader
// (tests/grader/grade.sh); the binary alone may run stale code.
// Grader options: --list, --json, --calls FILE, --manifest FILE,
// --no-call-check (the self-test uses it to test the verdict channel alone).
// Env: GRADER_TIMEOUT=seconds per test (default 20; the manifest or a test's
// own limit wins where given).
//
// WHAT IS GRADED, AND HOW (the threat model)
// Points are set per exercise in tests/grader/manifest.txt (not by how many
// tests an exercise has): the tests of an exercise share its points by their
// weight (GradeTest.points, 0 counts as 1). The manifest also lists what each
// exercise may call and an optional time limit.
//
// Each test runs in a child process (fork) under an alarm, with its stdout
// and stderr captured through a pipe and shown under a FAIL line; a stub
// (exit status 3), a crash, t_fatal or an endless loop fails that test only.
// The verdict does NOT come from that output: before the fork the grader
// draws a fresh random token (getrandom) and opens a second pipe; the child
// moves that pipe's write end to an unpredictable descriptor number and, only
// after the test function returned with no failed check, writes the token
// there. A test passes when the child exits 0 and the token came back. So
// printing a marker or a fake "OK"/"Score" line, calling exit(0) inside the
// exercise, or any other early exit scores nothing.
// What the student's code may call is checked before any test runs:
// tests/grader/calls.sh lists, per function of the student's objects, the
// undefined symbols it reaches (nm -u per function, following static helpers
// and function-pointer tables; a syscall instruction in inline asm counts as
// a call too). An exercise calling anything outside its manifest line and the
// always-allowed list below fails every test with a line naming the call
// (e.g. 3.2 calling t_conv_transpose2d). Without write/dup/syscall/exit the
// child's exercise code cannot reach the verdict pipe or leave early with 0.
// grade.sh refuses (Score 0) student objects that define any global symbol
// other than ex_* (which could replace a libc or grader function the grader
// itself calls: a student's own memcmp or waitpid) or that carry constructors
// or destructors (code that runs outside any test).
// Not defended: a student who reads this file and corrupts memory on purpose
// (writes out of bounds to find the token on the stack or to jump into the
// grader's code). That takes deliberate, visible code; a human reading the
// exercise would see it. The grade is a check against mistakes and casual
// cheating, not a sandbox.
//
// ADDING A CHAPTER'S EXERCISE TESTS
//   1. Write tests/grader/grade_chNN.c (copy grade_lib.c's shape):
//        #include "grader.h"
//        static void t_penalty_value(void) { ... grade_close(...); ... }
//        const GradeTest grade_chNN[] = {
//            {"5.1", "gradient penalty value", t_penalty_value, 1},
//            GRADE_END,
//        };
//      Compute expected values in the test itself (plain loops in double, a
//      finite difference), never by calling solutions/ code.
//   2. Add one line `SUITE(grade_chNN)` to GRADE_SUITES below.
//   3. Add one line per exercise to tests/grader/manifest.txt: number, points,
//      time limit (- for the default), the function, what it may call; and,
//      for a test that needs its own time limit, `limit 5.1 slow 60` (the
//      test of 5.1 whose name contains "slow" gets 60 s).
//   The Makefile compiles every tests/grader/*.c into the grader; nothing
//   else changes. Put the exercise's markers in solutions/, then run
//   tests/grader/make_stubs.sh; `make test` checks solutions score full marks,
//   the stubs zero, and that every exercise has a manifest line.
#include "grader.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Every table of tests, in the order they run.
#define GRADE_SUITES \
    SUITE(grade_lib) \
    SUITE(grade_ch01) \
    SUITE(grade_ch02) \
    SUITE(grade_ch03) \
    SUITE(grade_ch03_cuda) \
    SUITE(grade_ch04) \
    SUITE(grade_ch05) \
    SUITE(grade_ch06) \
    SUITE(grade_ch07)

#define SUITE(name) extern const GradeTest name[];
GRADE_SUITES
#undef SUITE
#define SUITE(name) name,
static const GradeTest *const suites[] = {GRADE_SUITES NULL};
#undef SUITE

#ifndef GRADER_MANIFEST
#define GRADER_MANIFEST "tests/grader/manifest.txt"
#endif
#ifndef GRADER_CALLS
#define GRADER_CALLS ""  // the Makefile passes $(BUILD)/student-calls.txt
#endif

// What any exercise may call: libm, memory, printing (output is never read as
// a verdict), OpenMP, the stub, and what compilers emit on their own.
static const char *const always_allowed[] = {
    "exercise_not_implemented",
    "sqrt*", "exp*", "log*", "pow*", "fabs*", "fmax*", "fmin*", "floor*", "ceil*", "round*", "lround*",
    "trunc*", "tanh*", "sin", "sinf", "cos", "cosf", "atan*", "erf*", "hypot*", "fma", "fmaf",
    "copysign*", "__isnan*", "__isinf*", "__finite*", "__fpclassify*",
    "memset", "memcpy", "memmove", "__memset_chk", "__memcpy_chk", "__memmove_chk",
    "malloc", "calloc", "realloc", "free",
    "printf", "fprintf", "puts", "putchar", "fputs", "fputc", "fflush", "stdout", "stderr",
    "__printf_chk", "__fprintf_chk",
    "GOMP_*", "omp_*", "__kmpc_*", "__stack_chk_fail", "__assert_fail", "_GLOBAL_OFFSET_TABLE_",
    NULL,
};

#define OUTPUT_MAX 65536
#define SHOW_LINES 6
#define KEEP_JSON 4000  // bytes of a failed test's output kept for --json

typedef struct {
    char number[16];
    double points;
    int timeout;  // seconds, 0: the default
    char function[96];
    char allowed[512];  // space-separated patterns; "x*" a prefix, "!x" denied
    // filled while grading
    int weight_all, weight_sel, weight_passed, ntests, done;
    char forbidden[512];  // calls outside the list ("" when none)
} Exercise;

static Exercise exercises[256];
static int nexercises;

// "limit NUMBER WORD SECONDS" lines: one test's own time limit.
typedef struct {
    char number[16], word[64];
    int seconds;
} Limit;
static Limit limits[64];
static int nlimits;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int weight(const GradeTest *t) { return t->points > 0 ? t->points : 1; }

// "0.3" matches exercise 0.3; "0" matches 0.1, 0.2, ...; anything else
// matches when it occurs in the test's name.
static int matches(const GradeTest *t, const char *filter) {
    size_t k = strlen(filter);
    if (strcmp(t->number, filter) == 0) return 1;
    if (strncmp(t->number, filter, k) == 0 && t->number[k] == '.') return 1;
    return strstr(t->name, filter) != NULL;
}

static Exercise *find_exercise(const char *number) {
    for (int i = 0; i < nexercises; i++)
        if (strcmp(exercises[i].number, number) == 0) return &exercises[i];
    return NULL;
}

// The manifest: "number points time-limit function allowed..." per line.
static int load_manifest(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "grader: cannot open the manifest %s: %s\n", path, strerror(errno));
        fprintf(stderr, "HINT: run the grader from the repository root (make grade does)\n");
        return 0;
    }
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line + strspn(line, " \t");
        if (*s == '#' || *s == '\n' || *s == '\0') continue;
        if (strncmp(s, "limit", 5) == 0 && (s[5] == ' ' || s[5] == '\t')) {
            Limit *l = &limits[nlimits];
            if (nlimits == (int)(sizeof limits / sizeof *limits) ||
                sscanf(s + 5, "%15s %63s %d", l->number, l->word, &l->seconds) != 3 || l->seconds < 1 ||
                l->seconds > 3600) {
                fprintf(stderr, "grader: %s:%d: cannot read '%.*s'\n", path, lineno, (int)strcspn(s, "\n"), s);
                fprintf(stderr, "HINT: a limit line is: limit number word-of-the-test's-name seconds\n");
                fclose(f);
                return 0;
            }
            nlimits++;
            continue;
        }
        if (nexercises == (int)(sizeof exercises / sizeof *exercises)) break;
        Exercise *e = &exercises[nexercises];
        memset(e, 0, sizeof *e);
        char limit[32], rest[600] = "";
        int n = sscanf(s, "%15s %lf %31s %95s %599[^\n]", e->number, &e->points, limit, e->function, rest);
        char *end;
        long lim = strtol(limit, &end, 10);
        if (n < 4 || !(e->points > 0) || (strcmp(limit, "-") != 0 && (*end || lim < 1 || lim > 3600))) {
            fprintf(stderr, "grader: %s:%d: cannot read '%.*s'\n", path, lineno, (int)strcspn(s, "\n"), s);
            fprintf(stderr, "HINT: a line is: number points time-limit(s or -) function allowed-calls (or -)\n");
            fclose(f);
            return 0;
        }
        e->timeout = strcmp(limit, "-") == 0 ? 0 : (int)lim;
        if (strcmp(rest, "-") != 0) snprintf(e->allowed, sizeof e->allowed, "%s", rest);
        if (find_exercise(e->number)) {
            fprintf(stderr, "grader: %s:%d: exercise %s appears twice\n", path, lineno, e->number);
            fclose(f);
            return 0;
        }
        nexercises++;
    }
    fclose(f);
    return 1;
}

static int pattern_matches(const char *pat, size_t len, const char *sym) {
    if (len > 0 && pat[len - 1] == '*') return strncmp(sym, pat, len - 1) == 0;
    return strlen(sym) == len && strncmp(sym, pat, len) == 0;
}

// 1 when exercise e may call sym: not denied ("!sym") by its line, and
// allowed by its line or by always_allowed.
static int call_allowed(const Exercise *e, const char *sym) {
    int allowed = 0;
    for (const char *p = e->allowed; *p;) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, " \t");
        if (len == 0) break;
        if (p[0] == '!') {
            if (pattern_matches(p + 1, len - 1, sym)) return 0;
        } else if (pattern_matches(p, len, sym))
            allowed = 1;
        p += len;
    }
    for (int i = 0; !allowed && always_allowed[i]; i++)
        allowed = pattern_matches(always_allowed[i], strlen(always_allowed[i]), sym);
    return allowed;
}

// Reads tests/grader/calls.sh's output and fills each exercise's forbidden
// calls. Returns 0 when the file cannot be read.
static int check_calls(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "grader: cannot read what the exercises call (%s): %s\n", path[0] ? path : "no file",
                strerror(errno));
        fprintf(stderr, "HINT: run make grade (it rebuilds the code and that list)\n");
        return 0;
    }
    static char line[16384];
    char seen[256] = {0};
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *fn = strtok_r(line, " \n", &save);
        if (!fn) continue;
        for (int i = 0; i < nexercises; i++) {
            Exercise *e = &exercises[i];
            if (strcmp(e->function, fn) != 0) continue;
            seen[i] = 1;
            char copy[16384];
            snprintf(copy, sizeof copy, "%s", save ? save : "");
            char *s2 = NULL;
            for (char *sym = strtok_r(copy, " \n", &s2); sym; sym = strtok_r(NULL, " \n", &s2)) {
                if (call_allowed(e, sym)) continue;
                size_t k = strlen(e->forbidden);
                snprintf(e->forbidden + k, sizeof e->forbidden - k, "%s%s", k ? ", " : "", sym);
            }
        }
    }
    fclose(f);
    for (int i = 0; i < nexercises; i++)
        if (!seen[i])
            snprintf(exercises[i].forbidden, sizeof exercises[i].forbidden,
                     "(%s is not defined by the student's code)", exercises[i].function);
    return 1;
}

typedef struct {
    int passed;
    double seconds;
    char why[1400];          // one line when the child did not finish normally
    char out[OUTPUT_MAX];   // what the child printed
    size_t out_len;
} Result;

// 32 hex digits from the kernel's random source, fresh for every test.
static int new_token(char token[33]) {
    unsigned char raw[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t got = read(fd, raw, sizeof raw);
    close(fd);
    if (got != (ssize_t)sizeof raw) return 0;
    for (int i = 0; i < 16; i++) snprintf(token + 2 * i, 3, "%02x", raw[i]);
    return 1;
}

static void run_child(const GradeTest *t, int out_fd, int verdict_fd, const char *token, int timeout) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    close(out_fd);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO), close(null);
    // The verdict pipe goes to a descriptor number drawn from the token, far
    // from 3, 4, ...; close-on-exec, and its original number closed.
    int high = 200 + (int)(strtoul(token + 26, NULL, 16) % 800u);
    int v = fcntl(verdict_fd, F_DUPFD_CLOEXEC, high);
    close(verdict_fd);
    char mine[33];
    memcpy(mine, token, sizeof mine);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, SIG_DFL);
    alarm((unsigned)timeout);
    t->run();
    int failed = grade_failures();
    fflush(stdout);
    fflush(stderr);
    if (!failed && v >= 0) {
        ssize_t w = write(v, mine, 32);
        (void)w;
    }
    _exit(failed ? 1 : 0);
}

static void run_test(const GradeTest *t, int timeout, Result *r) {
    memset(r, 0, sizeof *r);
    char token[33];
    if (!new_token(token)) {
        snprintf(r->why, sizeof r->why, "grader: cannot read /dev/urandom: %s", strerror(errno));
        return;
    }
    int fds[2], vfds[2];
    if (pipe(fds) != 0) {
        snprintf(r->why, sizeof r->why, "grader: pipe failed: %s", strerror(errno));
        return;
    }
    if (pipe(vfds) != 0) {
        snprintf(r->why, sizeof r->why, "grader: pipe failed: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->why, sizeof r->why, "grader: fork failed: %s", strerror(errno));
        close(fds[0]), close(fds[1]), close(vfds[0]), close(vfds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        close(vfds[0]);
        run_child(t, fds[1], vfds[1], token, timeout);
    }
    close(fds[1]);
    close(vfds[1]);

    // Read until the child closes the pipe; kill it if it outlives the alarm
    // (it may have blocked SIGALRM or left a grandchild holding the pipe).
    int killed = 0;
    double deadline = start + timeout + 5.0;
    for (;;) {
        double left = deadline - now();
        if (left <= 0.0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        int k = poll(&p, 1, (int)(left * 1000.0) + 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) continue;
        char buf[4096];
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        size_t room = sizeof r->out - 1 - r->out_len;
        size_t keep = (size_t)got < room ? (size_t)got : room;
        memcpy(r->out + r->out_len, buf, keep);
        r->out_len += keep;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    // The verdict: exactly the token, written after the test returned.
    char verdict[64] = "";
    size_t vlen = 0;
    fcntl(vfds[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        ssize_t got = read(vfds[0], verdict + vlen, sizeof verdict - 1 - vlen);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        vlen += (size_t)got;
        if (vlen == sizeof verdict - 1) break;
    }
    verdict[vlen] = '\0';
    close(vfds[0]);
    int token_back = vlen == 32 && memcmp(verdict, token, 32) == 0;
    r->seconds = now() - start;
    r->out[r->out_len] = '\0';

    if (killed) {
        snprintf(r->why, sizeof r->why, "timed out after %d s (killed)", timeout);
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM)
            snprintf(r->why, sizeof r->why, "timed out after %d s (an endless loop?)", timeout);
        else
            snprintf(r->why, sizeof r->why, "crashed: signal %d (%s)", sig, strsignal(sig));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (token_back)
            r->passed = 1;
        else
            snprintf(r->why, sizeof r->why,
                     "exited with status 0 before the test finished (does the code call exit?)");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 1 && WEXITSTATUS(status) != 3) {
        snprintf(r->why, sizeof r->why, "exited with status %d", WEXITSTATUS(status));
    }
}

// Print the child's output indented, at most SHOW_LINES lines. When it is
// the same as the previous failure's (a stub failing every test of its
// exercise), its first line is enough.
static void show_output(const Result *r, const char *previous) {
    if (r->why[0]) printf("    %s\n", r->why);
    const char *s = r->out;
    int same = previous && strcmp(previous, s) == 0;
    int shown = 0, total = 0;
    for (const char *p = s; *p; p++)
        if (*p == '\n' || p[1] == '\0') total++;
    while (*s) {
        const char *e = strchr(s, '\n');
        int len = e ? (int)(e - s) : (int)strlen(s);
        if (shown < (same ? 1 : SHOW_LINES)) {
            printf("    %.*s\n", len, s);
            shown++;
        }
        s += len + (e ? 1 : 0);
    }
    if (total > shown && !same) printf("    ... (%d more line%s)\n", total - shown, total - shown == 1 ? "" : "s");
}

// Points as people write them: 3, 2.5, 1.33.
static const char *fmt_points(double x, char buf[32]) {
    double r = round(x * 100.0) / 100.0;
    if (r == floor(r)) snprintf(buf, 32, "%.0f", r);
    else snprintf(buf, 32, "%.2f", r);
    size_t n = strlen(buf);
    if (strchr(buf, '.') && buf[n - 1] == '0') buf[n - 1] = '\0';
    return buf;
}

static void json_string(const char *s, size_t max) {
    putchar('"');
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

typedef struct {
    const GradeTest *test;
    Exercise *ex;
    int passed;
    double seconds;
    char *message;  // why + output, for --json (NULL when passed)
} Record;

static void usage(FILE *f) {
    fprintf(f, "usage: grader [--list] [--json] [--calls FILE] [--manifest FILE] [--no-call-check] [FILTER...]\n"
               "  FILTER: an exercise number (0.3), a chapter (0), or a word of a test's name\n"
               "  env GRADER_TIMEOUT: seconds per test (default 20)\n"
               "  run it through make grade [ONLY=...] [FORMAT=json], which rebuilds your code first\n");
}

int main(int argc, char **argv) {
    int list = 0, json = 0, nfilters = 0, call_check = 1;
    const char *manifest = GRADER_MANIFEST, *calls = GRADER_CALLS;
    const char **filters = calloc((size_t)argc, sizeof *filters);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "-l") == 0)
            list = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--no-call-check") == 0)
            call_check = 0;
        else if ((strcmp(argv[i], "--calls") == 0 || strcmp(argv[i], "--manifest") == 0) && i + 1 < argc) {
            if (argv[i][2] == 'c') calls = argv[++i];
            else manifest = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "grader: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else
            filters[nfilters++] = argv[i];
    }
    int timeout = 20;
    const char *env = getenv("GRADER_TIMEOUT");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end || v < 1 || v > 3600) {
            fprintf(stderr, "grader: GRADER_TIMEOUT must be a number of seconds in 1..3600 (got '%s')\n", env);
            return 2;
        }
        timeout = (int)v;
    }
    if (!load_manifest(manifest)) return 2;

    // Every test's exercise has a manifest line; which tests are asked for.
    int ntests_all = 0;
    for (int s = 0; suites[s]; s++)
        for (const GradeTest *t = suites[s]; t->number; t++) {
            Exercise *e = find_exercise(t->number);
            if (!e) {
                fprintf(stderr, "grader: exercise %s (test '%s') has no line in %s\n", t->number, t->name, manifest);
                fprintf(stderr, "HINT: add '%s <points> - <function> <allowed calls or ->' to it\n", t->number);
                return 2;
            }
            e->weight_all += weight(t);
            ntests_all++;
        }
    Record *records = calloc((size_t)ntests_all, sizeof *records);
    int ran = 0;
    for (int s = 0; suites[s]; s++)
        for (const GradeTest *t = suites[s]; t->number; t++) {
            int want = nfilters == 0;
            for (int f = 0; f < nfilters && !want; f++) want = matches(t, filters[f]);
            if (!want) continue;
            Exercise *e = find_exercise(t->number);
            e->weight_sel += weight(t);
            e->ntests++;
            records[ran].test = t;
            records[ran].ex = e;
            ran++;
        }
    if (ran == 0) {
        fprintf(stderr, "grader: no test matches");
        for (int f = 0; f < nfilters; f++) fprintf(stderr, " '%s'", filters[f]);
        fprintf(stderr, " (try --list)\n");
        return 2;
    }
    free(filters);
    char pb[32], pb2[32];
    if (list) {
        for (int i = 0; i < ran; i++) {
            const GradeTest *t = records[i].test;
            Exercise *e = records[i].ex;
            printf("%s %s (%s of the exercise's %s points)\n", t->number, t->name,
                   fmt_points(e->points * weight(t) / e->weight_all, pb), fmt_points(e->points, pb2));
        }
        return 0;
    }
    if (call_check && !check_calls(calls)) return 2;

    static Result r;
    static char previous[OUTPUT_MAX];
    double score = 0.0, total = 0.0;
    for (int i = 0; i < ran; i++) {
        const GradeTest *t = records[i].test;
        Exercise *e = records[i].ex;
        int limit = e->timeout > 0 ? e->timeout : timeout;
        for (int k = 0; k < nlimits; k++)
            if (strcmp(limits[k].number, t->number) == 0 && strstr(t->name, limits[k].word)) limit = limits[k].seconds;
        if (!json) {
            printf("%s %s: ", t->number, t->name);
            fflush(stdout);
        }
        if (e->forbidden[0]) {
            memset(&r, 0, sizeof r);
            snprintf(r.why, sizeof r.why, "exercise %s (%s) calls %s, which it may not call (allowed: %s)",
                     e->number, e->function, e->forbidden, e->allowed[0] ? e->allowed : "none of the library");
            snprintf(r.out, sizeof r.out, "HINT: write the exercise yourself, as its spec comment says");
            r.out_len = strlen(r.out);
        } else
            run_test(t, limit, &r);
        records[i].passed = r.passed;
        records[i].seconds = r.seconds;
        if (r.passed) {
            e->weight_passed += weight(t);
            if (!json) printf("OK (%.1fs)\n", r.seconds);
        } else {
            if (!json) {
                printf("FAIL (%.1fs)\n", r.seconds);
                show_output(&r, previous);
            }
            memcpy(previous, r.out, r.out_len + 1);
            size_t n = strlen(r.why) + r.out_len + 2;
            records[i].message = malloc(n);
            snprintf(records[i].message, n, "%s%s%s", r.why, r.why[0] ? "\n" : "", r.out);
        }
        // the exercise's last selected test: its subtotal
        if (++e->done == e->ntests) {
            double got = e->points * e->weight_passed / e->weight_all;
            double of = e->points * e->weight_sel / e->weight_all;
            score += got;
            total += of;
            if (!json) printf("  exercise %s: %s/%s\n", e->number, fmt_points(got, pb), fmt_points(of, pb2));
        }
        fflush(stdout);
    }
    int full = fabs(score - total) < 1e-9;
    if (json) {
        printf("{\n  \"score\": %s, \"total\": %s, \"full_marks\": %s, \"calls_checked\": %s,\n  \"exercises\": [",
               fmt_points(score, pb), fmt_points(total, pb2), full ? "true" : "false", call_check ? "true" : "false");
        for (int i = 0; i < ran; i++) {
            Exercise *e = records[i].ex;
            if (i == 0 || records[i - 1].ex != e) {
                printf("%s\n    {\"number\": \"%s\", \"function\": \"%s\", \"points\": %s, \"score\": %s, \"forbidden_calls\": ",
                       i ? "]}," : "", e->number, e->function, fmt_points(e->points * e->weight_sel / e->weight_all, pb),
                       fmt_points(e->points * e->weight_passed / e->weight_all, pb2));
                json_string(e->forbidden, sizeof e->forbidden);
                printf(", \"tests\": [");
            } else
                printf(",");
            printf("\n      {\"name\": ");
            json_string(records[i].test->name, 200);
            printf(", \"passed\": %s, \"seconds\": %.2f", records[i].passed ? "true" : "false", records[i].seconds);
            if (records[i].message) {
                printf(", \"message\": ");
                json_string(records[i].message, KEEP_JSON);
            }
            printf("}");
        }
        printf("]}\n  ]\n}\n");
    } else {
        if (!call_check) printf("(what the exercises call was NOT checked: --no-call-check)\n");
        printf("Score: %s/%s\n", fmt_points(score, pb), fmt_points(total, pb2));
    }
    for (int i = 0; i < ran; i++) free(records[i].message);
    free(records);
    return full ? 0 : 1;
}
