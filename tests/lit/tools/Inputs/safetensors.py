"""Reads and edits safetensors files in tests (no numpy needed).

  safetensors.py header FILE         prints the metadata, then one line per
                                     tensor: `NAME DTYPE [SHAPE]`, by name
  safetensors.py drop IN OUT NAME    writes IN without the tensor NAME
"""
import json
import struct
import sys


def read(path):
    data = open(path, "rb").read()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + length]), data[8 + length:]


def main():
    mode = sys.argv[1]
    header, body = read(sys.argv[2])
    if mode == "header":
        print("metadata", json.dumps(header.get("__metadata__", {}),
                                     sort_keys=True))
        for name in sorted(k for k in header if k != "__metadata__"):
            info = header[name]
            print(name, info["dtype"], info["shape"])
        return 0
    assert mode == "drop", "unknown mode " + mode
    out_header, chunks, offset = {}, [], 0
    for name, info in header.items():
        if name == sys.argv[4]:
            continue
        if name == "__metadata__":
            out_header[name] = info
            continue
        begin, end = info["data_offsets"]
        out_header[name] = dict(info, data_offsets=[offset, offset + end - begin])
        chunks.append(body[begin:end])
        offset += end - begin
    text = json.dumps(out_header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(sys.argv[3], "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    return 0


sys.exit(main())
