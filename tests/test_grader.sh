#!/usr/bin/env bash
# test_grader.sh: the grader grades. Run from the repository root (make test
# does, with BUILD and CC set). Checks:
#   stubs       exercises/*.c is exactly what tests/grader/make_stubs.sh makes
#               from solutions/ (regenerated into a temp dir and compared)
#   signatures  every function defined in solutions/ is defined in exercises/
#               with the same signature
#   solutions   the grader built with SRC=solutions prints Score: y/y, exits 0
#   exercises   built with SRC=exercises it prints Score: 0/y, exits non-zero,
#               every test failing with its stub's "not implemented" message
# The grader's own sources and the stubs must compile without warnings.
# When exercises/ holds your own work (it differs from the committed stubs,
# and those match solutions/), the stubs and exercises checks say so and pass.
# Grader builds go to build/grade-solutions-$CC and build/grade-exercises-$CC.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
CC=${CC:-gcc}
MAKE_CMD=${MAKE:-make}
# The builds below choose their own flags: drop what a calling make passes
# down (its SRC=, DEBUG=, -j jobserver).
unset MAKEFLAGS MFLAGS MAKELEVEL
# One build directory per copy and compiler (make would not rebuild objects
# when only CC changes).
cc_tag=$(basename "${CC%% *}" | tr -c 'A-Za-z0-9._\n-' '_')
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok    $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
indent() { sed 's/^/      /'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ganbook-grader.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- stubs: exercises/ == make_stubs.sh(solutions/) ---------------------------
student_work=0
if ! bash tests/grader/make_stubs.sh "$tmp/stubs" 2>"$tmp/stubs.err"; then
    fail "stubs: tests/grader/make_stubs.sh failed"
    indent <"$tmp/stubs.err"
else
    differs() {  # $1: directory to compare with the generated stubs
        local d=$1 f
        for f in "$tmp"/stubs/*.c; do cmp -s "$f" "$d/$(basename "$f")" || return 0; done
        for f in "$d"/*.c; do [ -f "$tmp/stubs/$(basename "$f")" ] || return 0; done
        return 1
    }
    nfiles=$(ls "$tmp"/stubs/*.c | wc -l)
    nex=$(grep -h 'BEGIN EXERCISE' "$tmp"/stubs/*.c | wc -l)
    if ! differs exercises; then
        pass "stubs: exercises/ is what make_stubs.sh makes ($nfiles files, $nex exercises)"
    else
        # Your own work in exercises/? Then the committed stubs must match.
        committed_ok=0
        if git rev-parse --verify -q HEAD >/dev/null 2>&1 && ! git diff --quiet HEAD -- exercises/ 2>/dev/null; then
            mkdir -p "$tmp/committed"
            for f in "$tmp"/stubs/*.c; do
                git show "HEAD:exercises/$(basename "$f")" >"$tmp/committed/$(basename "$f")" 2>/dev/null
            done
            differs "$tmp/committed" || committed_ok=1
        fi
        if [ $committed_ok -eq 1 ]; then
            student_work=1
            pass "stubs: the committed exercises/ is what make_stubs.sh makes; your edits in exercises/ are kept"
        else
            fail "stubs: exercises/ differs from what tests/grader/make_stubs.sh makes from solutions/"
            echo "      run: bash tests/grader/make_stubs.sh   (then commit exercises/)"
            for f in "$tmp"/stubs/*.c; do
                diff -u "exercises/$(basename "$f")" "$f" 2>&1 | head -n 20 | indent
            done
        fi
    fi
fi

# --- signatures ----------------------------------------------------------------
# Every top-level definition "type name(params) {" with its whitespace squeezed.
definitions() {
    awk '
        function strip(s) { sub(/\/\/.*/, "", s); return s }
        {
            code = strip($0)
            if (depth == 0) {
                if ($0 ~ /^[ \t]*(\/\/|#|$)/ || $0 ~ /^[ \t]*\/?\*/) sig = ""
                else sig = sig " " code
                if (code ~ /\{/ && sig ~ /\(/) {
                    s = sig; sub(/\{.*/, "", s); gsub(/[ \t]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s)
                    if (s !~ /=/) print s
                    sig = ""
                }
                if (code ~ /;[ \t]*$/) sig = ""
            }
            n = split(code, ch, "")
            for (i = 1; i <= n; i++) { if (ch[i] == "{") depth++; else if (ch[i] == "}") depth-- }
        }' "$1" | sort
}
nsig=0
sig_ok=1
for f in solutions/*.c; do
    e="exercises/$(basename "$f")"
    if [ ! -f "$e" ]; then
        sig_ok=0
        echo "      $e is missing"
        continue
    fi
    definitions "$f" >"$tmp/sig.sol"
    definitions "$e" >"$tmp/sig.ex"
    nsig=$((nsig + $(wc -l <"$tmp/sig.sol")))
    missing=$(comm -23 "$tmp/sig.sol" "$tmp/sig.ex")
    if [ -n "$missing" ]; then
        sig_ok=0
        printf '%s\n' "$missing" | sed "s|^|      not in $e: |"
    fi
done
if [ $sig_ok -eq 1 ]; then
    pass "signatures: the $nsig functions of solutions/ are in exercises/ with the same signatures"
else
    fail "signatures: exercises/ lacks functions of solutions/ (above)"
fi

# --- build and run the grader on both copies ----------------------------------
# Builds $(BUILD)/grader; warnings in the grader or in $1/ fail the check.
build_grader() {
    local src=$1 dir=build/grade-$1-$cc_tag
    if ! "$MAKE_CMD" --no-print-directory -s -j2 SRC="$src" BUILD="$dir" CC="$CC" "$dir/grader" \
        >"$tmp/build.$src" 2>&1; then
        fail "$src: building the grader failed"
        tail -n 30 "$tmp/build.$src" | indent
        return 1
    fi
    if grep -E "^(tests/grader|$src)/[^:]*:[0-9]+:[0-9]+: warning" "$tmp/build.$src" >/dev/null; then
        fail "$src: compiler warnings in tests/grader/ or $src/"
        grep -E -A3 "^(tests/grader|$src)/[^:]*:[0-9]+:[0-9]+: warning" "$tmp/build.$src" | head -n 20 | indent
        return 1
    fi
    return 0
}

total=""
if build_grader solutions; then
    "build/grade-solutions-$cc_tag/grader" >"$tmp/out.solutions" 2>&1
    rc=$?
    score=$(tail -n 1 "$tmp/out.solutions")
    total=$(printf '%s\n' "$score" | sed -n 's|^Score: \([0-9]*\)/\([0-9]*\)$|\2|p')
    if [ -n "$total" ] && [ "$score" = "Score: $total/$total" ] && [ "$total" -gt 0 ] && [ $rc -eq 0 ]; then
        pass "solutions: $score, exit 0"
    else
        fail "solutions: want full marks and exit 0, got '$score', exit $rc"
        grep -v ': OK (' "$tmp/out.solutions" | head -n 40 | indent
    fi
fi

if [ $student_work -eq 1 ]; then
    pass "exercises: not graded here (exercises/ holds your work; make grade grades it)"
elif build_grader exercises; then
    "build/grade-exercises-$cc_tag/grader" >"$tmp/out.exercises" 2>&1
    rc=$?
    score=$(tail -n 1 "$tmp/out.exercises")
    ntests=$(grep -c ': \(OK\|FAIL\) (' "$tmp/out.exercises")
    nstub=$(grep -c '^    exercise [0-9.]* not implemented' "$tmp/out.exercises")
    want_total=${total:-$ntests}
    if [ "$score" = "Score: 0/$want_total" ] && [ $rc -ne 0 ] && [ "$nstub" -eq "$ntests" ]; then
        pass "exercises: $score, exit $rc, all $ntests tests stopped by their stubs"
    else
        fail "exercises: want 'Score: 0/$want_total', a non-zero exit and $ntests stub messages;" \
            "got '$score', exit $rc, $nstub stub messages"
        grep -v '^    HINT' "$tmp/out.exercises" | head -n 40 | indent
    fi
fi

echo "grader: $passed passed, $failed failed"
[ $failed -eq 0 ]
