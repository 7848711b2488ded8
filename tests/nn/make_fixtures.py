#!/usr/bin/python3
"""make_fixtures.py — makes the real-photo inputs of the runtime's parity tests.

Run with Debian's /usr/bin/python3 (numpy) on a machine with the vips command-line tool, node and
onnxruntime-node (scripts/fetch-oracle.sh), the default model pack and the sample photos
(scripts/fetch-models.sh). Writes, under tests/nn/fixtures/, uint8 pixel files (row-major, HWC)
that tests/unit/test_nn_parity.c turns into float tensors:
  detect_240x320.rgb  sample1.jpg squeezed to 320x240 RGB (the detector's input size)
  faceN_112.rgb       the most confident face of sampleN.jpg (N = 1, 2) found by fr_detect with
                      onnxruntime, a square crop 1.3x the box, resized to 112x112 RGB
  faceN_64.gray       the same crop at 64x64 grayscale (the landmark model's input)
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "fixtures")


def data_dir():
    d = os.environ.get("FACESEARCH_DATA_DIR")
    if d:
        return d
    x = os.environ.get("XDG_DATA_HOME")
    if x:
        return os.path.join(x, "facesearch")
    return os.path.join(os.environ["HOME"], ".local", "share", "facesearch")


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def raw_pixels(vips_image, tmp, name):
    raw = os.path.join(tmp, name + ".raw")
    run("vips", "rawsave", vips_image, raw)
    return np.fromfile(raw, dtype=np.uint8)


def resized(src, w, h, tmp, name, gray=False):
    """src (any vips-readable file) squeezed to w x h; uint8 HWC."""
    out = os.path.join(tmp, name + ".v")
    run("vips", "thumbnail", src, out, w, "--height", h, "--size", "force")
    if gray:
        g = os.path.join(tmp, name + "_g.v")
        run("vips", "colourspace", out, g, "b-w")
        out = g
    px = raw_pixels(out, tmp, name)
    assert px.size == w * h * (1 if gray else 3), (name, px.size)
    return px


def best_face(photo, tmp):
    """Corner box (pixels of the photo) of the most confident fr_detect face."""
    px = resized(photo, 320, 240, tmp, "det").reshape(240, 320, 3).astype(np.float32)
    x = ((px - 127.0) / 128.0).transpose(2, 0, 1).copy()
    inp = os.path.join(tmp, "det.f32")
    x.tofile(inp)
    model = os.path.join(data_dir(), "models", "default", "fr_detect.onnx")
    run("node", os.path.join(ROOT, "tests", "ort", "run_ort.js"), model, inp, "1,3,240,320", tmp)
    scores = np.fromfile(os.path.join(tmp, "out0.f32"), np.float32).reshape(-1, 2)
    boxes = np.fromfile(os.path.join(tmp, "out1.f32"), np.float32).reshape(-1, 4)
    i = int(np.argmax(scores[:, 1]))
    w, h = (int(v) for v in subprocess.check_output(
        ["vipsheader", "-f", "width", photo]).split() + subprocess.check_output(
        ["vipsheader", "-f", "height", photo]).split())
    x1, y1, x2, y2 = boxes[i] * np.array([w, h, w, h])
    print(f"{os.path.basename(photo)}: face score {scores[i, 1]:.3f} box "
          f"{x1:.0f},{y1:.0f},{x2:.0f},{y2:.0f}")
    return x1, y1, x2, y2, w, h


def main():
    samples = os.path.join(data_dir(), "samples")
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        det = resized(os.path.join(samples, "sample1.jpg"), 320, 240, tmp, "detect")
        det.tofile(os.path.join(OUT, "detect_240x320.rgb"))
        for n in (1, 2):
            photo = os.path.join(samples, f"sample{n}.jpg")
            x1, y1, x2, y2, w, h = best_face(photo, tmp)
            side = 1.3 * max(x2 - x1, y2 - y1)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            left = int(max(0, min(w - side, cx - side / 2)))
            top = int(max(0, min(h - side, cy - side / 2)))
            side = int(min(side, w - left, h - top))
            crop = os.path.join(tmp, f"crop{n}.v")
            run("vips", "crop", photo, crop, left, top, side, side)
            resized(crop, 112, 112, tmp, f"f{n}").tofile(os.path.join(OUT, f"face{n}_112.rgb"))
            resized(crop, 64, 64, tmp, f"l{n}", gray=True).tofile(
                os.path.join(OUT, f"face{n}_64.gray"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
