#!/usr/bin/env bash
# Runs every test program given as an argument, one line per program, and
# ends with "N passed, M failed, K skipped": N and M count programs, K the
# checks the programs skipped (data or a tool missing here). Exit status is
# non-zero when any program fails. Set CHECK_VERBOSE=1 to see every check.
#
# A program's skips: the "K skipped" of its last line ("name: N passed, M
# failed, K skipped", tests/support/check.c), else its lines "  skip: ..." (the
# shell tests' convention). A program that exits 0 having passed no check is
# not ok: it is reported as SKIP (and counts one skip at least).
set -u
passed=0
failed=0
skipped=0
failed_names=()
skipped_names=()
for t in "$@"; do
    name=$(basename "$t" .sh)
    start=$(date +%s.%N)
    case "$t" in
        *.sh) out=$(bash "$t" 2>&1) ;;
        *) out=$("$t" 2>&1) ;;
    esac
    rc=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
    summary=$(printf '%s\n' "$out" | tail -n 1)
    nskip=$(printf '%s\n' "$summary" | sed -n 's/.*[ ,]\([0-9][0-9]*\) skipped.*/\1/p')
    [ -n "$nskip" ] || nskip=$(printf '%s\n' "$out" | grep -c '^ *skip[: ] ')
    npass=$(printf '%s\n' "$summary" | sed -n 's/.*[: ]\([0-9][0-9]*\) passed.*/\1/p')
    note=""
    # (the shell tests' summaries do not count their skips: say it)
    [ "$nskip" -gt 0 ] && ! printf '%s\n' "$summary" | grep -q 'skipped' && note="  [$nskip skipped]"
    if [ $rc -eq 0 ] && [ "${npass:-1}" = 0 ]; then
        [ "$nskip" -gt 0 ] || nskip=1
        skipped_names+=("$name")
        printf '%-28s SKIP  (%ss)  %s  [ran no check]\n' "$name" "$secs" "$summary"
        printf '%s\n' "$out" | grep '^ *skip[: ] ' | head -n 5 | sed 's/^ */    /'
    elif [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        printf '%-28s ok    (%ss)  %s%s\n' "$name" "$secs" "$summary" "$note"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        printf '%-28s FAIL  (%ss, exit %d)\n' "$name" "$secs" "$rc"
        printf '%s\n' "$out" | grep -v '^  ok  ' | tail -n 40 | sed 's/^/    /'
    fi
    skipped=$((skipped + nskip))
done
if [ $failed -gt 0 ]; then echo "failed: ${failed_names[*]}"; fi
if [ ${#skipped_names[@]} -gt 0 ]; then echo "ran no check: ${skipped_names[*]}"; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
