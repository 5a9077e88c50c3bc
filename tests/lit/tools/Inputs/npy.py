"""Reads float32 .npy files written by coil-run (no numpy needed).

  npy.py shape FILE          prints `shape R C`
  npy.py same FILE1 FILE2    exits 1 unless both hold identical values
  npy.py prefix FILE1 FILE2  exits 1 unless FILE1's rows start FILE2
  npy.py close FILE1 FILE2 R exits 1 unless both have one shape and every
                             value differs by at most R x the largest
                             magnitude of its row
"""
import ast
import struct
import sys


def read(path):
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", "bad magic"
    assert data[6:8] == b"\x01\x00", "bad version"
    (length,) = struct.unpack("<H", data[8:10])
    assert (10 + length) % 64 == 0, "header not 64-byte aligned"
    header = ast.literal_eval(data[10:10 + length].decode("latin1"))
    assert header["descr"] == "<f4" and not header["fortran_order"]
    rows, cols = header["shape"]
    body = data[10 + length:]
    assert len(body) == rows * cols * 4, "data size does not match the shape"
    return (rows, cols), struct.unpack("<%df" % (rows * cols), body)


def main():
    mode = sys.argv[1]
    if mode == "shape":
        (rows, cols), values = read(sys.argv[2])
        assert all(v == v and abs(v) < 1e30 for v in values), "non-finite"
        print("shape %d %d" % (rows, cols))
        return 0
    (s1, v1), (s2, v2) = read(sys.argv[2]), read(sys.argv[3])
    if mode == "same":
        return 0 if (s1, v1) == (s2, v2) else 1
    if mode == "prefix":
        return 0 if s1[1] == s2[1] and v1 == v2[:len(v1)] else 1
    if mode == "close":
        if s1 != s2:
            print("shapes differ: %s vs %s" % (s1, s2))
            return 1
        rel, cols = float(sys.argv[4]), s1[1]
        for r in range(s1[0]):
            a, b = v1[r * cols:(r + 1) * cols], v2[r * cols:(r + 1) * cols]
            tol = rel * max(abs(x) for x in b) + 1e-7
            worst = max(abs(x - y) for x, y in zip(a, b))
            if worst > tol:
                print("row %d differs by %g > %g" % (r, worst, tol))
                return 1
        return 0
    return 2


sys.exit(main())
