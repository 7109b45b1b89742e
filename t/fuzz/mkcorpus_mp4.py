#!/usr/bin/env python3
"""Seeds of fuzz_mp4 (t/fuzz/corpus/fuzz_mp4/): small recordings in the
shapes the remuxer takes.  A tiny H.265 stream from Debian's ffmpeg
(libx265, 64x64, 6 frames, a key frame every 3, two slices) as plain
Annex B and wrapped in PTMF records with G.711 chunks from the real
recording, timed as a DualCam times them; one that starts before its
first key frame; one with B-frames in open GOPs; the head of the real
recording.  The first byte of each
seed is fuzz_mp4's option byte (bit 0: audio).

    python3 t/fuzz/mkcorpus_mp4.py      (rewrites the seeds)
"""

import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'fuzz_mp4')
REAL = os.path.join(HERE, '..', '..', '..', 'shared', 'fixtures', 'video',
                    'dualcam-front-20241101T070713Z.h265')


def x265(params='bframes=0:keyint=3:min-keyint=3:scenecut=0:slices=2:'
                'repeat-headers=1'):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, 's.h265')
        subprocess.run(['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i',
                        'testsrc2=size=64x64:rate=20', '-frames:v', '6',
                        '-pix_fmt', 'yuv420p', '-c:v', 'libx265',
                        '-x265-params', 'log-level=error:' + params,
                        '-f', 'hevc', out], check=True)
        with open(out, 'rb') as f:
            return f.read()


def access_units(stream):
    starts = []
    i = stream.find(b'\x00\x00\x01')
    while i >= 0:
        starts.append(i - 1 if i > 0 and stream[i - 1] == 0 else i)
        i = stream.find(b'\x00\x00\x01', i + 3)
    aus, cur, vcl = [], b'', False
    for k, s in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(stream)
        nal = stream[s:end]
        h = nal.index(b'\x00\x00\x01') + 3
        t = (nal[h] >> 1) & 0x3f
        first = t < 32 and nal[h + 2] & 0x80
        if vcl and (first or 32 <= t <= 35 or t == 39):
            aus.append(cur)
            cur, vcl = b'', False
        cur += nal
        vcl = vcl or t < 32
    aus.append(cur)
    return aus


def record(kind, seq, ts, payload):
    return (b'PTMF' + bytes([0, ord(kind)]) + bytes.fromhex('00140005d002')
            + struct.pack('<H', seq) + bytes(10)
            + struct.pack('<II', len(payload), ts & 0xffffffff) + bytes(4)
            + payload)


def ptmf(aus, audio, t0=228527346):
    out, ts, ta, na = b'', t0, t0 + 63000, 0
    for k, au in enumerate(aus):
        irap = any(16 <= (au[i + 3] >> 1) & 0x3f <= 23
                   for i in range(len(au) - 4)
                   if au[i:i + 3] == b'\x00\x00\x01')
        out += record('I' if irap else 'P', k, ts, au)
        while audio and ta < ts + 50000 and na < len(audio):
            out += record('A', na, ta, audio[na])
            ta += 40000
            na += 1
        ts += 66600 if k % 2 == 0 else 33400
    return out


def main():
    with open(REAL, 'rb') as f:
        real = f.read()
    audio, off = [], 0
    while off < len(real):
        n = struct.unpack('<I', real[off + 24:off + 28])[0]
        if real[off + 5] == ord('A'):
            audio.append(real[off + 36:off + 36 + n])
        off += 36 + n

    stream = x265()
    aus = access_units(stream)
    seeds = {
        'annexb': b'\x10' + stream,
        'ptmf': b'\x03' + ptmf(aus, audio[:8]),
        'ptmf-no-audio': b'\x20' + ptmf(aus, audio[:8]),
        'ptmf-late-key': b'\x05' + ptmf(aus[1:], audio[:4]),
        'annexb-late-key': b'\x00' + b''.join(aus[1:]),
        'real-head': b'\x01' + real[:4096],
        # B-frames, an open GOP (CRA pictures with RASL ones after them)
        'annexb-bframes': b'\x08' + x265('bframes=2:keyint=4:min-keyint=4:'
                                          'scenecut=0'),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)
        print('%-16s %6d bytes' % (name, len(data)))


if __name__ == '__main__':
    main()
