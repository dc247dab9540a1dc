// grader.c: the exercise grader (`make grade`). Runs every exercise test,
// prints one line per test and `Score: x/y`, exits 0 only on full marks.
//
//   make grade                   grade exercises/ (your code)
//   make grade SRC=solutions     grade the reference solutions
//   build/<variant>/grader 0.3   only the tests of exercise 0.3 ("0" = all of
//                                chapter 0; a word matches test names: adam)
//   grader --list                list the tests without running them
// Env: GRADER_TIMEOUT=seconds per test (default 20).
//
// Each test runs in a child process (fork) under an alarm, with its stdout
// and stderr captured through a pipe: a stub (exercise_not_implemented exits
// with status 3), a crash, t_fatal or an endless loop fails that test only,
// and what the child printed is shown indented under its FAIL line. A test
// passes only when its function returns with no failed check.
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
//   The Makefile compiles every tests/grader/*.c into the grader; nothing
//   else changes. Put the exercise's markers in solutions/, then run
//   tests/grader/make_stubs.sh; `make test` checks solutions score full marks
//   and the stubs zero.
#include "grader.h"

#include <errno.h>
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
    SUITE(grade_ch06)

#define SUITE(name) extern const GradeTest name[];
GRADE_SUITES
#undef SUITE
#define SUITE(name) name,
static const GradeTest *const suites[] = {GRADE_SUITES NULL};
#undef SUITE

// The child writes this as its last line when the test function returned,
// so a test cannot pass by exiting 0 half way (e.g. student code calling exit).
#define DONE_MARK "@@grade-test-done@@"
#define OUTPUT_MAX 65536
#define SHOW_LINES 6

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// "0.3" matches exercise 0.3; "0" matches 0.1, 0.2, ...; anything else
// matches when it occurs in the test's name.
static int matches(const GradeTest *t, const char *filter) {
    size_t k = strlen(filter);
    if (strcmp(t->number, filter) == 0) return 1;
    if (strncmp(t->number, filter, k) == 0 && t->number[k] == '.') return 1;
    return strstr(t->name, filter) != NULL;
}

typedef struct {
    int passed;
    double seconds;
    char why[160];          // one line when the child did not finish normally
    char out[OUTPUT_MAX];   // what the child printed
    size_t out_len;
} Result;

static void run_child(const GradeTest *t, int fd, int timeout) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, SIG_DFL);
    alarm((unsigned)timeout);
    t->run();
    int failed = grade_failures();
    if (!failed) printf("%s\n", DONE_MARK);
    fflush(stdout);
    fflush(stderr);
    _exit(failed ? 1 : 0);
}

static void run_test(const GradeTest *t, int timeout, Result *r) {
    memset(r, 0, sizeof *r);
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(r->why, sizeof r->why, "grader: pipe failed: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    fflush(stderr);
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->why, sizeof r->why, "grader: fork failed: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        run_child(t, fds[1], timeout);
    }
    close(fds[1]);

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
    r->seconds = now() - start;
    r->out[r->out_len] = '\0';

    char *mark = strstr(r->out, DONE_MARK "\n");
    if (mark) {
        memmove(mark, mark + strlen(DONE_MARK) + 1, strlen(mark + strlen(DONE_MARK) + 1) + 1);
        r->out_len = strlen(r->out);
    }
    if (killed) {
        snprintf(r->why, sizeof r->why, "timed out after %d s (killed)", timeout);
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM)
            snprintf(r->why, sizeof r->why, "timed out after %d s (an endless loop?)", timeout);
        else
            snprintf(r->why, sizeof r->why, "crashed: signal %d (%s)", sig, strsignal(sig));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (mark)
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

static void usage(FILE *f) {
    fprintf(f, "usage: grader [--list] [FILTER...]\n"
               "  FILTER: an exercise number (0.3), a chapter (0), or a word of a test's name\n"
               "  env GRADER_TIMEOUT: seconds per test (default 20)\n");
}

int main(int argc, char **argv) {
    int list = 0, nfilters = 0;
    const char **filters = calloc((size_t)argc, sizeof *filters);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "-l") == 0)
            list = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
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

    static Result r;
    static char previous[OUTPUT_MAX];
    int score = 0, total = 0, ran = 0;
    for (int s = 0; suites[s]; s++) {
        for (const GradeTest *t = suites[s]; t->number; t++) {
            int want = nfilters == 0;
            for (int f = 0; f < nfilters && !want; f++) want = matches(t, filters[f]);
            if (!want) continue;
            int points = t->points > 0 ? t->points : 1;
            ran++;
            if (list) {
                printf("%s %s (%d point%s)\n", t->number, t->name, points, points == 1 ? "" : "s");
                continue;
            }
            printf("%s %s: ", t->number, t->name);
            fflush(stdout);
            run_test(t, timeout, &r);
            total += points;
            if (r.passed) {
                score += points;
                printf("OK (%.1fs)\n", r.seconds);
            } else {
                printf("FAIL (%.1fs)\n", r.seconds);
                show_output(&r, previous);
                memcpy(previous, r.out, r.out_len + 1);
            }
            fflush(stdout);
        }
    }
    if (ran == 0) {
        fprintf(stderr, "grader: no test matches");
        for (int f = 0; f < nfilters; f++) fprintf(stderr, " '%s'", filters[f]);
        fprintf(stderr, " (try --list)\n");
        free(filters);
        return 2;
    }
    free(filters);
    if (list) return 0;
    printf("Score: %d/%d\n", score, total);
    return score == total ? 0 : 1;
}
