"""A firmware with a newer metadata version still uploads (issue 9 item 5).

A DualCam answers the metadata query with version 9 payloads of 20 and 72
bytes (and 1 byte, and 1500): every file is stored (the device hears
00 09, $status 200), a `notice` line says the version was new, and the
sidecar keeps every byte in "raw" with the fields of the known layout the
payload covers (v2 for 20 bytes, v4 for 72, none for 1).
"""

import json
import os
import struct

from harness import NginxTestCase
from device import FLAG_PHOTO_FRONT, Device

IMEI = 352093089100000
TIME_MS = 1730288105000


def meta_v9(n, time_ms):
    """Version 9, n bytes: the v4 layout where it fits, then filler."""
    v4 = struct.pack('>BBQBHBhddQ', 9, 4, time_ms, 9, 0, 25, 120,
                     54.687157, 25.279652, time_ms - 500)
    body = v4 + bytes((i * 7 + 3) & 0xff for i in range(max(0, n - 40)))
    return body[:n]


class NewerMetadataVersion(NginxTestCase):

    def test_version_9_uploads(self):
        ngx = self.start_nginx(log_level='notice')
        lens = [20, 72, 1, 1500]
        payloads = []
        for i, n in enumerate(lens):
            meta = meta_v9(n, TIME_MS + i * 60000)
            payloads.append(meta)
            jpeg = b'\xff\xd8' + bytes([i]) * 2500 + b'\xff\xd9'
            s = ngx.connect()
            res = Device(s, imei=IMEI + i).run({FLAG_PHOTO_FRONT: jpeg},
                                               meta={FLAG_PHOTO_FRONT: meta})
            s.close()
            self.assertTrue(res.closed, res.frames[-3:])
            self.assertEqual(res.sent_files, [FLAG_PHOTO_FRONT])

        recs = ngx.wait_access(len(lens))
        self.assertEqual(sorted(r['status'] for r in recs),
                         ['200'] * len(lens))

        log = ngx.error_log()
        for i, n in enumerate(lens):
            layout = 4 if n >= 40 else 2 if n >= 14 else 0
            self.assertRegex(log, r'\[notice\] .*metadata version 9 is newer '
                             r'than 4: %d bytes kept raw, the fields of '
                             r'version %d decoded.*imei: %015d' % (
                                 n, layout, IMEI + i))
        self.assertNotIn('[info]', log)

        for i, n in enumerate(lens):
            d = os.path.join(ngx.store, '%015d' % (IMEI + i))
            names = sorted(os.listdir(d))
            self.assertEqual(len(names), 2, names)
            with open(os.path.join(d, names[1]), 'rb') as f:
                car = json.loads(f.read().decode('utf-8'))
            m = car['metadata']
            self.assertEqual(m['type'], 'dualcam')
            self.assertEqual(m['version'], 9)
            self.assertEqual(m['raw'], payloads[i].hex())
            if n == 1:
                # nothing certain: named by the arrival time
                for k in ('file_type', 'capture_time', 'trigger',
                          'framerate', 'latitude', 'trigger_time'):
                    self.assertNotIn(k, m)
                continue
            self.assertEqual(m['file_type'], 4)
            self.assertEqual(m['capture_time_ms'], TIME_MS + i * 60000)
            self.assertEqual(m['trigger'], 9)
            self.assertEqual(m['framerate'], 25)
            self.assertTrue(names[0].startswith('20241030-11%02d05-front'
                                                % (35 + i)), names)
            if n < 32:
                self.assertNotIn('timezone_minutes', m)
                self.assertNotIn('latitude', m)
                continue
            self.assertEqual(m['timezone_minutes'], 120)
            self.assertAlmostEqual(m['latitude'], 54.687157, places=6)
            self.assertIn('trigger_time', m)
