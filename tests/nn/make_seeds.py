#!/usr/bin/python3
"""make_seeds.py — the seed corpus of fuzz/fuzz_onnx.c: small ONNX models that together use every
op, attribute form and tensor encoding the loader handles (raw_data and typed fields, Constant
nodes, opset-dependent inputs, shape chains). Run with Debian's /usr/bin/python3 (python3-onnx,
numpy); writes fuzz/corpus/onnx/*.onnx. Each seed is a few hundred bytes to a few KB.
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus",
                   "onnx")
rng = np.random.default_rng(0)


def f32(name, *shape, typed=False):
    a = rng.standard_normal(shape).astype(np.float32)
    if typed:
        return helper.make_tensor(name, TensorProto.FLOAT, shape, a.flatten().tolist())
    return numpy_helper.from_array(a, name)


def i64(name, values, typed=False):
    a = np.array(values, dtype=np.int64)
    if typed:
        return helper.make_tensor(name, TensorProto.INT64, a.shape, a.flatten().tolist())
    return numpy_helper.from_array(a, name)


def save(name, nodes, inits, in_shape, outputs, opset):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                       in_shape)],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                           for o in outputs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def main():
    os.makedirs(OUT, exist_ok=True)
    N = helper.make_node
    # conv + bn + relu, depthwise conv + prelu, strided conv + clip, global pool, gemm
    save("convnet", [
        N("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[1, 1],
          kernel_shape=[3, 3], dilations=[1, 1], group=1),
        N("BatchNormalization", ["c1", "s", "sh", "m", "v"], ["bn"], epsilon=1e-5),
        N("Relu", ["bn"], ["r1"]),
        N("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=4),
        N("PRelu", ["c2", "slope"], ["p2"]),
        N("Conv", ["p2", "w3", "b3"], ["c3"], strides=[2, 2], auto_pad="SAME_UPPER"),
        N("Clip", ["c3"], ["k3"], min=0.0, max=6.0),
        N("GlobalAveragePool", ["k3"], ["g"]),
        N("Flatten", ["g"], ["fl"], axis=1),
        N("Gemm", ["fl", "wf", "bf"], ["y"], transB=1, alpha=1.0, beta=1.0),
    ], [f32("w1", 4, 3, 3, 3), f32("b1", 4), f32("s", 4), f32("sh", 4), f32("m", 4),
        numpy_helper.from_array(np.abs(rng.standard_normal(4)).astype(np.float32), "v"),
        f32("w2", 4, 1, 3, 3, typed=True), f32("slope", 4, 1, 1), f32("w3", 8, 4, 3, 3),
        f32("b3", 8), f32("wf", 5, 8), f32("bf", 5)], [1, 3, 8, 8], ["y"], 9)
    # the fr_detect head: transpose, shape chain, reshape, concat, softmax, slice, exp, div
    save("detect_head", [
        N("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
        N("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]),
        N("Shape", ["t"], ["sh"]),
        N("Constant", [], ["k0"], value=helper.make_tensor("k", TensorProto.INT64, [], [0])),
        N("Gather", ["sh", "k0"], ["n"], axis=0),
        N("Unsqueeze", ["n"], ["nu"], axes=[0]),
        N("Concat", ["nu", "m1", "two"], ["shape"], axis=0),
        N("Reshape", ["t", "shape"], ["r"]),
        N("Softmax", ["r"], ["sm"], axis=2),
        N("Slice", ["r"], ["sl"], starts=[0], ends=[1], axes=[2]),
        N("Exp", ["sl"], ["e"]),
        N("Constant", [], ["half"], value_float=0.5),
        N("Div", ["e", "half"], ["d"]),
        N("Sub", ["d", "half"], ["s2"]),
        N("Concat", ["sm", "s2"], ["y"], axis=2),
    ], [f32("w", 4, 3, 1, 1), i64("m1", [-1]), i64("two", [2], typed=True)], [1, 3, 4, 6],
        ["y"], 9)
    # upsampling and pooling, opset 13 forms (inputs instead of attributes)
    save("resize_pool", [
        N("MaxPool", ["x"], ["mp"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        N("Resize", ["mp", "", "scales"], ["up"], mode="nearest"),
        N("Resize", ["x", "", "", "sizes"], ["lin"], mode="linear",
          coordinate_transformation_mode="align_corners"),
        N("AveragePool", ["lin"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
          count_include_pad=1),
        N("Slice", ["ap", "st", "en", "ax", "sp"], ["sl"]),
        N("Unsqueeze", ["sl", "uax"], ["u"]),
        N("Squeeze", ["u", "uax"], ["sq"]),
        N("Clip", ["sq", "lo", "hi"], ["cl"]),
        N("Sigmoid", ["cl"], ["y"]),
    ], [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
        i64("sizes", [1, 2, 7, 9]), i64("st", [0, -1]), i64("en", [2, -100]),
        i64("ax", [1, 3]), i64("sp", [1, -2]), i64("uax", [0]),
        numpy_helper.from_array(np.array(0.1, np.float32), "lo"),
        numpy_helper.from_array(np.array(0.9, np.float32), "hi")], [1, 2, 5, 6], ["y"], 13)
    # old-opset forms: Upsample with attribute scales, Reshape with attribute shape, Softmax 1
    save("legacy", [
        N("Upsample", ["x"], ["up"], scales=[1.0, 1.0, 2.0, 2.0], mode="nearest"),
        N("Reshape", ["up"], ["r"], shape=[1, -1]),
        N("Softmax", ["r"], ["y"]),
    ], [], [1, 2, 2, 2], ["y"], 1)
    # matmul, add with broadcasting, identity, mul
    save("matmul", [
        N("MatMul", ["x", "w"], ["mm"]),
        N("Add", ["mm", "b"], ["a"]),
        N("Identity", ["a"], ["i"]),
        N("Mul", ["i", "i"], ["y"]),
    ], [f32("w", 4, 3), f32("b", 3)], [2, 5, 4], ["y"], 13)
    return 0


if __name__ == "__main__":
    main()
