// fuzz_idx.c: idx_read (common/run/data.c) on arbitrary bytes. It must return 0
// with a consistent result (dims multiply to the bytes read) or -1 with a
// message; never crash, overflow or read past its buffer (ASan, UBSan).
// Run by `make fuzz` (tests/fuzz/run_fuzz.sh).
#include "data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) snprintf(path, sizeof path, "/tmp/ganbook-fuzz-idx.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    Idx idx;
    if (idx_read(path, &idx) == 0) {
        uint64_t total = 1;
        int wrapped = 0;
        for (int d = 0; d < idx.ndim; d++) wrapped |= __builtin_mul_overflow(total, (uint64_t)idx.dims[d], &total);
        // the header's promise: the data holds exactly prod(dims) bytes (a
        // product that does not wrap), all of them in the file
        if (wrapped || total != (uint64_t)size - 4 - 4 * (uint64_t)idx.ndim) abort();
        if (total) {
            volatile uint8_t last = idx.data[total - 1];
            (void)last;
        }
        idx_free(&idx);
    }
    return 0;
}
