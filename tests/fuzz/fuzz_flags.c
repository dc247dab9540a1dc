// fuzz_flags.c: cli_parse (common/run/cli.c) with the shared flags of a chapter
// on arbitrary command lines (the input split at NUL bytes into argv). A bad
// command line exits 2 with a message, --help exits 0, a good one returns:
// each input is parsed in a child process, and any other end (a crash, a
// sanitizer report, another exit status) stops the fuzzer here.
// Run by `make fuzz` (tests/fuzz/run_fuzz.sh).
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static void clean_exit(void) { _exit(3); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[130];
    int argc = 0;
    argv[argc++] = "fuzz_flags";
    for (size_t i = 0; i <= size && argc < 128;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) dup2(dn, 1), dup2(dn, 2);
        atexit(clean_exit);
        CommonArgs args;
        cli_common_defaults(&args, "runs/fuzz");
        int steps = 10, z_dim = 2;
        float beta1 = 0.5f;
        const char *loss = "minimax";
        CliFlag table[CLI_MAX_FLAGS];
        int n = cli_common_flags(table, &args, "ring8|grid25|mnist|fashion");
        table[n++] = cli_int("z-dim", &z_dim, 1, 4096, "noise size");
        table[n++] = cli_int("log-every", &steps, 1, 1000000, "log every");
        table[n++] = cli_float("beta1", &beta1, 0.0, 0.999, "Adam beta1");
        table[n++] = cli_choice("loss", &loss, "minimax|nonsaturating", "the loss");
        table[n] = (CliFlag){0};
        cli_parse(argc, argv, table, "fuzz_flags", "fuzzing the flag parser");
        _exit(0);
    }
    free(buf);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3)) abort();
    return 0;
}
