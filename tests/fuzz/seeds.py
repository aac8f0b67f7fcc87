#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<fuzzer>/: small valid inputs (from
tests/data and the tests' examples) and invalid ones next to them. Rerun after editing;
the files are committed, so the replay does not need Python."""
import glob, gzip, json, os, re, struct

here = os.path.dirname(os.path.abspath(__file__))


def write(fuzzer, name, data):
    d = os.path.join(here, "corpus", fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def formulas():
    nist = set()
    for path in sorted(glob.glob(os.path.join(here, "..", "data", "nist", "*", "*.dat"))):
        for line in open(path, errors="replace"):
            m = re.match(r"\s+(y\s*=.*?)\s*\+\s*e\s*$", line)
            if m and "..." not in m.group(1):
                nist.add(re.sub(r"\s+", " ", m.group(1)))
    own = ["a + 1", "a*(2*pi/12) + 0*x", "a*cos(2*pi*x/12) + b*x**2", "a*e", "b10*x + b2 + b1*x^2",
           "log(y) = a*exp(-k*x) + c", "log(y) = b1 - b2*x1*exp(-b3*x2)", "y = a*$3 + b", "-x^2 + 2^-1",
           "y = atan2(a, x) + arctan(b*x) + pow(x, c) + min(a, x) + max(b, y)",
           "sqrt(abs(a*x)) + log10(b) + sinh(x) + cosh(x) + tanh(c*x) + asin(x/9) + acos(x/9) + tan(x)",
           "y = a*x2 + b*x1 + 1e-5 + .5 + 10.07E0", "x = [a + b]*(c)", "e = pi*e", "y =", "= a", "a*(x",
           "a**", "foo(x)", "y = \xb5*x", "$0 + $99", "1/0 + a", "((((((((a))))))))", "a b", "sin()",
           "atan2(a)", "y = y", "y = 3", "a*x +* b", "log(y) = log(x)*a", "y = a*`x1` + b*`e`",
           "y = a*`time-ms", "y = ``", "`x` = a*x1 + temp\xe9rature"]
    for i, f in enumerate(sorted(nist) + own):
        write("formula", "f%02d" % i, f)


def tables():
    examples = ["x,y\n1,2\n3,4\n", "1 2\n3 4\n5 6\n", "a;b;c\n1;2;3\n4;5;6\n", "x\ty\n1\t2\n",
                "# comment\nx,y\n1,2\n", "\xef\xbb\xbfx,y\n1,2\n", "x,y,species\n1,2,setosa\n3,4,virginica\n",
                "x,class\n1,cat\n2,dog\n3,3\n", '"x","y"\n"1","2"\n', 'x,y\n"1,5",2\n', "x,y\n1,nan\n2,inf\n",
                "x,y\n1,2,3\n", "x,y\n1,abc\n", "x,y\n", "x,y\n1,\n", '"x,y\n1,2\n', "1e308,1e309\n-0,0x10\n",
                "x,,y\n1,2,3\n", "3,x\n1,2\n", "x,y\r\n1,2\r\n", "\n\n1,2\n", " 1   2 \n\t3 4\n",
                "x;y\n1,5;2\n", "a,a\n1,2\n", "preamble\nx y\n1 2\n", "x,y\n1,NA\n,2\nN/A,null\n3,4\n",
                "date,y\n2020-01-01,1\n2020-01-02,\n"]
    path = os.path.join(here, "..", "data", "nist", "linear", "Norris.dat")
    if os.path.exists(path):
        lines = open(path, errors="replace").read().splitlines()
        examples.append("\n".join(lines[60:80]) + "\n")
    for i, t in enumerate(examples):
        write("table", "t%02d" % i, t.encode("latin-1"))
    write("table", "gzip", gzip.compress(b"x;y\n1,5;2\n3;4,25\n", mtime=0))


def safetensors(tensors, meta=None, pad=True, data=None, raw_header=None):
    header = dict(tensors)
    if meta is not None:
        header["__metadata__"] = meta
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    if pad:
        text += " " * (-len(text) % 8)
    if data is None:
        size = max([t["data_offsets"][1] for t in tensors.values()] + [0])
        data = bytes(range(size % 256)) * (size // 256) + bytes(range(size % 256))
    return struct.pack("<Q", len(text)) + text.encode() + data


def safetensor_seeds():
    f32 = lambda shape, b, e: {"dtype": "F32", "shape": shape, "data_offsets": [b, e]}
    meta = {"model": "4-3-2:relu", "loss": "mse", "features": "x1,x2,x3,x4", "targets": "y1,y2"}
    mlp = {"l1.weight": f32([4, 3], 0, 48), "l1.bias": f32([3], 48, 60),
           "l2.weight": {"dtype": "F64", "shape": [3, 2], "data_offsets": [60, 108]},
           "l2.bias": f32([2], 108, 116)}
    seeds = [safetensors(mlp, meta), safetensors({}, {}), safetensors({"s": f32([], 0, 4)}),
             safetensors({"a": f32([2], 0, 8), "b": f32([2], 8, 16)}),
             safetensors({"a": f32([2], 0, 8)}, pad=False),
             safetensors({"a": f32([2], 0, 8), "b": f32([2], 8, 16)}, data=b"\0" * 12),
             safetensors({"a": f32([2], 0, 8), "b": f32([2], 4, 12)}),
             safetensors({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}),
             safetensors({"a": f32([0, 3], 0, 0)}), safetensors({"a": f32([2, -1], 0, 8)}),
             safetensors({"a": f32([2], 0, 8)}, {"k": 3}), safetensors({"__metadata__": f32([2], 0, 8)}),
             safetensors({}, raw_header='{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                        '"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
                         data=b"\0" * 16),
             safetensors({}, raw_header="{", data=b""), safetensors({}, raw_header="[]", data=b""),
             safetensors({"a": f32([1, 1, 1, 1, 1, 1, 1, 1, 1], 0, 4)}),
             safetensors({"a": f32([4294967296, 4294967296], 0, 8)}),
             safetensors({"a": f32([2], 0, 8)}, data=b"\0" * 8 + b"extra"),
             struct.pack("<Q", 1 << 60) + b"{}", b"\x08\0\0\0", b""]
    for i, s in enumerate(seeds):
        write("safetensors", "s%02d" % i, s)


def idx(kind, dims, data=None, declared=None):
    dims_out = declared if declared is not None else dims
    size = 1
    for d in dims:
        size *= d
    body = data if data is not None else bytes((i * 37) % 256 for i in range(size))
    return bytes([0, 0, kind, len(dims_out)]) + b"".join(struct.pack(">I", d) for d in dims_out) + body


def idx_seeds():
    seeds = [idx(8, [5, 2, 3]), idx(8, [5]), idx(8, [3, 4]), idx(8, [2, 2, 2, 2]), idx(8, [1]),
             idx(8, [4, 5], data=bytes(17)), idx(8, [4, 5], data=bytes(23)), idx(9, [4]), idx(0x0D, [2]),
             idx(8, [1, 1, 1, 1, 2]), idx(8, []), idx(8, [3, 0], data=b""),
             idx(8, [1, 1, 1], data=b"", declared=[4000000000, 4000000000, 4000000000]),
             bytes([1, 0, 8, 1, 0, 0, 0, 1, 7]), b"\0\0\x08", b""]
    seeds += [gzip.compress(s, mtime=0) for s in seeds[:4]]
    good = gzip.compress(idx(8, [4, 5]), mtime=0)
    seeds += [good[:-6], good[:20] + b"\xff" + good[21:], good + b"junk"]
    for i, s in enumerate(seeds):
        write("idx", "i%02d" % i, s)


def model_seeds():
    """m00..m03 are models saved by `nabla train` (regression, classes, no scaling, deeper);
    the others are m00 and m01 with one field of their description changed."""
    def split(name):
        raw = open(os.path.join(here, "corpus", "model", name), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        return json.loads(raw[8:8 + n]), raw[8 + n:]
    changes = [("model", "2-3-1:gelu"), ("model", "2-3-2:tanh"), ("model", "0-1"), ("model", "2"),
               ("loss", "ce"), ("loss", "nope"), ("dtype", "f16"), ("n_classes", "-1"), ("n_classes", "2"),
               ("class_names", '["a"'), ("class_names", '["a","a"]'), ("features", '["a"]'),
               ("features", "[1,2]"), ("data", "fashion-mnist"), ("data", "tsv"), ("standardized", "maybe"),
               ("targets_standardized", "yes"), ("format", "nabla-mlp-2"), ("target", "")]
    for i, (key, value) in enumerate(changes):
        header, data = split("m01" if key in ("class_names", "n_classes") else "m00")
        header["__metadata__"][key] = value
        write("model", "v%02d" % i, safetensors({k: v for k, v in header.items() if k != "__metadata__"},
                                                header["__metadata__"], data=data))
    header, data = split("m00")
    del header["__metadata__"]["model"]
    write("model", "v%02d" % len(changes), safetensors({k: v for k, v in header.items() if k != "__metadata__"},
                                                      header["__metadata__"], data=data))


def fitfile_seeds():
    def fit(formula, columns, response, params, sigma=None, cov=None, dof=3, n=5, **extra):
        k = len(params)
        doc = {"format": "nabla-fit", "version": 1, "formula": formula, "columns": columns, "response": response,
               "sigma": sigma, "absolute_sigma": bool(sigma), "params": params,
               "estimates": [1.5 + j for j in range(k)],
               "covariance": cov if cov is not None else [[0.01 if i == j else 0.001 for j in range(k)]
                                                          for i in range(k)],
               "residual_variance": 0.25, "dof": dof, "n_points": n, "confidence": 0.95}
        doc.update(extra)
        return doc
    docs = [fit("y = a + b*x", ["x", "y"], "y", ["a", "b"]),
            fit("log(y) = log(a) - k*t", ["t", "y"], "log(y)", ["a", "k"]),
            fit("v = a*exp(-k*t) + c", ["well", "t", "v", "s"], "v", ["a", "k", "c"], sigma="s"),
            fit("y = a*`time-ms` + b*$1", ["c1", "time-ms", "y"], "y", ["a", "b"]),
            fit("a*exp(-k*t)", ["t", "y"], "y", ["a", "k"], dof=0, n=2),
            fit("y = a*x", ["x", "y"], "y", ["a"], cov=[[1, 2]]),
            fit("y = a*x", ["x", "y"], "y", ["b"]),
            fit("y = a*x", ["x", "x"], "y", ["a"]),
            fit("y = a*x", ["x", "y"], "y", ["a"], dof=1e300),
            fit("y = a*x", ["x", "y"], "y", ["a"], confidence=1),
            fit("y = a*zz", ["x", "y"], "y", ["a", "zz"]),
            fit("y = a*x", ["x", "y"], "y", ["a"], version=2)]
    for i, doc in enumerate(docs):
        write("fitfile", "j%02d" % i, json.dumps(doc, indent=1))
    for i, text in enumerate(["", "{", "[]", "null", '{"format":"nabla-fit"}', '{"format":"nabla-fit","version":1}',
                              json.dumps(docs[0])[:-9]]):
        write("fitfile", "t%02d" % i, text)


def option_seeds():
    values = ["5", "0", "100000000", "100000001", "-1", "+5", " 5", "2.7", "1e3", "18446744073709551615",
              "18446744073709551616", "0.5", "1", "1e-300", "1e309", "nan", "inf", "-0", " 0.25 ", "0x10", "",
              "a.png", "plot.SVG", "x.pdf", "anim.gif", "dir.png/file", ".gif", "noext", "3\n0.1\nout.png"]
    for i, v in enumerate(values):
        write("options", "o%02d" % i, v.replace("\\n", "\n"))


formulas()
fitfile_seeds()
option_seeds()
model_seeds()
tables()
safetensor_seeds()
idx_seeds()
