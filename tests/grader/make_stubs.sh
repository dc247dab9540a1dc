#!/usr/bin/env bash
# make_stubs.sh: regenerate exercises/ from solutions/ mechanically, so the two
# never drift apart.
#
#   bash tests/grader/make_stubs.sh            writes exercises/*.c and *.cu
#   bash tests/grader/make_stubs.sh DIR        writes DIR/*.c, *.cu instead (the check
#                                              in tests/test_grader.sh uses a temp dir)
#   bash tests/grader/make_stubs.sh [DIR] --only "3.1 3.2"
#                                              a hand-out: stubs only those exercises
#                                              ("3" = all of chapter 3); the others keep
#                                              the reference code. Writes the list to
#                                              DIR/HANDOUT, which make grade grades by
#                                              default (make handout ONLY="..." runs this).
# Without --only, DIR/HANDOUT is removed. Either way every DIR/*.c, *.cu is rewritten:
# work in it is lost (git checkout exercises/X.c brings back a committed copy).
#
# Each solutions/X.c becomes exercises/X.c, identical except for:
#   - three header lines saying it is the student's copy;
#   - the code between `// BEGIN EXERCISE n.m` and `// END EXERCISE n.m` is
#     replaced (markers kept) by a `// TODO n.m:` comment saying what to write
#     (from the HINTS table below, else a generic line), the reference length
#     (from a "Reference: ..." phrase in the spec comment above the function),
#     `(void)param;` for each parameter (no -Wunused-parameter warnings) and
#     exercise_not_implemented("n.m", "exercises/X.c", "<function>"), which
#     prints the exercise and exits with status 3.
# A solutions file without markers is copied as it is.
# CUDA files (solutions/*.cu, chapter 3's kernels) get the same stub: inside a
# kernel, exercise_not_implemented is cuda/conv_exercises.h's (under the
# emulator the library's, which exits with status 3; on a GPU a device
# function that prints the message once and returns, writing nothing).
#
# Rules for solution files (the script stops with a message otherwise):
# markers are alone on their line, BEGIN and END numbers match, blocks do not
# nest, each number appears once over all files, and a block sits inside a
# function body (normally it is the whole body). The file must include
# "exercises.h". Code after a block must compile when the block is replaced by
# the stub call (noreturn): tests/test_grader.sh builds the stubs -Wall -Wextra.
#
# Adding an exercise: put the markers in solutions/X.c, add a line to HINTS,
# run this script, commit both copies.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$root/exercises
only=""
only_given=0
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only=${2:-}; only_given=1; shift 2 || { echo "make_stubs: --only needs a list" >&2; exit 2; } ;;
        --only=*) only=${1#--only=}; only_given=1; shift ;;
        -*) echo "make_stubs: unknown option '$1'" >&2; exit 2 ;;
        *) out=$1; shift ;;
    esac
done
if [ $only_given -eq 1 ] && [ -z "${only// /}" ]; then
    echo "make_stubs: --only needs exercise numbers, e.g. --only \"3.1 3.2\"" >&2
    exit 2
fi
mkdir -p "$out"

# What the TODO says, per exercise: "number<TAB>line"; several lines per
# number are printed in order.
HINTS=$(cat <<'EOF'
0.1	for each i in [0, n): y[i] = x[i] if x[i] > 0, else slope * x[i].
0.2	for each i in [0, n): d[i] = 1 if x[i] > 0, else slope (x[i] == 0 gives slope).
0.3	return the mean over i in [0, n) of max(x,0) - x*y + log(1 + exp(-|x|)),
0.3	summed in a double (fmax, fabs, exp, log1p from math.h). Never exp(+big).
0.4	bc1 = 1 - beta1^t, bc2 = 1 - beta2^t; then for each i in [0, n):
0.4	gi = g[i] + weight_decay * p[i]; update m[i] and v[i] in place;
0.4	p[i] -= lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps).
0.5	with library ops only (t_matmul and its transpose flags, t_sum_dim), fill
0.5	each non-NULL pointer: *gx = gy W, *gw = gy^T x, *gb = gy summed over dim 0.
1.1	return -(mean log D(x) + mean log(1 - D(G(z)))) from the logits, with library
1.1	ops (t_bce_with_logits against t_ones_like / t_zeros_like targets, t_add).
1.2	return mean log(1 - D(G(z))) from the logits: minus the BCE against zeros.
1.3	n = sum of counts; n == 0: return log K; else sum over counts[k] > 0 of
1.3	p log(p K), p = counts[k] / n, in double.
2.1	return -mean log D(G(z)) from the logits: the BCE against ones.
3.1	HO, WO from the formula; for every (n, oc, oh, ow): start from b[oc] (0 when b is
3.1	NULL), add x[n,c,ih,iw] * w[oc,c,kh,kw] over c, kh, kw where (ih, iw) is inside the image.
3.2	HO, WO from the formula; gradients on; u = zeros (N,OC,HO,WO) requiring a gradient;
3.2	y = t_conv2d(u, w, NULL, stride, pad); t_grad(&y, &x, 1, &u, 1, <previous setting>, &out).
3.3	per channel, in double: mean, then sum (x - mean)^2 in a second pass; invstd; y;
3.3	the running statistics (unbiased variance, M / (M - 1)); save_mean and save_invstd.
3.7	i = blockIdx.x * blockDim.x + threadIdx.x (a long); return when i >= N*OC*HO*WO; split i
3.7	into (n, oc, oh, ow); y[i] = b[oc] (0 when b is NULL) + x[n,c,ih,iw] * w[oc,c,kh,kw] over
3.7	c, kh, kw where (ih, iw) is inside the image.
3.8	__syncthreads(); then thread t = threadIdx.y * CT + threadIdx.x fills patch[e] for e = t,
3.8	t + CT*CT, ... < PH*PW (x at row ih0 + e / PW, column iw0 + e % PW, 0 outside the image)
3.8	and wt[e] likewise (0 past OC); then __syncthreads() again.
4.1	return mean C(G(z)) - mean C(x) from the scores, with library ops (t_mean, t_sub):
4.1	no sigmoid and no log, the scores are used as they are.
4.2	for each trainable entry of ps (param_is_trainable), clamp t->data[0..numel) into
4.2	[-c, c] in place, counting the values that were outside; return the count.
4.3	return -mean C(G(z)) from the scores (t_mean, t_neg).
7.1	v = W^T u, then normalize v; u = W v, then normalize u (each sum in double; normalize:
7.1	divide by max(norm, 1e-12)). W is row-major rows x cols; update u and v in place.
7.2	with library ops (t_relu, t_neg, t_add_scalar, t_mean, t_add):
7.2	mean relu(1 - scores_real) + mean relu(1 + scores_fake).
7.3	g = d sum(scores_real) / d x_real via t_grad(..., create_graph = 1, ...);
7.3	return gamma / 2 * (sum of g^2) / B with library ops.
7.4	for each i in [0, n): ema[i] = decay * ema[i] + (1 - decay) * w[i].
7.5	for every (n, c, i, j): y = x[n, c, i - dy[n], j - dx[n]] when that pixel is inside the
7.5	image, else 0.
5.1	with gradients off: eps viewed as (B, 1, ...) (t_reshape), fake + eps (real - fake);
5.1	then set the result's requires_grad to 1 and return it.
5.2	g = t_grad of t_sum(scores) with respect to x_hat, create_graph = 1; view g as (B, rest);
5.2	norm = sqrt(sum over dim 1 of g^2 + 1e-12); fill norms; return mean (norm - 1)^2.
EOF
)

hints_file=$(mktemp)
trap 'rm -f "$hints_file"' EXIT
printf '%s\n' "$HINTS" >"$hints_file"

shopt -s nullglob
sources=("$root"/solutions/*.c "$root"/solutions/*.cu)
if [ ${#sources[@]} -eq 0 ]; then
    echo "make_stubs: no solutions/*.c or *.cu found under $root" >&2
    exit 1
fi

# A hand-out names existing exercises (checked before anything is written).
if [ $only_given -eq 1 ]; then
    all=" $(sed -n 's|^[ \t]*// *BEGIN EXERCISE[ \t]*\([0-9.]*\).*|\1|p' "${sources[@]}" | tr '\n' ' ')"
    for n in $only; do
        case "$all" in
            *" $n "*|*" $n."*) ;;
            *) echo "make_stubs: --only: no exercise $n (there are:$all)" >&2; exit 2 ;;
        esac
    done
fi

seen_numbers=""
for src in "${sources[@]}"; do
    base=$(basename "$src")
    tmp="$out/.$base.tmp"
    rc=0
    awk -v FILE="exercises/$base" -v SRC="solutions/$base" -v SEEN="$seen_numbers" -v ONLY="$only" '
        function fail(msg) { printf "make_stubs: %s:%d: %s\n", SRC, FNR, msg > "/dev/stderr"; bad = 1; exit 1 }
        function strip_comment(s) { sub(/\/\/.*/, "", s); return s }
        function count(s, ch,   n, i) { n = 0; for (i = 1; i <= length(s); i++) if (substr(s, i, 1) == ch) n++; return n }
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        # Parameter names and the function name of a definition "type name(params) {".
        function parse_sig(s,   op, cl, params, parts, k, p, name) {
            gsub(/[ \t\n]+/, " ", s)
            op = index(s, "(")
            if (op == 0) return 0
            fname = substr(s, 1, op - 1)
            fname = trim(fname)
            if (match(fname, /[A-Za-z_][A-Za-z_0-9]*$/)) fname = substr(fname, RSTART, RLENGTH); else fname = ""
            cl = 0
            for (k = length(s); k > op; k--) if (substr(s, k, 1) == ")") { cl = k; break }
            params = substr(s, op + 1, cl - op - 1)
            nparams = 0
            if (trim(params) == "" || trim(params) == "void") return 1
            split(params, parts, ",")
            for (k = 1; k in parts; k++) {
                p = trim(parts[k])
                gsub(/\[[^]]*\]/, "", p)
                p = trim(p)
                if (match(p, /[A-Za-z_][A-Za-z_0-9]*$/)) { nparams++; pname[nparams] = substr(p, RSTART, RLENGTH) }
            }
            return 1
        }
        BEGIN { nseen = split(SEEN, seenlist, " "); for (k = 1; k <= nseen; k++) used[seenlist[k]] = 1
                nonly = split(ONLY, onlylist, " ") }
        # in the hand-out? ("3.1" names itself, "3" its chapter; no --only: all)
        function handed_out(n,   k) {
            if (nonly == 0) return 1
            for (k = 1; k <= nonly; k++) if (n == onlylist[k] || index(n, onlylist[k] ".") == 1) return 1
            return 0
        }
        FILENAME == ARGV[1] { n = $1; sub(/^[^\t]*\t/, ""); hint[n] = (nh_[n]++ ? hint[n] "\n" : "") $0; next }
        FNR == 1 {
            has_markers = 0
            print "// " FILE ": your copy (made from solutions/ by tests/grader/make_stubs.sh)."
            print "// Write each exercise between its BEGIN/END EXERCISE markers, in place of"
            print "// the TODO and the exercise_not_implemented call; then run `make grade`."
        }
        {
            line = $0
            if (line ~ /^[ \t]*\/\/ *BEGIN EXERCISE/) {
                if (inblock) fail("BEGIN EXERCISE inside exercise " num)
                if (depth < 1) fail("BEGIN EXERCISE outside a function body")
                num = line; sub(/^[ \t]*\/\/ *BEGIN EXERCISE[ \t]*/, "", num); num = trim(num)
                if (num !~ /^[0-9]+\.[0-9]+$/) fail("exercise number \"" num "\" is not N.M")
                if (num in used) fail("exercise " num " appears twice")
                used[num] = 1; found = found " " num
                indent = line; sub(/[^ \t].*$/, "", indent)
                if (!parse_sig(sig)) fail("cannot read the function signature before BEGIN EXERCISE " num)
                if (fname == "") fail("cannot read the function name before BEGIN EXERCISE " num)
                print line
                has_markers = 1
                inblock = 1
                keep = !handed_out(num)
                next
            }
            if (line ~ /^[ \t]*\/\/ *END EXERCISE/) {
                end = line; sub(/^[ \t]*\/\/ *END EXERCISE[ \t]*/, "", end); end = trim(end)
                if (!inblock) fail("END EXERCISE " end " without BEGIN")
                if (end != num) fail("END EXERCISE " end " closes BEGIN EXERCISE " num)
                if (keep) { print line; inblock = 0; next }
                nh = (num in hint) ? split(hint[num], hl, "\n") : 0
                if (nh == 0) { nh = 1; hl[1] = "write " fname " as the comment above it says." }
                for (k = 1; k <= nh; k++) print indent "// " (k == 1 ? "TODO " num ": " : "    ") hl[k]
                refnote = (ref != "") ? ref ". " : ""
                print indent "// " refnote "Replace the TODO and the lines below with your code."
                casts = ""
                for (k = 1; k <= nparams; k++) {
                    if (casts != "" && length(indent casts " (void)" pname[k] ";") > 100) {
                        print indent casts
                        casts = ""
                    }
                    casts = casts (casts != "" ? " " : "") "(void)" pname[k] ";"
                }
                if (casts != "") print indent casts
                print indent "exercise_not_implemented(\"" num "\", \"" FILE "\", \"" fname "\");"
                print line
                inblock = 0
                next
            }
            if (inblock) { if (keep) print line; next }
            print line
            code = strip_comment(line)
            if (depth == 0) {
                # comments, blank and preprocessor lines end a signature; the
                # spec comment above a function may give "Reference: K lines"
                if (line ~ /^[ \t]*(\/\/|#|$)/ || line ~ /^[ \t]*\/?\*/) {
                    sig = ""
                    if (match(line, /Reference: [^.]*/)) ref = substr(line, RSTART, RLENGTH)
                    else if (line ~ /^[ \t]*$/) ref = ""
                }
                else sig = sig " " code
            }
            depth += count(code, "{") - count(code, "}")
            if (depth == 0 && code ~ /}/) { sig = ""; ref = "" }
        }
        END {
            if (bad) exit 1
            if (inblock) { printf "make_stubs: %s: BEGIN EXERCISE %s has no END\n", SRC, num > "/dev/stderr"; exit 1 }
            if (!has_markers) exit 4
            print found > "/dev/stderr"
        }
    ' "$hints_file" "$src" >"$tmp" 2>"$tmp.err" || rc=$?
    if [ $rc -ne 0 ]; then
        if [ $rc -eq 4 ]; then
            cp "$src" "$out/$base"   # no exercises in this file: the same code
            rm -f "$tmp" "$tmp.err"
            continue
        fi
        cat "$tmp.err" >&2
        rm -f "$tmp" "$tmp.err"
        exit 1
    fi
    seen_numbers="$seen_numbers $(cat "$tmp.err")"
    rm -f "$tmp.err"
    mv "$tmp" "$out/$base"
done

# The hand-out's list, for make grade; every number must name an exercise.
if [ $only_given -eq 1 ]; then
    { echo "# exercises handed out (tests/grader/make_stubs.sh --only); make grade grades these"; echo "$only"; } >"$out/HANDOUT"
else
    rm -f "$out/HANDOUT"
fi

# Files that no longer have a solution.
for f in "$out"/*.c "$out"/*.cu; do
    if [ ! -f "$root/solutions/$(basename "$f")" ]; then
        echo "make_stubs: removing $f (no solutions/$(basename "$f"))" >&2
        rm -f "$f"
    fi
done
