"""dualcam-sim itself: a tool that tests a deployment must not invent
failures.  Its devices keep sending while the server reads slowly (the
socket full most of the time, as when a worker waits for a busy disk),
while it reads in bursts after a stall, and while it repeats RESUMEs
into a full socket.

The server here is a DualCam server in miniature (init, FILE REQUEST,
START, RESUME, SYNC, DATA, 00 09, CLOSE) that repeats a RESUME only when
a test asks it to: a device that stops sending mid-file is never
rescued, so the sim's --timeout catches it, and the bytes it received
tell whether anything was sent twice.

The moment that stalled devices (issue 9, item 8: a partial write that
leaves the buffer without room for a frame, then a flush that empties
it) comes from a loaded kernel only now and then; ShortWrite makes it on
demand with t/lib/shortwrite.c, an LD_PRELOAD shim."""

import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from device import crc16
from harness import SIM

IDENTS = {0x04: b'%photof', 0x08: b'%photor', 0x10: b'%videof',
          0x20: b'%videor'}


def frame(cmd, data=b''):
    return struct.pack('>HH', cmd, len(data)) + data


class Conn(object):
    """One device connection, read `burst` bytes at most every `pause`
    seconds once its DATA starts."""

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0
        self.slow = False
        self.received = 0
        self.files = 0
        self.crc_errors = 0
        self.resumes = 0
        self.cycles = 0
        self.imei = None

    def _more(self):
        if self.slow and self.server.pause:
            time.sleep(self.server.pause)
        chunk = self.sock.recv(self.server.burst if self.slow else 65536)
        if not chunk:
            raise EOFError('device closed')
        self.received += len(chunk)
        self.buf += chunk

    def take(self, n):
        while len(self.buf) - self.pos < n:
            del self.buf[:self.pos]
            self.pos = 0
            self._more()
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def frame(self):
        cmd, n = struct.unpack('>HH', self.take(4))
        return cmd, self.take(n)

    def count(self, nbytes):
        """nbytes of DATA frames, not parsed: a pause, then whatever has
        arrived by then, again and again."""
        srv = self.server
        have = len(self.buf) - self.pos
        if have >= nbytes:
            self.pos += nbytes
            return
        left = nbytes - have
        del self.buf[:]
        self.pos = 0
        while left > 0:
            time.sleep(srv.pause)
            self.cycles += 1
            room = srv.burst        # what one wake-up takes at most
            while left > 0 and room > 0:
                try:
                    chunk = self.sock.recv(min(room, left),
                                           socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                if not chunk:
                    raise EOFError('device closed')
                left -= len(chunk)
                room -= len(chunk)
                self.received += len(chunk)

    def data(self, total):
        """DATA for packets 1..total; with repeat_every, a stall, a nudge
        (a few hundred bytes read) and a RESUME repeat every so many
        packets, as a server does whose worker was blocked: DATA is then
        discarded until the SYNC that answers it."""
        srv = self.server
        expected = 1
        crc = 0
        syncing = False
        while expected <= total:
            cmd, data = self.frame()
            if syncing:
                if cmd == 0x0003:
                    if struct.unpack('>I', data)[0] != expected:
                        raise AssertionError('SYNC %r, RESUME was %d'
                                             % (data, expected))
                    syncing = False
                    crc = 0
                elif cmd != 0x0004:
                    raise AssertionError('expected DATA or SYNC, got %04x'
                                         % cmd)
                continue
            if cmd != 0x0004:
                raise AssertionError('expected DATA, got %04x' % cmd)
            if srv.check_crc:
                crc = crc16(data[:-2], crc)
                if struct.unpack('>H', data[-2:])[0] != crc:
                    self.crc_errors += 1
            expected += 1
            if (srv.repeat_every and expected % srv.repeat_every == 0
                    and expected <= total):
                time.sleep(srv.stall)
                if srv.nudge:
                    try:
                        chunk = self.sock.recv(srv.nudge,
                                               socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        chunk = b''
                    self.received += len(chunk)
                    self.buf += chunk
                self.sock.sendall(frame(0x0002, struct.pack('>I', expected)))
                self.resumes += 1
                syncing = True

    def run(self):
        while True:
            init = self.take(16)
            self.imei = struct.unpack('>Q', init[4:12])[0]
            flags = init[12]
            want = [f for f in sorted(IDENTS) if flags & f]
            if not want:
                self.sock.sendall(frame(0x0000))
                return
            self.sock.sendall(frame(0x0008, IDENTS[want[0]]))
            cmd, data = self.frame()
            if cmd != 0x0001:
                raise AssertionError('expected START, got %04x' % cmd)
            total = struct.unpack('>IH', data)[0]
            self.sock.sendall(frame(0x0002, struct.pack('>I', 1)))
            cmd, data = self.frame()
            if cmd != 0x0003 or struct.unpack('>I', data)[0] != 1:
                raise AssertionError('expected SYNC 1, got %04x %r'
                                     % (cmd, data))
            self.slow = True
            if self.server.drain:
                # all but the last DATA frame (which may be short)
                self.count((total - 1) * 1030)
                cmd, _ = self.frame()
                if cmd != 0x0004:
                    raise AssertionError('expected DATA, got %04x' % cmd)
            else:
                self.data(total)
            self.slow = False
            self.files += 1
            self.sock.sendall(b'\x00\x09')


class SlowServer(object):
    """Accepts devices on a free port, one thread each.  rcvbuf is set on
    the listening socket, so the window is small from the handshake on."""

    def __init__(self, rcvbuf=4096, pause=0.002, burst=4096,
                 check_crc=False, repeat_every=0, stall=0.05, nudge=300,
                 drain=False):
        self.drain = drain
        self.repeat_every = repeat_every
        self.stall = stall
        self.nudge = nudge
        self.pause = pause
        self.burst = burst
        self.check_crc = check_crc
        self.conns = []
        self.errors = []
        self.lock = threading.Lock()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(256)
        self.port = self.lsock.getsockname()[1]
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            c = Conn(self, sock)
            with self.lock:
                self.conns.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c):
        try:
            c.run()
        except EOFError:
            pass
        except Exception as e:      # noqa: BLE001
            with self.lock:
                self.errors.append('%s: %s' % (c.imei, e))
        finally:
            c.sock.close()

    def close(self):
        self.lsock.close()
        for c in list(self.conns):
            try:
                c.sock.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(5)


def wire_size(size):
    """Bytes of the DATA frames of a file of size bytes."""
    packets = (size + 1023) // 1024
    return size + 6 * packets


# init, START, SYNC 1, and the init after 00 09
CONTROL = 16 + 10 + 8 + 16


def run_sim(port, *args, env=None, timeout=90):
    cmd = [SIM, '--host', '127.0.0.1', '--port', str(port),
           '--json'] + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=timeout)
    try:
        j = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        j = {}
    return r, j


@unittest.skipUnless(os.path.exists(SIM), 'build/dualcam-sim not built')
class SimTestCase(unittest.TestCase):

    def serve(self, **kw):
        srv = SlowServer(**kw)
        self.addCleanup(srv.close)
        return srv

    def check_once(self, srv, r, j, devices, size):
        """Every file delivered, each sent exactly once."""
        self.assertEqual(srv.errors, [])
        self.assertEqual(r.returncode, 0, '%s\n%s' % (r.stdout, r.stderr))
        self.assertEqual(j['files_delivered'], devices)
        self.assertEqual(j['errors']['timeouts'], 0)
        per = wire_size(size) + CONTROL
        self.assertEqual(sorted(c.received for c in srv.conns),
                         [per] * devices)
        self.assertEqual(sum(c.files for c in srv.conns), devices)
        self.assertEqual(j['wire_bytes'], per * devices)


class BackPressure(SimTestCase):

    def test_a_slow_reader(self):
        """4 KiB every 2 ms through a 4 KiB receive window, the device's
        send buffer a modem's 8 KiB (--sndbuf): nearly every write is
        partial; the file arrives once, every CRC right."""
        size = 1 << 20
        srv = self.serve(rcvbuf=4096, pause=0.002, burst=4096,
                         check_crc=True)
        r, j = run_sim(srv.port, '--files', 'videof:%d' % size,
                       '--sndbuf', 8192, '--timeout', 30)
        self.check_once(srv, r, j, 1, size)
        self.assertEqual(sum(c.crc_errors for c in srv.conns), 0)

    def test_stall_then_drain(self):
        """A server that stops reading for 50 ms and then takes all that
        has arrived (up to 1 MiB), like a worker back from a blocking
        fsync: 20 devices, every one keeps sending after each stall."""
        devices, size = 20, 4 << 20
        srv = self.serve(rcvbuf=65536, pause=0.05, burst=1 << 20,
                         drain=True)
        r, j = run_sim(srv.port, '--devices', devices, '--concurrency',
                       devices, '--files', 'videof:%d' % size,
                       '--timeout', 45)
        self.check_once(srv, r, j, devices, size)
        # a wake-up takes at most 1 MiB: each 4 MiB file went through at
        # least 4 stalls, however fast the machine
        self.assertGreaterEqual(min(c.cycles for c in srv.conns), 4)

    def test_resume_repeats_while_full(self):
        """Back from a 30 ms stall, the server repeats its RESUME while
        the device's socket is full: the SYNC goes out behind the queued
        DATA, and the device sends again from there, to the end."""
        devices, size = 4, 8 << 20
        srv = self.serve(rcvbuf=131072, pause=0, burst=262144,
                         repeat_every=1024, stall=0.03)
        r, j = run_sim(srv.port, '--devices', devices, '--concurrency',
                       devices, '--files', 'videof:%d' % size,
                       '--timeout', 30)
        self.assertEqual(srv.errors, [])
        self.assertEqual(r.returncode, 0, '%s\n%s' % (r.stdout, r.stderr))
        self.assertEqual(j['files_delivered'], devices)
        resumes = sum(c.resumes for c in srv.conns)
        self.assertEqual(resumes, devices * 8)
        # the device counts the RESUMEs beyond the first packet
        self.assertEqual(j['resumes'], resumes)


class ShortWrite(SimTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='dualcam-test-sim-')
        cls.shim = os.path.join(cls.tmp, 'shortwrite.so')
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'lib', 'shortwrite.c')
        subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-Wall', '-Wextra',
                        '-Werror', '-o', cls.shim, src, '-ldl'], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self, every):
        return dict(os.environ, LD_PRELOAD=self.shim,
                    DUALCAM_SHORTWRITE_EVERY=str(every))

    def test_room_after_a_full_buffer(self):
        """Every 7th big write takes 200 bytes and the socket is full;
        then it has room again.  The device must fill its buffer again
        once the rest is out (before the fix it waited for an EPOLLOUT
        edge that never came, and every device stalled at the first)."""
        devices, size = 4, 8 << 20
        srv = self.serve(rcvbuf=1 << 20, pause=0, burst=1 << 20,
                         drain=True)
        r, j = run_sim(srv.port, '--devices', devices, '--files',
                       'videof:%d' % size, '--timeout', 20,
                       env=self.env(7))
        self.check_once(srv, r, j, devices, size)

    def test_room_after_a_full_buffer_rate_limited(self):
        """The same with --rate: a buffer without room is not a token
        bucket without tokens, no timer brings the device back."""
        devices, size = 4, 1 << 20
        srv = self.serve(rcvbuf=1 << 20, pause=0, burst=1 << 20,
                         drain=True)
        r, j = run_sim(srv.port, '--devices', devices, '--rate', 2000000,
                       '--files', 'videof:%d' % size, '--timeout', 20,
                       env=self.env(3))
        self.check_once(srv, r, j, devices, size)


if __name__ == '__main__':
    unittest.main()
