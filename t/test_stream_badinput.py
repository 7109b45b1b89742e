"""Bad input and bad devices: every one ends with the right $status and
$dualcam_result, and leaves no fd, temp file or crash behind (issue 3)."""

import os
import socket
import struct
import time

import device
import harness
from device import (Device, FLAG_PHOTO_FRONT, frame, init_packet,
                    packet_frames)
from harness import NginxTestCase


IMEI = 352093080000042
CLOSE = b'\0\0\0\0'


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


class BadInput(NginxTestCase):

    def start(self, server=''):
        return self.start_nginx(server='dualcam_timeout 1s;\n'
                                'dualcam_resume off;\n' + server)

    def last(self, ngx, n):
        rec = ngx.wait_access(n)[n - 1]
        return rec['status'], rec['result'], rec['imei']

    def test_garbage_instead_of_init(self):
        ngx = self.start()
        got, closed = talk(ngx, b'GET / HTTP/1.0\r\nHost: x\r\n\r\n')
        self.assertTrue(closed)
        self.assertEqual(self.last(ngx, 1), ('400', 'protocol_error', '-'))

    def test_imei_with_16_digits(self):
        ngx = self.start()
        got, closed = talk(ngx, init_packet(1234567890123456,
                                            FLAG_PHOTO_FRONT))
        self.assertTrue(closed)
        self.assertEqual(got, CLOSE)
        status, result, imei = self.last(ngx, 1)
        self.assertEqual((status, result), ('400', 'protocol_error'))

    def test_oversize_start(self):
        """START beyond dualcam_max_file_size is refused before any
        storage is touched."""
        ngx = self.start('dualcam_max_file_size 100k;')
        s = ngx.connect()
        d = Device(s, imei=IMEI)
        d.send(init_packet(IMEI, FLAG_PHOTO_FRONT))
        self.assertEqual(d.recv_frame()[0], 0x000A)
        d.send(frame(0x000B, device.meta_v3(1730288105000)))
        self.assertEqual(d.recv_frame()[0], 0x0008)
        d.send(frame(0x0001, struct.pack('>IH', 1000, 0)))
        try:
            rest = d.recv_frame()
        except device.ServerClosed:
            rest = None
        s.close()
        self.assertIn(rest, (None, (0, b'')))
        self.assertEqual(self.last(ngx, 1),
                         ('400', 'protocol_error', str(IMEI)))
        self.assertEqual(ngx.temp_files(), [])

    def test_length_65535(self):
        ngx = self.start()
        got, closed = talk(ngx, init_packet(IMEI, FLAG_PHOTO_FRONT)
                           + b'\x00\x0b\xff\xff' + b'x' * 100)
        self.assertTrue(closed)
        self.assertEqual(self.last(ngx, 1),
                         ('400', 'protocol_error', str(IMEI)))

    def test_silent_device(self):
        """Connects and says nothing: closed after dualcam_timeout."""
        ngx = self.start()
        t = time.time()
        got, closed = talk(ngx, b'', wait=5)
        self.assertTrue(closed)
        self.assertLess(time.time() - t, 4)
        self.assertGreater(time.time() - t, 0.8)
        self.assertEqual(self.last(ngx, 1), ('200', 'timeout', '-'))

    def test_stall_mid_file_keeps_partial(self):
        """A device that stops mid-file is timed out; with resume on its
        verified part stays for the next connection."""
        ngx = self.start_nginx(server='dualcam_timeout 1s;')
        packets = device.load_fixture(harness.fixture())
        body = device.fixture_file(packets)
        s = ngx.connect()
        d = Device(s, imei=IMEI)
        self.assertEqual(d.begin(FLAG_PHOTO_FRONT,
                                 device.fixture_meta(packets), 29), 0)
        data, _ = packet_frames(body, 1, 7)
        d.send(frame(0x0003, struct.pack('>I', 1)) + data)
        try:
            self.assertRaises(device.ServerClosed, d.recv_frame)
        finally:
            s.close()
        self.assertEqual(self.last(ngx, 1), ('200', 'timeout', str(IMEI)))
        self.assertEqual(len(ngx.temp_files()), 2)
        ngx.wait_log(r'device timed out.*imei: %d, file: %%photof' % IMEI)

    def test_no_leaks(self):
        """A batch of bad devices, several mid-file: the worker's fd count
        is what it was, no temp file remains, nginx did not crash."""
        ngx = self.start()
        worker = ngx.worker_pids()[0]
        talk(ngx, b'\0\0\0\x05')                # warm up lazily made fds
        before = ngx.fd_count(worker)
        body = bytes(range(256)) * 40           # 10 packets

        for i in range(3):
            talk(ngx, os.urandom(64))
            talk(ngx, init_packet(IMEI, FLAG_PHOTO_FRONT)[:9], rst=True)
            talk(ngx, init_packet(10 ** 16, 4))
            talk(ngx, b'', wait=2)

            for kw in ({'drop_after': 3}, {'drop_after': 5, 'rst': True},
                       {'status': 4}):
                s = ngx.connect()
                try:
                    Device(s, imei=IMEI + i).run({FLAG_PHOTO_FRONT: body},
                                                 **kw)
                except OSError:
                    pass
                s.close()

            # mid-frame, then an RST or a plain close
            s = ngx.connect()
            d = Device(s, imei=IMEI + i)
            d.begin(FLAG_PHOTO_FRONT, device.meta_v3(1730288105000), 10)
            data, _ = packet_frames(body, 1, 4)
            d.send(frame(0x0003, struct.pack('>I', 1)) + data[:-100])
            time.sleep(0.05)
            d.drop(rst=(i % 2 == 0))

        ngx.wait_access(1 + 3 * 8)
        time.sleep(0.2)
        self.assertEqual(ngx.worker_pids(), [worker])
        self.assertEqual(ngx.fd_count(worker), before)
        self.assertEqual(ngx.temp_files(), [])
        self.assertEqual(ngx.store_files(), [])
        results = set(r['result'] for r in ngx.access_records())
        self.assertLessEqual(results, {'protocol_error', 'timeout',
                                       'closed_by_device', 'device_status',
                                       'ok'})


class AllowList(NginxTestCase):

    def test_unknown_imei_refused_and_reload(self):
        """An IMEI not in dualcam_allow_imei gets CLOSE and 403; the list
        is re-read on reload."""
        ngx = self.start_nginx(start=False)
        allow = os.path.join(ngx.prefix, 'allow.txt')
        with open(allow, 'w') as f:
            f.write('# fleet A\n%d\n352093080000100  # a comment\n\n' % IMEI)
        ngx.conf = ngx.conf.replace('dualcam_store',
                                    'dualcam_allow_imei %s;\n'
                                    '        dualcam_store' % allow)
        ngx.start()

        got, closed = talk(ngx, init_packet(IMEI + 1, FLAG_PHOTO_FRONT))
        self.assertEqual(got, CLOSE)
        self.assertTrue(closed)
        self.assertEqual(self.rec(ngx, 1), ('403', 'refused',
                                            str(IMEI + 1)))
        ngx.wait_log(r'IMEI %d is not in the allow list' % (IMEI + 1))

        s = ngx.connect()
        res = Device(s, imei=IMEI).run({FLAG_PHOTO_FRONT: b'\xff\xd8' * 600})
        s.close()
        self.assertTrue(res.closed)
        self.assertEqual(self.rec(ngx, 2), ('200', 'ok', str(IMEI)))

        with open(allow, 'a') as f:
            f.write('%d\n' % (IMEI + 1))
        ngx.reload()
        s = ngx.connect()
        res = Device(s, imei=IMEI + 1).run({FLAG_PHOTO_FRONT: b'\xff' * 10})
        s.close()
        self.assertEqual(self.rec(ngx, 3), ('200', 'ok', str(IMEI + 1)))

    def rec(self, ngx, n):
        r = ngx.wait_access(n)[n - 1]
        return r['status'], r['result'], r['imei']


class ConfigErrors(NginxTestCase):

    def check(self, server, message, files=None):
        ngx = self.start_nginx(start=False, server=server)
        for name, text in (files or {}).items():
            with open(os.path.join(ngx.prefix, name), 'w') as f:
                f.write(text)
        ngx.expect_log(r'\[emerg\]')
        r = ngx.test_config()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(message, r.stderr)

    def test_buffer_too_small(self):
        self.check('dualcam_buffer_size 1k;',
                   '"dualcam_buffer_size" must be at least 1034')

    def test_bad_allow_list(self):
        self.check('dualcam_allow_imei @PREFIX@/allow.txt;',
                   'invalid IMEI in', {'allow.txt': '123\n1234567890123456\n'})

    def test_missing_allow_list(self):
        self.check('dualcam_allow_imei @PREFIX@/nope.txt;', 'nope.txt')

    def test_zone_parameter(self):
        ngx = self.start_nginx(start=False, stream='''server {
            listen 127.0.0.1:@PORT@;
            dualcam bogus=1;
            dualcam_store @STORE@;
        }''')
        ngx.expect_log(r'\[emerg\]')
        r = ngx.test_config()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('invalid parameter "bogus=1"', r.stderr)

    def test_store_required(self):
        ngx = self.start_nginx(start=False, stream='''server {
            listen 127.0.0.1:@PORT@;
            dualcam;
        }''')
        ngx.expect_log(r'\[emerg\]')
        r = ngx.test_config()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('"dualcam" needs "dualcam_store"', r.stderr)
