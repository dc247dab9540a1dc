#!/usr/bin/env bash
# test_reliability.sh: what the chapters do when a user hands them the wrong
# thing (issue 9, section 6). Each case ends with one "error:" line, a HINT
# and a non-zero status, never a crash, a hang or a silent mix-up:
#   - --resume CKPT --out DIR where DIR holds another run: refused, unless
#     DIR is the checkpoint's own directory or --force is given;
#   - a checkpoint of another chapter: refused, before anything is built;
#   - a header edited without fixing the checksum: reported as damaged;
#   - a header edited WITH the checksum recomputed (tests/support/ckpt_header.py):
#     every setting passes its flag's own checks (log-every=0 once crashed
#     with SIGFPE, z-dim=1000000 grew to 5 GB, batch=2147483647 reserved
#     16 GiB, width=-4 shifted a negative number, beta1=5, seed=-5,
#     log-every=-7 were accepted), and settings that change the model or
#     the loss no longer match the header's fingerprint;
#   - a full disk (a 1.2 MB tmpfs; needs root, else skipped): one error, the
#     run stops, the last good checkpoint stays loadable;
#   - gnuplot failing, or leaving an empty picture: reported, no "wrote";
#   - --help says what --resume does with --steps and --out;
#   - the end-of-run list of outputs names every file in the run directory.
# CHAPTERS_BIN=DIR runs the chapter programs found there instead of ./
# (to show an older build failing these checks). CHECK_VERBOSE=1 lists every check.
set -u
cd "$(dirname "$0")/.." || exit 1
bin=${CHAPTERS_BIN:-.}
tmp=$PWD/tests/tmp/reliability
rm -rf "$tmp"
mkdir -p "$tmp"
pass=0
fail=0
ok() { pass=$((pass + 1)); [ "${CHECK_VERBOSE:-0}" = 1 ] && echo "  ok  : $1"; return 0; }
bad() { fail=$((fail + 1)); echo "  FAIL: $1"; }
t() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
run() {  # LOG CMD...: runs CMD (at most 60 s), stdout+stderr to LOG, returns its status
    local log=$1
    shift
    timeout 60 "$@" >"$log" 2>&1
}
show() { sed 's/^/        /' "$1" | tail -n 12; }
# one "error:" line, a HINT line, a status that is not 0 and not a signal or the timeout
clean_error() {  # LOG STATUS
    [ "$2" -ne 0 ] && [ "$2" -lt 124 ] && [ "$(grep -c '^error: ' "$1")" -eq 1 ] && grep -q '^HINT: ' "$1"
}
edit() { python3 tests/support/ckpt_header.py "$@"; }
md5() { md5sum "$1" | cut -d' ' -f1; }

for p in chapter1 chapter2 chapter3; do
    if [ ! -x "$bin/$p" ]; then
        echo "reliability: $bin/$p is missing (make test builds it)"
        echo "reliability: 0 passed, 1 failed"
        exit 1
    fi
done
# ch1, ch2, ch3: the programs, as commands (timeout runs commands, not functions)
wrap=$tmp/wrap
mkdir -p $wrap
bin=$(cd "$bin" && pwd)
printf '#!/bin/sh\nexec "%s/chapter1" "$@"\n' "$bin" >$wrap/ch1
printf '#!/bin/sh\nexec "%s/chapter2" "$@"\n' "$bin" >$wrap/ch2
# chapter 3 on 200 fake MNIST images (as tests/test_chapters.sh): no real data needed
fake=$tmp/fake-data
mkdir -p $fake/mnist
{ printf '\x00\x00\x08\x03\x00\x00\x00\xc8\x00\x00\x00\x1c\x00\x00\x00\x1c'
  LC_ALL=C awk 'BEGIN { s = 7; for (i = 0; i < 200 * 784; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%c", 1 + int(s / 65536) % 255 } }'
} >$fake/mnist/train-images-idx3-ubyte
{ printf '\x00\x00\x08\x01\x00\x00\x00\xc8'
  LC_ALL=C awk 'BEGIN { for (i = 0; i < 200; i++) printf "%c", 1 + i % 9 }'
} >$fake/mnist/train-labels-idx1-ubyte
printf '#!/bin/sh\nGANBOOK_DATA="%s" GANBOOK_NO_FETCH=1 exec "%s/chapter3" "$@"\n' "$fake" "$bin" >$wrap/ch3
chmod +x $wrap/ch1 $wrap/ch2 $wrap/ch3
PATH=$wrap:$PATH

small="--steps 20 --batch 64 --log-every 5 --sample-every 10 --checkpoint-every 10"
run $tmp/a1.log ch1 $small --out $tmp/a1 || show $tmp/a1.log
run $tmp/a2.log ch2 $small --d-warmup 5 --out $tmp/a2 || show $tmp/a2.log
run $tmp/a3.log ch3 --steps 2 --width 4 --batch 8 --out $tmp/a3 || show $tmp/a3.log
t "the three source runs finished" "[ -s $tmp/a1/checkpoint.bin ] && [ -s $tmp/a2/checkpoint.bin ] && [ -s $tmp/a3/checkpoint.bin ]"

# --- 1. --resume into another run's directory ---------------------------------------
run $tmp/b.log ch1 --steps 10 --seed 7 --log-every 5 --sample-every 5 --out $tmp/b
before=$(md5 $tmp/b/loss.dat)
run $tmp/r1.log ch1 --resume $tmp/a1/checkpoint.bin --steps 30 --out $tmp/b
status=$?
t "resume into another run's directory: refused with one error and a HINT" \
    "clean_error $tmp/r1.log $status && grep -q -- '--force' $tmp/r1.log" || show $tmp/r1.log
t "... and that run's loss.dat is untouched, no checkpoint of ours there" \
    "[ '$(md5 $tmp/b/loss.dat)' = '$before' ] && [ \$(grep -c '^[0-9]' $tmp/b/loss.dat) -eq 3 ]"
cp -r $tmp/a1 $tmp/own
run $tmp/r2.log ch1 --resume $tmp/own/checkpoint.bin --steps 30
t "resume into the checkpoint's own directory (no --out): works" "[ $? -eq 0 ] && [ \$(tail -n 1 $tmp/own/loss.dat | cut -d' ' -f1) = 30 ]" || show $tmp/r2.log
run $tmp/r3.log ch1 --resume $tmp/own/checkpoint.bin --steps 40 --out $tmp/own/
t "resume with --out naming its own directory (spelt differently): works" "[ $? -eq 0 ]" || show $tmp/r3.log
run $tmp/ref.log ch1 $small --steps 30 --out $tmp/ref  # the same run, uninterrupted
run $tmp/r4.log ch1 --resume $tmp/a1/checkpoint.bin --steps 30 --out $tmp/fresh
t "resume into an empty --out: works; its loss.dat is the whole run's (rows copied up to the checkpoint)" \
    "[ $? -eq 0 ] && cmp -s $tmp/fresh/loss.dat $tmp/ref/loss.dat && cmp -s $tmp/fresh/checkpoint.bin $tmp/ref/checkpoint.bin" \
    || show $tmp/r4.log
run $tmp/r5.log ch1 --resume $tmp/a1/checkpoint.bin --steps 30 --out $tmp/b --force
t "resume into another run's directory with --force: works, and none of that run's files or rows stay" \
    "[ $? -eq 0 ] && [ ! -e $tmp/b/samples_000005.png ] && cmp -s $tmp/b/loss.dat $tmp/ref/loss.dat" || show $tmp/r5.log

# --- 2. checkpoints of another chapter -----------------------------------------------
for pair in "1 2" "2 1" "1 3" "3 1"; do
    set -- $pair
    run $tmp/x$1$2.log ch$2 --resume $tmp/a$1/checkpoint.bin --steps 30 --out $tmp/x$1$2
    status=$?
    t "chapter$2 --resume of a chapter$1 checkpoint: refused, naming chapter$1" \
        "clean_error $tmp/x$1$2.log $status && grep -q 'written by chapter$1' $tmp/x$1$2.log && [ ! -e $tmp/x$1$2/loss.dat ]" \
        || show $tmp/x$1$2.log
done
run $tmp/s21.log ch2 --sample $tmp/a1/checkpoint.bin --out $tmp/s21
t "chapter2 --sample of a chapter1 checkpoint: refused" "clean_error $tmp/s21.log $? && grep -q 'written by chapter1' $tmp/s21.log" || show $tmp/s21.log

# --- 3. the checksum first -------------------------------------------------------------
mkdir -p $tmp/k
edit $tmp/a1/checkpoint.bin $tmp/k/checkpoint.bin z-dim=1000000 --keep-checksum
run $tmp/k.log ch1 --resume $tmp/k/checkpoint.bin --steps 30
t "a header edited without its checksum: reported as damaged, its settings not used" \
    "clean_error $tmp/k.log $? && grep -q 'checksum' $tmp/k.log && ! grep -q 'z-dim' $tmp/k.log" || show $tmp/k.log

# --- 4. edited headers with a recomputed checksum (the fuzz cases) ---------------------
fuzz() {  # CHAPTER SOURCE KEY=VALUE WANT: the run must stop at once, naming WANT
    local ch=$1 src=$2 kv=$3 want=$4 d=$tmp/fz-$1-${3//[^a-z0-9]/_}
    mkdir -p $d
    edit $src/checkpoint.bin $d/checkpoint.bin "$kv"
    local t0=$SECONDS
    run $d.log ch$ch --resume $d/checkpoint.bin --steps 30
    local status=$? took=$((SECONDS - t0))
    t "chapter$ch, header $kv: one clear error naming '$want', in ${took}s" \
        "clean_error $d.log $status && grep -q -- '$want' $d.log && [ $took -le 20 ] && [ ! -e $d/samples_000020.png ]" \
        || show $d.log
}
fuzz 1 $tmp/a1 log-every=0 "log-every=0"
fuzz 1 $tmp/a1 z-dim=1000000 "z-dim=1000000"
fuzz 1 $tmp/a1 batch=2147483647 "batch=2147483647"
fuzz 1 $tmp/a1 beta1=5 "beta1=5"
fuzz 1 $tmp/a1 seed=-5 "seed=-5"
fuzz 1 $tmp/a1 log-every=-7 "log-every=-7"
fuzz 1 $tmp/a1 dataset=cifar "dataset=cifar"
fuzz 3 $tmp/a3 width=-4 "width=-4"
fuzz 3 $tmp/a3 size=48 "size=48"
# in range, but not the model or loss the run was trained with: the fingerprint
fuzz 1 $tmp/a1 z-dim=3 "does not match the model and loss"
fuzz 2 $tmp/a2 loss=minimax "does not match the model and loss"
fuzz 3 $tmp/a3 width=8 "does not match the model and loss"
# a flag that contradicts the checkpoint stays a usage error (exit 2)
run $tmp/c.log ch2 --resume $tmp/a2/checkpoint.bin --steps 30 --loss minimax
t "--loss minimax against a non-saturating checkpoint: usage error, exit 2" \
    "[ $? -eq 2 ] && grep -q 'contradicts the checkpoint' $tmp/c.log" || show $tmp/c.log

# --- 5. a full disk --------------------------------------------------------------------
mnt=$tmp/full
mkdir -p $mnt
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1200k tmpfs $mnt 2>/dev/null; then
    # a checkpoint of chapter 1 on ring8 is 0.8 MB: the first fits, the second cannot be written beside it
    timeout 120 "$bin/chapter1" --steps 3000 --checkpoint-every 1000 --out $mnt/run >$tmp/full.out 2>$tmp/full.err
    status=$?
    t "disk full: exit 1, exactly one error (and its HINT)" \
        "[ $status -eq 1 ] && [ \$(grep -c '^error: ' $tmp/full.err) -eq 1 ] && grep -q '^HINT: ' $tmp/full.err" \
        || show $tmp/full.err
    t "disk full: the run stops at once (step 2000 of 3000), naming the last good checkpoint" \
        "grep -q 'the run stops at step 2000; its last good checkpoint is $mnt/run/checkpoint.bin (step 1000)' $tmp/full.err && [ ! -e $mnt/run/samples_002500.png ] && [ ! -e $mnt/run/metrics.txt ]"
    t "disk full: no 'wrote' line, no empty file left behind" \
        "! grep -q '^wrote' $tmp/full.out && [ -z \"\$(find $mnt/run -type f -empty)\" ]"
    cp $mnt/run/checkpoint.bin $tmp/saved.bin
    umount $mnt
    run $tmp/full-sample.log ch1 --sample $tmp/saved.bin --out $tmp/full-sample
    t "disk full: the last good checkpoint is intact (loads, step 1000)" \
        "[ $? -eq 0 ] && [ -s $tmp/full-sample/sample_step001000.png ]" || show $tmp/full-sample.log
else
    ok "disk full: skipped (needs root to mount a small tmpfs)"
    echo "  skip: disk-full checks need root (mount -t tmpfs)"
fi

# --- 6. gnuplot failing ----------------------------------------------------------------
mkdir -p $tmp/fakebin $tmp/emptybin
printf '#!/bin/sh\necho "gnuplot: something went wrong" >&2\nexit 1\n' >$tmp/fakebin/gnuplot
# writes an empty file where it was asked to draw (a full disk does that), and says nothing
printf '#!/bin/sh\nout=$(echo "$2" | sed -n "s/.*outfile=.\\([^'"'"']*\\).*/\\1/p")\n[ -n "$out" ] && : >"$out"\nexit 0\n' >$tmp/emptybin/gnuplot
chmod +x $tmp/fakebin/gnuplot $tmp/emptybin/gnuplot
run $tmp/g1.log env PATH=$tmp/fakebin:$PATH "$bin/chapter1" $small --out $tmp/g1
status=$?
t "gnuplot failing: reported (error + HINT), exit 1, no 'wrote loss.png'" \
    "[ $status -eq 1 ] && grep -q '^error: gnuplot could not render' $tmp/g1.log && grep -q '^HINT: ' $tmp/g1.log && ! grep -q 'wrote .*loss.png' $tmp/g1.log" \
    || show $tmp/g1.log
run $tmp/g2.log env PATH=$tmp/emptybin:$PATH "$bin/chapter2" $small --d-warmup 5 --out $tmp/g2
status=$?
t "gnuplot leaving empty pictures: reported, exit 1, no 'wrote', no empty PNG left" \
    "[ $status -eq 1 ] && grep -q 'left .* empty' $tmp/g2.log && ! grep -q '^wrote' $tmp/g2.log && [ -z \"\$(find $tmp/g2 -name '*.png' -empty)\" ]" \
    || show $tmp/g2.log

# --- 7. --help on --resume ---------------------------------------------------------------
for c in 1 2 3; do
    ch$c --help >$tmp/help$c.txt 2>&1
    t "chapter$c --help: --resume explains --steps (the total) and --out" \
        "sed -n '/--resume CKPT/,/--sample CKPT/p' $tmp/help$c.txt | grep -q -- '--steps' && sed -n '/--resume CKPT/,/--sample CKPT/p' $tmp/help$c.txt | grep -q -- '--out' && sed -n '/--resume CKPT/,/--sample CKPT/p' $tmp/help$c.txt | grep -q 'total'"
done

# --- 8. the end-of-run list names every file written ------------------------------------
listed_all() {  # LOG DIR: every file in DIR appears in the "outputs in DIR/:" line
    local line name
    line=$(grep "^outputs in $2/: " "$1" | tail -n 1)
    [ -n "$line" ] || return 1
    for name in $(ls "$2"); do
        case $name in
        samples_[0-9][0-9][0-9][0-9][0-9][0-9].png)
            echo "$line" | grep -q "samples_\*.png ($(ls "$2" | grep -c '^samples_[0-9]*\.png$'))" || return 1 ;;
        *) echo "$line" | grep -q "[ ,]$name\(,\|$\)" || return 1 ;;
        esac
    done
}
t "chapter1: the output list names every file of the run directory" "listed_all $tmp/a1.log $tmp/a1" || show $tmp/a1.log
t "chapter2: ... gradnorm.dat and gradnorm.png included" \
    "listed_all $tmp/a2.log $tmp/a2 && grep '^outputs in' $tmp/a2.log | grep -q gradnorm.png" || show $tmp/a2.log
t "chapter3: ... the latent pictures included" \
    "listed_all $tmp/a3.log $tmp/a3 && grep '^outputs in' $tmp/a3.log | grep -q walk.png" || show $tmp/a3.log

echo "reliability: $pass passed, $fail failed"
[ $fail -eq 0 ]
