#!/usr/bin/env python3
# slow_jpeg.py — writes a valid progressive greyscale JPEG that is small but slow to decode: a DC
# scan, then SCANS identical AC scans, each a few bytes (end-of-band runs over every block) but
# each costing the decoder a pass over every block of the image. Under a server's byte and pixel
# limits it ties a decoder up for seconds: what --max-decode-ms is for (test_serve_security.sh).
# Usage: slow_jpeg.py OUT WIDTH HEIGHT SCANS
import struct
import sys


class Bits:
    """Entropy-coded data: bits MSB first, 0xFF bytes stuffed, padded with 1s."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, count):
        for i in range(count - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc = 0
                self.n = 0

    def done(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)
        return bytes(self.out)


def segment(marker, payload):
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def main():
    out, width, height, scans = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    data = bytearray(b"\xff\xd8")
    data += segment(0xDB, bytes([0]) + bytes([1] * 64))
    data += segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0]))
    # DC table 0: one code "0" for category 0 (a difference of 0). AC table 0: the 15 end-of-band
    # run symbols r<<4 (a run of 2^r + r more bits blocks), codes of 4 bits in that order.
    data += segment(0xC4, bytes([0x00]) + bytes([1] + [0] * 15) + bytes([0]))
    data += segment(0xC4, bytes([0x10]) + bytes([0, 0, 0, 15] + [0] * 12) +
                    bytes(r << 4 for r in range(15)))
    dc = Bits()
    for _ in range(blocks):
        dc.put(0, 1)
    data += segment(0xDA, bytes([1, 1, 0x00, 0, 0, 0x00])) + dc.done()
    ac = Bits()
    left = blocks
    while left:
        run = min(left, 32767)
        r = run.bit_length() - 1
        ac.put(r, 4)
        ac.put(run - (1 << r), r)
        left -= run
    ac_scan = segment(0xDA, bytes([1, 1, 0x00, 1, 63, 0x00])) + ac.done()
    for _ in range(scans):
        data += ac_scan
    data += b"\xff\xd9"
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
