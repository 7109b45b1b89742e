#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into t/fuzz/corpus/<target>/.

The seeds are committed; this script documents how they were made and
regenerates them (python3 t/fuzz/mkcorpus.py).  Input layouts are those
of the targets' header comments: FZ_OPTS_LEN = 8 option bytes first for
the server targets (see fz_opts_parse() in fuzz_driver.c).
"""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, '..', '..', '..', 'shared', 'fixtures',
                       'dualcam-session-2024-10-30.json')
if not os.path.exists(CAPTURE):
    CAPTURE = '/work/shared/fixtures/dualcam-session-2024-10-30.json'

IMEI = 863719061653375


def crc16(data, crc=0):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def frame(cmd, payload=b''):
    return struct.pack('>HH', cmd, len(payload)) + payload


def init(flags, protocol=5, imei=IMEI):
    return struct.pack('>HHQ', 0, protocol, imei) + bytes([flags, 0, 4, 0])


def data_frames(content, start=0, chunk=1024, enhanced=False, bad=()):
    out = b''
    crc = 0
    pos = start
    k = 0
    while pos < len(content):
        piece = content[pos:pos + chunk]
        crc = crc16(piece, crc)
        c = crc ^ 0xa5a5 if k in bad else crc
        if enhanced:
            out += frame(0x0e, struct.pack('>I', pos) + piece
                         + struct.pack('>H', c))
        else:
            out += frame(0x04, piece + struct.pack('>H', c))
        pos += len(piece)
        k += 1
    return out


def opts(metadata=1, timers=0, buf=0, repeats=1, crc_errors=3, maxsize=0,
         refuse=0, resume_mode=0, resume_arg=0, seed=0x12345678):
    b0 = (metadata & 1) | (timers & 1) << 1 | (buf & 7) << 2 \
        | (repeats & 7) << 5
    b1 = (crc_errors & 15) | (maxsize & 3) << 4 | (refuse & 3) << 6
    return bytes([b0, b1, resume_mode & 7, resume_arg & 255]) \
        + struct.pack('>I', seed)


def capture():
    with open(CAPTURE) as f:
        d = json.load(f)
    return [bytes(int(x, 16) for x in p['data'].split(','))
            for p in d['packets']]


def content_of(n, salt=0):
    return bytes(((i * 131 + salt * 7 + (i >> 8)) & 0xff) for i in range(n))


def write(target, name, blob):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(blob)


def server_seeds(cap):
    stream = b''.join(cap)
    jpeg = b''.join(p[4:-2] for p in cap if p[:2] == b'\x00\x04')
    meta = cap[1]

    write('fuzz_server', 'capture', opts() + stream)
    write('fuzz_server', 'capture-nometa-bytewise',
          opts(metadata=0, seed=1) + b''.join(cap[:1] + cap[2:]))
    write('fuzz_server', 'capture-resume',
          opts(resume_mode=3, resume_arg=7, seed=99) + stream)

    # packet 3 bad, RESUME 3 answered by SYNC 3, the rest again
    bad = cap[0] + meta + cap[2] + cap[3] \
        + data_frames(jpeg[:5 * 1024], bad=(2,)) \
        + frame(3, struct.pack('>I', 3)) + data_frames(jpeg, 2 * 1024) \
        + init(0x40)
    write('fuzz_server', 'capture-badcrc-resync', opts(timers=1) + bad)

    # two camera files, the second one after 00 09
    a, b = content_of(1500, 1), content_of(3000, 2)
    two = init(0x44 | 0x10) \
        + frame(0x0b, bytes([1, 4]) + bytes(11)) \
        + frame(1, struct.pack('>IH', 2, 0)) + frame(3, struct.pack('>I', 1)) \
        + data_frames(a) + init(0x50) \
        + frame(0x0b, bytes([2, 16]) + bytes(12)) \
        + frame(1, struct.pack('>IH', 3, 0)) + frame(3, struct.pack('>I', 1)) \
        + data_frames(b) + init(0x40)
    write('fuzz_server', 'two-files', opts(buf=5, seed=7) + two)

    # path mode (ADAS): PATH, 15-byte metadata, byte units, 0x000E data
    c = content_of(2500, 3)
    path = b'adas/video/231020/231452.mp4\x00'
    adas = init(0x42) + frame(0x0d, path) + frame(0x0b, bytes(15)) \
        + frame(1, struct.pack('>IH', len(c), 0)) \
        + frame(3, struct.pack('>I', 0)) + data_frames(c, enhanced=True) \
        + init(0x40)
    write('fuzz_server', 'path-enhanced', opts(seed=3) + adas)
    dsm = init(0x42) + frame(0x0d, b'dsm/picture/231020/231452.jpg\x00') \
        + frame(0x0b, bytes(26)) \
        + frame(1, struct.pack('>IH', len(c), 0)) \
        + frame(3, struct.pack('>I', 0)) + data_frames(c, chunk=700) \
        + init(0x40)
    write('fuzz_server', 'path-dsm', opts(seed=4, resume_mode=2,
                                          resume_arg=9) + dsm)

    # protocol 6: JSON metadata
    js = init(0x42, protocol=6) + frame(0x0d, b'dualcam/photo/1.jpg') \
        + frame(0x0b, b'{"time":1730288148,"trigger":0}') \
        + frame(1, struct.pack('>IH', 900, 0)) \
        + frame(3, struct.pack('>I', 0)) + data_frames(content_of(900)) \
        + init(0x40, protocol=6)
    write('fuzz_server', 'protocol6-json', opts(seed=5) + js)

    # device statuses, START 0, invalid IMEI, refusal, max size
    st = init(0x44 | 0x08) + frame(5, struct.pack('>I', 17)) \
        + frame(0x0b, bytes([1, 8]) + bytes(11)) \
        + frame(1, struct.pack('>IH', 0, 0)) + init(0x40)
    write('fuzz_server', 'status-start0', opts(seed=6) + st)
    write('fuzz_server', 'status-abort',
          opts(seed=8) + cap[0] + meta + cap[2] + cap[3] + cap[4]
          + frame(5, struct.pack('>I', 4)))
    write('fuzz_server', 'bad-imei',
          opts() + init(0x44, imei=10 ** 15) + cap[1])
    write('fuzz_server', 'refused', opts(refuse=1) + stream)
    write('fuzz_server', 'too-big', opts(maxsize=1) + stream)
    write('fuzz_server', 'silent-after-crc',
          opts(timers=1, repeats=2) + cap[0] + meta + cap[2] + cap[3]
          + data_frames(jpeg[:3 * 1024], bad=(1,)))


def session_seeds(cap):
    stream = b''.join(cap)

    def head(o, muts=(), seed=1):
        return o + bytes([len(muts)]) + struct.pack('>I', seed) \
            + b''.join(bytes([op]) + struct.pack('>H', idx)
                       + bytes([a1, a2]) for op, idx, a1, a2 in muts)

    write('fuzz_session', 'capture', head(opts()) + stream)
    write('fuzz_session', 'capture-nometa', head(opts(metadata=0)) + stream)
    # frame 0 is the init, 1 the metadata, 2 START, 3 SYNC, 4.. DATA
    write('fuzz_session', 'capture-crc',
          head(opts(), [(1, 9, 0, 1)]) + stream)
    write('fuzz_session', 'capture-crc-hold',
          head(opts(), [(1, 9, 0, 1), (12, 9, 2, 0)]) + stream)
    write('fuzz_session', 'capture-drop-dup',
          head(opts(), [(2, 6, 0, 0), (3, 20, 0, 0)]) + stream)
    write('fuzz_session', 'capture-silence',
          head(opts(timers=1, repeats=3), [(6, 12, 0, 0)]) + stream)
    write('fuzz_session', 'capture-cut',
          head(opts(), [(4, 15, 100, 0)]) + stream)
    write('fuzz_session', 'capture-resume',
          head(opts(resume_mode=3, resume_arg=11), [(8, 5, 77, 0)])
          + stream)
    # drops mid-file: the next connection resumes from the store
    write('fuzz_session', 'capture-reconnect',
          head(opts(), [(13, 10, 200, 0)]) + stream)
    write('fuzz_session', 'capture-reconnect-3',
          head(opts(), [(13, 6, 0, 0), (13, 14, 250, 0),
                        (1, 30, 0, 1), (13, 40, 5, 0)]) + stream)
    write('fuzz_session', 'gen-reconnect',
          head(opts(timers=1, buf=5, seed=4242), [(13, 7, 3, 0)],
               seed=8 * 104729))
    for s in range(1, 13):
        muts = []
        if s % 3 == 0:
            muts.append((1, 5 + s, 1, 3))
        if s % 4 == 0:
            muts.append((6, 6 + s, 0, 0))
        write('fuzz_session', 'gen-%02d' % s,
              head(opts(metadata=s & 1, timers=1, buf=s % 8,
                        seed=s * 7919), muts, seed=s * 104729))


def meta_seeds(cap):
    m = cap[1][4:]
    write('fuzz_meta', 'capture-v3', bytes([1]) + m)
    write('fuzz_meta', 'v1', bytes([1, 1, 4]) + bytes(11))
    write('fuzz_meta', 'v2', bytes([1, 2, 16]) + bytes(8) + bytes([1, 0, 20,
                                                                   25]))
    write('fuzz_meta', 'v4', bytes([1]) + bytes([4, 4]) + m[2:] + bytes(8))
    write('fuzz_meta', 'v9-unknown', bytes([1, 9, 4]) + bytes(45))
    # newer versions at the lengths of the issue: the v2 / v4 prefix
    write('fuzz_meta', 'v9-20', bytes([1, 9, 4]) + m[2:14] + bytes(6))
    write('fuzz_meta', 'v9-72', bytes([1, 9, 4]) + m[2:] + bytes(40))
    write('fuzz_meta', 'adas', bytes([2]) + bytes(range(15)))
    write('fuzz_meta', 'dsm', bytes([3]) + bytes(16) + b'\x00\x05'
          + b'JOHN DOE\x00\x00')
    write('fuzz_meta', 'json', bytes([4]) + b'{"time":1,"trigger":"x"}')
    write('fuzz_meta', 'path', bytes([0x80 | 30])
          + b'dsm/picture/231020/231452.jpg\x00')
    write('fuzz_meta', 'path-dots', bytes([0]) + b'../../etc/passwd.H265')


def json_seeds():
    write('fuzz_json', 'issue-path', b'dsm/picture/J\xfcrgen-\xce\xfd.jpg')
    write('fuzz_json', 'utf8-edges', b'\xc2\x80\xdf\xbf\xe0\xa0\x80'
          b'\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80'
          b'\xf4\x8f\xbf\xbf')
    write('fuzz_json', 'malformed', b'\xc0\xaf\xe0\x80\xaf\xed\xa0\x80'
          b'\xf4\x90\x80\x80\xf5\xff\x80\xe2\x82')
    write('fuzz_json', 'controls', bytes(range(0, 0x20)) + b'"\\\x7f/')


def device_seeds():
    def files(*cfgs):
        return b''.join(bytes([k]) + struct.pack('>H', size)
                        + bytes([meta, f4, f5]) for k, size, meta, f4, f5
                        in cfgs)

    def srv_ident(ident, resume=0):
        return frame(0x0a, ident) + frame(8, ident) \
            + frame(2, struct.pack('>I', resume))

    seed = struct.pack('>I', 0xdeadbeef)
    # one front photo of 3 * 3000 bytes, the vendor server's script
    write('fuzz_device', 'photo',
          bytes([0]) + files((1 | 0x80, 3000, 2, 0, 0)) + seed
          + srv_ident(b'%photof') + b'\x00\x09' + b'\x00\x00\x00\x00')
    # resumes and a bad CRC injected at packet 2
    write('fuzz_device', 'photo-resume',
          bytes([0]) + files((1, 2000, 2, 2, 0)) + seed
          + srv_ident(b'%photof') + frame(2, struct.pack('>I', 2))
          + frame(2, struct.pack('>I', 3)) + b'\x00\x09')
    # path file, enhanced, byte offsets
    write('fuzz_device', 'path',
          bytes([0]) + files((0 | 0x08 | 0x80, 2500, 3, 0, 0)) + seed
          + frame(0x0c, b'\x00\x00') + frame(0x0a)
          + frame(8, b'dsm/picture/231020/231452.jpg')
          + frame(2, struct.pack('>I', 1000)) + b'\x00\x09'
          + b'\x00\x00\x00\x00')
    # two files, statuses, stall, drop
    write('fuzz_device', 'two-status',
          bytes([2]) + files((1 | 0x80, 5000, 1, 0x30, 0x10),
                             (2 | 0x04, 800, 0x80, 0, 0x20)) + seed
          + srv_ident(b'%photof') + b'\x00\x09' + srv_ident(b'%videor')
          + b'\x00\x09' + b'\x00\x00\x00\x00')
    write('fuzz_device', 'stall',
          bytes([0]) + files((1 | 0x80, 9000, 1, 0, 0x03)) + seed
          + srv_ident(b'%photof') + frame(2, struct.pack('>I', 1)))


def main():
    cap = capture()
    server_seeds(cap)
    session_seeds(cap)
    meta_seeds(cap)
    json_seeds()
    device_seeds()
    return 0


if __name__ == '__main__':
    sys.exit(main())
