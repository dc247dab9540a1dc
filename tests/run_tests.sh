#!/usr/bin/env bash
# Runs every test program given as an argument, one line per program, and
# ends with "N passed, M failed" (N, M counted over programs). Exit status is
# non-zero when any program fails. Set CHECK_VERBOSE=1 to see every check.
set -u
passed=0
failed=0
failed_names=()
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
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        printf '%-28s ok    (%ss)  %s\n' "$name" "$secs" "$summary"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        printf '%-28s FAIL  (%ss, exit %d)\n' "$name" "$secs" "$rc"
        printf '%s\n' "$out" | grep -v '^  ok  ' | tail -n 40 | sed 's/^/    /'
    fi
done
if [ $failed -gt 0 ]; then echo "failed: ${failed_names[*]}"; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
