// exercise_stub.c: what a stub calls when the student has not written it yet.
#include "exercises.h"

#include <stdio.h>
#include <stdlib.h>

void exercise_not_implemented(const char *number, const char *file, const char *function) {
    fprintf(stderr, "exercise %s not implemented: %s (%s)\n", number, file, function);
    fprintf(stderr, "HINT: write it between the BEGIN/END EXERCISE %s markers, then run make grade\n", number);
    exit(3);
}
