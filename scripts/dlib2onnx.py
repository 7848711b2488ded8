#!/usr/bin/env python3
"""dlib2onnx.py -- converts dlib's ResNet face recognizer (dlib_face_recognition_resnet_model_v1.dat,
a serialised dlib::loss_metric network) into an ONNX graph our runtime runs.

Run at install time by scripts/fetch-models.sh (the manifest's 'convert' line); dlib is not needed:
this reads dlib's serialisation format directly. The format is nested: each layer writes a version
int, then the network below it, then its own details (a name string such as "con_4" followed by
its parameters), then training state we skip. Tag and skip layers write only a version and the
network below; their order in the layer list is what tells which is which (see interpret()).

The graph takes one 150 x 150 RGB chip as float pixel values 0..255 (NCHW) and outputs the
128-d descriptor. dlib's input scaling ((v - channel mean) / 256) is folded into the first
convolution (which has no padding, so the fold is exact), each affine layer (a frozen batch
norm) into the convolution before it, and the zero-extension of dlib's add_prev (a sum of two
tensors of different channel counts keeps the larger, missing channels read as 0) into a 2x2
stride-2 convolution that both averages (dlib's avg_pool) and places the channels.

    dlib2onnx.py INPUT.dat OUTPUT.onnx
"""
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        if self.pos >= len(self.data):
            raise ValueError("truncated file")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def int(self):
        head = self.byte()
        size = head & 0x0F
        if size == 0 or size > 8:
            raise ValueError(f"bad integer header 0x{head:02x} at byte {self.pos - 1}")
        v = int.from_bytes(self.take(size), "little")
        return -v if head & 0x80 else v

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated file")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def string(self):
        n = self.int()
        return self.take(n).decode("latin-1")

    def peek_string(self):
        save = self.pos
        try:
            return self.string()
        except (ValueError, UnicodeDecodeError):
            return None
        finally:
            self.pos = save

    def boolean(self):
        c = self.byte()
        if c not in (ord("0"), ord("1")):
            raise ValueError(f"bad bool at byte {self.pos - 1}")
        return c == ord("1")

    def float(self):  # dlib's float_details: int64 mantissa, int16 exponent
        m = self.int()
        e = self.int()
        return float(np.ldexp(float(m), e))

    def tensor(self):
        if self.int() != 2:
            raise ValueError("unexpected tensor version")
        shape = [self.int() for _ in range(4)]
        n = int(np.prod(shape))
        return np.frombuffer(self.take(4 * n), dtype="<f4").reshape(shape).astype(np.float32)

    def alias(self):
        if self.int() != 1:
            raise ValueError("unexpected alias_tensor version")
        return [self.int() for _ in range(4)]


def read_details(r):
    """One layer's own part: returns a dict with 'type' and its parameters."""
    name = r.string()
    if name in ("con_4", "con_5", "con_6"):
        params = r.tensor().reshape(-1)
        d = {"type": "con", "filters": r.int(), "nr": r.int(), "nc": r.int(),
             "sy": r.int(), "sx": r.int(), "py": r.int(), "px": r.int()}
        fshape, bshape = r.alias(), r.alias()
        for _ in range(4):
            r.float()  # learning-rate and weight-decay multipliers
        use_bias = r.boolean() if name in ("con_5", "con_6") else True
        if name == "con_6":
            r.boolean()  # use_relu (fused relu; not used by this model)
        nw = int(np.prod(fshape))
        d["w"] = params[:nw].reshape(fshape)
        d["b"] = (params[nw:nw + int(np.prod(bshape))].reshape(-1) if use_bias
                  else np.zeros(d["filters"], np.float32))
        return d
    if name in ("affine_", "affine_2"):
        params = r.tensor().reshape(-1)
        gshape, bshape = r.alias(), r.alias()
        mode = r.int()
        if name == "affine_2":
            r.boolean()  # disabled
        ng = int(np.prod(gshape))
        return {"type": "affine", "mode": mode, "gamma": params[:ng],
                "beta": params[ng:ng + int(np.prod(bshape))]}
    if name in ("relu_", "relu_2"):
        if name == "relu_2":
            r.boolean()
        return {"type": "relu"}
    if name in ("max_pool_2", "avg_pool_2"):
        d = {"type": name[:-2], "nr": r.int(), "nc": r.int(), "sy": r.int(), "sx": r.int(),
             "py": r.int(), "px": r.int()}
        return d
    if name in ("fc_2", "fc_3"):
        d = {"type": "fc", "outputs": r.int(), "inputs": r.int()}
        params = r.tensor()
        r.alias(), r.alias()
        d["bias_mode"] = r.int()
        for _ in range(4):
            r.float()
        if name == "fc_3":
            r.boolean()
        d["params"] = params
        return d
    if name == "add_prev_":
        return {"type": "add_prev"}
    if name == "input_rgb_image_sized":
        d = {"type": "input", "mean": [r.float(), r.float(), r.float()]}
        d["nr"], d["nc"] = r.int(), r.int()
        return d
    raise ValueError(f"unsupported dlib layer '{name}'")


def read_layers(r, out):
    """Reads one (sub)network into out, innermost layer first; tag/skip layers become 'mark'."""
    version = r.int()
    if r.peek_string() == "input_rgb_image_sized":  # the layer right above the input
        out.append(read_details(r))
        out.append(read_details(r))
        for _ in range(3):
            r.boolean()
        for _ in range(3):
            r.tensor()
        if version >= 3:
            r.int()
        return
    if version == 1:  # a tag or a skip layer
        read_layers(r, out)
        out.append({"type": "mark"})
        return
    if version != 2:
        raise ValueError(f"unexpected layer version {version} at byte {r.pos}")
    read_layers(r, out)
    out.append(read_details(r))
    for _ in range(3):
        r.boolean()
    for _ in range(3):
        r.tensor()


def read_net(data):
    r = Reader(data)
    if r.int() != 1:
        raise ValueError("not a dlib network with a loss layer")
    loss = r.string()
    if loss == "loss_metric_2":
        r.float(), r.float()
    elif loss != "loss_metric_":
        raise ValueError(f"not a metric-learning network (loss '{loss}')")
    layers = []
    read_layers(r, layers)
    if r.pos != len(data):
        raise ValueError(f"{len(data) - r.pos} bytes left after the network")
    return layers


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, array):
        name = f"w{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def op(self, kind, inputs, **attrs):
        self.count += 1
        out = f"t{self.count}"
        self.nodes.append(helper.make_node(kind, inputs, [out], name=f"{kind}_{self.count}",
                                           **attrs))
        return out

    def conv(self, x, w, b, stride, pads):
        return self.op("Conv", [x, self.const(w), self.const(b)], kernel_shape=list(w.shape[2:]),
                       strides=[stride, stride], pads=pads)


def out_size(n, k, s, p):
    return 1 + (n + 2 * p - k) // s


def build(layers):
    """Interprets the layer list (innermost first) into an ONNX model."""
    g = Graph()
    first = layers[0]
    if first["type"] != "input":
        raise ValueError("the network does not start with input_rgb_image_sized")
    mean = np.array(first["mean"], np.float32)
    x, ch, size = "input", 3, first["nr"]
    tag1 = tag2 = None  # (tensor, channels, size) saved by tag layers
    pending_conv = None  # a conv waiting for the affine that follows it
    i = 1

    def flush():
        nonlocal x, pending_conv
        if pending_conv:
            d = pending_conv
            pad = [d["py"], d["px"], d["py"], d["px"]]
            x = g.conv(x, d["w"], d["b"], d["sy"], pad)
            pending_conv = None

    while i < len(layers):
        d = layers[i]
        t = d["type"]
        if t == "con":
            flush()
            w, b = d["w"].astype(np.float64), d["b"].astype(np.float64)
            if i == 1:  # fold (v - mean) / 256 into the first convolution
                if d["py"] or d["px"]:
                    raise ValueError("the first convolution is padded: cannot fold the input")
                b = b - np.einsum("ochw,c->o", w, mean.astype(np.float64)) / 256.0
                w = w / 256.0
            pending_conv = dict(d, w=w, b=b)
            ch, size = d["filters"], out_size(size, d["nr"], d["sy"], d["py"])
        elif t == "affine":
            if not pending_conv or d["mode"] != 0:
                raise ValueError("an affine layer that does not follow a convolution")
            gamma = d["gamma"].astype(np.float64)
            pending_conv["w"] = pending_conv["w"] * gamma[:, None, None, None]
            pending_conv["b"] = pending_conv["b"] * gamma + d["beta"]
        elif t == "relu":
            flush()
            x = g.op("Relu", [x])
        elif t == "max_pool":
            flush()
            x = g.op("MaxPool", [x], kernel_shape=[d["nr"], d["nc"]], strides=[d["sy"], d["sx"]],
                     pads=[d["py"], d["px"], d["py"], d["px"]])
            size = out_size(size, d["nr"], d["sy"], d["py"])
        elif t == "mark":
            flush()
            if i + 1 < len(layers) and layers[i + 1]["type"] == "mark":
                # tag2 (the block's output) then skip1 (back to the block's input)
                tag2 = (x, ch, size)
                x, ch, size = tag1
                i += 1
            else:
                tag1, tag2 = (x, ch, size), None
        elif t == "avg_pool":
            flush()
            if d["nr"] == 0 and d["nc"] == 0:  # avg_pool_everything
                x = g.op("GlobalAveragePool", [x])
                size = 1
            else:
                if d["py"] or d["px"] or tag2 is None:
                    raise ValueError("unsupported avg_pool")
                # average and place channels in one convolution: out channel c <- in channel c
                out_ch = tag2[1]
                w = np.zeros((out_ch, ch, d["nr"], d["nc"]))
                for c in range(ch):
                    w[c, c] = 1.0 / (d["nr"] * d["nc"])
                x = g.conv(x, w, np.zeros(out_ch), d["sy"], [0, 0, 0, 0])
                ch, size = out_ch, out_size(size, d["nr"], d["sy"], 0)
        elif t == "add_prev":
            flush()
            other = tag2 if tag2 is not None else tag1
            ox, och, osize = other
            if och != ch:
                raise ValueError("add_prev of different channel counts")
            if osize < size:  # dlib reads outside a tensor as 0: extend by a padded 1x1 identity
                e = size - osize
                ox = g.conv(ox, np.eye(ch)[:, :, None, None], np.zeros(ch), 1, [0, 0, e, e])
            elif osize > size:
                e = osize - size
                x = g.conv(x, np.eye(ch)[:, :, None, None], np.zeros(ch), 1, [0, 0, e, e])
                size = osize
            x = g.op("Add", [x, ox])
            tag2 = None
        elif t == "fc":
            flush()
            if d["bias_mode"] != 1 and d["bias_mode"] != 0:
                raise ValueError("unknown fc bias mode")
            p = d["params"].reshape(-1)
            nin = ch * size * size
            has_bias = d["params"].shape[0] == nin + 1
            wmat = p.reshape(nin + has_bias, d["outputs"])
            x = g.op("Flatten", [x], axis=1)
            bias = wmat[nin] if has_bias else np.zeros(d["outputs"])
            x = g.op("Gemm", [x, g.const(wmat[:nin]), g.const(bias)])
            ch = d["outputs"]
        else:
            raise ValueError(f"unexpected layer '{t}'")
        i += 1
    flush()
    nodes = g.nodes
    nodes[-1].output[0] = "embedding"
    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, first["nr"], first["nc"]])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, ch])], g.inits)
    model = helper.make_model(graph, producer_name="facesearch dlib2onnx",
                              opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.checker.check_model(model)
    return model


def main(argv):
    if len(argv) != 3:
        print("usage: dlib2onnx.py INPUT.dat OUTPUT.onnx", file=sys.stderr)
        return 2
    try:
        with open(argv[1], "rb") as f:
            model = build(read_net(f.read()))
    except (OSError, ValueError) as e:
        print(f"dlib2onnx: {argv[1]}: {e}", file=sys.stderr)
        return 1
    with open(argv[2], "wb") as f:
        f.write(model.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
