"""A file is stored once: a device that missed its 00 09 (it dropped
right after its last packet) offers the same file again, and the module
acknowledges it without a second copy; a different file that only shares
the identity (IMEI, name, size in packets, capture time) is stored as a
new one."""

import json
import os
import time

from harness import NginxTestCase, fixture
import device
from status import StatusClient

CAPTURE_IMEI = 863719061653375
BASE = '%d/20241030-113505-front-photo' % CAPTURE_IMEI
META = device.meta_v3(1730288105000)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def photo(seed, size=5000):
    return b'\xff\xd8' + bytes((seed + i) % 251 for i in range(size)) \
        + b'\xff\xd9'


class Duplicates(NginxTestCase):

    def upload(self, ngx, body, drop_after=None):
        with ngx.connect() as s:
            return device.Device(s).run({device.FLAG_PHOTO_FRONT: body},
                                        meta={device.FLAG_PHOTO_FRONT: META},
                                        drop_after=drop_after)

    def test_capture_replayed_twice_is_stored_once(self):
        """The real session twice: one file, the second session says
        duplicate, the device heard 00 09 both times."""
        ngx = self.start_nginx(zone='dc 1m', http='''
            server {
                listen 127.0.0.1:@HTTP_PORT@;
                location = /status { dualcam_status dc; }
            }''')
        packets = device.load_fixture(fixture())
        for _ in range(2):
            with ngx.connect() as s:
                frames = device.replay(s, packets)
            self.assertIn((9, b''), frames)
        recs = ngx.wait_access(2)
        self.assertEqual([r['result'] for r in recs], ['ok', 'duplicate'])
        self.assertEqual([r['status'] for r in recs], ['200', '200'])
        self.assertEqual([r['files'] for r in recs], ['1', '0'])
        self.assertEqual(ngx.store_files(), [BASE + '.jpg',
                                             BASE + '.jpg.json'])
        self.assertEqual(read(os.path.join(ngx.store, BASE + '.jpg')),
                         device.fixture_file(packets))
        self.assertEqual(ngx.temp_files(), [])
        self.assertEqual(len(ngx.stored_records()), 1)
        ngx.wait_log(r'already stored as "[^"]*%s\.jpg", 29395 bytes: '
                     r'not stored again' % BASE)

        st = StatusClient(ngx, path='/status').json()
        t = st['totals']
        self.assertEqual(t['files_stored'], 1)
        self.assertEqual(t['files_duplicate'], 1)
        self.assertEqual(t['files_failed'], 0)
        self.assertEqual(t['sessions_ended']['duplicate'], 1)
        self.assertEqual(t['sessions_ended']['ok'], 1)
        first, dup = st['recent'][1], st['recent'][0]
        self.assertEqual(first['result'], 'ok')
        self.assertEqual(dup['result'], 'duplicate')
        self.assertEqual(dup['path'], first['path'])
        self.assertTrue(dup['path'].endswith(BASE + '.jpg'))

    def test_same_identity_other_content(self):
        """Same IMEI, name, packet count and capture time, other bytes:
        not a duplicate, stored as -1; then each again: both duplicates."""
        ngx = self.start_nginx()
        a, b = photo(1), photo(2)
        self.assertEqual(len(a), len(b))
        for body in (a, b, a, b):
            self.assertTrue(self.upload(ngx, body).closed)
        recs = ngx.wait_access(4)
        self.assertEqual([r['result'] for r in recs],
                         ['ok', 'ok', 'duplicate', 'duplicate'])
        # one record of the identity, listing both
        recs = ngx.stored_records()
        self.assertEqual(len(recs), 1)
        lines = read(os.path.join(ngx.temp, recs[0])).decode().splitlines()
        self.assertEqual(lines[0], 'dualcam stored 2')
        self.assertEqual([ln.split(' ')[0] for ln in lines[-2:]],
                         [str(len(a)), str(len(b))])
        self.assertEqual(ngx.store_files(), [
            BASE + '-1.jpg', BASE + '-1.jpg.json',
            BASE + '.jpg', BASE + '.jpg.json'])

    def test_record_expires_with_resume_timeout(self):
        """After dualcam_resume_timeout the record is swept, and the same
        file is stored again."""
        ngx = self.start_nginx(server='dualcam_resume_timeout 2s;')
        body = photo(3)
        self.assertTrue(self.upload(ngx, body).closed)
        ngx.wait_access(1)
        self.assertEqual(len(ngx.stored_records()), 1)
        deadline = time.time() + 15
        while ngx.stored_records() and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(ngx.stored_records(), [])
        self.assertTrue(self.upload(ngx, body).closed)
        recs = ngx.wait_access(2)
        self.assertEqual(recs[1]['result'], 'ok')
        self.assertEqual(len(ngx.store_files()), 4)

    def test_stored_copy_changed_then_offered_again(self):
        """The check compares bytes, not the record: once the stored copy
        is changed (same size) or removed, the file offered again is
        stored again."""
        ngx = self.start_nginx()
        body = photo(7)
        self.assertTrue(self.upload(ngx, body).closed)
        ngx.wait_access(1)
        path = os.path.join(ngx.store, BASE + '.jpg')
        with open(path, 'r+b') as f:
            f.seek(len(body) - 2)
            f.write(b'\x00\x00')
        self.assertTrue(self.upload(ngx, body).closed)
        recs = ngx.wait_access(2)
        self.assertEqual(recs[1]['result'], 'ok')
        self.assertEqual(read(os.path.join(ngx.store, BASE + '-1.jpg')),
                         body)
        # now a duplicate of -1; then -1 removed: stored again
        self.assertTrue(self.upload(ngx, body).closed)
        self.assertEqual(ngx.wait_access(3)[2]['result'], 'duplicate')
        os.unlink(os.path.join(ngx.store, BASE + '-1.jpg'))
        self.assertTrue(self.upload(ngx, body).closed)
        self.assertEqual(ngx.wait_access(4)[3]['result'], 'ok')
        self.assertEqual(read(os.path.join(ngx.store, BASE + '-1.jpg')),
                         body)
        self.assertEqual(ngx.bad_lines(), [])

    def test_torn_record_is_replaced(self):
        """A record cut short (a crash while it was written) or of an
        older format is not trusted: the file is stored again and the
        record rewritten whole."""
        ngx = self.start_nginx()
        body = photo(8)
        self.assertTrue(self.upload(ngx, body).closed)
        ngx.wait_access(1)
        rec = os.path.join(ngx.temp, ngx.stored_records()[0])
        whole = read(rec)
        with open(rec, 'wb') as f:
            f.write(whole[:-5])                 # the path's end is lost
        self.assertTrue(self.upload(ngx, body).closed)
        self.assertEqual(ngx.wait_access(2)[1]['result'], 'ok')
        with open(rec, 'wb') as f:
            f.write(whole.replace(b'stored 2', b'stored 1'))
        self.assertTrue(self.upload(ngx, body).closed)
        self.assertEqual(ngx.wait_access(3)[2]['result'], 'ok')
        self.assertTrue(read(rec).startswith(b'dualcam stored 2\n'))
        self.assertEqual(len(read(rec).splitlines()[-1].split(b' ')), 2)
        self.assertEqual(ngx.bad_lines(), [])

    def test_sha256_only_when_asked(self):
        """The sidecar names the file's SHA-256 with dualcam_sha256 on,
        and has no such field by default."""
        import hashlib
        for conf, want in (('', None), ('dualcam_sha256 on;', True)):
            ngx = self.start_nginx(server=conf)
            body = photo(5)
            self.assertTrue(self.upload(ngx, body).closed)
            ngx.wait_access(1)
            side = json.loads(read(os.path.join(ngx.store,
                                                BASE + '.jpg.json')))
            if want:
                self.assertEqual(side['sha256'],
                                 hashlib.sha256(body).hexdigest())
            else:
                self.assertNotIn('sha256', side)
            ngx.stop()
