"""Uploads that go wrong and recover: bad CRC, drops and resume across
connections, device STATUS, two connections on one file, an unwritable
store, the sweeper (issue 3)."""

import json
import os
import re
import struct
import time

import device
import harness
from device import (Device, FLAG_PHOTO_FRONT, frame, init_packet,
                    packet_frames)
from harness import NginxTestCase, need_sim


IMEI = 863719061653375


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class Faults(NginxTestCase):

    def setUp(self):
        super().setUp()
        self.packets = device.load_fixture(harness.fixture())
        self.body = device.fixture_file(self.packets)        # 29 packets
        self.meta = device.fixture_meta(self.packets)
        self.name = '%d/20241030-113505-front-photo.jpg' % IMEI

    def upload(self, ngx, **kw):
        s = ngx.connect()
        try:
            return Device(s, imei=IMEI).run({FLAG_PHOTO_FRONT: self.body},
                                            meta={FLAG_PHOTO_FRONT:
                                                  self.meta}, **kw)
        finally:
            s.close()

    def stored(self, ngx):
        return read(os.path.join(ngx.store, self.name))

    def sidecar(self, ngx):
        return json.loads(read(os.path.join(ngx.store,
                                            self.name + '.json')))

    def wait_temp(self, ngx, n, timeout=5):
        deadline = time.time() + timeout
        while len(ngx.temp_files()) != n and time.time() < deadline:
            time.sleep(0.05)
        return ngx.temp_files()

    def test_bad_crc_mid_file(self):
        """Packet 5 with a bad CRC: RESUME 5, the file is byte-exact."""
        ngx = self.start_nginx()
        res = self.upload(ngx, crc_error_at=5)
        self.assertEqual(res.resumes, [0, 5])
        self.assertTrue(res.closed)
        self.assertEqual(self.stored(ngx), self.body)
        side = self.sidecar(ngx)
        self.assertEqual((side['crc_failures'], side['resumes']), (1, 1))
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']), ('200', 'ok'))

    def test_bad_crc_sim(self):
        need_sim(self)
        ngx = self.start_nginx()
        r = ngx.sim('--crc-error-at', 3, '--log-resumes', '--files',
                    'photof:20000,videof:100000', '--verify-store',
                    ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        units = re.findall(r'resume imei=\d+ file=(\w+) unit=(\d+)',
                           r.stderr)
        self.assertIn(('photof', '3'), units)
        self.assertIn(('videof', '3'), units)

    def test_crc_limit(self):
        """Every packet bad: the session ends after dualcam_max_crc_errors
        with crc_limit, 400."""
        need_sim(self)
        ngx = self.start_nginx(server='dualcam_max_crc_errors 3;')
        ngx.sim('--crc-error-rate', 1, '--files', 'photof:20000',
                '--timeout', 20)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']),
                         ('400', 'crc_limit'))
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(self.wait_temp(ngx, 0), [])

    def test_drop_then_resume(self):
        """The connection drops after 10 packets; the next connection's
        RESUME asks for packet 11 and the file is byte-exact."""
        ngx = self.start_nginx()
        res = self.upload(ngx, drop_after=10)
        self.assertTrue(res.dropped)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('200', 'closed_by_device', '0'))
        self.assertEqual(len(self.wait_temp(ngx, 2)), 2)   # partial, state
        self.assertEqual(ngx.store_files(), [])

        res = self.upload(ngx)
        self.assertEqual(res.resumes, [11])
        self.assertTrue(res.closed)
        self.assertEqual(self.stored(ngx), self.body)
        self.assertEqual(self.sidecar(ngx)['resumed_from'], 10 * 1024)
        self.assertEqual(ngx.temp_files(), [])
        ngx.wait_log(r'resuming after 10240 verified bytes')

    def test_rst_mid_frame_then_resume(self):
        """An RST in the middle of packet 12: 11 packets are kept."""
        ngx = self.start_nginx()
        s = ngx.connect()
        d = Device(s, imei=IMEI)
        self.assertEqual(d.begin(FLAG_PHOTO_FRONT, self.meta, 29), 0)
        data, _ = packet_frames(self.body, 1, 12)
        d.send(frame(0x0003, struct.pack('>I', 1)) + data[:-500])
        time.sleep(0.2)
        d.drop(rst=True)
        rec = ngx.wait_access(1)[0]
        self.assertEqual(rec['result'], 'closed_by_device')

        res = self.upload(ngx)
        self.assertEqual(res.resumes, [12])
        self.assertEqual(self.stored(ngx), self.body)

    def test_drop_resume_sim(self):
        need_sim(self)
        ngx = self.start_nginx()
        r = ngx.sim('--drop-after', 5, '--log-resumes', '--files',
                    'photof:20000', '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        units = re.findall(r'unit=(\d+)', r.stderr)
        self.assertEqual(units, ['0', '6'])

    def test_drop_resume_path_mode(self):
        """Path mode counts in bytes: after 5 packets of 0x000E, the
        RESUME asks for byte 5120."""
        need_sim(self)
        ngx = self.start_nginx()
        r = ngx.sim('--protocol', 6, '--enhanced', '--drop-after', 5,
                    '--log-resumes', '--files', 'path:adas/video/x.mp4:30000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(re.findall(r'unit=(\d+)', r.stderr), ['0', '5120'])
        self.assertEqual(len(ngx.store_files()), 2)
        self.assertEqual(ngx.temp_files(), [])

    def test_resume_off(self):
        """dualcam_resume off: nothing is kept, the next upload starts at
        the first packet."""
        ngx = self.start_nginx(server='dualcam_resume off;')
        self.upload(ngx, drop_after=10)
        ngx.wait_access(1)
        self.assertEqual(self.wait_temp(ngx, 0), [])
        res = self.upload(ngx)
        self.assertEqual(res.resumes, [0])
        self.assertEqual(self.stored(ngx), self.body)

    def test_device_status_0x11(self):
        """The device answers the file request with STATUS 0x11: logged
        with its meaning, nothing stored, the session ends cleanly."""
        ngx = self.start_nginx()
        res = self.upload(ngx, status=0x11)
        self.assertTrue(res.closed)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('200', 'device_status', '0'))
        ngx.wait_log(r'device status 17: failed to read file \(camera not '
                     r'configured or file not available\).*imei: %d' % IMEI)
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(ngx.temp_files(), [])

    def test_device_status_sim(self):
        need_sim(self)
        ngx = self.start_nginx()
        r = ngx.sim('--status', 17, '--files', 'photof:20000')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = ngx.sim('--status', '17:meta', '--files', 'photof:20000,'
                    'photor:1000')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        recs = ngx.wait_access(2)
        self.assertEqual(recs[0]['result'], 'device_status')
        self.assertEqual(ngx.store_files(), [])

    def test_same_file_two_connections(self):
        """A second connection of the same IMEI offers the file the first
        one is still writing: it does not touch the first one's partial
        (it starts from the first packet into a private temp file).  The
        one that finishes first stores the file; the other is the same
        file again, acknowledged as a duplicate: one copy, byte-exact."""
        self.same_file_twice(self.start_nginx())

    def test_same_file_two_connections_two_workers(self):
        """The same with two workers and reuseport, so that the two
        connections may land in different processes (the kernel picks)."""
        self.same_file_twice(self.start_nginx(workers=2, stream='''
            server {
                listen 127.0.0.1:@PORT@ reuseport;
                dualcam;
                dualcam_store @STORE@;
                dualcam_temp_path @TEMP@;
            }'''))

    def same_file_twice(self, ngx):
        sa = ngx.connect()
        a = Device(sa, imei=IMEI)
        self.assertEqual(a.begin(FLAG_PHOTO_FRONT, self.meta, 29), 0)
        data, crc = packet_frames(self.body, 1, 8)
        a.send(frame(0x0003, struct.pack('>I', 1)) + data)
        time.sleep(0.2)

        res = self.upload(ngx)
        self.assertEqual(res.resumes, [0])
        self.assertTrue(res.closed)
        ngx.wait_log(r'is in use, uploading into a private temp file')

        data, _ = packet_frames(self.body, 9, 29, crc)
        a.send(data)
        self.assertEqual(a.recv_frame(), (0x0009, b''))
        a.send(init_packet(IMEI, 0))
        self.assertEqual(a.recv_frame(), (0x0000, b''))
        sa.close()

        recs = ngx.wait_access(2)
        self.assertEqual(sorted(r['result'] for r in recs),
                         ['duplicate', 'ok'])
        base = '%d/20241030-113505-front-photo' % IMEI
        self.assertEqual(ngx.store_files(), [base + '.jpg',
                                             base + '.jpg.json'])
        self.assertEqual(read(os.path.join(ngx.store, base + '.jpg')),
                         self.body)
        self.assertEqual(ngx.temp_files(), [])

    def test_unwritable_store(self):
        """The store refuses the file: crit with path and errno, 500,
        nothing in the store, the complete partial kept; once the store
        is writable the next connection fetches only the last packet."""
        ngx = self.start_nginx()
        ngx.expect_log(r'\[crit\].*mkdir\(\) ".*/store/%d" failed '
                       r'\(13: Permission denied\)' % IMEI)
        if os.geteuid() == 0:
            os.chown(ngx.store, 0, 0)
        else:
            os.chmod(ngx.store, 0o555)

        res = self.upload(ngx)
        self.assertFalse(res.closed)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('500', 'store_error', '0'))
        ngx.wait_log(r'\[crit\].*mkdir\(\).*Permission denied')
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(len(ngx.temp_files()), 2)

        os.chmod(ngx.store, 0o755)
        harness.chown_worker(ngx.store)
        res = self.upload(ngx)
        self.assertEqual(res.resumes, [29])
        self.assertTrue(res.closed)
        self.assertEqual(self.stored(ngx), self.body)
        self.assertEqual(ngx.temp_files(), [])

    def test_sweeper_removes_old_partials(self):
        """Partials older than dualcam_resume_timeout are removed by the
        worker's timer."""
        ngx = self.start_nginx(server='dualcam_resume_timeout 1s;')
        self.upload(ngx, drop_after=4)
        ngx.wait_access(1)
        self.assertEqual(len(self.wait_temp(ngx, 2)), 2)
        self.assertEqual(self.wait_temp(ngx, 0, timeout=8), [])
        ngx.wait_log(r'dualcam: removing ".*%d-' % IMEI)

    def test_resume_repeated_then_closed(self):
        """No SYNC after a RESUME: the RESUME is repeated every 2 s, then
        the session ends (timeout), keeping nothing it did not verify."""
        ngx = self.start_nginx()
        s = ngx.connect(timeout=30)
        d = Device(s, imei=IMEI)
        self.assertEqual(d.begin(FLAG_PHOTO_FRONT, self.meta, 29), 0)
        t = time.time()
        frames = [(0x0002, b'\0\0\0\0')]
        try:
            while True:
                frames.append(d.recv_frame())
                if frames[-1][0] == 0x0000:
                    break
        except device.ServerClosed:
            pass
        s.close()
        resumes = [f for f in frames if f[0] == 0x0002]
        self.assertEqual(resumes, [(0x0002, b'\0\0\0\0')] * 6)
        self.assertGreater(time.time() - t, 9)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']), ('200', 'timeout'))
        self.assertEqual(ngx.temp_files(), [])
