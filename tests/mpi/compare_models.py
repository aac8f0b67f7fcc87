#!/usr/bin/python3
"""Compare the tensors of two safetensors files (json + struct only).

  compare_models.py A B TOLERANCE   exit 0 when both hold the same tensors (names, dtypes,
                                    shapes) and every value differs by at most TOLERANCE
                                    times (1 + its magnitude); prints the largest difference
"""
import json
import struct
import sys

FORMATS = {"F32": "<f", "F64": "<d"}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (size,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + size])
    data = blob[8 + size:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        fmt = FORMATS[entry["dtype"]]
        count = (end - start) // struct.calcsize(fmt)
        values = struct.unpack_from("<%d%s" % (count, fmt[1]), data, start)
        tensors[name] = (entry["dtype"], entry["shape"], values)
    return tensors


def main():
    a, b, tolerance = read(sys.argv[1]), read(sys.argv[2]), float(sys.argv[3])
    if sorted(a) != sorted(b):
        print("different tensors: %s and %s" % (sorted(a), sorted(b)))
        return 1
    worst, where = 0.0, ""
    for name in sorted(a):
        if a[name][:2] != b[name][:2]:
            print("%s: %s %s against %s %s" % (name, *a[name][:2], *b[name][:2]))
            return 1
        for i, (x, y) in enumerate(zip(a[name][2], b[name][2])):
            gap = abs(x - y) / (1 + abs(x))
            if not gap <= worst:  # a NaN is the worst
                worst, where = gap, "%s[%d]: %r against %r" % (name, i, x, y)
    print("largest difference %.3g (tolerance %g)%s" % (worst, tolerance, ", " + where if where else ""))
    return 0 if worst <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
