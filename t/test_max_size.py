"""dualcam_max_file_size is on the bytes received (issue 9 item 11).

In packet mode START only bounds a file (the last packet holds 1 to 1024
bytes): a 900-byte photo under a 1000-byte limit is stored; a 2200-byte
one under 2100 (START 3, at least 2049 bytes) is let in and ended at its
last packet, nothing stored; one that cannot fit even at its smallest
(START 3 under 2000) is refused before anything is written.
"""

from harness import NginxTestCase
from device import FLAG_PHOTO_FRONT, Device

IMEI = 352093089200000


class MaxFileSizeReceived(NginxTestCase):

    def upload(self, ngx, imei, size):
        s = ngx.connect()
        jpeg = b'\xff\xd8' + bytes([size & 0xff]) * (size - 4) + b'\xff\xd9'
        res = Device(s, imei=imei).run({FLAG_PHOTO_FRONT: jpeg})
        s.close()
        return res

    def stored(self, ngx, imei):
        return [f for f in ngx.store_files()
                if f.startswith('%015d/' % imei) and not f.endswith('.json')]

    def test_limit_on_bytes_received(self):
        ngx = self.start_nginx(server='dualcam_max_file_size 1000;\n'
                                      'dualcam_metadata off;')
        res = self.upload(ngx, IMEI, 900)
        self.assertTrue(res.closed)
        self.assertEqual(res.sent_files, [FLAG_PHOTO_FRONT])
        self.assertEqual(len(self.stored(ngx, IMEI)), 1)

        res = self.upload(ngx, IMEI + 1, 1000)
        self.assertEqual(res.sent_files, [FLAG_PHOTO_FRONT])

        # START 1 may be 1 byte: let in, ended at the packet that is over
        res = self.upload(ngx, IMEI + 2, 1001)
        self.assertEqual(res.sent_files, [])
        self.assertEqual(res.resumes, [0])
        self.assertEqual(self.stored(ngx, IMEI + 2), [])
        ngx.wait_log(r'%%photof has 1001 bytes with packet 1 of 1, over '
                     r'the 1000-byte limit.*imei: %015d' % (IMEI + 2))

        recs = ngx.wait_access(3)
        self.assertEqual([(r['status'], r['result']) for r in recs],
                         [('200', 'ok'), ('200', 'ok'),
                          ('400', 'protocol_error')])

    def test_refused_early_only_when_it_cannot_fit(self):
        ngx = self.start_nginx(server='dualcam_max_file_size 2100;\n'
                                      'dualcam_metadata off;')
        res = self.upload(ngx, IMEI + 3, 2200)
        self.assertEqual(res.resumes, [0])
        self.assertEqual(res.sent_files, [])
        ngx.wait_log(r'has 2200 bytes with packet 3 of 3, over the '
                     r'2100-byte limit')
        self.assertEqual(self.stored(ngx, IMEI + 3), [])

        res = self.upload(ngx, IMEI + 4, 2100)
        self.assertEqual(res.sent_files, [FLAG_PHOTO_FRONT])
        self.assertEqual(len(self.stored(ngx, IMEI + 4)), 1)

        # START 3 under 2000: at least 2049 bytes, refused at START
        ngx2 = self.start_nginx(server='dualcam_max_file_size 2000;\n'
                                       'dualcam_metadata off;')
        res = self.upload(ngx2, IMEI + 5, 2100)
        self.assertEqual(res.resumes, [])
        ngx2.wait_log(r'%photof of at least 2049 bytes \(START 3\) exceeds '
                      r'the 2000-byte limit')
        self.assertEqual(ngx2.temp_files(), [])
        self.assertEqual(ngx2.store_files(), [])
