#!/usr/bin/env bash
# calls.sh: what each function of the student's objects calls, for the
# grader's allowed-calls check (make grade runs it; see grader.c).
#
#   bash tests/grader/calls.sh OBJ...   one line per global function:
#                                       "function sym sym ..." (sorted)
#
# The objects are the student's exercises/*.c compiled with the grader's
# flags plus -ffunction-sections -fdata-sections, so every function and
# every piece of data sits in a section of its own and the relocations of
# that section name what it refers to. A function's calls are the undefined
# symbols (what the linker takes from the library or libc) reachable from its
# section through the relocations, following the file's own static helpers,
# tables of function pointers and OpenMP bodies: a forbidden call hidden in a
# helper or taken by address still counts against the exercise that reaches it.
# This is `nm -u` per function (nm lists them per object only). A function
# whose code holds a system call instruction (inline asm) "calls"
# (syscall-instruction).
# Two more lines per object:
#   @defines sym ...   every global symbol the object defines (the grader
#                      wants only ex_* names: anything else could replace a
#                      libc or grader function the grader itself calls)
#   @init sym ...      only when the object has constructors or destructors
#                      (.init_array, .fini_array, .ctors, .dtors): code that
#                      runs outside any test; the grader refuses it
set -u
if [ $# -eq 0 ]; then
    echo "usage: calls.sh OBJ..." >&2
    exit 2
fi
for obj in "$@"; do
    if ! out=$(readelf -W -S -s -r "$obj" 2>&1); then
        echo "calls.sh: readelf failed on $obj: $out" >&2
        echo "HINT: readelf comes with binutils (apt-get install binutils)" >&2
        exit 1
    fi
    # sections whose code holds a system call instruction
    sys=$(objdump -d "$obj" 2>/dev/null | awk '
        /^Disassembly of section / { sec = $4; sub(/:$/, "", sec); next }
        /\t(syscall|sysenter|int +\$0x80)/ { print sec }' | sort -u | tr '\n' ' ')
    printf '%s\n' "$out" | awk -v SYS="$sys" '
        BEGIN { n = split(SYS, sl, " "); for (k = 1; k <= n; k++) refs[sl[k]] = " (syscall-instruction)"
                undef["(syscall-instruction)"] = 1 }
        # section headers: "  [ 4] .text.ex_a  PROGBITS ..."
        /^ *\[ *[0-9]+\] / {
            s = $0; sub(/^ *\[ */, "", s); idx = s + 0; sub(/^[0-9]+\] +/, "", s); split(s, f, " ")
            secname[idx] = f[1]; secidx[f[1]] = idx; mode = ""; next
        }
        /^Symbol table/ { mode = "sym"; next }
        /^Relocation section/ {
            mode = "rel"; cur = $3; gsub(/\047/, "", cur); sub(/^\.rela?/, "", cur); next
        }
        mode == "sym" && $1 ~ /^[0-9]+:$/ && NF >= 8 {
            name = $8
            if ($7 == "UND") undef[name] = 1
            else if ($7 == "COM") defines = defines " " name
            else if ($7 ~ /^[0-9]+$/) {
                symsec[name] = $7 + 0
                if ($5 == "GLOBAL" || $5 == "WEAK") defines = defines " " name
                if ($4 == "FUNC" && $5 == "GLOBAL") funcs[++nf] = name
            }
            next
        }
        mode == "rel" && $1 ~ /^[0-9a-f]+$/ && NF >= 5 {
            refs[cur] = refs[cur] " " $5
            next
        }
        function closure(start,   m, a, b, v, r, line) {
            delete seen; delete found; delete sorted
            visit(start)
            line = ""; m = 0
            for (r in found) sorted[++m] = r
            # insertion sort: awk has no portable sort
            for (a = 2; a <= m; a++) { v = sorted[a]; for (b = a - 1; b >= 1 && sorted[b] > v; b--) sorted[b + 1] = sorted[b]; sorted[b + 1] = v }
            for (a = 1; a <= m; a++) line = line " " sorted[a]
            return line
        }
        function visit(sec,   list, n, k, r) {
            if (sec in seen) return
            seen[sec] = 1
            n = split(refs[secname[sec]], list, " ")
            for (k = 1; k <= n; k++) {
                r = list[k]
                if (r in undef) found[r] = 1
                else if (r in symsec) visit(symsec[r])
                else if (r in secidx) visit(secidx[r])
            }
        }
        END {
            for (i = 1; i <= nf; i++) print funcs[i] closure(symsec[funcs[i]])
            print "@defines" defines
            for (k in secname) if (secname[k] ~ /^\.(init_array|fini_array|preinit_array|ctors|dtors)/) {
                delete seen
                print "@init " secname[k] closure(k)
            }
        }'
done
