"""Whatever a device sends, every JSON document is valid UTF-8 JSON and the
error log is printable ASCII (issue 9 item 4).

A path-mode device (protocol 6) uploads files whose paths are arbitrary
bytes (the issue's Latin-1 `J\\xfcrgen-\\xce\\xfd`, then random bytes) with
JSON metadata that is not UTF-8; a protocol-5 photo carries a v3 position
of NaN and infinity.  The sidecars and the status document (JSON while the
file is in flight and while it is in "recent"; Prometheus) go through
Python's strict parsers after a strict UTF-8 decode, and the strings they
hold are compared with an escaper written here on top of Python's own
UTF-8 decoder.  error.log, at debug level so that the core's messages
with the path are in it, must have no byte outside printable ASCII.
"""

import json
import os
import random
import re
import struct

from harness import NginxTestCase
from device import (FLAG_PATH, FLAG_PHOTO_FRONT, Device, crc16, frame,
                    init_packet, meta_v3)
from status import HTTP_STATUS, StatusClient

IMEI = 352093089000000

ISSUE_PATH = b'dsm/picture/J\xfcrgen-\xce\xfd.jpg'
BAD_JSON = (b'{"driver":"J\xfcrgen \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80",'
            b'"ok":"\xc3\xbc\xe2\x82\xac","cut":"\xe2\x82"}')


def ref_escape(data):
    """The module's escaping (README), from Python's strict decoder: a
    well-formed UTF-8 character as it is, any other byte as \\u00XX."""
    out = []
    i = 0
    while i < len(data):
        c = data[i]
        if c < 0x80:
            ch = chr(c)
            if ch in '"\\':
                out.append('\\' + ch)
            elif ch == '\n':
                out.append('\\n')
            elif ch == '\r':
                out.append('\\r')
            elif ch == '\t':
                out.append('\\t')
            elif c < 0x20 or c == 0x7f:
                out.append('\\u%04x' % c)
            else:
                out.append(ch)
            i += 1
            continue
        for n in (2, 3, 4):
            try:
                ch = data[i:i + n].decode('utf-8')
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                out.append(ch)
                i += n
                break
        else:
            out.append('\\u%04x' % c)
            i += 1
    return ''.join(out)


def strict_json(data, what):
    """bytes -> object: strict UTF-8, then json.loads (which accepts no
    NaN or Infinity here)."""
    text = data.decode('utf-8')

    def bad_constant(name):
        raise AssertionError('%s: %s in JSON' % (what, name))

    return json.loads(text, parse_constant=bad_constant)


class PathDevice(object):
    """One protocol-6 session uploading one path-mode file; between the
    two halves of the file, in_flight() is called."""

    def __init__(self, ngx, imei=IMEI):
        self.sock = ngx.connect()
        self.dev = Device(self.sock, imei=imei, protocol=6)
        self.imei = imei

    def upload(self, path, body, meta, in_flight=None):
        d = self.dev
        d.send(init_packet(self.imei, FLAG_PATH, 6))
        cmd, data = d.recv_frame()
        assert cmd == 0x000C, cmd
        d.send(frame(0x000D, path + b'\0'))
        cmd, data = d.recv_frame()
        assert cmd == 0x000A and data == b'', (cmd, data)
        d.send(frame(0x000B, meta))
        cmd, data = d.recv_frame()
        assert cmd == 0x0008 and data == path + b'\0', (cmd, data)
        d.send(frame(0x0001, struct.pack('>IH', len(body), 0)))
        cmd, data = d.recv_frame()
        assert cmd == 0x0002, cmd
        pos = struct.unpack('>I', data)[0]
        d.send(frame(0x0003, struct.pack('>I', pos)))
        crc = 0
        half = len(body) // 2
        while pos < len(body):
            chunk = body[pos:pos + 1024]
            if pos < half <= pos + len(chunk) and in_flight is not None:
                in_flight()
            crc = crc16(chunk, crc)
            d.send(frame(0x000E, struct.pack('>I', pos) + chunk
                         + struct.pack('>H', crc)))
            pos += len(chunk)
        cmd, data = d.recv_frame()
        assert cmd == 0x0009, cmd
        d.send(init_packet(self.imei, 0, 6))
        cmd, data = d.recv_frame()
        assert cmd == 0x0000, cmd
        self.sock.close()


class DeviceBytesInJson(NginxTestCase):

    def start(self):
        ngx = self.start_nginx(zone='z 1m recent=64', http=HTTP_STATUS % 'z',
                               log_level='debug')
        return ngx, StatusClient(ngx)

    def sidecars(self, ngx):
        out = {}
        for rel in ngx.store_files():
            if rel.endswith('.json'):
                with open(os.path.join(ngx.store, rel), 'rb') as f:
                    raw = f.read()
                out[rel] = (raw, strict_json(raw, rel))
        return out

    def check_status(self, st, expect_names):
        """Both formats parse strictly; every name is in the raw JSON text
        escaped as the reference says."""
        code, headers, body = st.request('GET')
        self.assertEqual(code, 200)
        doc = strict_json(body, 'status')
        text = body.decode('utf-8')
        for raw in expect_names:
            self.assertIn('"%s"' % ref_escape(raw), text)
        st.prometheus()
        return doc

    def check_log(self, ngx, expect):
        with open(ngx.error_log_path, 'rb') as f:
            log = f.read()
        for n, line in enumerate(log.split(b'\n'), 1):
            # nginx's own HTTP debug lines end header lines with CR
            bad = [b for b in line.rstrip(b'\r')
                   if b >= 0x7f or (b < 0x20 and b != 9)]
            self.assertFalse(bad, 'error.log line %d has raw bytes: %r'
                             % (n, line[:300]))
        for e in expect:
            self.assertIn(e, log)

    def test_issue_path_and_bad_json_metadata(self):
        """The issue's path and protocol-6 metadata with overlongs, a
        surrogate, a code point above U+10FFFF and a cut sequence: the
        sidecar and the status (in flight and in recent) parse, the
        strings are escaped byte for byte, the log shows \\xHH."""
        ngx, st = self.start()
        body = bytes(random.Random(4).getrandbits(8) for _ in range(6000))
        seen = []

        def in_flight():
            seen.append(self.check_status(st, [ISSUE_PATH]))
            self.assertTrue(any(s['file'] is not None
                                for s in seen[-1]['sessions']))

        PathDevice(ngx).upload(ISSUE_PATH, body, BAD_JSON, in_flight)
        self.assertEqual(len(seen), 1)

        ngx.wait_access(1)
        doc = self.check_status(st, [ISSUE_PATH])
        self.assertEqual(len(doc['recent']), 1, doc)

        cars = self.sidecars(ngx)
        self.assertEqual(len(cars), 1, ngx.store_files())
        raw, car = list(cars.values())[0]
        self.assertIn(b'"name": "dsm/picture/J\\u00fcrgen-\\u00ce\\u00fd.jpg"',
                      raw)
        self.assertIn(('"json": "%s"' % ref_escape(BAD_JSON)).encode(),
                      raw)
        # what a JSON reader gets: each stray byte as the code point of
        # its value; well-formed UTF-8 as the character
        self.assertEqual(car['name'], 'dsm/picture/J\u00fcrgen-\u00ce\u00fd'
                         '.jpg')
        meta = json.loads(car['metadata']['json'])
        self.assertEqual(meta['ok'], '\u00fc\u20ac')
        self.assertEqual(meta['driver'], 'J\u00fcrgen \u00ed\u00a0\u0080 '
                         '\u00c0\u00af \u00f4\u0090\u0080\u0080')
        self.assertEqual(meta['cut'], '\u00e2\u0082')

        self.check_log(ngx, [b'J\\xfcrgen-\\xce\\xfd.jpg'])

    def test_random_path_bytes(self):
        """Paths of random bytes (every value but NUL, up to 200 bytes):
        each sidecar and the status document parse, each name is the
        reference escape of its bytes."""
        ngx, st = self.start()
        rnd = random.Random(20261203)
        paths = [bytes(range(1, 256))[:200],
                 bytes(range(255, 0, -1))[:200]]
        for _ in range(6):
            n = rnd.randint(1, 200)
            paths.append(bytes(rnd.choice([rnd.randint(1, 255),
                                           rnd.randint(0x80, 0xff),
                                           rnd.choice(b'\xc3\xbc\xe2\x82'
                                                      b'\xac\xf0\x9f\xed'
                                                      b'"\\/\n')])
                               for _ in range(n)))
        body = bytes(range(256)) * 10
        for i, path in enumerate(paths):
            meta = b'{"n":%d,"p":"' % i + path + b'"}'
            PathDevice(ngx).upload(path, body, meta)

        ngx.wait_access(len(paths))
        self.check_status(st, paths)

        cars = self.sidecars(ngx)
        self.assertEqual(len(cars), len(paths), ngx.store_files())
        names = {}
        for raw, car in cars.values():
            m = re.search(rb'\n  "name": "((?:[^"\\]|\\.)*)",\n', raw)
            self.assertIsNotNone(m, raw[:400])
            n = int(re.match(r'\{"n":(\d+),', car['metadata']['json'])
                    .group(1))
            names[n] = m.group(1).decode('utf-8')
        self.assertEqual(names, dict((i, ref_escape(p))
                                     for i, p in enumerate(paths)))

        self.check_log(ngx, [])


class PositionNotANumber(NginxTestCase):

    def test_nan_and_infinity_are_null(self):
        """A v3 position of NaN / infinity / 1e300 is null in the sidecar
        (the document parses without NaN constants); a normal one is a
        number."""
        ngx = self.start_nginx()
        cases = [(float('nan'), float('inf')), (float('-inf'), 1e300),
                 (54.687157, -25.279652)]
        for i, (lat, lon) in enumerate(cases):
            s = ngx.connect()
            meta = meta_v3(1730288105000 + i * 60000, lat=lat, lon=lon)
            jpeg = b'\xff\xd8' + bytes(3000) + b'\xff\xd9'
            res = Device(s, imei=IMEI + 1).run({FLAG_PHOTO_FRONT: jpeg},
                                               meta={FLAG_PHOTO_FRONT: meta})
            s.close()
            self.assertTrue(res.closed, res.frames)
        ngx.wait_access(3)

        got = []
        for rel in ngx.store_files():
            if rel.endswith('.json'):
                with open(os.path.join(ngx.store, rel), 'rb') as f:
                    raw = f.read()
                m = strict_json(raw, rel)['metadata']
                got.append((m['capture_time_ms'], m['latitude'],
                            m['longitude']))
        got.sort()
        self.assertEqual(got[0][1:], (None, None))
        self.assertEqual(got[1][1:], (None, None))
        self.assertAlmostEqual(got[2][1], 54.687157, places=6)
        self.assertAlmostEqual(got[2][2], -25.279652, places=6)
