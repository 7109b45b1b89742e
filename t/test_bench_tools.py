"""The benchmark's own tools check what they claim (issue 9, item 10):
bench/rawsend.c's content is distinct per connection and offset, so a
file stored under the wrong device, shifted, cut or with two packets
swapped does not verify, neither in the module's store (--dualcam
--verify-store) nor in the raw sink's files (--verify-sink).

`make test` builds the tools (mk/bench.mk adds bench-tools to
TEST_EXTRA)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import ROOT, NginxTestCase

SINK = os.path.join(ROOT, 'build', 'bench', 'sink')
RAWSEND = os.path.join(ROOT, 'build', 'bench', 'rawsend')
BASE = 352093081000000
PACKET = 1024


def rawsend(*args):
    r = subprocess.run([RAWSEND] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


def rewrite(path, fn):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(fn(data))


def swap_packets(data, a=3, b=7):
    pa = data[a * PACKET:(a + 1) * PACKET]
    pb = data[b * PACKET:(b + 1) * PACKET]
    return (data[:a * PACKET] + pb + data[(a + 1) * PACKET:b * PACKET] + pa
            + data[(b + 1) * PACKET:])


class Store(NginxTestCase):

    def setUp(self):
        super().setUp()
        if not os.access(RAWSEND, os.X_OK):
            self.fail('build/bench/rawsend not built (make bench-tools)')

    def stored(self, ngx, imei):
        d = os.path.join(ngx.store, '%015d' % imei)
        names = [n for n in os.listdir(d) if n.endswith('.h265')]
        self.assertEqual(len(names), 1, names)
        return os.path.join(d, names[0])

    def test_store_verified_byte_for_byte(self):
        ngx = self.start_nginx(server='dualcam_fsync off;')
        size = 20000
        rc, j = rawsend('--port', ngx.port, '--conns', 3, '--size', size,
                        '--dualcam', '--imei-base', BASE, '--verify-store',
                        ngx.store)
        self.assertEqual((rc, j['verified']), (0, 3), j)

        def check():
            return rawsend('--conns', 3, '--size', size, '--dualcam',
                           '--imei-base', BASE, '--verify-store', ngx.store,
                           '--verify-only')

        # the files of two devices swapped: neither verifies
        a, b = self.stored(ngx, BASE), self.stored(ngx, BASE + 1)
        with open(a, 'rb') as f:
            da = f.read()
        with open(b, 'rb') as f:
            db = f.read()
        self.assertNotEqual(da, db)
        rewrite(a, lambda _: db)
        rewrite(b, lambda _: da)
        rc, j = check()
        self.assertEqual((rc, j['verified']), (1, 1), j)
        rewrite(a, lambda _: da)
        rewrite(b, lambda _: db)
        self.assertEqual(check()[1]['verified'], 3)

        # two packets of one file swapped; the file shifted by a byte;
        # shifted by a packet
        for bad in (swap_packets, lambda d: d[1:] + d[:1],
                    lambda d: d[PACKET:] + d[:PACKET]):
            rewrite(a, bad)
            rc, j = check()
            self.assertEqual((rc, j['verified']), (1, 2), j)
            rewrite(a, lambda _: da)
        self.assertEqual(check()[1]['verified'], 3)

    def test_photos(self):
        """--photo offers the front photo: stored as .jpg, verified."""
        ngx = self.start_nginx(server='dualcam_fsync off;')
        args = ('--conns', 2, '--size', 5000, '--dualcam', '--photo',
                '--imei-base', BASE, '--verify-store', ngx.store)
        rc, j = rawsend('--port', ngx.port, *args)
        self.assertEqual((rc, j['verified']), (0, 2), j)
        d = os.path.join(ngx.store, '%015d' % BASE)
        name = [n for n in os.listdir(d) if n.endswith('.jpg')][0]
        with open(os.path.join(d, name), 'rb') as f:
            self.assertEqual(f.read(4), b'\xff\xd8\xff\xe0')
        rewrite(os.path.join(d, name), lambda d: d[:-1] + b'x')
        rc, j = rawsend(*(args + ('--verify-only',)))
        self.assertEqual((rc, j['verified']), (1, 1), j)


class Sink(unittest.TestCase):

    def setUp(self):
        for p in (SINK, RAWSEND):
            if not os.access(p, os.X_OK):
                self.fail('%s not built (make bench-tools)' % p)
        self.dir = tempfile.mkdtemp(prefix='dualcam-t-sink-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_sink_files_verified(self):
        """Each connection's stream in exactly one of the sink's files
        (named by the order of accepts, so names do not matter)."""
        size = 200000
        sink = subprocess.Popen([SINK, '--listen', '127.0.0.1:0', '--dir',
                                 self.dir, '--exit-after', '3'],
                                stdout=subprocess.PIPE, text=True)
        try:
            port = int(sink.stdout.readline().split()[1])
            rc, j = rawsend('--port', port, '--conns', 3, '--size', size,
                            '--imei-base', BASE, '--verify-sink', self.dir)
            sink.communicate(timeout=30)
        finally:
            if sink.poll() is None:
                sink.kill()
                sink.wait()
        self.assertEqual((rc, j['verified']), (0, 3), j)

        def check():
            return rawsend('--conns', 3, '--size', size, '--imei-base',
                           BASE, '--verify-sink', self.dir, '--verify-only')

        files = sorted(os.listdir(self.dir))
        self.assertEqual(len(files), 3)
        path = os.path.join(self.dir, files[0])
        with open(path, 'rb') as f:
            orig = f.read()
        other = open(os.path.join(self.dir, files[1]), 'rb').read()
        for bad in (lambda d: d[1:] + d[:1],            # shifted
                    lambda d: d[:65536] + other[65536:],  # spliced
                    lambda d: d[:-1],                   # cut
                    lambda d: d[:65536 * 2] + d[65536:65536 * 2]
                    + d[65536 * 3:]):                   # a chunk repeated
            rewrite(path, bad)
            rc, j = check()
            self.assertEqual((rc, j['verified']), (1, 2), j)
            rewrite(path, lambda _: orig)
        self.assertEqual(check()[1]['verified'], 3)

        # a copy of one stream does not count twice
        shutil.copyfile(path, os.path.join(self.dir, 'conn-9.bin'))
        os.unlink(os.path.join(self.dir, files[1]))
        rc, j = check()
        self.assertEqual((rc, j['verified']), (1, 2), j)


if __name__ == '__main__':
    unittest.main()
