# sh_checks.sh: what the shell test scripts (tests/test_chapters.sh,
# tests/test_chNN.sh) share, sourced after each sets pass=0 fail=0.
#   t NAME CONDITION    counts a check: CONDITION is eval'ed; a failure prints "FAIL: NAME"
#   run LOG CMD...      runs CMD with stdout and stderr to LOG, returns its status
#   show LOG            the last 15 lines of LOG, indented (under a failed check)
#   png_ok / ckpt_ok F  F is a PNG / a ganbook checkpoint (by its first bytes)
#   metric DIR KEY      KEY's value in DIR/metrics.txt (empty when absent)
# CHECK_VERBOSE=1 lists the checks that pass too.
ok() { pass=$((pass + 1)); [ "${CHECK_VERBOSE:-0}" = 1 ] && echo "  ok  : $1"; return 0; }
bad() { fail=$((fail + 1)); echo "  FAIL: $1"; }
t() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
run() {  # LOG CMD...: runs CMD, stdout+stderr to LOG, returns its status
    local log=$1
    shift
    "$@" >"$log" 2>&1
}
show() { sed 's/^/        /' "$1" | tail -n 15; }
png_ok() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
ckpt_ok() { [ -s "$1" ] && [ "$(head -c 6 "$1")" = GBCKPT ]; }
metric() { sed -n "s/^$2 //p" "$1/metrics.txt" 2>/dev/null; }
