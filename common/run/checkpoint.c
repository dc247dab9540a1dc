// checkpoint.c: writing and reading checkpoints (format in checkpoint.h).
//
// Save: one pass over the entries, hashing every byte as it is written, to
// "<path>.tmp"; fsync; rename over the old file; fsync the directory.
// Load: read the whole file into a scratch buffer; parse and check all of
// it (structure, checksum, then every entry against the live model); only
// then copy into the live tensors. Everything that can go wrong with a file
// someone hands us (missing, empty, cut short, another kind of file, another
// model, flipped bits) is reported, with a HINT, through the return value.
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char MAGIC[8] = {'G', 'B', 'C', 'K', 'P', 'T', '\r', '\n'};

enum { ENTRY_F32 = 0, ENTRY_I64 = 1 };

#define MAX_NAME 4096          // longer names mean a damaged file
#define MAX_ENTRIES 1000000
#define MAX_SHOWN_EXPECTED 5   // mismatch lines about this model's entries...
#define MAX_SHOWN_UNUSED 3     // ...and about the file's extra ones, before "... and N more"

// ---------------------------------------------------------------------------
// Description

void ckpt_init(Checkpoint *ck, const char *header, Rng *rng) {
    memset(ck, 0, sizeof *ck);
    snprintf(ck->header, sizeof ck->header, "%s", header ? header : "");
    ck->rng = rng;
}

void ckpt_add_params(Checkpoint *ck, Params *ps) {
    if (ck->n_params == CKPT_MAX_GROUPS) t_fatal("checkpoint: more than %d models", CKPT_MAX_GROUPS);
    ck->params[ck->n_params++] = ps;
}

void ckpt_add_optimizer(Checkpoint *ck, Optimizer *opt) {
    if (ck->n_optims == CKPT_MAX_GROUPS) t_fatal("checkpoint: more than %d optimizers", CKPT_MAX_GROUPS);
    ck->optims[ck->n_optims++] = opt;
}

// One thing the checkpoint saves: a float tensor or an int64 counter.
typedef struct {
    const char *name;
    Tensor *t;           // ENTRY_F32
    int64_t *counter;    // ENTRY_I64
} Slot;

static CkptStatus fail(Checkpoint *ck, CkptStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static CkptStatus fail(Checkpoint *ck, CkptStatus status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ck->error, sizeof ck->error, fmt, ap);
    va_end(ap);
    return status;
}

// Every slot, in file order. Returns the count (slots malloc'ed in *out), or
// -1 with ck->error set when two entries share a name (two models with the
// same prefix), which would make a load ambiguous.
static int collect_slots(Checkpoint *ck, Slot **out) {
    int n = 0;
    for (int g = 0; g < ck->n_params; g++) n += ck->params[g]->count;
    for (int g = 0; g < ck->n_optims; g++) n += ck->optims[g]->state_params.count + ck->optims[g]->n;
    Slot *s = malloc((size_t)(n ? n : 1) * sizeof(Slot));
    if (!s) t_fatal("out of memory listing checkpoint entries");
    int k = 0;
    for (int g = 0; g < ck->n_params; g++)
        for (int i = 0; i < ck->params[g]->count; i++)
            s[k++] = (Slot){ck->params[g]->items[i].t->name, ck->params[g]->items[i].t, NULL};
    for (int g = 0; g < ck->n_optims; g++) {
        Optimizer *o = ck->optims[g];
        for (int i = 0; i < o->state_params.count; i++)
            s[k++] = (Slot){o->state_params.items[i].t->name, o->state_params.items[i].t, NULL};
        for (int i = 0; i < o->n; i++) s[k++] = (Slot){o->step_names[i], NULL, &o->steps[i]};
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(s[i].name, s[j].name) == 0) {
                fail(ck, CKPT_ERR_FORMAT,
                     "checkpoint: two entries are named %s\nHINT: give each model its own prefix (\"G\", \"D\")",
                     s[i].name);
                free(s);
                return -1;
            }
    *out = s;
    return n;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

// ---------------------------------------------------------------------------
// FNV-1a, 64 bit: a byte at a time, h = (h ^ byte) * prime. Not a
// cryptographic hash, but any flipped bit or swapped block changes it.

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

// ---------------------------------------------------------------------------
// Save

typedef struct {
    FILE *f;
    uint64_t hash;
    int failed;
} Writer;

static void put_bytes(Writer *w, const void *p, size_t n) {
    if (w->failed) return;
    w->hash = fnv1a(w->hash, p, n);
    if (fwrite(p, 1, n, w->f) != n) w->failed = 1;
}

static void put_u32(Writer *w, uint32_t v) {
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, 4);
}

static void put_u64(Writer *w, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, 8);
}

static void put_floats(Writer *w, const float *x, long n) {
    if (host_is_little_endian()) {
        put_bytes(w, x, (size_t)n * sizeof(float));
        return;
    }
    for (long i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        put_u32(w, bits);
    }
}

// The directory of path must be synced too, or the rename itself may be
// lost in a power cut. Best effort: failure here does not fail the save.
static void sync_directory(const char *path) {
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

CkptStatus ckpt_save(Checkpoint *ck, const char *path) {
    ck->error[0] = 0;
    Slot *slots;
    int n = collect_slots(ck, &slots);
    if (n < 0) return CKPT_ERR_FORMAT;
    char tmp[1100];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        free(slots);
        return fail(ck, CKPT_ERR_IO, "checkpoint path too long: %s\nHINT: use a shorter output directory", path);
    }
    Writer w = {fopen(tmp, "wb"), FNV_OFFSET, 0};
    if (!w.f) {
        int e = errno;
        free(slots);
        return fail(ck, CKPT_ERR_IO, "cannot write checkpoint %s: %s\nHINT: check that its directory exists and is writable",
                    tmp, strerror(e));
    }
    put_bytes(&w, MAGIC, sizeof MAGIC);
    put_u32(&w, CKPT_VERSION);
    uint32_t hlen = (uint32_t)strlen(ck->header);
    put_u32(&w, hlen);
    put_bytes(&w, ck->header, hlen);
    put_u64(&w, (uint64_t)ck->step);
    uint8_t rng_bytes[RNG_STATE_BYTES] = {0};
    if (ck->rng) rng_serialize(ck->rng, rng_bytes);
    put_bytes(&w, rng_bytes, sizeof rng_bytes);
    put_u32(&w, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        uint32_t len = (uint32_t)strlen(slots[i].name);
        put_u32(&w, len);
        put_bytes(&w, slots[i].name, len);
        if (slots[i].t) {
            Tensor *t = slots[i].t;
            put_u32(&w, ENTRY_F32);
            put_u32(&w, (uint32_t)t->ndim);
            for (int d = 0; d < t->ndim; d++) put_u32(&w, (uint32_t)t->shape[d]);
            put_u64(&w, (uint64_t)t->numel * 4);
            // A tensor on a GPU is copied back first: the file is the same
            // whichever device trained, and loads into either.
            float *host = t->device == DEV_CPU ? t->data : malloc((size_t)t->numel * sizeof(float));
            if (!host) t_fatal("checkpoint: out of memory copying %s to the host", slots[i].name);
            if (host != t->data) t_download(t, host);
            put_floats(&w, host, t->numel);
            if (host != t->data) free(host);
        } else {
            put_u32(&w, ENTRY_I64);
            put_u32(&w, 0);
            put_u64(&w, 8);
            put_u64(&w, (uint64_t)*slots[i].counter);
        }
    }
    free(slots);
    uint64_t checksum = w.hash;
    put_u64(&w, checksum);
    int failed = w.failed || fflush(w.f) != 0 || fsync(fileno(w.f)) != 0;
    int e = errno;
    if (fclose(w.f) != 0 && !failed) failed = 1, e = errno;
    if (failed) {
        remove(tmp);
        return fail(ck, CKPT_ERR_IO, "writing checkpoint %s failed: %s\nHINT: is the disk full?", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        return fail(ck, CKPT_ERR_IO, "cannot move checkpoint %s to %s: %s\nHINT: check that %s is writable", tmp,
                    path, strerror(e), path);
    }
    sync_directory(path);
    return CKPT_OK;
}

// ---------------------------------------------------------------------------
// Recognizing what a file is, for the message when it is not a checkpoint.

static const char *file_kind(const unsigned char *b, size_t n) {
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return "a PNG image (a sample grid?)";
    if (n >= 4 && memcmp(b, "GBFX", 4) == 0) return "a test fixture (GBFX)";
    if (n >= 4 && memcmp(b, "\x7f" "ELF", 4) == 0) return "a program (ELF executable)";
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "gzip-compressed data (gunzip it first?)";
    if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0x08) return "an IDX data file (MNIST images or labels)";
    size_t printable = 0;
    for (size_t i = 0; i < n; i++) printable += (b[i] >= 32 && b[i] < 127) || b[i] == '\n' || b[i] == '\r' || b[i] == '\t';
    if (n > 0 && printable == n) return "text";
    return "not recognized";
}

static const char *NOT_A_CHECKPOINT_HINT =
    "HINT: pass the checkpoint.bin a run wrote into its output directory";

// The first bytes of a file: not a checkpoint, a truncated one, or fine (-1).
static int check_magic(Checkpoint *ck, const char *path, const unsigned char *b, size_t n) {
    if (n == 0)
        return fail(ck, CKPT_ERR_TRUNCATED, "checkpoint %s is empty (0 bytes)\n"
                    "HINT: the save that wrote it never finished; use an older copy or start a fresh run", path);
    size_t k = n < sizeof MAGIC ? n : sizeof MAGIC;
    if (memcmp(b, MAGIC, k) != 0)
        return fail(ck, CKPT_ERR_FORMAT,
                    "%s is not a ganbook checkpoint (it starts with %02x %02x %02x %02x...: %s)\n%s", path, b[0],
                    n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0, file_kind(b, n), NOT_A_CHECKPOINT_HINT);
    if (n < sizeof MAGIC)
        return fail(ck, CKPT_ERR_TRUNCATED, "checkpoint %s is truncated: %zu bytes, not even a complete header\n"
                    "HINT: the file was cut short (interrupted copy?); use an older copy or start a fresh run",
                    path, n);
    return -1;
}

// ---------------------------------------------------------------------------
// Load: parsing the scratch buffer

typedef struct {
    const unsigned char *b;
    size_t size, pos;
} Reader;

static int have(const Reader *r, size_t n) { return r->size - r->pos >= n; }

static uint32_t get_u32(Reader *r) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)r->b[r->pos + i] << (8 * i);
    r->pos += 4;
    return v;
}

static uint64_t get_u64(Reader *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->b[r->pos + i] << (8 * i);
    r->pos += 8;
    return v;
}

// One entry of the file, pointing into the scratch buffer.
typedef struct {
    const char *name;  // not terminated: name_len bytes
    uint32_t name_len, type, ndim;
    int shape[T_MAX_DIMS];
    long numel;
    const unsigned char *data;
    int used;          // matched by an expected slot
} FileEntry;

static CkptStatus truncated(Checkpoint *ck, const char *path, const Reader *r, const char *where) {
    return fail(ck, CKPT_ERR_TRUNCATED,
                "checkpoint %s is truncated: it ends after %zu bytes, %s\n"
                "HINT: the file was cut short (interrupted copy, full disk); use an older copy or start a fresh run",
                path, r->size, where);
}

static CkptStatus malformed(Checkpoint *ck, const char *path, const char *what) {
    return fail(ck, CKPT_ERR_FORMAT,
                "checkpoint %s is damaged: %s\nHINT: use an older copy or start a fresh run", path, what);
}

// Format the shape of a file entry like t_shape_str.
static const char *entry_shape(const FileEntry *e, char *buf, size_t size) {
    if (e->type == ENTRY_I64) {
        snprintf(buf, size, "a step counter");
        return buf;
    }
    int n = snprintf(buf, size, "(");
    for (uint32_t d = 0; d < e->ndim; d++) n += snprintf(buf + n, size - (size_t)n, d ? ", %d" : "%d", e->shape[d]);
    snprintf(buf + n, size - (size_t)n, ")");
    return buf;
}

// Parse entries [0, count) into e; stops at the first problem.
static CkptStatus parse_entries(Checkpoint *ck, const char *path, Reader *r, FileEntry *e, uint32_t count) {
    char where[600];
    for (uint32_t k = 0; k < count; k++) {
        snprintf(where, sizeof where, "inside entry %u of %u (its name)", k + 1, count);
        if (!have(r, 4)) return truncated(ck, path, r, where);
        e[k].name_len = get_u32(r);
        if (e[k].name_len == 0 || e[k].name_len > MAX_NAME) return malformed(ck, path, "an entry name has an impossible length");
        if (!have(r, e[k].name_len)) return truncated(ck, path, r, where);
        e[k].name = (const char *)r->b + r->pos;
        r->pos += e[k].name_len;
        snprintf(where, sizeof where, "inside entry '%.*s' (its shape)", (int)(e[k].name_len > 200 ? 200 : e[k].name_len),
                 e[k].name);
        if (!have(r, 8)) return truncated(ck, path, r, where);
        e[k].type = get_u32(r);
        e[k].ndim = get_u32(r);
        if (e[k].type > ENTRY_I64 || (e[k].type == ENTRY_F32 && (e[k].ndim < 1 || e[k].ndim > T_MAX_DIMS)) ||
            (e[k].type == ENTRY_I64 && e[k].ndim != 0))
            return malformed(ck, path, "an entry has an unknown type or number of dimensions");
        if (!have(r, 4 * (size_t)e[k].ndim + 8)) return truncated(ck, path, r, where);
        e[k].numel = 1;
        for (uint32_t d = 0; d < e[k].ndim; d++) {
            uint32_t s = get_u32(r);
            if (s < 1 || s > (1u << 30) || e[k].numel > (1L << 40) / (long)s)
                return malformed(ck, path, "an entry has an impossible shape");
            e[k].shape[d] = (int)s;
            e[k].numel *= s;
        }
        uint64_t bytes = get_u64(r), want = e[k].type == ENTRY_F32 ? 4 * (uint64_t)e[k].numel : 8;
        if (bytes != want) return malformed(ck, path, "an entry's byte count does not match its shape");
        if (!have(r, bytes)) {
            snprintf(where, sizeof where, "in the middle of tensor '%.*s' (%zu of its %llu bytes are there)",
                     (int)(e[k].name_len > 200 ? 200 : e[k].name_len), e[k].name, r->size - r->pos,
                     (unsigned long long)bytes);
            return truncated(ck, path, r, where);
        }
        e[k].data = r->b + r->pos;
        r->pos += bytes;
        e[k].used = 0;
    }
    return CKPT_OK;
}

static FileEntry *find_entry(FileEntry *e, uint32_t count, const char *name) {
    size_t len = strlen(name);
    for (uint32_t k = 0; k < count; k++)
        if (e[k].name_len == len && memcmp(e[k].name, name, len) == 0) return &e[k];
    return NULL;
}

// Appends a line to a growing message without overflowing it.
static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

// Every expected slot must be in the file with its type and shape; with
// allow_unused = 0 every file entry must also be expected. The message lists
// a few of each kind of difference: from two lists of names, a reader sees
// at once whether it is another size of the same model or another model.
static CkptStatus match_entries(Checkpoint *ck, const char *path, Slot *slots, int n, FileEntry *e,
                                uint32_t count) {
    char lines[CKPT_ERROR_MAX / 2] = "";
    int problems = 0, shown_expected = 0, shown_unused = 0;
    char a[128];
    for (int i = 0; i < n; i++) {
        FileEntry *f = find_entry(e, count, slots[i].name);
        int same = 0;
        if (f) {
            f->used = 1;
            same = slots[i].t ? f->type == ENTRY_F32 && (int)f->ndim == slots[i].t->ndim : f->type == ENTRY_I64;
            for (int d = 0; same && slots[i].t && d < slots[i].t->ndim; d++) same = f->shape[d] == slots[i].t->shape[d];
        }
        if (same) continue;
        problems++;
        if (shown_expected++ >= MAX_SHOWN_EXPECTED) continue;
        if (!f)
            append(lines, sizeof lines, "  %s: missing from the file\n", slots[i].name);
        else
            append(lines, sizeof lines, "  %s: %s in the file, %s here\n", slots[i].name, entry_shape(f, a, sizeof a),
                   slots[i].t ? t_shape_str(slots[i].t) : "a step counter");
    }
    if (!ck->allow_unused)
        for (uint32_t k = 0; k < count; k++) {
            if (e[k].used) continue;
            problems++;
            if (shown_unused++ >= MAX_SHOWN_UNUSED) continue;
            append(lines, sizeof lines, "  %.*s: in the file, not in this model\n",
                   (int)(e[k].name_len > 200 ? 200 : e[k].name_len), e[k].name);
        }
    if (!problems) return CKPT_OK;
    int shown = (shown_expected < MAX_SHOWN_EXPECTED ? shown_expected : MAX_SHOWN_EXPECTED) +
                (shown_unused < MAX_SHOWN_UNUSED ? shown_unused : MAX_SHOWN_UNUSED);
    if (problems > shown) append(lines, sizeof lines, "  ... and %d more\n", problems - shown);
    return fail(ck, CKPT_ERR_MISMATCH,
                "checkpoint %s was saved from a different model (%d difference%s):\n%s"
                "  the file was written by: %s\n  this run is:             %s\n"
                "HINT: resume with the same model settings the file was written with, "
                "or start a fresh run in another output directory",
                path, problems, problems == 1 ? "" : "s", lines, ck->file_header[0] ? ck->file_header : "(no header)",
                ck->header[0] ? ck->header : "(no header)");
}

static void copy_floats(float *dst, const unsigned char *src, long n) {
    if (host_is_little_endian()) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    for (long i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 | (uint32_t)src[4 * i + 2] << 16 |
                        (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &bits, 4);
    }
}

// Reads the whole file. Returns CKPT_OK with *buf (malloc'ed) and *size.
static CkptStatus read_file(Checkpoint *ck, const char *path, unsigned char **buf, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(ck, CKPT_ERR_IO, "cannot open checkpoint %s: %s\n"
                    "HINT: check the path; a run saves checkpoint.bin in its output directory", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(f), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(f);
        return fail(ck, CKPT_ERR_IO, "cannot read checkpoint %s: not a regular file (a directory?)\n"
                    "HINT: pass the checkpoint file itself, e.g. <output directory>/checkpoint.bin", path);
    }
    unsigned char head[sizeof MAGIC];
    size_t got = fread(head, 1, sizeof head, f);
    int bad = check_magic(ck, path, head, got);
    if (bad >= 0) {  // stop here: no need to read a large file that is not a checkpoint
        fclose(f);
        return (CkptStatus)bad;
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        int e = errno;
        fclose(f);
        return fail(ck, CKPT_ERR_IO, "cannot read checkpoint %s: %s\nHINT: check the file and try again", path,
                    strerror(e));
    }
    *size = (size_t)info.st_size;
    *buf = malloc(*size ? *size : 1);
    if (!*buf) {
        fclose(f);
        return fail(ck, CKPT_ERR_IO, "checkpoint %s: out of memory reading %zu bytes\nHINT: free some memory", path,
                    *size);
    }
    size_t n = fread(*buf, 1, *size, f);
    int e = ferror(f) ? errno : 0;
    fclose(f);
    if (n != *size) {
        free(*buf);
        return fail(ck, CKPT_ERR_IO, "cannot read checkpoint %s: %s\nHINT: check the file and try again", path,
                    e ? strerror(e) : "it changed while being read");
    }
    return CKPT_OK;
}

// Parses everything up to the entries: magic, version, header, step, rng,
// count. Shared by ckpt_load (on the whole file) and ckpt_peek.
typedef struct {
    uint32_t version, count;
    char header[CKPT_HEADER_MAX];
    int64_t step;
    const unsigned char *rng;
} Preamble;

static CkptStatus parse_preamble(Checkpoint *ck, const char *path, Reader *r, Preamble *p) {
    int st = check_magic(ck, path, r->b, r->size < sizeof MAGIC ? r->size : sizeof MAGIC);
    if (st >= 0) return (CkptStatus)st;
    r->pos = sizeof MAGIC;
    if (!have(r, 4)) return truncated(ck, path, r, "inside the format version");
    p->version = get_u32(r);
    if (p->version != CKPT_VERSION)
        return fail(ck, CKPT_ERR_VERSION,
                    "checkpoint %s has format version %u; this program reads version %d\n"
                    "HINT: it was written by %s version of ganbook; use that version, or start a fresh run",
                    path, p->version, CKPT_VERSION, p->version > CKPT_VERSION ? "a newer" : "an older");
    if (!have(r, 4)) return truncated(ck, path, r, "inside the header");
    uint32_t hlen = get_u32(r);
    if (hlen > (1u << 20)) return malformed(ck, path, "the header has an impossible length");
    if (!have(r, hlen)) return truncated(ck, path, r, "inside the header");
    size_t keep = hlen < CKPT_HEADER_MAX - 1 ? hlen : CKPT_HEADER_MAX - 1;
    memcpy(p->header, r->b + r->pos, keep);
    p->header[keep] = 0;
    r->pos += hlen;
    if (!have(r, 8)) return truncated(ck, path, r, "inside the step counter");
    p->step = (int64_t)get_u64(r);
    if (!have(r, RNG_STATE_BYTES)) return truncated(ck, path, r, "inside the random generator state");
    p->rng = r->b + r->pos;
    r->pos += RNG_STATE_BYTES;
    if (!have(r, 4)) return truncated(ck, path, r, "inside the entry count");
    p->count = get_u32(r);
    if (p->count > MAX_ENTRIES) return malformed(ck, path, "the entry count is impossible");
    return CKPT_OK;
}

// Reads path whole and checks everything that needs no model: magic,
// version, structure, and the checksum. On CKPT_OK, *buf (the file, which
// *entries point into) and *entries are malloc'ed; the caller frees both.
static CkptStatus read_checked(Checkpoint *ck, const char *path, unsigned char **buf, Preamble *pre,
                               FileEntry **entries) {
    size_t size = 0;
    *entries = NULL;
    CkptStatus st = read_file(ck, path, buf, &size);
    if (st != CKPT_OK) return st;
    Reader r = {*buf, size, 0};
    if ((st = parse_preamble(ck, path, &r, pre)) != CKPT_OK) goto fail;
    // Every entry takes at least 29 bytes (a counter with a 1-byte name), so
    // a count larger than the rest of the file allows cannot be true: parsing
    // stops at the end of the data before reaching entry size/29 + 1, and a
    // damaged count cannot make us allocate more than that.
    size_t most = (size - r.pos) / 29 + 1;
    *entries = malloc((pre->count < most ? pre->count : most) * sizeof(FileEntry) + sizeof(FileEntry));
    if (!*entries) t_fatal("out of memory reading checkpoint %s", path);
    if ((st = parse_entries(ck, path, &r, *entries, pre->count)) != CKPT_OK) goto fail;
    if (!have(&r, 8)) {
        st = truncated(ck, path, &r, "just before its checksum");
        goto fail;
    }
    size_t body = r.pos;
    uint64_t want = get_u64(&r);
    if (r.pos != size) {
        st = malformed(ck, path, "it has extra bytes after its end");
        goto fail;
    }
    if (fnv1a(FNV_OFFSET, *buf, body) != want) {
        st = fail(ck, CKPT_ERR_CHECKSUM,
                  "checkpoint %s is corrupt: its checksum does not match its contents\n"
                  "HINT: the file was damaged or edited after it was written; use an older copy or start a fresh run",
                  path);
        goto fail;
    }
    return CKPT_OK;
fail:
    free(*entries);
    free(*buf);
    *entries = NULL;
    *buf = NULL;
    return st;
}

CkptStatus ckpt_load(Checkpoint *ck, const char *path) {
    ck->error[0] = 0;
    unsigned char *buf = NULL;
    Preamble pre;
    Slot *slots = NULL;
    FileEntry *entries = NULL;
    Rng rng;
    memset(&rng, 0, sizeof rng);
    CkptStatus st = read_checked(ck, path, &buf, &pre, &entries);
    if (st != CKPT_OK) return st;
    snprintf(ck->file_header, sizeof ck->file_header, "%s", pre.header);
    int n = collect_slots(ck, &slots);
    if (n < 0) {
        st = CKPT_ERR_FORMAT;
        goto done;
    }
    if ((st = match_entries(ck, path, slots, n, entries, pre.count)) != CKPT_OK) goto done;
    if (ck->rng) {
        static const uint8_t none[RNG_STATE_BYTES];
        if (memcmp(pre.rng, none, RNG_STATE_BYTES) == 0) {
            st = fail(ck, CKPT_ERR_MISMATCH,
                      "checkpoint %s holds no random generator state, and this run needs one to resume\n"
                      "  the file was written by: %s\n"
                      "HINT: it was saved by a program that does not resume (only its weights can be used); "
                      "start a fresh run",
                      path, ck->file_header[0] ? ck->file_header : "(no header)");
            goto done;
        }
        if (rng_deserialize(&rng, pre.rng) != 0) {
            st = malformed(ck, path, "its random generator state is invalid");
            goto done;
        }
    }

    // Everything checked: now, and only now, touch the live state.
    for (int i = 0; i < n; i++) {
        FileEntry *f = find_entry(entries, pre.count, slots[i].name);
        if (slots[i].t) {
            Tensor *t = slots[i].t;
            if (t->device == DEV_CPU) {
                copy_floats(t->data, f->data, t->numel);
            } else {  // into a host buffer, then up to the device the tensor lives on
                float *host = malloc((size_t)t->numel * sizeof(float));
                if (!host) t_fatal("checkpoint: out of memory loading %s", slots[i].name);
                copy_floats(host, f->data, t->numel);
                t_upload(t, host);
                free(host);
            }
        } else {
            Reader c = {f->data, 8, 0};
            *slots[i].counter = (int64_t)get_u64(&c);
        }
    }
    ck->step = pre.step;
    if (ck->rng) *ck->rng = rng;
    st = CKPT_OK;
done:
    free(slots);
    free(entries);
    free(buf);
    return st;
}

// ---------------------------------------------------------------------------
// Peek: reads just the preamble, a few hundred bytes.

static int not_regular_file(FILE *f) {
    struct stat info;
    return fstat(fileno(f), &info) != 0 || !S_ISREG(info.st_mode);
}

CkptStatus ckpt_peek(const char *path, CkptInfo *info) {
    memset(info, 0, sizeof *info);
    // Reuse the loader's messages through a scratch Checkpoint.
    Checkpoint *ck = calloc(1, sizeof(Checkpoint));
    if (!ck) t_fatal("out of memory");
    CkptStatus st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        st = fail(ck, CKPT_ERR_IO, "cannot open checkpoint %s: %s\n"
                  "HINT: check the path; a run saves checkpoint.bin in its output directory", path, strerror(errno));
    } else if (not_regular_file(f)) {
        fclose(f);
        st = fail(ck, CKPT_ERR_IO, "cannot read checkpoint %s: not a regular file (a directory?)\n"
                  "HINT: pass the checkpoint file itself, e.g. <output directory>/checkpoint.bin", path);
    } else {
        // magic + version + header length + the longest header we keep + step + rng + count
        size_t cap = sizeof MAGIC + 8 + (1u << 20) + 8 + RNG_STATE_BYTES + 4;
        unsigned char *buf = malloc(cap);
        if (!buf) t_fatal("out of memory");
        size_t n = fread(buf, 1, cap, f);
        fclose(f);
        Reader r = {buf, n, 0};
        Preamble pre;
        st = parse_preamble(ck, path, &r, &pre);
        if (st == CKPT_OK) {
            snprintf(info->header, sizeof info->header, "%s", pre.header);
            info->step = pre.step;
            info->version = pre.version;
            info->n_entries = pre.count;
        }
        free(buf);
    }
    snprintf(info->error, sizeof info->error, "%s", ck->error);
    free(ck);
    return st;
}

CkptStatus ckpt_verify(const char *path, CkptInfo *info) {
    memset(info, 0, sizeof *info);
    Checkpoint *ck = calloc(1, sizeof(Checkpoint));
    if (!ck) t_fatal("out of memory");
    unsigned char *buf = NULL;
    Preamble pre;
    FileEntry *entries = NULL;
    CkptStatus st = read_checked(ck, path, &buf, &pre, &entries);
    if (st == CKPT_OK) {
        snprintf(info->header, sizeof info->header, "%s", pre.header);
        info->step = pre.step;
        info->version = pre.version;
        info->n_entries = pre.count;
    }
    free(entries);
    free(buf);
    snprintf(info->error, sizeof info->error, "%s", ck->error);
    free(ck);
    return st;
}
