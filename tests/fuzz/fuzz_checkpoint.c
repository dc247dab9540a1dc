// fuzz_checkpoint.c: ckpt_peek and ckpt_load (common/run/checkpoint.c) on
// arbitrary bytes, into a small model (an Mlp 2-3-1 and its Adam state). A
// load must succeed or fail with a status and a message with a HINT, and a
// failed load must leave the model's values as they were (all or nothing).
// Run by `make fuzz` (tests/fuzz/run_fuzz.sh).
#include "checkpoint.h"
#include "mlp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];
static Mlp net;
static Params params;
static Optimizer *opt;
static Rng rng;
static float before[64];

static void setup(void) {
    if (path[0]) return;
    snprintf(path, sizeof path, "/tmp/ganbook-fuzz-ckpt.%d", (int)getpid());
    rng_seed(&rng, 1);
    params_init(&params, "C");
    mlp_init(&net, &params, (int[]){2, 3, 1}, 3, ACT_RELU, ACT_NONE, &rng);
    opt = optim_adam(&params, 1e-3f, 0.5f, 0.999f, 1e-8f, 0.0f);
}

// GANBOOK_FUZZ_SEED=FILE: write a valid checkpoint of this model there and
// exit (run_fuzz.sh makes the seed corpus so).
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *out = getenv("GANBOOK_FUZZ_SEED");
    if (!out) return 0;
    setup();
    Checkpoint ck;
    ckpt_init(&ck, "fuzz seed", &rng);
    ckpt_add_params(&ck, &params);
    ckpt_add_optimizer(&ck, opt);
    ck.step = 3;
    exit(ckpt_save(&ck, out) == CKPT_OK ? 0 : 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    CkptInfo info;
    (void)ckpt_peek(path, &info);
    Tensor *w = params.items[0].t;
    memcpy(before, w->data, (size_t)w->numel * sizeof(float));
    Checkpoint ck;
    ckpt_init(&ck, "fuzz", &rng);
    ckpt_add_params(&ck, &params);
    ckpt_add_optimizer(&ck, opt);
    CkptStatus st = ckpt_load(&ck, path);
    if (st != CKPT_OK) {
        if (!strstr(ck.error, "HINT:")) abort();  // every failure explains itself
        if (memcmp(before, w->data, (size_t)w->numel * sizeof(float)) != 0) abort();  // and changes nothing
    }
    return 0;
}
