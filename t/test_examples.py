"""Every file in conf-examples/: each passes nginx -t (its paths and
ports replaced), quickstart.conf, tls.conf and loadbalancer.conf (PROXY
protocol) serve a device, status.conf serves the status and the
Prometheus snippet names its endpoint, and make run's script is valid
sh."""

import glob
import json
import os
import time
import urllib.request

import device
import harness
from harness import NginxTestCase, ROOT, need_sim
from status import StatusClient


IMEI = 863719061653375


def read(path):
    with open(path, 'rb') as f:
        return f.read()


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

    def test_status_conf_loads(self):
        """conf-examples/status.conf, with its paths and ports replaced,
        passes nginx -t and serves the status."""
        ngx = self.start_nginx(start=False)
        with open(os.path.join(ROOT, 'conf-examples', 'status.conf')) as f:
            conf = f.read()
        module = harness.MODULE
        for a, b in (
                ('/usr/lib/nginx/modules/ngx_stream_dualcam_module.so',
                 module),
                ('/run/nginx-dualcam.pid', '@PREFIX@/logs/nginx.pid'),
                ('/var/log/nginx/dualcam-error.log',
                 '@PREFIX@/logs/error.log'),
                ('/srv/dualcam/.tmp', '@TEMP@'),
                ('/srv/dualcam', '@STORE@'),
                ('listen 5232;', 'listen 127.0.0.1:@PORT@;'),
                ('listen 127.0.0.1:8080;', 'listen 127.0.0.1:@HTTP_PORT@;'),
                ('worker_processes auto;', 'worker_processes 2;\n'
                 'daemon off;\n'),
                ('http {', 'http {\n    client_body_temp_path '
                 '@PREFIX@/http_body;\n    proxy_temp_path @PREFIX@/hp;\n'
                 '    fastcgi_temp_path @PREFIX@/hf;\n    uwsgi_temp_path '
                 '@PREFIX@/hu;\n    scgi_temp_path @PREFIX@/hs;\n')):
            self.assertIn(a, conf)
            conf = conf.replace(a, b)
        if os.geteuid() == 0:
            conf = 'user nobody nogroup;\n' + conf
        ngx.write_conf(conf)
        r = ngx.test_config()
        self.assertEqual(r.returncode, 0, r.stderr)

        ngx.start()
        doc = StatusClient(ngx).json()
        self.assertEqual(doc['zone'], 'dualcam')
        self.assertEqual(doc['recent_max'], 200)

        # and the Prometheus snippet names this endpoint
        with open(os.path.join(ROOT, 'conf-examples',
                               'prometheus.yml')) as f:
            yml = f.read()
        self.assertIn('metrics_path: /dualcam/status', yml)
        self.assertIn('format: [prometheus]', yml)
