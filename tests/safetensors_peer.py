#!/usr/bin/python3
"""An independent safetensors reader and writer (json + struct only), to prove that
nabla's files follow the format and that nabla reads files it did not write.

  safetensors_peer.py check FILE   read FILE as written by test_safetensors.c; exit 0 when
                                   layout, header and every value are as the format and
                                   the formulas below say
  safetensors_peer.py write FILE   write a file with the same tensors, laid out
                                   differently (other key order, data order, padding)

The tensors (the C test computes the same formulas):
  "weight"  F32 [2, 3]  value i -> i * 0.25 - 1
  "bias"    F64 [4]     value i -> 1 / (i + 3)
  "scalar"  F64 []      -> 2.5
  "empty"   F32 [0, 3]
metadata: {"model": "784-256-10:relu", "note": "quote \\" and \\u00e9"}
"""
import json
import struct
import sys

EXPECTED = {
    "weight": ("F32", [2, 3], [i * 0.25 - 1 for i in range(6)]),
    "bias": ("F64", [4], [1 / (i + 3) for i in range(4)]),
    "scalar": ("F64", [], [2.5]),
    "empty": ("F32", [0, 3], []),
}
METADATA = {"model": "784-256-10:relu", "note": 'quote " and \u00e9'}
FORMATS = {"F32": ("<f", 4), "F64": ("<d", 8)}


def fail(message):
    print("safetensors_peer: " + message, file=sys.stderr)
    sys.exit(1)


def check(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail("file too short")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        fail("header length %d beyond the file" % n)
    if (8 + n) % 8 != 0:
        fail("data do not start at a multiple of 8 (8 + %d)" % n)
    header_bytes = blob[8:8 + n]
    header = json.loads(header_bytes.decode("utf-8"))
    if header_bytes.rstrip(b" ") != header_bytes.strip():
        fail("header padded with something other than trailing spaces")
    data = blob[8 + n:]
    if header.pop("__metadata__", None) != METADATA:
        fail("metadata differ")
    if set(header) != set(EXPECTED):
        fail("tensor names %s" % sorted(header))
    spans = []
    for name, (dtype, shape, values) in EXPECTED.items():
        entry = header[name]
        if set(entry) != {"dtype", "shape", "data_offsets"}:
            fail("%s: keys %s" % (name, sorted(entry)))
        if entry["dtype"] != dtype or entry["shape"] != shape:
            fail("%s: dtype %s shape %s" % (name, entry["dtype"], entry["shape"]))
        begin, end = entry["data_offsets"]
        if not all(isinstance(v, int) for v in (begin, end)):
            fail("%s: offsets are not integers" % name)
        fmt, size = FORMATS[dtype]
        if end - begin != size * len(values):
            fail("%s: %d bytes for %d values" % (name, end - begin, len(values)))
        got = [struct.unpack_from(fmt, data, begin + size * i)[0] for i in range(len(values))]
        want = [struct.unpack(fmt, struct.pack(fmt, v))[0] for v in values]  # rounded like C
        if got != want:
            fail("%s: values %s, expected %s" % (name, got, want))
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            fail("tensors do not tile the data at offset %d" % position)
        position = end
    if position != len(data):
        fail("%d bytes of trailing data" % (len(data) - position))


def write(path):
    # Data in the order scalar, empty, bias, weight; header keys in another order; the
    # header padded with spaces to a length that does not align the data.
    order = ["scalar", "empty", "bias", "weight"]
    chunks, offsets, position = [], {}, 0
    for name in order:
        dtype, shape, values = EXPECTED[name]
        fmt, size = FORMATS[dtype]
        raw = b"".join(struct.pack(fmt, v) for v in values)
        offsets[name] = [position, position + len(raw)]
        position += len(raw)
        chunks.append(raw)
    header = {"bias": None, "__metadata__": METADATA, "weight": None, "scalar": None, "empty": None}
    for name in EXPECTED:
        dtype, shape, _ = EXPECTED[name]
        header[name] = {"shape": shape, "dtype": dtype, "data_offsets": offsets[name]}
    text = json.dumps(header).encode("utf-8") + b"   "
    if (8 + len(text)) % 8 == 0:
        text += b" "
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "write"):
        fail("usage: safetensors_peer.py check|write FILE")
    (check if sys.argv[1] == "check" else write)(sys.argv[2])
