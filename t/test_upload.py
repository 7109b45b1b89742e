"""Uploads that go right: the real capture, every file kind, names and
sidecars, path mode, metadata off; and a device that answers a request
with STATUS (it cannot send the file): a clean end, nothing stored."""

import json
import os
import re

import device
import harness
from device import Device, FLAG_PHOTO_FRONT
from harness import NginxTestCase, need_sim


CAPTURE_IMEI = 863719061653375


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class Upload(NginxTestCase):

    def replay_capture(self, ngx):
        packets = device.load_fixture(harness.fixture())
        s = ngx.connect()
        try:
            seen = device.replay(s, packets)
        finally:
            s.close()
        return packets, seen

    def test_capture_replayed(self):
        """The recorded device session against the module: the JPEG is
        byte-exact and the sidecar has the capture's metadata."""
        ngx = self.start_nginx()
        packets, seen = self.replay_capture(ngx)

        self.assertEqual(seen, [(0x000A, b'%photof'), (0x0008, b'%photof'),
                                (0x0002, b'\0\0\0\0'), (0x0009, b''),
                                (0x0000, b'')])

        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['imei'],
                          rec['files'], rec['bytes']),
                         ('200', 'ok', str(CAPTURE_IMEI), '1', '29395'))
        self.assertEqual(int(rec['received']),
                         sum(len(p) for p in packets))

        name = '%d/20241030-113505-front-photo.jpg' % CAPTURE_IMEI
        self.assertEqual(ngx.store_files(), [name, name + '.json'])
        self.assertEqual(read(os.path.join(ngx.store, name)),
                         device.fixture_file(packets))

        side = json.loads(read(os.path.join(ngx.store, name + '.json')))
        self.assertEqual(side['imei'], str(CAPTURE_IMEI))
        self.assertEqual(side['peer'], '127.0.0.1')
        self.assertEqual((side['protocol'], side['side'], side['kind']),
                         (5, 'front', 'photo'))
        self.assertEqual(side['name'], '%photof')
        self.assertEqual(side['file'], '20241030-113505-front-photo.jpg')
        self.assertEqual((side['size'], side['packets'],
                          side['crc_failures'], side['resumes']),
                         (29395, 29, 0, 0))
        meta = side['metadata']
        self.assertEqual(meta['capture_time'], '2024-10-30T11:35:05.000Z')
        self.assertEqual(meta['capture_time_ms'], 1730288105000)
        self.assertEqual(meta['trigger'], 0)
        self.assertEqual(meta['trigger_text'], 'server request')
        self.assertEqual(meta['version'], 3)
        self.assertEqual(meta['timezone_minutes'], 300)
        self.assertEqual(round(meta['latitude'], 5), 24.92856)
        self.assertEqual(round(meta['longitude'], 5), 67.12924)
        self.assertTrue(side['started'].endswith('Z'))
        self.assertEqual(ngx.temp_files(), [])

    def test_never_overwritten(self):
        """Two different files of the same second and camera: the second
        gets a -1 suffix, and neither is overwritten."""
        ngx = self.start_nginx()
        meta = device.meta_v3(1730288105000)
        bodies = [b'\xff\xd8' + bytes([i]) * 3000 + b'\xff\xd9'
                  for i in (1, 2)]
        for body in bodies:
            with ngx.connect() as s:
                r = device.Device(s).run({device.FLAG_PHOTO_FRONT: body},
                                         meta={device.FLAG_PHOTO_FRONT: meta})
                self.assertTrue(r.closed)
        ngx.wait_access(2)
        base = '%d/20241030-113505-front-photo' % CAPTURE_IMEI
        self.assertEqual(ngx.store_files(), [
            base + '-1.jpg', base + '-1.jpg.json',
            base + '.jpg', base + '.jpg.json'])
        self.assertEqual(read(os.path.join(ngx.store, base + '.jpg')),
                         bodies[0])
        self.assertEqual(read(os.path.join(ngx.store, base + '-1.jpg')),
                         bodies[1])
        side = json.loads(read(os.path.join(ngx.store,
                                            base + '-1.jpg.json')))
        self.assertEqual(side['file'], '20241030-113505-front-photo-1.jpg')

    def test_four_files_one_device(self):
        """Front and rear photo and video in one session."""
        need_sim(self)
        ngx = self.start_nginx()
        r = ngx.sim('--imei', 352093080000001, '--files',
                    'photof:50000,photor:31000,videof:300k,videor:123457',
                    '--verify-store', ngx.store, '--json')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)['verify']['ok'], 4)

        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files'],
                          rec['bytes']),
                         ('200', 'ok', '4', str(50000 + 31000 + 300 * 1024
                                               + 123457)))
        files = ngx.store_files()
        self.assertEqual(len(files), 8)
        kinds = set()
        for f in files:
            if f.endswith('.json'):
                continue
            m = re.match(r'352093080000001/\d{8}-\d{6}-(front|rear)-'
                         r'(photo|video)\.(jpg|h265)$', f)
            self.assertIsNotNone(m, f)
            self.assertEqual(m.group(3),
                             'jpg' if m.group(2) == 'photo' else 'h265')
            kinds.add((m.group(1), m.group(2)))
            side = json.loads(read(os.path.join(ngx.store, f + '.json')))
            self.assertEqual(side['size'],
                             os.path.getsize(os.path.join(ngx.store, f)))
        self.assertEqual(len(kinds), 4)
        self.assertEqual(ngx.temp_files(), [])

    def test_path_mode(self):
        """Protocol 6: files through the path procedure; the device's
        path contributes only an extension, even with ../ in it."""
        need_sim(self)
        ngx = self.start_nginx()
        r = ngx.sim('--imei', 352093080000002, '--protocol', 6, '--files',
                    'path:dsm/picture/231020/231452.jpg:30000,'
                    'path:../../../../etc/evil.mp4:5000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        files = [f for f in ngx.store_files() if not f.endswith('.json')]
        self.assertEqual(len(files), 2)
        exts = sorted(f.rsplit('.', 1)[1] for f in files)
        self.assertEqual(exts, ['jpg', 'mp4'])
        for f in files:
            self.assertTrue(f.startswith('352093080000002/'), f)
            side = json.loads(read(os.path.join(ngx.store, f + '.json')))
            self.assertEqual(side['protocol'], 6)
            self.assertIn(side['name'], ('dsm/picture/231020/231452.jpg',
                                         '../../../../etc/evil.mp4'))
        self.assertFalse(os.path.exists(os.path.join(ngx.prefix, 'etc')))

    def test_metadata_off(self):
        """dualcam_metadata off: no 0x000A, the name is the arrival time."""
        ngx = self.start_nginx(server='dualcam_metadata off;')
        s = ngx.connect()
        body = bytes(range(256)) * 20
        res = device.Device(s, imei=352093080000003).run(
            {device.FLAG_PHOTO_REAR: body})
        s.close()
        self.assertNotIn(0x000A, [c for c, _ in res.frames])
        self.assertTrue(res.closed)
        ngx.wait_access(1)
        files = ngx.store_files()
        self.assertEqual(len(files), 2)
        self.assertRegex(files[0], r'^352093080000003/\d{8}-\d{6}-rear-'
                                   r'photo\.jpg$')
        self.assertEqual(read(os.path.join(ngx.store, files[0])), body)
        side = json.loads(read(os.path.join(ngx.store, files[1])))
        self.assertNotIn('metadata', side)


class DeviceStatus(NginxTestCase):

    def test_device_status_0x11(self):
        """The device answers the file request with STATUS 0x11: logged
        with its meaning, nothing stored, the session ends cleanly.  The
        same when STATUS answers the metadata request (dualcam-sim
        --status 17:meta)."""
        ngx = self.start_nginx()
        packets = device.load_fixture(harness.fixture())
        with ngx.connect() as s:
            res = Device(s, imei=CAPTURE_IMEI).run(
                {FLAG_PHOTO_FRONT: device.fixture_file(packets)},
                meta={FLAG_PHOTO_FRONT: device.fixture_meta(packets)},
                status=0x11)
        self.assertTrue(res.closed)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('200', 'device_status', '0'))
        ngx.wait_log(r'device status 17: failed to read file \(camera not '
                     r'configured or file not available\).*imei: %d'
                     % CAPTURE_IMEI)
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(ngx.temp_files(), [])

        need_sim(self)
        r = ngx.sim('--status', '17:meta', '--files', 'photof:20000,'
                    'photor:1000')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rec = ngx.wait_access(2)[1]
        self.assertEqual((rec['status'], rec['files']), ('200', '0'))
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(ngx.temp_files(), [])
