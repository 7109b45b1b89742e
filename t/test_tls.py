"""listen ... ssl: the real capture and 20 simulated devices over TLS;
a drop without close_notify, with an RST, and a device that goes silent
mid-file, each resumed byte-exact."""

import os
import time

import device
import harness
from faults import (IMEI, NAME_10, StepDevice, content, partials, stored,
                    wait_closed, wait_for)
from harness import NginxTestCase, need_sim

SERVER = '''
        dualcam_timeout 1s;
        dualcam_resume_timeout 60s;
'''

BODY = content(10)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class Tls(NginxTestCase):

    def test_tls_upload(self):
        """listen ... ssl: the real capture over TLS, and the simulator."""
        ngx = self.start_nginx(ssl=True)
        packets = device.load_fixture(harness.fixture())
        s = ngx.connect()
        device.replay(s, packets)
        s.close()
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('200', 'ok', '1'))
        self.assertEqual(read(os.path.join(
            ngx.store, '%d/20241030-113505-front-photo.jpg' % IMEI)),
            device.fixture_file(packets))

        need_sim(self)
        r = ngx.sim('--devices', 20, '--imei-base', 352093080200000,
                    '--files', 'photof:30000,videof:200k',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        recs = ngx.wait_access(21)
        self.assertTrue(all(r['result'] == 'ok' for r in recs))

    def test_tls_drop_and_silence(self):
        """A drop without close_notify (FIN), with an RST, and silence
        mid-file: the session ends, the verified packets are kept, the
        next connection resumes after them."""
        ngx = self.start_nginx(server=SERVER, ssl=True)
        for k, how in ((3, 'fin'), (6, 'rst'), (8, 'silent')):
            imei = IMEI + 500 + k
            with self.subTest(how=how):
                dev = StepDevice(ngx.connect(), BODY, imei=imei)
                self.assertEqual(dev.offer(), 0)
                dev.send_packets(k)
                if how == 'silent':
                    took = wait_closed(dev.sock, timeout=8)
                    self.assertGreater(took, 0.8)
                else:
                    time.sleep(0.2)
                    dev.drop(rst=(how == 'rst'))
                wait_for(lambda: len(ngx.access_records()) % 2 == 1,
                         what='the session to end')
                rec = ngx.access_records()[-1]
                self.assertEqual(rec['result'], 'timeout' if how == 'silent'
                                 else 'closed_by_device', rec)
                self.assertEqual(list(partials(ngx.temp).values()),
                                 [k * 1024])
                dev = StepDevice(ngx.connect(), BODY, imei=imei)
                self.assertEqual(dev.offer(), k + 1)
                dev.send_packets()
                dev.finish()
                self.assertEqual(stored(ngx.store, imei), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])
