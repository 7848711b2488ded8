#!/usr/bin/python3
"""make_insightface_models.py — small stand-ins for insightface's model files, and the images that
exercise them, for the tests of the insightface path (tests/cli/test_insightface.sh,
tests/unit/test_insightface_*.c). We cannot ship insightface's weights; these models have the same
input/output names, shapes and output order, and weights chosen so that what they detect is known
by hand.

Run with Debian's /usr/bin/python3 (python3-onnx, python3-numpy): it rewrites, next to itself,
  det_scrfd.onnx        SCRFD-like detector as det_10g.onnx: input "input.1" [1,3,?,?]; outputs, in
                        insightface's order, scores (N8,1) (N16,1) (N32,1), boxes (N,4) x3,
                        keypoints (N,10) x3, named as det_10g's; N_s = (H/s)*(W/s)*2
  det_scrfd_nokps.onnx  the same without the keypoint outputs (6 outputs)
  arcface_512.onnx      ArcFace-like recognizer: input "input.1" [None,3,112,112], output "683" (1,512)
  arcface_128.onnx      the same with a 128-d output (a wrong signature)
  genderage_like.onnx   [None,3,96,96] -> (1,3); landmark2d106_like.onnx [None,3,192,192] -> (1,212);
  landmark3d68_like.onnx [None,3,192,192] -> (1,3309): the other models of a buffalo_l folder
  layout_640x480.png, layout_1280x960.png, layout_480x960.png: images whose detections are known
  plain_640x480.png: a different face layout, for compare
The files are committed, so the tests need neither python nor onnx; the output is deterministic
(fixed seed), so re-running the script reproduces them.

How the detector works (everything in the 640x640 letterboxed input, x = (v - 127.5) / 128):
  1. a 1x1 convolution + Relu turns each pixel into six features: relu(x_r), relu(x_g), relu(x_b),
     relu(-x_r), relu(-x_g), relu(-x_b);
  2. for stride s, an s x s convolution with stride s averages them over each grid cell:
       anchor 0 logit = 8 * mean(relu(x_c)  - relu(x_o1)  - relu(x_o2))  - 4
       anchor 1 logit = 8 * mean(relu(-x_c) - relu(-x_o1) - relu(-x_o2)) - 4
     with c the stride's colour channel (8: red, 16: green, 32: blue) and o1, o2 the other two.
     So a cell filled with the pure colour (255 in c, 0 elsewhere) scores
     sigmoid(8 * 0.99609375 - 4) = 0.98145 at anchor 0; a cell filled with its complement (0 in c,
     255 elsewhere: cyan, magenta, yellow) scores the same at anchor 1; grey, black, white and every
     other pure colour give a logit <= -4 (score <= 0.018). A cell half covered stays below 0.5.
  3. scores = sigmoid(logit); box distances and keypoint offsets are constants per anchor (a 1x1
     convolution with zero weights and those biases), in units of the stride:
       anchor 0: distances (left, top, right, bottom) = (1.5, 2, 2.5, 3),
                 keypoints (-0.5,-0.5) (1.5,-0.5) (0.5,0.5) (-0.3,1.6) (1.3,1.6)
       anchor 1: distances (3, 2.5, 2, 2),
                 keypoints (-1.5,-1) (0.5,-1) (-0.5,0) (-1.3,1) (0.3,1)
  4. outputs: Transpose to NHWC then Reshape to (-1, 1 | 4 | 10), as SCRFD's export does, so row
     k = (row * W/s + col) * 2 + anchor.
A face is then: centre (col * s, row * s) of the cell's anchor; box (cx - d0*s, cy - d1*s,
cx + d2*s, cy + d3*s); keypoint i (cx + k_i.x * s, cy + k_i.y * s); all times the letterbox scale.
The layout images put one coloured cell for each (stride, anchor) on a grey (128) background.
"""
import os
import struct
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 11

STRIDES = (8, 16, 32)
ANCHORS = 2
GAIN, BIAS = 8.0, -4.0
DIST = ((1.5, 2.0, 2.5, 3.0), (3.0, 2.5, 2.0, 2.0))
KPS = (((-0.5, -0.5), (1.5, -0.5), (0.5, 0.5), (-0.3, 1.6), (1.3, 1.6)),
       ((-1.5, -1.0), (0.5, -1.0), (-0.5, 0.0), (-1.3, 1.0), (0.3, 1.0)))
# det_10g.onnx's output names, in its order: scores, boxes, keypoints; strides 8, 16, 32.
SCORE_NAMES = ("448", "471", "494")
BOX_NAMES = ("451", "474", "497")
KPS_NAMES = ("454", "477", "500")

# (stride, anchor) -> colour of the cell that fires it
COLOURS = {
    (8, 0): (255, 0, 0), (8, 1): (0, 255, 255),
    (16, 0): (0, 255, 0), (16, 1): (255, 0, 255),
    (32, 0): (0, 0, 255), (32, 1): (255, 255, 0),
}
# Cells (col, row) in the 640x640 input, per (stride, anchor), for landscape and portrait photos.
LANDSCAPE = {(8, 0): (10, 10), (8, 1): (50, 10), (16, 0): (5, 15), (16, 1): (25, 15),
             (32, 0): (5, 11), (32, 1): (15, 11)}
PORTRAIT = {(8, 0): (5, 5), (8, 1): (30, 5), (16, 0): (3, 12), (16, 1): (14, 12),
            (32, 0): (2, 12), (32, 1): (7, 15)}
# A second layout (for compare): two faces only, elsewhere.
PLAIN = {(16, 1): (10, 5), (32, 0): (12, 8)}


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def save(model, name):
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name)
    onnx.save(model, path)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def make_detector(with_kps):
    nodes, inits = [], []
    # 1. per-pixel features
    w = np.zeros((6, 3, 1, 1), np.float32)
    for c in range(3):
        w[c, c] = 1.0
        w[3 + c, c] = -1.0
    inits += [const("feat_w", w), const("feat_b", np.zeros(6, np.float32))]
    nodes.append(helper.make_node("Conv", ["input.1", "feat_w", "feat_b"], ["feat_conv"],
                                  kernel_shape=[1, 1]))
    nodes.append(helper.make_node("Relu", ["feat_conv"], ["feat"]))
    score_outs, box_outs, kps_outs = [], [], []
    for si, s in enumerate(STRIDES):
        c = si  # colour channel of this stride
        others = [o for o in range(3) if o != c]
        w = np.zeros((ANCHORS, 6, s, s), np.float32)
        for a, base in enumerate((0, 3)):
            w[a, base + c] = GAIN / (s * s)
            for o in others:
                w[a, base + o] = -GAIN / (s * s)
        inits += [const("cell_w%d" % s, w), const("cell_b%d" % s, np.full(ANCHORS, BIAS, np.float32))]
        logit = "logit%d" % s
        nodes.append(helper.make_node("Conv", ["feat", "cell_w%d" % s, "cell_b%d" % s], [logit],
                                      kernel_shape=[s, s], strides=[s, s]))
        nodes.append(helper.make_node("Sigmoid", [logit], ["score_map%d" % s]))
        heads = [("score", "score_map%d" % s, 1, SCORE_NAMES[si], score_outs)]
        # constant heads: zero-weight 1x1 convolutions of the logits with the constants as bias
        for kind, per, table, names, outs in (("box", 4, DIST, BOX_NAMES, box_outs),
                                               ("kps", 10, KPS, KPS_NAMES, kps_outs)):
            if kind == "kps" and not with_kps:
                continue
            bias = np.array([np.ravel(table[a]) for a in range(ANCHORS)], np.float32).ravel()
            inits += [const("%s_w%d" % (kind, s), np.zeros((ANCHORS * per, ANCHORS, 1, 1), np.float32)),
                      const("%s_b%d" % (kind, s), bias)]
            nodes.append(helper.make_node("Conv", [logit, "%s_w%d" % (kind, s), "%s_b%d" % (kind, s)],
                                          ["%s_map%d" % (kind, s)], kernel_shape=[1, 1]))
            heads.append((kind, "%s_map%d" % (kind, s), per, names[si], outs))
        for kind, src, per, out_name, outs in heads:
            inits.append(const("%s_shape%d" % (kind, s), np.array([-1, per], np.int64)))
            nodes.append(helper.make_node("Transpose", [src], ["%s_nhwc%d" % (kind, s)], perm=[0, 2, 3, 1]))
            nodes.append(helper.make_node("Reshape", ["%s_nhwc%d" % (kind, s), "%s_shape%d" % (kind, s)],
                                          [out_name]))
            outs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N%d" % s, per]))
    graph = helper.make_graph(
        nodes, "scrfd_like", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "?", "?"])],
        score_outs + box_outs + kps_outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="facesearch tests")


def make_classifier(rng, side, out_dim, out_name, graph_name):
    """A small ArcFace-like network: conv/PRelu/conv/BN/Relu/conv/Flatten/Gemm/BN -> (1, out_dim)."""
    def normal(shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    k1 = side // 14  # 112: 14 cells of 8 px; 96: 16 of 6; 192: 14 of 13
    k3 = (side // k1) // 2  # the last convolution covers what is left: 7x7 or 8x8 -> 1x1
    nodes = [
        helper.make_node("Conv", ["input.1", "c1_w", "c1_b"], ["c1"], kernel_shape=[k1, k1], strides=[k1, k1]),
        helper.make_node("PRelu", ["c1", "p1_slope"], ["p1"]),
        helper.make_node("Conv", ["p1", "c2_w", "c2_b"], ["c2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c2", "bn2_g", "bn2_b", "bn2_m", "bn2_v"], ["bn2"]),
        helper.make_node("Relu", ["bn2"], ["r2"]),
        helper.make_node("Conv", ["r2", "c3_w", "c3_b"], ["c3"], kernel_shape=[k3, k3]),
        helper.make_node("Flatten", ["c3"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], [out_name], transB=1),
    ]
    inits = [
        const("c1_w", normal((8, 3, k1, k1), 3 * k1 * k1)), const("c1_b", normal((8,), 8)),
        const("p1_slope", np.full((8, 1, 1), 0.25, np.float32)),
        const("c2_w", normal((16, 8, 2, 2), 32)), const("c2_b", np.zeros(16, np.float32)),
        const("bn2_g", (1 + 0.1 * rng.standard_normal(16)).astype(np.float32)),
        const("bn2_b", (0.1 * rng.standard_normal(16)).astype(np.float32)),
        const("bn2_m", (0.1 * rng.standard_normal(16)).astype(np.float32)),
        const("bn2_v", (1 + 0.1 * rng.random(16)).astype(np.float32)),
        const("c3_w", normal((32, 16, k3, k3), 16 * k3 * k3)), const("c3_b", normal((32,), 32)),
        const("fc_w", normal((out_dim, 32), 32)), const("fc_b", normal((out_dim,), 32)),
    ]
    graph = helper.make_graph(
        nodes, graph_name,
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["None", 3, side, side])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [1, out_dim])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="facesearch tests")


def write_png(name, rgb):
    """rgb: uint8 (h, w, 3). A plain PNG (colour type 2, no filter), so no imaging library is needed."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(png)
    print("wrote %s (%d bytes)" % (name, len(png)))


def layout_image(width, height, scale, cells):
    """A grey photo; each (stride, anchor) cell of the 640x640 input, scaled back by scale, filled
    with the colour that fires that anchor."""
    img = np.full((height, width, 3), 128, np.uint8)
    for (s, a), (col, row) in cells.items():
        x0, y0 = int(col * s * scale), int(row * s * scale)
        x1, y1 = int((col + 1) * s * scale), int((row + 1) * s * scale)
        assert x1 <= width and y1 <= height
        img[y0:y1, x0:x1] = COLOURS[(s, a)]
    return img


def main():
    save(make_detector(True), "det_scrfd.onnx")
    save(make_detector(False), "det_scrfd_nokps.onnx")
    rng = np.random.default_rng(20240611)
    save(make_classifier(rng, 112, 512, "683", "arcface_like"), "arcface_512.onnx")
    save(make_classifier(rng, 112, 128, "683", "arcface_like_128"), "arcface_128.onnx")
    save(make_classifier(rng, 96, 3, "fc1", "genderage_like"), "genderage_like.onnx")
    save(make_classifier(rng, 192, 212, "fc1", "landmark2d106_like"), "landmark2d106_like.onnx")
    save(make_classifier(rng, 192, 3309, "fc1", "landmark3d68_like"), "landmark3d68_like.onnx")
    write_png("layout_640x480.png", layout_image(640, 480, 1.0, LANDSCAPE))
    write_png("layout_1280x960.png", layout_image(1280, 960, 2.0, LANDSCAPE))
    write_png("layout_480x960.png", layout_image(480, 960, 1.5, PORTRAIT))
    write_png("plain_640x480.png", layout_image(640, 480, 1.0, PLAIN))


if __name__ == "__main__":
    main()
