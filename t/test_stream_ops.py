"""Operations: TLS, reload and shutdown during uploads, and every file in
conf-examples/ (issue 3)."""

import glob
import json
import os
import struct
import time
import urllib.request

import device
import harness
from device import Device, FLAG_PHOTO_FRONT, frame, init_packet
from harness import NginxTestCase, ROOT, need_sim


IMEI = 863719061653375


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


class ThreadPool(NginxTestCase):

    def test_commit_in_thread_pool(self):
        """dualcam_thread_pool: commits (fsync, link, sidecar) run in
        threads; files are byte-exact, a store error is still a clean 500
        with the partial kept."""
        ngx = self.start_nginx(main='thread_pool dc threads=4;',
                               server='dualcam_thread_pool dc;')
        packets = device.load_fixture(harness.fixture())
        s = ngx.connect()
        device.replay(s, packets)
        s.close()
        self.assertEqual(read(os.path.join(
            ngx.store, '%d/20241030-113505-front-photo.jpg' % IMEI)),
            device.fixture_file(packets))

        need_sim(self)
        r = ngx.sim('--devices', 100, '--concurrency', 100, '--imei-base',
                    352093080400000, '--files', 'photof:20000,photor:3000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        recs = ngx.wait_access(101)
        self.assertTrue(all(r['result'] == 'ok' and r['files'] in ('1', '2')
                            for r in recs))

        ngx.expect_log(r'\[crit\].*mkdir\(\).*Permission denied')
        if os.geteuid() == 0:
            os.chown(ngx.store, 0, 0)
        else:
            os.chmod(ngx.store, 0o555)
        r = ngx.sim('--imei', 352093080400999, '--files', 'photof:5000')
        self.assertNotEqual(r.returncode, 0)
        rec = ngx.wait_access(102)[-1]
        self.assertEqual((rec['status'], rec['result']),
                         ('500', 'store_error'))
        self.assertEqual(len(ngx.temp_files()), 2)


class Lifecycle(NginxTestCase):

    def test_reload_during_upload(self):
        """nginx -s reload while 10 devices upload slowly: the old worker
        finishes them, every file is byte-exact, the new worker serves new
        devices, the old one exits."""
        need_sim(self)
        ngx = self.start_nginx()
        old = ngx.worker_pids()
        p = ngx.sim_start('--devices', 10, '--imei-base', 352093080300000,
                          '--files', 'photof:60000', '--rate', 30000,
                          '--verify-store', ngx.store, '--timeout', 60)
        time.sleep(0.8)
        ngx.reload()
        new = [w for w in ngx.worker_pids() if w not in old]
        self.assertEqual(len(new), 1)

        r = ngx.sim('--imei', 352093080300100, '--files', 'photof:10000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out + err)
        recs = ngx.wait_access(11)
        self.assertTrue(all(r['result'] == 'ok' for r in recs), recs)
        deadline = time.time() + 10
        while time.time() < deadline and set(old) & set(ngx.worker_pids()):
            time.sleep(0.1)
        self.assertEqual(ngx.worker_pids(), new)
        self.assertEqual(ngx.temp_files(), [])

    def test_shutdown_keeps_partial(self):
        """A device stalls mid-file during a graceful shutdown:
        worker_shutdown_timeout ends it (503, "shutdown"), the verified
        part stays, and a later nginx resumes it."""
        ngx = self.start_nginx(main='worker_shutdown_timeout 1s;')
        packets = device.load_fixture(harness.fixture())
        body = device.fixture_file(packets)
        meta = device.fixture_meta(packets)
        s = ngx.connect()
        d = Device(s, imei=IMEI)
        self.assertEqual(d.begin(FLAG_PHOTO_FRONT, meta, 29), 0)
        data, _ = device.packet_frames(body, 1, 9)
        d.send(frame(0x0003, struct.pack('>I', 1)) + data)
        time.sleep(0.3)

        t = time.time()
        ngx.stop(timeout=10)
        self.assertLess(time.time() - t, 5)
        s.close()
        rec = ngx.access_records()[0]
        self.assertEqual((rec['status'], rec['result']), ('503', 'shutdown'))
        self.assertEqual(len(ngx.temp_files()), 2)

        again = harness.Nginx(prefix=ngx.prefix)
        try:
            again.start()
            s = again.connect()
            res = Device(s, imei=IMEI).run({FLAG_PHOTO_FRONT: body},
                                           meta={FLAG_PHOTO_FRONT: meta})
            s.close()
            self.assertEqual(res.resumes, [10])
            self.assertEqual(read(os.path.join(
                again.store, '%d/20241030-113505-front-photo.jpg' % IMEI)),
                body)
            again.stop()
            again.check_log()
        finally:
            again.cleanup()


class Examples(NginxTestCase):

    def example(self, path):
        ngx = self.start_nginx(start=False)
        os.makedirs(ngx.temp, exist_ok=True)
        ngx.conf = harness.adapt_example(read(path).decode(), ngx)
        return ngx

    def test_every_example_passes_nginx_t(self):
        paths = sorted(glob.glob(os.path.join(ROOT, 'conf-examples',
                                              '*.conf')))
        self.assertIn(os.path.join(ROOT, 'conf-examples', 'quickstart.conf'),
                      paths)
        self.assertIn(os.path.join(ROOT, 'conf-examples', 'tls.conf'), paths)
        for path in paths:
            with self.subTest(conf=os.path.basename(path)):
                ngx = self.example(path)
                r = ngx.test_config()
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_quickstart_upload(self):
        """quickstart.conf serves a device, the access log and the status
        page work."""
        need_sim(self)
        ngx = self.example(os.path.join(ROOT, 'conf-examples',
                                        'quickstart.conf'))
        ngx.port = ngx.example_ports[5232]
        ngx.start()
        r = ngx.sim('--files', 'photof:50000,videof:100k', '--verify-store',
                    ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        log = os.path.join(ngx.prefix, 'logs', 'dualcam-access.log')
        deadline = time.time() + 5
        while time.time() < deadline and ' 200 ok ' not in ngx._read(log):
            time.sleep(0.05)
        self.assertIn(' 200 ok imei=352093080000000 files=2 ',
                      ngx._read(log))
        url = 'http://127.0.0.1:%d/dualcam/status' % ngx.example_ports[8080]
        with urllib.request.urlopen(url, timeout=5) as resp:
            self.assertEqual(resp.status, 200)
            json.loads(resp.read())

    def test_tls_example_upload(self):
        need_sim(self)
        ngx = self.example(os.path.join(ROOT, 'conf-examples', 'tls.conf'))
        ngx.port = ngx.example_ports[5233]
        ngx.start()
        r = ngx.sim('--tls', '--files', 'photof:20000', '--verify-store',
                    ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_loadbalancer_example_proxy_protocol(self):
        """loadbalancer.conf: the device's address from the PROXY header
        is what the sidecar and the access log show."""
        ngx = self.example(os.path.join(ROOT, 'conf-examples',
                                        'loadbalancer.conf'))
        ngx.port = ngx.example_ports[5232]
        ngx.start()
        packets = device.load_fixture(harness.fixture())
        s = ngx.connect()
        s.sendall(b'PROXY TCP4 203.0.113.7 127.0.0.1 40123 5232\r\n')
        device.replay(s, packets)
        s.close()
        name = '%d/20241030-113505-front-photo.jpg' % IMEI
        self.assertEqual(read(os.path.join(ngx.store, name)),
                         device.fixture_file(packets))
        side = json.loads(read(os.path.join(ngx.store, name + '.json')))
        self.assertEqual(side['peer'], '203.0.113.7')
        deadline = time.time() + 5
        while time.time() < deadline and not ngx.access_log():
            time.sleep(0.05)
        self.assertTrue(ngx.access_log().startswith(
            '203.0.113.7 via 127.0.0.1 200 ok %d 1 29395 ' % IMEI),
            ngx.access_log())

    def test_run_quickstart_script(self):
        """make run's script is valid sh."""
        r = os.system('sh -n %s' % os.path.join(ROOT, 'conf-examples',
                                                'run-quickstart.sh'))
        self.assertEqual(r, 0)
