// root.h: the repository root, found once (data.c and runlog.c both need it).
#ifndef GANBOOK_ROOT_H
#define GANBOOK_ROOT_H

// The repository root, where plots/ and datasets/ live: $GANBOOK_ROOT when
// set, else the first directory holding plots/loss.gp found by walking up
// from the executable (chapters sit in the root, tests in build/*/tests/),
// then from the working directory; "." as the last resort.
const char *ganbook_root(void);

#endif
