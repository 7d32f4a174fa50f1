"""png_colors.py FILE RRGGBB...: the image's width and height, then how many
pixels have each colour (within 8 per channel), one "RRGGBB N" per line.

A screenshot's colours say whether charts were drawn, not only present in
the DOM.  The decoder handles what Chromium writes: 8-bit RGB or RGBA,
non-interlaced, the five PNG filters.  Standard library only.
"""
import struct
import sys
import zlib


def read_png(path):
    """read_png returns (width, height, channels, rows of bytes)"""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise SystemExit('not a PNG: %s' % path)
    pos, idat, header = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = header
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise SystemExit('unsupported PNG: depth %d type %d interlace %d' % (depth, ctype, interlace))
    channels = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        unfilter(ftype, line, prev, channels)
        rows.append(line)
        prev = line
    return width, height, channels, rows


def unfilter(ftype, line, prev, bpp):
    """unfilter undoes one scanline's PNG filter in place"""
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if ftype == 1:
            line[i] = (line[i] + a) & 0xff
        elif ftype == 2:
            line[i] = (line[i] + b) & 0xff
        elif ftype == 3:
            line[i] = (line[i] + (a + b) // 2) & 0xff
        elif ftype == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pred) & 0xff


def main():
    width, height, channels, rows = read_png(sys.argv[1])
    wanted = [tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in sys.argv[2:]]
    counts = [0] * len(wanted)
    for line in rows:
        for x in range(0, len(line), channels):
            r, g, b = line[x], line[x + 1], line[x + 2]
            for k, (wr, wg, wb) in enumerate(wanted):
                if abs(r - wr) <= 8 and abs(g - wg) <= 8 and abs(b - wb) <= 8:
                    counts[k] += 1
    print(width, height)
    for h, n in zip(sys.argv[2:], counts):
        print(h, n)


if __name__ == '__main__':
    main()
