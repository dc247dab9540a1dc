#!/usr/bin/env bash
# test_grader.sh: the grader grades. Run from the repository root (make test
# does, with BUILD and CC set). Checks:
#   stubs       exercises/*.c and *.cu are exactly what tests/grader/make_stubs.sh
#               makes from solutions/ (regenerated into a temp dir and compared)
#   signatures  every function defined in solutions/ is defined in exercises/
#               with the same signature
#   solutions   the grader built with SRC=solutions prints Score: y/y, exits 0
#   exercises   built with SRC=exercises it prints Score: 0/y, exits non-zero,
#               every test failing with its stub's "not implemented" message
#   manifest    every exercise of solutions/ has a line in tests/grader/manifest.txt
#               naming the function that holds it
#   cheats      planted in a copy of the tree (tests/tmp/grader-cheats.PID), one
#               per exercise, graded by one make grade; each must score 0:
#               0.1 prints the old "done" marker and exits 0; 0.3 writes a
#               fake verdict to stdout; 0.4 calls exit(0); 1.3 calls abort in
#               a static helper; 2.1 leaves by an inline-asm exit syscall; 3.1
#               runs the library's GEMM conv; 3.2 is return
#               t_conv_transpose2d(...); 3.7 (a CUDA kernel, under the
#               emulator) turns the emulator's reverse thread order off
#               (emu_set_reverse). The verdict channel alone
#               (--no-call-check) must still give 0 to 0.1, 0.3, 0.4 and 2.1.
#               A global memcmp (interposing on libc) and a constructor are
#               refused outright (Score 0).
#   handout     make handout ONLY="3.1 3.2" in that copy: only those are stubs,
#               make grade grades them (0/6); with them solved, full marks, exit 0;
#               the same for the CUDA exercise 3.7 (ONLY="3.7": only the .cu
#               file has a stub; 0/3, then 3/3) where a C++ compiler exists
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
# ... and the BUILD that make test exports (build/solutions): every build here
# names its own directory, and the cheats' copy of the tree uses the default.
unset BUILD
# One build directory per copy and compiler (make would not rebuild objects
# when only CC changes).
cc_tag=$(basename "${CC%% *}" | tr -c 'A-Za-z0-9._\n-' '_')
passed=0
failed=0
skipped=0
skip() { skipped=$((skipped + 1)); echo "skip  $*"; }
pass() { passed=$((passed + 1)); echo "ok    $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
indent() { sed 's/^/      /'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ganbook-grader.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- stubs: exercises/ == make_stubs.sh(solutions/) ---------------------------
student_work=0
handout=()
if [ -f exercises/HANDOUT ]; then
    handout=(--only "$(sed 's/#.*//' exercises/HANDOUT | tr '\n' ' ')")
fi
if ! bash tests/grader/make_stubs.sh "$tmp/stubs" "${handout[@]}" 2>"$tmp/stubs.err"; then
    fail "stubs: tests/grader/make_stubs.sh failed"
    indent <"$tmp/stubs.err"
else
    differs() {  # $1: directory to compare with the generated stubs
        local d=$1 f
        for f in "$tmp"/stubs/*.c "$tmp"/stubs/*.cu; do
            [ -e "$f" ] || continue  # no .cu at all: the pattern itself
            cmp -s "$f" "$d/$(basename "$f")" || return 0
        done
        for f in "$d"/*.c "$d"/*.cu; do [ ! -e "$f" ] || [ -f "$tmp/stubs/$(basename "$f")" ] || return 0; done
        return 1
    }
    nfiles=$(ls "$tmp"/stubs/*.c "$tmp"/stubs/*.cu 2>/dev/null | wc -l)
    nex=$(grep -h 'BEGIN EXERCISE' "$tmp"/stubs/*.c "$tmp"/stubs/*.cu 2>/dev/null | wc -l)
    if ! differs exercises; then
        pass "stubs: exercises/ is what make_stubs.sh makes ($nfiles files, $nex exercises)"
    else
        # Your own work in exercises/? Then the committed stubs must match.
        committed_ok=0
        if git rev-parse --verify -q HEAD >/dev/null 2>&1 && ! git diff --quiet HEAD -- exercises/ 2>/dev/null; then
            mkdir -p "$tmp/committed"
            for f in "$tmp"/stubs/*.c "$tmp"/stubs/*.cu; do
                [ -e "$f" ] || continue
                git show "HEAD:exercises/$(basename "$f")" >"$tmp/committed/$(basename "$f")" 2>/dev/null
            done
            # (the committed copy is compared with the stubs of the current HANDOUT)
            differs "$tmp/committed" || committed_ok=1
        fi
        if [ $committed_ok -eq 1 ]; then
            student_work=1
            pass "stubs: the committed exercises/ is what make_stubs.sh makes; your edits in exercises/ are kept"
        else
            fail "stubs: exercises/ differs from what tests/grader/make_stubs.sh makes from solutions/"
            echo "      run: bash tests/grader/make_stubs.sh   (then commit exercises/)"
            for f in "$tmp"/stubs/*.c "$tmp"/stubs/*.cu; do
                [ -e "$f" ] || continue
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
for f in solutions/*.c solutions/*.cu; do
    [ -f "$f" ] || continue
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
    bash tests/grader/grade.sh "build/grade-solutions-$cc_tag" >"$tmp/out.solutions" 2>&1
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
    only=""
    [ -f exercises/HANDOUT ] && only=$(sed 's/#.*//' exercises/HANDOUT | tr '\n' ' ')
    # shellcheck disable=SC2086
    bash tests/grader/grade.sh "build/grade-exercises-$cc_tag" $only >"$tmp/out.exercises" 2>&1
    rc=$?
    score=$(tail -n 1 "$tmp/out.exercises")
    ntests=$(grep -c ': \(OK\|FAIL\) (' "$tmp/out.exercises")
    nstub=$(grep -c '^    exercise [0-9.]* not implemented' "$tmp/out.exercises")
    want_total=${total:-$ntests}
    [ -n "$only" ] && want_total=$(sed -n 's|^Score: 0/\([0-9.]*\)$|\1|p' "$tmp/out.exercises")
    if [ "$score" = "Score: 0/$want_total" ] && [ $rc -ne 0 ] && [ "$nstub" -eq "$ntests" ]; then
        pass "exercises: $score, exit $rc, all $ntests tests stopped by their stubs"
    else
        fail "exercises: want 'Score: 0/$want_total', a non-zero exit and $ntests stub messages;" \
            "got '$score', exit $rc, $nstub stub messages"
        grep -v '^    HINT' "$tmp/out.exercises" | head -n 40 | indent
    fi
fi

# --- manifest: every exercise has a line, with the right function -------------------
man_ok=1
while read -r num fn; do
    line=$(awk -v n="$num" '$1 == n' tests/grader/manifest.txt)
    if [ -z "$line" ]; then
        man_ok=0; echo "      exercise $num ($fn) has no line in tests/grader/manifest.txt"
    elif [ "$(printf '%s\n' "$line" | awk '{print $4}')" != "$fn" ]; then
        man_ok=0; echo "      manifest: exercise $num is in $fn, the manifest says $(printf '%s\n' "$line" | awk '{print $4}')"
    fi
done < <(bash tests/grader/make_stubs.sh "$tmp/mstubs" 2>/dev/null &&
    cat "$tmp"/mstubs/*.c "$tmp"/mstubs/*.cu 2>/dev/null |
    sed -n 's|.*exercise_not_implemented("\([0-9.]*\)", "[^"]*", "\([A-Za-z_0-9]*\)");|\1 \2|p')
nman=$(grep -cv '^[ \t]*\(#\|$\)' tests/grader/manifest.txt)
if [ $man_ok -eq 1 ] && [ "$nman" -gt 0 ]; then
    pass "manifest: all $nman exercises have a line naming their function"
else
    fail "manifest: tests/grader/manifest.txt does not match solutions/ (above)"
fi

# --- cheats: planted in a copy of the tree; each must score 0 --------------------------
# The copy shares nothing with the real tree but the grader's build (copied, so
# only the planted file recompiles).
if [ "${GRADER_SKIP_CHEATS:-0}" = 1 ]; then
    skip "cheats: GRADER_SKIP_CHEATS=1"
elif [ $student_work -eq 1 ] || [ -f exercises/HANDOUT ]; then
    skip "cheats: exercises/ is not the committed stubs (your work or a hand-out)"
else
    tree=tests/tmp/grader-cheats.$$
    rm -rf "$tree" && mkdir -p "$tree/build" "$tree/tests"
    cp -a Makefile common cuda solutions exercises chapters "$tree/"
    cp -a tests/grader "$tree/tests/"
    [ -d "build/grade-exercises-$cc_tag" ] && cp -a "build/grade-exercises-$cc_tag" "$tree/build/exercises"
    # Back-date the copied build by 10 s: a file planted in the same second as
    # an object was built would otherwise look no newer to make on a file
    # system with coarse timestamps, and the stale object would be graded.
    find "$tree/build" -exec touch -h -d "@$(($(date +%s) - 10))" {} + 2>/dev/null
    # plant FILE NUMBER CODE [TOP]: the stub call of exercise NUMBER becomes CODE;
    # TOP goes above the file's first line (includes, helpers).
    plant() {
        local f=$tree/exercises/$1 num=$2 code=$3 top=${4:-}
        cp "exercises/$1" "$f"
        CODE=$code NUM=$num awk '
            index($0, "exercise_not_implemented(\"" ENVIRON["NUM"] "\"") { sub(/exercise_not_implemented.*/, ENVIRON["CODE"]) }
            { print }' "exercises/$1" >"$f"
        if [ -n "$top" ]; then printf '%s\n' "$top" | cat - "$f" >"$f.new" && mv "$f.new" "$f"; fi
    }
    # grade NUMBER [extra grader args]: make grade in the copy; prints its output
    grade_in_tree() {
        (cd "$tree" && "$MAKE_CMD" --no-print-directory -s -j2 SRC=exercises BUILD=build/exercises CC="$CC" grade ONLY="$1" 2>&1)
    }
    channel_only() {  # the grader binary of the copy without the calls check
        # shellcheck disable=SC2086
        (cd "$tree" && ./build/exercises/grader --no-call-check $1 2>&1)
    }
    score_of() { printf '%s\n' "$1" | grep '^Score: ' | tail -n 1; }
    inc='#include <stdio.h>
#include <stdlib.h>'
    # One make grade for the cheats the calls check stops, each in its own exercise:
    plant lib_activations.c 0.1 'printf("@@grade-test-done@@\n"); fflush(stdout); exit(0);' "$inc"
    plant lib_losses.c 0.3 'printf("OK (0.0s)\n@@grade-test-done@@\nScore: 36/36\n"); return 0.0;' "$inc"
    plant lib_optim.c 0.4 'exit(0);' "$inc"
    plant ch01_metrics.c 1.3 'return helper(K);' '#include <stdlib.h>
static double helper(int K);'
    printf '%s\n' '__attribute__((noinline)) static double helper(int K) { if (K > 1) abort(); return 0.0; }' >>"$tree/exercises/ch01_metrics.c"
    plant ch02_losses.c 2.1 '{ long r; __asm__ volatile("syscall" : "=a"(r) : "a"(60L), "D"(0L)); (void)r; } return logits_fake;'
    plant ch03_conv.c 3.1 'ConvShape s = {N, C, H, W, OC, K, K, (H + 2 * pad - K) / stride + 1, (W + 2 * pad - K) / stride + 1, stride, pad}; conv_cpu_forward(\&s, CONV_GEMM, x, w, b, y); return;' '#include "conv_cpu.h"'
    cp "$tree/exercises/ch03_conv.c" "$tmp/ch03_conv.c"
    CODE='return t_conv_transpose2d(x, w, NULL, stride, pad, out_pad);' awk '
        index($0, "exercise_not_implemented(\"3.2\"") { sub(/exercise_not_implemented.*/, ENVIRON["CODE"]) } { print }' \
        "$tmp/ch03_conv.c" >"$tree/exercises/ch03_conv.c"
    # 3.7, a CUDA kernel graded under the emulator (where a C++ compiler exists):
    # switching the emulator's reverse thread order off would hide races.
    cuda_ex=""
    if command -v g++ >/dev/null 2>&1 || command -v clang++ >/dev/null 2>&1; then
        cuda_ex=3.7
        plant ch03_cuda_conv.cu 3.7 'emu_set_reverse(0); return;'
    fi
    out=$(grade_in_tree "0.1 0.3 0.4 1.3 2.1 3.1 3.2 $cuda_ex")
    chan=$(channel_only "0.1 0.3 0.4 1.3 2.1 3.1 3.2" 2>&1; (cd "$tree" && ./build/exercises/grader --no-call-check 0.1 0.3 0.4 2.1 2>&1))
    # subtotal N OUTPUT: the line "  exercise N: x/y" of OUTPUT
    subtotal() { printf '%s\n' "$2" | grep "^  exercise $1: " | tail -n 1; }
    zero() {  # zero NAME NUMBER OUTPUT EXPECT: the exercise's subtotal is 0/..., EXPECT shown under it
        local name=$1 num=$2 out=$3 want=$4 sub
        sub=$(subtotal "$num" "$out")
        if printf '%s\n' "$sub" | grep -q ": 0/[1-9]" &&
            printf '%s\n' "$out" | awk -v n="$num " 'index($0, n) == 1 { on = 1 } /^  exercise / { on = 0 } on' | grep -q -F -- "$want"; then
            pass "cheat: $name:${sub#*:}, '$want'"
        else
            fail "cheat: $name scored '${sub#*:}' (want 0/..., and '$want' under its tests)"
            printf '%s\n' "$out" | awk -v n="$num " 'index($0, n) == 1 { on = 1 } /^  exercise / { on = 0 } on' | head -n 20 | indent
        fi
    }
    zero "0.1 prints the old done-marker and exits 0" 0.1 "$out" "calls exit"
    zero "0.3 writes a fake verdict (OK, the marker, Score: 36/36) to stdout" 0.3 "$out" "    Score: 36/36"
    zero "0.4 calls exit(0)" 0.4 "$out" "calls exit"
    zero "1.3 calls abort in a static helper" 1.3 "$out" "calls abort"
    zero "2.1 leaves by an inline-asm exit syscall" 2.1 "$out" "calls (syscall-instruction)"
    zero "3.1 through the library's GEMM conv (conv_cpu_forward)" 3.1 "$out" "calls conv_cpu_forward"
    zero "3.2 as return t_conv_transpose2d(...)" 3.2 "$out" "calls t_conv_transpose2d"
    if [ -n "$cuda_ex" ]; then
        zero "3.7 (CUDA) switches the emulator's reverse thread order off" 3.7 "$out" "calls emu_set_reverse"
    else
        skip "cheat: 3.7 (CUDA): no C++ compiler, the CUDA exercises are not graded"
    fi
    score=$(score_of "$out")
    if printf '%s\n' "$score" | grep -q '^Score: 0/[1-9]'; then pass "cheats: $score"; else fail "cheats: want Score: 0/..., got '$score'"; fi
    # The verdict channel alone (--no-call-check): output and exit(0) still score nothing.
    zero "0.1 marker + exit(0), channel alone" 0.1 "$chan" "exited with status 0 before the test finished"
    zero "0.3 fake verdict, channel alone" 0.3 "$chan" "got"
    zero "0.4 exit(0), channel alone" 0.4 "$chan" "exited with status 0 before the test finished"
    zero "2.1 inline-asm exit, channel alone" 2.1 "$chan" "exited with status 0 before the test finished"
    for f in lib_activations.c lib_losses.c lib_optim.c ch01_metrics.c ch02_losses.c ch03_conv.c ch03_cuda_conv.cu; do
        cp "exercises/$f" "$tree/exercises/$f"
    done
    # Code that could tamper with the grader itself is refused outright.
    refused() {  # refused NAME OUTPUT EXPECT
        if [ "$(score_of "$2")" = "Score: 0/5" ] && printf '%s\n' "$2" | grep -q -F -- "$3"; then
            pass "cheat: $1: refused, Score: 0/5, '$3'"
        else
            fail "cheat: $1: want 'grade refused' and Score: 0/5, got '$(score_of "$2")'"
            printf '%s\n' "$2" | tail -n 8 | indent
        fi
    }
    plant lib_optim.c 0.4 'return;' 'int memcmp(const void *a, const void *b, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n) { (void)a; (void)b; (void)n; return 0; }'
    refused "a global memcmp (it would replace libc's inside the grader)" "$(grade_in_tree 0.4)" "grade refused: your code defines memcmp"
    plant lib_optim.c 0.4 'return;' '#include <stdio.h>
__attribute__((constructor)) static void early(void) { puts("Score: 36/36"); }'
    refused "a constructor" "$(grade_in_tree 0.4)" "constructor or destructor"
    cp exercises/lib_optim.c "$tree/exercises/"

    # --- handout: stub 3.1 and 3.2 only; grade them; solve them; full marks ---------
    out=$(cd "$tree" && "$MAKE_CMD" --no-print-directory -s handout ONLY="3.1 3.2" 2>&1)
    nstubs=$(grep -l 'exercise_not_implemented("' "$tree"/exercises/*.c | wc -l)
    out2=$(grade_in_tree "")
    rc2=$?
    if [ "$(cat "$tree/exercises/HANDOUT" 2>/dev/null | tail -n 1)" = "3.1 3.2" ] && [ "$nstubs" -eq 1 ] &&
        [ "$(score_of "$out2")" = "Score: 0/6" ] && [ $rc2 -ne 0 ] &&
        [ "$(printf '%s\n' "$out2" | grep -c ': \(OK\|FAIL\) (')" -eq 6 ]; then
        pass "handout: make handout ONLY=\"3.1 3.2\" stubs only ch03_conv.c; make grade: Score: 0/6, exit $rc2"
    else
        fail "handout: want HANDOUT '3.1 3.2', 1 file with stubs, 6 tests, Score: 0/6; got $nstubs files, '$(score_of "$out2")'"
        printf '%s\n%s\n' "$out" "$out2" | tail -n 20 | indent
    fi
    cp solutions/ch03_conv.c "$tree/exercises/ch03_conv.c"   # the student solves both
    out2=$(grade_in_tree "")
    rc2=$?
    json=$(cd "$tree" && "$MAKE_CMD" --no-print-directory -s SRC=exercises BUILD=build/exercises CC="$CC" grade FORMAT=json 2>&1)
    if [ "$(score_of "$out2")" = "Score: 6/6" ] && [ $rc2 -eq 0 ] &&
        printf '%s\n' "$json" | grep -q '"score": 6, "total": 6, "full_marks": true'; then
        pass "handout: solved: Score: 6/6, exit 0; FORMAT=json says the same"
    else
        fail "handout: solved: want Score: 6/6 and exit 0, got '$(score_of "$out2")', exit $rc2"
        printf '%s\n%s\n' "$out2" "$json" | tail -n 20 | indent
    fi
    if command -v python3 >/dev/null 2>&1; then
        if printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [e["number"] for e in d["exercises"]] == ["3.1","3.2"]' 2>/dev/null; then
            pass "json: make grade FORMAT=json parses (python3 json), exercises 3.1, 3.2"
        else
            fail "json: FORMAT=json output does not parse"
            printf '%s\n' "$json" | head -n 20 | indent
        fi
    else
        skip "json: no python3 to parse FORMAT=json"
    fi

    # --- handout of a CUDA exercise: 3.7 alone; then solved ---------------------------
    if [ -n "$cuda_ex" ]; then
        out=$(cd "$tree" && "$MAKE_CMD" --no-print-directory -s handout ONLY="3.7" 2>&1)
        stubbed=$(cd "$tree" && grep -l 'exercise_not_implemented("' exercises/*.c exercises/*.cu | tr '\n' ' ')
        out2=$(grade_in_tree "")
        rc2=$?
        if [ "$stubbed" = "exercises/ch03_cuda_conv.cu " ] && [ "$(score_of "$out2")" = "Score: 0/3" ] && [ $rc2 -ne 0 ] &&
            [ "$(printf '%s\n' "$out2" | grep -c '^    exercise 3.7 not implemented')" -ge 1 ]; then
            pass "handout: make handout ONLY=\"3.7\" stubs only ch03_cuda_conv.cu; make grade: Score: 0/3, exit $rc2"
        else
            fail "handout: ONLY=\"3.7\": want only exercises/ch03_cuda_conv.cu stubbed and Score: 0/3; got '$stubbed', '$(score_of "$out2")'"
            printf '%s\n%s\n' "$out" "$out2" | tail -n 20 | indent
        fi
        # (the build back-dated again, so the copy is newer than every object made from the stub)
        find "$tree/build" -exec touch -h -d "@$(($(date +%s) - 10))" {} + 2>/dev/null
        cp solutions/ch03_cuda_conv.cu "$tree/exercises/ch03_cuda_conv.cu"
        out2=$(grade_in_tree "")
        rc2=$?
        if [ "$(score_of "$out2")" = "Score: 3/3" ] && [ $rc2 -eq 0 ]; then
            pass "handout: 3.7 solved: Score: 3/3, exit 0 (the kernel under the emulator, both thread orders)"
        else
            fail "handout: 3.7 solved: want Score: 3/3 and exit 0, got '$(score_of "$out2")', exit $rc2"
            printf '%s\n' "$out2" | tail -n 20 | indent
        fi
    else
        skip "handout: 3.7 (CUDA): no C++ compiler"
    fi
    rm -rf "$tree"
fi

echo "grader: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
