"""IMEIs are printed one way: 15 digits, zero-padded, in the store's
directory, the partial's identity, the sidecar, the status document, the
error log and $dualcam_imei (IMEI 013456789012345 is a 14-digit number)."""

import json
import os
import time

from faults import StepDevice, content
from harness import NginxTestCase, need_sim
from status import HTTP_STATUS, StatusClient

IMEI = 13456789012345
PADDED = '013456789012345'


class Padding(NginxTestCase):

    def test_every_place_prints_15_digits(self):
        need_sim(self)
        ngx = self.start_nginx(zone='dc 1m', http=HTTP_STATUS % 'dc',
                               log_level='info')
        # a partial first (its name and identity), then the whole file
        dev = StepDevice(ngx.connect(), content(6), imei=IMEI)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(3)
        dev.drop()
        time.sleep(0.3)
        parts = [f for f in ngx.temp_files() if not f.endswith('.state')]
        self.assertTrue(parts and all(os.path.basename(f).startswith(
            PADDED + '-') for f in parts), parts)
        dev = StepDevice(ngx.connect(), content(6), imei=IMEI)
        self.assertEqual(dev.offer(), 4)
        ngx.wait_log(r'resuming after 3072 verified bytes.*, imei: %s'
                     % PADDED)
        dev.send_packets()
        dev.finish()

        r = ngx.sim('--imei', str(IMEI), '--files', 'photof:3000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(ngx.store)), [PADDED] + (
            ['.tmp'] if os.path.exists(os.path.join(ngx.store, '.tmp'))
            else []))
        d = os.path.join(ngx.store, PADDED)
        sidecars = [f for f in os.listdir(d) if f.endswith('.json')]
        self.assertEqual(len(sidecars), 2)
        for name in sidecars:
            with open(os.path.join(d, name), 'rb') as f:
                self.assertEqual(json.loads(f.read().decode())['imei'],
                                 PADDED)

        doc = StatusClient(ngx).json()
        imeis = set(r['imei'] for r in doc['recent'])
        self.assertEqual(imeis, {PADDED}, doc['recent'])

        recs = ngx.access_records()
        self.assertTrue(recs)
        self.assertEqual(set(r['imei'] for r in recs), {PADDED})
        self.assertNotRegex(ngx.error_log(), r'imei: %d\b' % IMEI)
