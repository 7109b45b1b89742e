"""A small DualCam device in Python, for exact-bytes integration tests.

    dev = Device(sock, imei=863719061653375)
    files = {FLAG_PHOTO_FRONT: jpeg_bytes}
    result = dev.run(files, meta={FLAG_PHOTO_FRONT: meta_bytes})
    # result.resumes: RESUME values the server sent, in order
    # result.closed: True when the server sent CLOSE (00 00 00 00)
    # result.frames: every server frame as (cmd, data)

Fault injection (keyword arguments of run()):
    crc_error_at=k     the k-th DATA frame (1-based, counted over the whole
                       session) is sent once with a wrong CRC
    drop_after=k       after k DATA frames, close the socket (rst=True: with
                       an RST, i.e. SO_LINGER 0)
    status=code        answer every FILE REQUEST with STATUS code
    path_mode          files keyed by path (str) are offered with flag 0x02

replay(sock, packets) plays a recorded device session (the fixture's
packets): send the init, and after each server frame the next group of
recorded device frames (a group starts at init, METADATA, START or SYNC).
"""

import json
import socket
import struct

FLAG_PATH = 0x02
FLAG_PHOTO_FRONT = 0x04
FLAG_PHOTO_REAR = 0x08
FLAG_VIDEO_FRONT = 0x10
FLAG_VIDEO_REAR = 0x20

IDENT = {FLAG_PHOTO_FRONT: b'%photof', FLAG_PHOTO_REAR: b'%photor',
         FLAG_VIDEO_FRONT: b'%videof', FLAG_VIDEO_REAR: b'%videor'}
BY_IDENT = dict((v, k) for k, v in IDENT.items())

PACKET = 1024


def crc16(data, crc=0):
    """CRC-16/KERMIT, running: pass the previous value as crc."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def init_packet(imei, flags, protocol=5):
    return struct.pack('>HHQBBH', 0, protocol, imei, flags, 0, 0)


def frame(cmd, data=b''):
    return struct.pack('>HH', cmd, len(data)) + data


def packet_frames(body, first, last, crc=0):
    """DATA frames for packets first..last (1-based, inclusive) of body,
    the running CRC starting at crc; returns (bytes, crc after last)."""
    out = []
    for n in range(first, last + 1):
        chunk = body[(n - 1) * PACKET:n * PACKET]
        crc = crc16(chunk, crc)
        out.append(frame(0x0004, chunk + struct.pack('>H', crc)))
    return b''.join(out), crc


def fixture_meta(packets):
    """The METADATA payload of a recording (None if it has none)."""
    for p in packets:
        if struct.unpack('>H', p[:2])[0] == 0x000B:
            return p[4:]
    return None


def meta_v3(time_ms, trigger=0, lat=0.0, lon=0.0, file_type=4):
    return struct.pack('>BBQBHBhdd', 3, file_type, time_ms, trigger, 0, 0,
                       0, lat, lon)


class ServerClosed(Exception):
    pass


class Result(object):
    def __init__(self):
        self.resumes = []
        self.frames = []
        self.closed = False
        self.eof = False
        self.dropped = False
        self.sent_files = []


class Device(object):
    def __init__(self, sock, imei=863719061653375, protocol=5):
        self.sock = sock
        self.imei = imei
        self.protocol = protocol
        self.buf = b''

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ServerClosed()
            self.buf += chunk

    def recv_frame(self):
        """(cmd, data) of the next server frame; 00 09 is (9, b'')."""
        self._fill(2)
        cmd = struct.unpack('>H', self.buf[:2])[0]
        if cmd == 0x0009:
            self.buf = self.buf[2:]
            return cmd, b''
        self._fill(4)
        n = struct.unpack('>H', self.buf[2:4])[0]
        self._fill(4 + n)
        data = self.buf[4:4 + n]
        self.buf = self.buf[4 + n:]
        return cmd, data

    def begin(self, flag, meta, total):
        """Init offering flag, answer the metadata query (if asked) with
        meta and the file request with START total; returns the RESUME
        value the server then asks for."""
        self.send(init_packet(self.imei, flag, self.protocol))
        while True:
            cmd, data = self.recv_frame()
            if cmd == 0x000A:
                self.send(frame(0x000B, meta))
            elif cmd == 0x0008:
                self.send(frame(0x0001, struct.pack('>IH', total, 0)))
            elif cmd == 0x0002:
                return struct.unpack('>I', data)[0]
            else:
                raise AssertionError('unexpected server frame %04x' % cmd)

    def drop(self, rst=False):
        if rst:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack('ii', 1, 0))
        self.sock.close()

    def run(self, files, meta=None, crc_error_at=None, drop_after=None,
            rst=False, status=None, max_frames=100000):
        """Upload files ({flag or path: bytes}) as the server asks."""
        meta = meta or {}
        res = Result()
        pending = dict(files)
        current = None
        sent_data = 0
        crc_done = False

        def flags():
            f = 0
            for k in pending:
                f |= FLAG_PATH if isinstance(k, str) else k
            return f

        self.send(init_packet(self.imei, flags(), self.protocol))
        try:
            for _ in range(max_frames):
                cmd, data = self.recv_frame()
                res.frames.append((cmd, data))
                if cmd == 0x0000:
                    res.closed = True
                    break
                if cmd == 0x0009:
                    if current in pending:
                        del pending[current]
                        res.sent_files.append(current)
                    current = None
                    self.send(init_packet(self.imei, flags(), self.protocol))
                elif cmd == 0x000C:
                    paths = [k for k in pending if isinstance(k, str)]
                    self.send(frame(0x000D, paths[0].encode() + b'\0'))
                elif cmd == 0x000A:
                    key = BY_IDENT.get(data)
                    if key is None:
                        key = [k for k in pending if isinstance(k, str)][0]
                    if key in meta:
                        self.send(frame(0x000B, meta[key]))
                    else:
                        self.send(frame(0x0005, struct.pack('>I', 0x11)))
                elif cmd == 0x0008:
                    key = BY_IDENT.get(data)
                    if key is None:
                        key = data.rstrip(b'\0').decode()
                    if status is not None:
                        self.send(frame(0x0005, struct.pack('>I', status)))
                        continue
                    current = key
                    body = pending[key]
                    if isinstance(key, str):
                        total = len(body)
                    else:
                        total = (len(body) + PACKET - 1) // PACKET
                    self.send(frame(0x0001, struct.pack('>IH', total, 0)))
                elif cmd == 0x0002:
                    n = struct.unpack('>I', data)[0]
                    res.resumes.append(n)
                    body = pending[current]
                    path = isinstance(current, str)
                    pos = n if path else (max(n, 1) - 1) * PACKET
                    self.send(frame(0x0003, struct.pack('>I', n)))
                    crc = 0
                    out = []
                    while pos < len(body):
                        chunk = body[pos:pos + PACKET]
                        crc = crc16(chunk, crc)
                        c = crc
                        sent_data += 1
                        if (crc_error_at is not None and not crc_done
                                and sent_data == crc_error_at):
                            c ^= 0xffff
                            crc_done = True
                        if path:
                            out.append(frame(0x000E, struct.pack('>I', pos)
                                             + chunk + struct.pack('>H', c)))
                        else:
                            out.append(frame(0x0004, chunk +
                                             struct.pack('>H', c)))
                        pos += len(chunk)
                        if drop_after is not None and sent_data >= drop_after:
                            self.send(b''.join(out))
                            res.dropped = True
                            self.drop(rst)
                            return res
                    self.send(b''.join(out))
                else:
                    raise AssertionError('unexpected server frame %04x %r'
                                         % (cmd, data[:32]))
        except ServerClosed:
            res.eof = True
        return res


def load_fixture(path):
    """The recorded device packets (list of bytes) of a capture file."""
    with open(path) as f:
        d = json.load(f)
    return [bytes(int(x, 16) for x in p['data'].split(','))
            for p in d['packets']]


def replay(sock, packets):
    """Play recorded device packets; returns the server frames seen."""
    groups = []
    for p in packets:
        cmd = struct.unpack('>H', p[:2])[0]
        if not groups or cmd in (0x0000, 0x000B, 0x0001, 0x0003):
            groups.append([])
        groups[-1].append(p)
    dev = Device(sock)
    seen = []
    dev.send(b''.join(groups[0]))
    for g in groups[1:]:
        seen.append(dev.recv_frame())
        dev.send(b''.join(g))
    try:
        seen.append(dev.recv_frame())
    except ServerClosed:
        pass
    return seen


def fixture_file(packets):
    """The file bytes carried by the DATA frames of a recording."""
    out = b''
    for p in packets:
        if struct.unpack('>H', p[:2])[0] == 0x0004:
            out += p[4:-2]
    return out
