"""dualcam_allow_imei: an IMEI not in the list hears CLOSE and ends with
403 "refused"; the list is read again on reload."""

import os

from device import Device, FLAG_PHOTO_FRONT, init_packet
from faults import talk
from harness import NginxTestCase

IMEI = 352093080000042
CLOSE = b'\0\0\0\0'


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
