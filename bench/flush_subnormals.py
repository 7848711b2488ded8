#!/usr/bin/env python3
"""flush_subnormals.py — copy an ONNX model with every subnormal float weight set to zero.

bench/nn_vs_ort.sh gives onnxruntime this copy beside the original: our runtime zeroes subnormal
weights at load and runs with flush-to-zero (src/nn/fpenv.h), and onnxruntime-node has no switch
for its own "denormal as zero" session option, so on CPUs where subnormal arithmetic is slow
(Intel Xeons: fr_feature 61 ms instead of a few) the peer's best is measured on this copy.

Walks the protobuf wire format directly (no onnx package): ModelProto.graph (7) ->
GraphProto.initializer (5) and Constant nodes' tensor attributes are not rewritten, only
initializers -> TensorProto with data_type (2) FLOAT (1): raw_data (9) or packed float_data (4).
Values are replaced in place, so every length stays the same.

    flush_subnormals.py IN.onnx OUT.onnx   (prints how many values it zeroed)
"""
import struct
import sys

FLT_MIN = 1.1754943508222875e-38


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf, start, end):
    """Yields (field, wire, value_start, value_end) for each field of a message."""
    i = start
    while i < end:
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, j = varint(buf, i)
        elif wire == 1:
            j = i + 8
        elif wire == 2:
            n, i = varint(buf, i)
            j = i + n
        elif wire == 5:
            j = i + 4
        else:
            raise ValueError("unsupported wire type %d at byte %d" % (wire, i))
        yield field, wire, i, j
        i = j


def flush_floats(buf, start, end):
    zeroed = 0
    for k in range(start, end - 3, 4):
        (x,) = struct.unpack_from("<f", buf, k)
        if x != 0.0 and abs(x) < FLT_MIN:
            struct.pack_into("<f", buf, k, 0.0)
            zeroed += 1
    return zeroed


def flush_tensor(buf, start, end):
    data_type, data = None, []
    for field, wire, a, b in fields(buf, start, end):
        if field == 2 and wire == 0:
            data_type, _ = varint(buf, a)
        elif (field == 9 or field == 4) and wire == 2:
            data.append((a, b))
    if data_type != 1:
        return 0
    return sum(flush_floats(buf, a, b) for a, b in data)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: flush_subnormals.py IN.onnx OUT.onnx")
    buf = bytearray(open(sys.argv[1], "rb").read())
    zeroed = 0
    for field, wire, a, b in fields(buf, 0, len(buf)):
        if field == 7 and wire == 2:
            for gf, gw, ga, gb in fields(buf, a, b):
                if gf == 5 and gw == 2:
                    zeroed += flush_tensor(buf, ga, gb)
    with open(sys.argv[2], "wb") as f:
        f.write(buf)
    print(zeroed)


if __name__ == "__main__":
    main()
