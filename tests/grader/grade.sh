#!/usr/bin/env bash
# grade.sh: what `make grade` runs once the student's code is built:
#
#   bash tests/grader/grade.sh BUILD [--json] [FILTER...]
#
# First refuses, without running any of it, student code that could tamper
# with the grader itself (see "the threat model" at the top of grader.c):
#   - a global symbol other than ex_* in exercises/*.c: a function named like
#     one of libc's or the grader's (memcmp, waitpid, grade_failures) would
#     replace it inside the grader;
#   - a constructor or destructor: code that runs before or after the tests.
# Both are read from BUILD/student-calls.txt (tests/grader/calls.sh). Refused
# code scores 0 of the selected exercises' points (from the manifest). Then
# runs BUILD/grader with the arguments, which checks each exercise's calls.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
build=${1:?usage: grade.sh BUILD [--json] [FILTER...]}
shift
calls=$build/student-calls.txt
json=0
filters=()
for a in "$@"; do
    case "$a" in
        --json) json=1 ;;
        *) filters+=("$a") ;;
    esac
done
if [ ! -f "$calls" ]; then
    echo "grade: $calls is missing" >&2
    echo "HINT: run make grade (it builds it)" >&2
    exit 2
fi
why=$(awk '
    $1 == "@defines" { for (i = 2; i <= NF; i++) if ($i !~ /^ex_/) bad = bad " " $i }
    $1 == "@init" { init = 1 }
    END {
        if (bad != "") printf "your code defines%s: only ex_* functions may be defined (make the others static)\n", bad
        if (init) printf "your code has a constructor or destructor (code that runs outside the tests)\n"
    }' "$calls")
if [ -z "$why" ]; then
    if [ $json -eq 1 ]; then exec "$build/grader" --calls "$calls" --json "${filters[@]}"; fi
    exec "$build/grader" --calls "$calls" "${filters[@]}"
fi
# Refused: 0 of the points of the exercises asked for ("3.1", a chapter "3";
# a word filter counts every exercise).
total=$(awk -v F="${filters[*]}" '
    /^[ \t]*(#|$)/ { next }
    {
        n = split(F, f, " "); want = n == 0
        for (k = 1; k <= n; k++) if ($1 == f[k] || index($1, f[k] ".") == 1 || f[k] !~ /^[0-9.]+$/) want = 1
        if (want) t += $2
    }
    END { print t + 0 }' tests/grader/manifest.txt)
if [ $json -eq 1 ]; then
    msg=$(printf '%s' "$why" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk '{ printf "%s%s", NR > 1 ? "\\n" : "", $0 }')
    printf '{\n  "score": 0, "total": %s, "full_marks": false, "refused": "%s",\n  "exercises": []\n}\n' "$total" "$msg"
else
    printf 'grade refused: %s\n' "$why"
    echo "HINT: keep your code between the BEGIN/END EXERCISE markers; helpers must be static"
    echo "Score: 0/$total"
fi
exit 1
