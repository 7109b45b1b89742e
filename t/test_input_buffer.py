"""The input buffer of a device connection, seen from outside: a device
that keeps the socket full is read 64 KiB at a time, one that pauses
between frames holds no input buffer, one that pauses mid-frame keeps
only dualcam_buffer_size.

Debian's nginx is built --with-debug, so at `error_log ... debug` every
recv() the worker makes is a line "recv: fd:F N of SIZE" (src/os/unix/
ngx_recv.c), and every large pool allocation and its ngx_pfree() are
"malloc: ADDR:SIZE" and "free: ADDR" (src/core/ngx_palloc.c).  The input
buffers are large allocations of exactly dualcam_buffer_size or 64 KiB,
so the log tells what the connection held and how it read.
"""

import re
import time

import device as D
from faults import IMEI, NAME_10, StepDevice, content, meta, stored
from harness import NginxTestCase

BUFFER = 4096           # dualcam_buffer_size (the default)
BIG = 65536             # NGX_STREAM_DUALCAM_BIG_BUFFER
PACKET_FRAME = 4 + 1024 + 2     # a DATA frame (0x0004) of a whole packet
FRAME_MAX = 4 + 4 + 1024 + 2    # DUALCAM_DATA_FRAME_MAX (0x000E)
PACKETS = 400           # 400 KiB: several 64 KiB buffers' worth

RECV = re.compile(r'\*(\d+) recv: fd:\d+ (-?\d+) of (\d+)')
MALLOC = re.compile(r'\*(\d+) malloc: ([0-9A-Fa-f]+):(\d+)')
FREE = re.compile(r'\*(\d+) free: ([0-9A-Fa-f]+)$', re.M)


def device_reads(log):
    """(connection number, [(returned, asked), ...]) of the one device
    connection in log (the only stream connection that recv()s)."""
    conn, reads = None, []
    for m in RECV.finditer(log):
        if conn is None:
            conn = m.group(1)
        if m.group(1) == conn:
            reads.append((int(m.group(2)), int(m.group(3))))
    return conn, reads


def input_buffers(log, conn):
    """The input buffers of connection conn in log, as (size, allocated
    at, freed at) with offsets into log.  They are the pool's large
    allocations of BUFFER or BIG bytes: a "malloc: A:SIZE" line that a
    "free: A" line follows (ngx_pfree(), or the pool's destruction at the
    end of the session) before A is allocated again.  The store's write
    buffer is ngx_alloc()ed and ngx_free()d, which logs no "free:", so
    it is not counted even when it has the same size."""
    events = []
    for rx, kind in ((MALLOC, 'malloc'), (FREE, 'free')):
        for m in rx.finditer(log):
            if m.group(1) == conn:
                size = int(m.group(3)) if kind == 'malloc' else None
                events.append((m.start(), kind, m.group(2), size))
    events.sort()
    out = []
    for i, (at, kind, addr, size) in enumerate(events):
        if kind != 'malloc' or size not in (BUFFER, BIG):
            continue
        for at2, kind2, addr2, _ in events[i + 1:]:
            if addr2 == addr:
                if kind2 == 'free':
                    out.append((size, at, at2))
                break
    return out


def held_at(buffers, offset):
    """Sizes of the buffers allocated before and freed after offset."""
    return sorted(size for size, a, f in buffers if a < offset <= f)


class InputBuffer(NginxTestCase):

    def log(self, ngx):
        """error.log alone: it only grows, so an offset into an earlier
        read is a point in time of the session."""
        with open(ngx.error_log_path, errors='replace') as f:
            return f.read()

    def start(self):
        return self.start_nginx(log_level='debug',
                                server='dualcam_timeout 10s;')

    def test_fast_device_read_64k_at_a_time(self):
        """A device with 400 KiB queued in the socket: the first read
        asks for dualcam_buffer_size; once a read fills the buffer the
        connection reads up to 64 KiB at a time, and most of the file
        comes in such reads (without the fast path no read would ask for
        more than dualcam_buffer_size)."""
        ngx = self.start()
        body = content(PACKETS, seed=3)
        dev = StepDevice(ngx.connect(), body)
        frames, _ = D.packet_frames(body, 1, PACKETS)
        self.assertEqual(dev.offer(), 0)
        dev.dev.send(frames)                    # all at once
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: body})
        rec = ngx.wait_access(1)[0]
        self.assertEqual(rec['result'], 'ok')

        conn, reads = device_reads(ngx.error_log())
        self.assertIsNotNone(conn, 'no "recv:" debug line: is nginx '
                             'built --with-debug?')
        got = [n for n, _ in reads if n > 0]
        self.assertEqual(sum(got), int(rec['received']))
        # a device starts small: the init is read into dualcam_buffer_size
        self.assertEqual(reads[0][1], BUFFER, reads[:4])
        asked = max(a for _, a in reads)
        self.assertLessEqual(asked, BIG, reads[:20])
        self.assertGreater(asked, BIG - FRAME_MAX, reads[:20])
        large = [n for n in got if n > BUFFER]
        self.assertGreater(sum(large), len(frames) // 2,
                           'only %d of %d bytes in reads > %d: %r'
                           % (sum(large), len(frames), BUFFER, reads[:20]))
        sizes = [size for size, _, _ in input_buffers(ngx.error_log(),
                                                      conn)]
        self.assertIn(BIG, sizes)

    def test_idle_device_holds_no_input_buffer(self):
        """A device that pauses between two frames (5 packets of 10
        sent): while it is still connected, every input buffer it was
        given has been freed; the upload then completes."""
        ngx = self.start()
        body = content(10, seed=4)
        dev = StepDevice(ngx.connect(), body, imei=IMEI)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(5)
        time.sleep(0.5)
        now = len(self.log(ngx))
        conn, reads = device_reads(self.log(ngx)[:now])
        # init, METADATA, START, SYNC and the 5 packets: all read
        opening = len(D.init_packet(IMEI, D.FLAG_PHOTO_FRONT)) + \
            len(D.frame(0x000B, meta())) + 4 + 6 + 4 + 4
        self.assertEqual(sum(n for n, _ in reads if n > 0),
                         opening + 5 * PACKET_FRAME)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: body})
        ngx.wait_access(1)
        buffers = input_buffers(self.log(ngx), conn)
        self.assertTrue(buffers, 'no input buffer was allocated?')
        self.assertEqual(held_at(buffers, now), [],
                         'an idle device holds input buffers')

    def test_pause_mid_frame_keeps_a_small_buffer(self):
        """A fast device (200 packets at once, read into 64 KiB) stops in
        the middle of a frame: it keeps one input buffer, of
        dualcam_buffer_size, holding the half frame; the rest of the
        frame and the file then arrive and the file is byte-exact."""
        ngx = self.start()
        body = content(PACKETS, seed=5)
        dev = StepDevice(ngx.connect(), body)
        first, crc = D.packet_frames(body, 1, 200)
        half, crc = D.packet_frames(body, 201, 201, crc)
        self.assertEqual(dev.offer(), 0)
        dev.next, dev.crc = 202, crc
        dev.dev.send(first + half[:500])
        time.sleep(0.5)
        now = len(self.log(ngx))
        dev.dev.send(half[500:])
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: body})
        ngx.wait_access(1)
        conn, reads = device_reads(self.log(ngx))
        buffers = input_buffers(self.log(ngx), conn)
        self.assertIn(BIG, [size for size, a, _ in buffers if a < now],
                      'the burst was not read 64 KiB at a time: %r'
                      % reads[:20])
        self.assertEqual(held_at(buffers, now), [BUFFER])
