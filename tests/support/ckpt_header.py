#!/usr/bin/env python3
"""ckpt_header.py: print or edit the header of a ganbook checkpoint.

    ckpt_header.py FILE                     print the header text
    ckpt_header.py FILE OUT key=value ...   write OUT with those settings of
                                            the header replaced (or added) and
    [--keep-checksum]                       the checksum recomputed, so that the
                                            file passes the checksum: what a
                                            user editing a header would make.
                                            --keep-checksum leaves the old one.
Used by tests/test_reliability.sh (format: common/run/checkpoint.h).
"""
import struct
import sys

FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211


def fnv1a(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    args = [a for a in sys.argv[1:] if a != "--keep-checksum"]
    keep = "--keep-checksum" in sys.argv
    raw = open(args[0], "rb").read()
    (hlen,) = struct.unpack_from("<I", raw, 12)
    header = raw[16:16 + hlen].decode()
    if len(args) == 1:
        print(header)
        return
    words = header.split(" ")
    for kv in args[2:]:
        key = kv.split("=", 1)[0]
        hits = [i for i, w in enumerate(words) if w.startswith(key + "=")]
        if hits:
            words[hits[0]] = kv
        else:
            words.append(kv)
    new = " ".join(words).encode()
    body = raw[:12] + struct.pack("<I", len(new)) + new + raw[16 + hlen:-8]
    checksum = raw[-8:] if keep else struct.pack("<Q", fnv1a(body))
    open(args[1], "wb").write(body + checksum)


main()
