// checkpoint.h: save a run, resume it exactly.
//
// A checkpoint holds everything that decides what a run does next: every
// tensor of the models (parameters and buffers), every optimizer's state
// (moment buffers and per-tensor step counts), the training step counter and
// the Rng state. Resuming from it continues the very same run: k steps, save,
// load, k more steps gives the same bits as 2k steps in one go.
//
//     Checkpoint ck;
//     ckpt_init(&ck, header, &rng);          // header: chapter name + flags
//     ckpt_add_params(&ck, &g.params);
//     ckpt_add_params(&ck, &d.params);
//     ckpt_add_optimizer(&ck, opt_g);
//     ckpt_add_optimizer(&ck, opt_d);
//     if (resume && ckpt_load(&ck, path) != CKPT_OK) { fprintf(stderr, "error: %s\n", ck.error); exit(1); }
//     for (step = ck.step; ...) { ...; ck.step = step + 1; if (...) ckpt_save(&ck, path); }
//
// Loading is all or nothing: the file is read and checked completely (magic,
// version, checksum, every name, shape and size) before a single value is
// copied into the live tensors, so a failed load leaves the run as it was.
// The header text is not compared (flags may change between runs, such as a
// longer --steps); it is printed next to the differences when the file does
// not fit the model, which usually explains them.
// Every failure returns a status and a message in ck.error of the form
//     "<what is wrong>\nHINT: <what to do>"
// and never crashes; the caller decides to exit.
//
// File format (all integers little-endian), version 1:
//   magic      8 bytes  "GBCKPT\r\n"  (\r\n catches text-mode copies)
//   version    u32
//   header     u32 length + that many bytes (free-form text, no terminator)
//   step       i64
//   rng        RNG_STATE_BYTES bytes (rng_serialize); all zero when saved without an Rng
//              (a valid state never is), which a load that needs one refuses
//   count      u32, then per entry:
//     name     u32 length + bytes
//     type     u32: 0 = float32 tensor, 1 = int64 counter
//     ndim     u32, dims u32[ndim]      (counters: ndim 0)
//     bytes    u64: size of the data that follows (4 * numel, or 8)
//     data
//   checksum   u64: FNV-1a 64 of every byte before it
// Entries are written in registration order: each model's Params, then each
// optimizer's state tensors and step counters.
//
// Tensors must be on the CPU. (A CUDA build copies them to the host first.)
#ifndef GANBOOK_CHECKPOINT_H
#define GANBOOK_CHECKPOINT_H

#include <stdint.h>

#include "nn.h"
#include "optim.h"
#include "rng.h"

#define CKPT_VERSION 1
#define CKPT_MAX_GROUPS 8      // models and optimizers per checkpoint (each)
#define CKPT_HEADER_MAX 1024   // bytes of header text kept, terminator included
#define CKPT_ERROR_MAX 2048

typedef enum {
    CKPT_OK = 0,
    CKPT_ERR_IO,        // cannot open, read or write (missing file, no such directory, disk full)
    CKPT_ERR_FORMAT,    // not a checkpoint (another kind of file) or a malformed one
    CKPT_ERR_VERSION,   // a checkpoint of another format version
    CKPT_ERR_TRUNCATED, // ends early
    CKPT_ERR_CHECKSUM,  // complete but damaged
    CKPT_ERR_MISMATCH,  // a checkpoint of another model: names or shapes differ
} CkptStatus;

typedef struct Checkpoint {
    char header[CKPT_HEADER_MAX];       // this run's description, written by save
    char file_header[CKPT_HEADER_MAX];  // the loaded file's description (after ckpt_load)
    int64_t step;                       // training steps done: saved, and set by a load
    Rng *rng;                           // saved and restored; NULL: neither
    Params *params[CKPT_MAX_GROUPS];
    int n_params;
    Optimizer *optims[CKPT_MAX_GROUPS];
    int n_optims;
    int allow_unused;   // 0 (default): the file must hold exactly the expected entries.
                        // 1: entries the checkpoint does not ask for are ignored (load
                        // only a generator from a full checkpoint, for sampling)
    char error[CKPT_ERROR_MAX];         // message of the last failure, "" after success
} Checkpoint;

// An empty checkpoint description: header text (copied, cut at
// CKPT_HEADER_MAX - 1 bytes), step 0, the run's Rng (or NULL).
void ckpt_init(Checkpoint *ck, const char *header, Rng *rng);
// What to save and restore (each at most CKPT_MAX_GROUPS times).
void ckpt_add_params(Checkpoint *ck, Params *ps);
void ckpt_add_optimizer(Checkpoint *ck, Optimizer *opt);

// Write the checkpoint atomically: to "<path>.tmp", fsync, then rename over
// path, so a crash mid-save leaves the previous checkpoint intact.
CkptStatus ckpt_save(Checkpoint *ck, const char *path);

// Read path into the live tensors, ck->step, *ck->rng and ck->file_header.
// All or nothing (see above).
CkptStatus ckpt_load(Checkpoint *ck, const char *path);

// Only the description and step of a checkpoint, without loading anything
// (and without reading the tensors): for --sample and for messages.
typedef struct CkptInfo {
    char header[CKPT_HEADER_MAX];
    int64_t step;
    uint32_t version;
    uint32_t n_entries;
    char error[CKPT_ERROR_MAX];
} CkptInfo;
CkptStatus ckpt_peek(const char *path, CkptInfo *info);
// The same, after reading the whole file and checking everything that needs
// no model: structure and checksum (what ckpt_load checks before it compares
// the entries with a model). Settings are taken from a header only after
// this passed: a damaged file is reported as damaged, not as strange settings.
CkptStatus ckpt_verify(const char *path, CkptInfo *info);

#endif
