// root.c: where the project lives (plots/, datasets/). See root.h.
// Its own file so that data.c (the dataset paths) and runlog.c (the plot
// scripts) both use it without depending on each other.
#include "root.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_root(const char *dir) {
    char p[4200];
    snprintf(p, sizeof p, "%s/plots/loss.gp", dir);
    return access(p, R_OK) == 0;
}

// Walks up from `dir` (modified in place) looking for the root.
static int walk_up(char *dir) {
    for (int level = 0; level < 8; level++) {
        if (is_root(dir)) return 1;
        char *slash = strrchr(dir, '/');
        if (!slash) return 0;
        if (slash == dir) {  // reached "/"
            if (dir[1] == 0) return 0;
            dir[1] = 0;
        } else {
            *slash = 0;
        }
    }
    return 0;
}

const char *ganbook_root(void) {
    static char root[4096];
    if (root[0]) return root;
    const char *env = getenv("GANBOOK_ROOT");
    if (env && *env) {
        snprintf(root, sizeof root, "%s", env);
        return root;
    }
    char dir[4096];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n > 0) {
        dir[n] = 0;
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        if (walk_up(dir)) return strcpy(root, dir);
    }
    if (getcwd(dir, sizeof dir) && walk_up(dir)) return strcpy(root, dir);
    return strcpy(root, ".");
}
