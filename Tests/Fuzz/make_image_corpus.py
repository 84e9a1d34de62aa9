#!/usr/bin/python3
"""Writes the PNG and JPEG seed files of the image-folder fuzz target (Tests/Fuzz/Corpus/image) with Debian's PIL:
the variants a decoder must handle (bit depths, colour types, palette with transparency, interlacing; baseline,
progressive, grayscale, CMYK/Adobe, subsampling, restart intervals, optimized Huffman tables). Small on purpose, so
mutations land in headers and tables rather than in pixel data. Run with /usr/bin/python3 from the repository root."""
import os
import struct
import zlib
from PIL import Image

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus", "image")
os.makedirs(out, exist_ok=True)


def gradient(mode, size):
    w, h = size
    image = Image.new("RGB", size)
    image.putdata([((x * 37) % 256, (y * 53) % 256, ((x + y) * 29) % 256) for y in range(h) for x in range(w)])
    return image.convert(mode)


gradient("L", (12, 10)).save(f"{out}/gray8.png")
gradient("RGB", (9, 7)).save(f"{out}/rgb.png")
gradient("LA", (8, 6)).save(f"{out}/gray_alpha.png")
gradient("1", (13, 5)).save(f"{out}/bilevel.png")
gradient("RGB", (11, 9)).convert("P", palette=Image.ADAPTIVE, colors=16).save(f"{out}/palette_transparent.png", transparency=3)
gradient("L", (7, 7)).convert("I;16").save(f"{out}/gray16.png")

gradient("RGB", (16, 16)).save(f"{out}/baseline_420.jpg", quality=80, subsampling=2)
gradient("RGB", (13, 11)).save(f"{out}/baseline_444.jpg", quality=90, subsampling=0)
gradient("L", (16, 9)).save(f"{out}/gray.jpg", quality=75)
gradient("RGB", (24, 16)).save(f"{out}/progressive.jpg", quality=80, progressive=True)
gradient("CMYK", (10, 10)).save(f"{out}/cmyk_adobe.jpg", quality=80)
gradient("RGB", (32, 16)).save(f"{out}/optimized.jpg", quality=70, optimize=True)


def adam7_png(path, image):
    """PIL does not write interlaced PNGs: an RGBA image in Adam7's seven passes, each scanline with filter 0."""
    w, h = image.size
    pixels = image.load()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        for y in range(y0, h, dy):
            row = [pixels[x, y] for x in range(x0, w, dx)]
            if row:
                raw += b"\0" + bytes(c for p in row for c in p)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 1)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))


adam7_png(f"{out}/rgba_interlaced.png", gradient("RGBA", (10, 10)))
