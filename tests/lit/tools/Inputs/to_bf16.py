"""Rewrites a safetensors file with every F32 tensor as BF16 (round to
nearest even), as a bf16 checkpoint stores it. No numpy needed.

  to_bf16.py IN OUT
"""
import json
import struct
import sys


def to_bf16(value_bits):
    # Round to nearest even on the 16 bits dropped (NaN stays NaN).
    if (value_bits & 0x7F800000) == 0x7F800000 and value_bits & 0x7FFFFF:
        return (value_bits >> 16) | 0x40
    return ((value_bits + 0x7FFF + ((value_bits >> 16) & 1)) >> 16) & 0xFFFF


def main():
    data = open(sys.argv[1], "rb").read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    out_header, chunks, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            out_header[name] = info
            continue
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        if info["dtype"] == "F32":
            words = struct.unpack("<%dI" % (len(raw) // 4), raw)
            raw = struct.pack("<%dH" % len(words), *[to_bf16(w) for w in words])
            info = dict(info, dtype="BF16")
        out_header[name] = dict(info, data_offsets=[offset, offset + len(raw)])
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(out_header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(sys.argv[2], "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


main()
