"""Bad input and bad devices: garbage instead of an init, a 16-digit
IMEI, a START over dualcam_max_file_size, a frame length of 65535, a
device that says nothing, a batch of broken sessions (no fd, temp file
or crash left behind); and a device that goes wrong mid-file (CRC errors
over dualcam_max_crc_errors, an unknown command): the session ends with
400 and the verified prefix stays for the next connection.  Every one
ends with the right $status and $dualcam_result.
"""

import os
import struct
import time

import device
from device import (Device, FLAG_PHOTO_FRONT, frame, init_packet,
                    packet_frames)
from faults import IMEI as FAULTS_IMEI
from faults import (NAME_10, StepDevice, content, partials, stored, talk,
                    wait_closed, wait_for)
from harness import NginxTestCase


IMEI = 352093080000042
CLOSE = b'\0\0\0\0'


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


class MidFile(NginxTestCase):
    """A device that goes wrong mid-file: the session ends (400), the
    verified prefix stays, and the next connection resumes after it."""

    SERVER = '''
        dualcam_timeout 1s;
        dualcam_resume_timeout 60s;
    '''
    BODY = content(10)

    def bad_until_closed(self, dev):
        """Send the next packet with a bad CRC until the server gives
        up; the RESUME values it sent meanwhile."""
        resumes = []
        for _ in range(10):
            dev.send_packets(1, bad_crc_at=dev.next)
            try:
                resumes.append(dev.sync())
            except (AssertionError, device.ServerClosed):
                break
        wait_closed(dev.sock, timeout=3)
        return resumes

    def test_crc_limit_keeps_prefix(self):
        """dualcam_max_crc_errors 3: packet 4 goes bad again and again;
        three times the server asks for it again, the fourth ends the
        session (400, crc_limit) with packets 1..3 kept; the next
        connection resumes at 4, byte-exact.  A device whose every packet
        is bad from the first has nothing verified: nothing is kept."""
        ngx = self.start_nginx(server=self.SERVER +
                               'dualcam_max_crc_errors 3;')
        dev = StepDevice(ngx.connect(), self.BODY, imei=FAULTS_IMEI + 1)
        self.assertEqual(dev.offer(), 0)
        self.assertEqual(self.bad_until_closed(dev), [1, 1, 1])
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']), ('400', 'crc_limit'))
        wait_for(lambda: ngx.temp_files() == [], timeout=5,
                 what='an empty temp path')
        self.assertEqual(ngx.store_files(), [])

        dev = StepDevice(ngx.connect(), self.BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(3)
        self.assertEqual(self.bad_until_closed(dev), [4, 4, 4])
        rec = ngx.wait_access(2)[1]
        self.assertEqual((rec['status'], rec['result']), ('400', 'crc_limit'))
        self.assertEqual(list(partials(ngx.temp).values()), [3 * 1024])

        dev = StepDevice(ngx.connect(), self.BODY)
        self.assertEqual(dev.offer(), 4)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: self.BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_garbage_mid_file_keeps_prefix(self):
        """After 6 good packets the device sends an unknown command: 400,
        protocol_error, packets 1..6 kept; the next connection resumes at
        7, byte-exact."""
        ngx = self.start_nginx(server=self.SERVER)
        dev = StepDevice(ngx.connect(), self.BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(6)
        dev.dev.send(frame(0x0077, b'\xde\xad\xbe\xef'))
        wait_closed(dev.sock, timeout=3)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']),
                         ('400', 'protocol_error'))
        self.assertEqual(list(partials(ngx.temp).values()), [6 * 1024])

        dev = StepDevice(ngx.connect(), self.BODY)
        self.assertEqual(dev.offer(), 7)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: self.BODY})
        self.assertEqual(ngx.temp_files(), [])
