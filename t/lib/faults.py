"""Helpers of the integration tests that drive a device packet by packet:

    StepDevice   a device driven packet by packet, so that a test can act
                 (kill a worker, reload, fill the disk ...) at an exact
                 point of an upload
    content()    deterministic file bytes
    stored()     the files (not sidecars) in <store>/<IMEI>/, with bytes
    tmpfs()      a small tmpfs mounted for one test (unmounted on exit)
    raise_worker_connections(ngx, n)
                 the harness writes worker_connections 1024; the load
                 tests need more
    wait_closed(sock, timeout)
                 seconds until the server closed sock (EOF or RST)
    talk(ngx, data)
                 send data on a new connection, read until the server
                 closes it
"""

import contextlib
import os
import random
import socket
import struct
import subprocess
import tempfile
import time

import device as D

IMEI = 863719061653375
PACKET = D.PACKET
# capture time of the test files (metadata v3): 2024-10-30 11:35:05 UTC
TIME_MS = 1730288105000
NAME_10 = '20241030-113505-front-photo.jpg'


def content(packets, seed=1, tail=300):
    """A photo of `packets` DATA frames (the last one `tail` bytes)."""
    n = (packets - 1) * PACKET + tail
    out = bytearray(random.Random(seed).randbytes(n))
    out[0:2] = b'\xff\xd8'
    out[-2:] = b'\xff\xd9'
    return bytes(out)


def meta(time_ms=TIME_MS, flag=D.FLAG_PHOTO_FRONT):
    return D.meta_v3(time_ms, trigger=0, lat=24.92856, lon=67.12924,
                     file_type=flag)


def server_block(extra='', temp_levels=''):
    """A server block like the harness's default one, for
    Nginx(stream=...), with extra directives and temp path levels (the
    default block names dualcam_temp_path already, which may not be
    repeated)."""
    return '''
    server {
        listen 127.0.0.1:@PORT@;
        dualcam;
        dualcam_store @STORE@;
        dualcam_temp_path @TEMP@ %s;
        %s
    }''' % (temp_levels, extra)


def stored(ngx_store, imei=IMEI):
    """{name: bytes} of the stored files of imei (sidecars left out)."""
    d = os.path.join(ngx_store, str(imei))
    out = {}
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        if name.endswith('.json'):
            continue
        with open(os.path.join(d, name), 'rb') as f:
            out[name] = f.read()
    return out


def files_under(top):
    """Every file under top, relative, sorted (like Nginx.store_files)."""
    out = []
    for d, _, files in os.walk(top):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), top))
    return sorted(out)


def partials(temp):
    """{relative name: size} of the partials (no .state, no .stored
    record) under temp."""
    out = {}
    for f in files_under(temp):
        if not f.endswith(('.state', '.json', '.stored')):
            out[f] = os.path.getsize(os.path.join(temp, f))
    return out


def wait_for(cond, timeout=10, step=0.02, what='condition'):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError('timed out waiting for %s' % what)
        time.sleep(step)


def wait_partial(temp, minimum=1, timeout=10, settle=0.3):
    """Wait until there is one partial under temp of at least minimum
    bytes whose size has not changed for settle seconds; its size."""
    deadline = time.time() + timeout
    last, since = None, time.time()
    while time.time() < deadline:
        sizes = list(partials(temp).values())
        cur = sizes[0] if len(sizes) == 1 else None
        if cur != last:
            last, since = cur, time.time()
        elif cur is not None and cur >= minimum and \
                time.time() - since >= settle:
            return cur
        time.sleep(0.02)
    raise AssertionError('no settled partial under %s (%r)' % (temp, last))


def wait_closed(sock, timeout=10):
    """Seconds until the peer closed sock (EOF or reset); raises
    AssertionError when it stays open for timeout seconds.  Whatever the
    server sends before closing is read and dropped."""
    t0 = time.time()
    sock.settimeout(0.05)
    while time.time() - t0 < timeout:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return time.time() - t0
        if d == b'':
            return time.time() - t0
    raise AssertionError('connection still open after %.1f s' % timeout)


def talk(ngx, data, wait=5.0, rst=False):
    """Send data, read until the server closes (or wait passes); returns
    (bytes received, True if the server closed)."""
    s = ngx.connect(timeout=wait)
    got = b''
    closed = False
    try:
        if data:
            s.sendall(data)
        if rst:
            time.sleep(0.1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack('ii', 1, 0))
            return got, False
        while True:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
    finally:
        s.close()
    return got, closed


def raise_worker_connections(ngx, n):
    ngx.conf = ngx.conf.replace('worker_connections 1024;',
                                'worker_connections %d;' % n)


@contextlib.contextmanager
def tmpfs(size):
    """A tmpfs of `size` (mount syntax: 256k, 1m) on a new directory;
    yields the directory; unmounts and removes it afterwards."""
    d = tempfile.mkdtemp(prefix='dualcam-fs-')
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0755' % size,
                    'dualcam-test', d], check=True, capture_output=True)
    try:
        yield d
    finally:
        for _ in range(50):
            r = subprocess.run(['umount', d], capture_output=True)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(['umount', '-l', d], capture_output=True)
        os.rmdir(d)


def mount_tmpfs(test, size):
    """tmpfs() for a unittest.TestCase: mounted now, unmounted by a
    cleanup (cleanups run after tearDown, i.e. after nginx stopped)."""
    cm = tmpfs(size)
    d = cm.__enter__()
    test.addCleanup(cm.__exit__, None, None, None)
    return d


def mount_ext4(test, size_mb=16):
    """A loop-mounted ext4 of size_mb for a unittest.TestCase (ext4, not
    tmpfs, because it can be frozen); unmounted by a cleanup."""
    d = tempfile.mkdtemp(prefix='dualcam-ext4-')
    img = d + '.img'
    with open(img, 'wb') as f:
        f.truncate(size_mb * 1024 * 1024)
    subprocess.run(['mkfs.ext4', '-q', '-F', img], check=True,
                   capture_output=True)
    subprocess.run(['mount', '-o', 'loop', img, d], check=True,
                   capture_output=True)

    def cleanup():
        subprocess.run(['fsfreeze', '-u', d], capture_output=True)
        for _ in range(50):
            if subprocess.run(['umount', d],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(['umount', '-l', d], capture_output=True)
        os.rmdir(d)
        os.unlink(img)

    test.addCleanup(cleanup)
    return d


@contextlib.contextmanager
def frozen(directory):
    """fsfreeze the file system of directory: every write to it blocks
    (in the kernel, uninterruptibly) until the block ends."""
    subprocess.run(['fsfreeze', '-f', directory], check=True,
                   capture_output=True)
    try:
        yield
    finally:
        subprocess.run(['fsfreeze', '-u', directory], check=True,
                       capture_output=True)


def fill(directory, name='filler', leave_pages=0):
    """Fill the file system of directory (ENOSPC), then give back
    leave_pages pages of 4 KiB; returns the filler's path."""
    path = os.path.join(directory, name)
    chunk = b'\0' * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while os.write(fd, chunk) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    size = os.path.getsize(path)
    os.truncate(path, max(0, (size // 4096 - leave_pages) * 4096))
    return path


def free_pages(directory):
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize // 4096


_ext4_ok = None


def can_mount_ext4():
    """True when a loop-mounted ext4 can be made and frozen here (mkfs,
    loop devices, fsfreeze); tried once."""
    global _ext4_ok
    if _ext4_ok is None:
        _ext4_ok = False
        if os.geteuid() == 0:

            class Probe(object):
                def __init__(self):
                    self.cleanups = []

                def addCleanup(self, f):
                    self.cleanups.append(f)

            p = Probe()
            try:
                d = mount_ext4(p, 8)
                with frozen(d):
                    pass
                _ext4_ok = True
            except (subprocess.CalledProcessError, OSError):
                pass
            finally:
                for f in p.cleanups:
                    try:
                        f()
                    except OSError:
                        pass
    return _ext4_ok


def can_mount():
    """True when this process may mount a tmpfs (root in a sandbox that
    allows it)."""
    if os.geteuid() != 0:
        return False
    try:
        with tmpfs('16k'):
            return True
    except (subprocess.CalledProcessError, OSError):
        return False


class StepDevice(object):
    """One connection of a device, driven by the test.

        dev = StepDevice(ngx.connect(), body)
        first = dev.offer()          # init .. START; the RESUME value
        dev.send_packets(4)          # 4 DATA frames from the SYNC point
        dev.drop()                   # or dev.finish()
    """

    def __init__(self, sock, body, imei=IMEI, flag=D.FLAG_PHOTO_FRONT,
                 time_ms=TIME_MS):
        self.dev = D.Device(sock, imei=imei)
        self.sock = sock
        self.body = body
        self.flag = flag
        self.time_ms = time_ms
        self.total = (len(body) + PACKET - 1) // PACKET
        self.next = 1            # 1-based number of the next packet
        self.crc = 0

    def expect(self, cmd):
        c, data = self.dev.recv_frame()
        if c != cmd:
            raise AssertionError('expected server frame %04x, got %04x %r'
                                 % (cmd, c, data[:32]))
        return data

    def offer(self, answer=None):
        """init with the file's flag, metadata, START; returns the packet
        number the server's RESUME asked for, and answers it with SYNC
        (see sync())."""
        self.dev.send(D.init_packet(self.dev.imei, self.flag))
        ident = self.expect(0x000A)
        assert ident == D.IDENT[self.flag], ident
        self.dev.send(D.frame(0x000B, meta(self.time_ms, self.flag)))
        self.expect(0x0008)
        self.dev.send(D.frame(0x0001, struct.pack('>IH', self.total, 0)))
        return self.sync(answer)

    def sync(self, answer=None):
        """Read a RESUME, answer SYNC (with its value, or with answer: a
        device that restarts elsewhere); returns the RESUME value."""
        n = struct.unpack('>I', self.expect(0x0002))[0]
        v = n if answer is None else answer
        self.dev.send(D.frame(0x0003, struct.pack('>I', v)))
        self.next = max(v, 1)
        self.crc = 0
        return n

    def packet(self, k, crc=None):
        chunk = self.body[(k - 1) * PACKET:k * PACKET]
        self.crc = D.crc16(chunk, self.crc)
        c = self.crc if crc is None else crc
        return D.frame(0x0004, chunk + struct.pack('>H', c))

    def send_packets(self, count=None, bad_crc_at=None):
        """Send `count` packets (default: the rest) from self.next; the
        packet numbered bad_crc_at goes out with a wrong CRC."""
        out = []
        end = self.total if count is None else min(self.total,
                                                   self.next + count - 1)
        while self.next <= end:
            k = self.next
            if k == bad_crc_at:
                good = D.crc16(self.body[(k - 1) * PACKET:k * PACKET],
                               self.crc)
                out.append(self.packet(k, crc=good ^ 0xffff))
            else:
                out.append(self.packet(k))
            self.next += 1
        self.dev.send(b''.join(out))

    def send_slowly(self, count, delay):
        """count packets, one every delay seconds."""
        for _ in range(count):
            self.send_packets(1)
            time.sleep(delay)

    def finish(self):
        """After the last packet: expect 00 09, send an empty init, expect
        CLOSE."""
        self.expect(0x0009)
        self.dev.send(D.init_packet(self.dev.imei, 0))
        self.expect(0x0000)
        self.sock.close()

    def drop(self, rst=False):
        self.dev.drop(rst)
