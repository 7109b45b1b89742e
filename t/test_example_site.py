"""The Debian package's example site, conf-examples/debian/ (issue 14),
in a test nginx: the two fragments placed where Debian's nginx.conf
includes them (the stream part at the top level, like
modules-enabled/*.conf, before `events`; the status server inside
`http`, like sites-enabled/*), with ports and paths moved into the prefix.
Devices upload, the status answers.

t/deb_package.py (make test-deb) does this with the installed package in
the system nginx; this one runs everywhere the suite runs, under ASan too.
"""

import os
import time
import unittest

import harness
from harness import NginxTestCase, ROOT, need_sim, worker_user
from status import StatusClient

SITE = os.path.join(ROOT, 'conf-examples', 'debian')


def read(name):
    with open(os.path.join(SITE, name)) as f:
        return f.read()


def once(text, old, new):
    assert text.count(old) == 1, 'expected once: %r' % old
    return text.replace(old, new)


class ExampleSite(NginxTestCase):

    def conf(self, ngx):
        stream = read('dualcam-stream.conf')
        stream = once(stream, 'listen 5232;', 'listen 127.0.0.1:@PORT@;')
        stream = once(stream, 'dualcam_store /var/lib/dualcam;',
                      'dualcam_store @STORE@;')
        stream = once(stream, 'access_log /var/log/nginx/dualcam-access.log',
                      'access_log @PREFIX@/logs/access.log')
        status = read('dualcam-status.conf')
        status = once(status, 'listen 127.0.0.1:8080;',
                      'listen 127.0.0.1:@HTTP_PORT@;')
        user = worker_user()
        return '\n'.join([
            'user %s %s;' % user if user else '',
            'daemon off;',
            'worker_processes 2;',
            'pid @PREFIX@/logs/nginx.pid;',
            'error_log @PREFIX@/logs/error.log notice;',
            # the load_module lines of modules-enabled/50-mod-stream.conf
            # and 70-mod-stream-dualcam.conf, then the site
            'load_module %s;' % harness.STREAM_MODULE,
            'load_module %s;' % ngx.module,
            stream,
            'events { worker_connections 768; }',
            'http {',
            '    access_log off;',
            '    client_body_temp_path @PREFIX@/http_body;',
            '    proxy_temp_path @PREFIX@/http_proxy;',
            '    fastcgi_temp_path @PREFIX@/http_fastcgi;',
            '    uwsgi_temp_path @PREFIX@/http_uwsgi;',
            '    scgi_temp_path @PREFIX@/http_scgi;',
            status,
            '}',
        ])

    def test_site_serves_devices_and_status(self):
        need_sim(self)
        ngx = self.start_nginx(start=False)
        ngx.write_conf(self.conf(ngx))
        ngx.start()
        r = ngx.sim('-n', 2, '-f', 'photof:50000,videof:200k',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = StatusClient(ngx).json()
        self.assertEqual(doc['zone'], 'dualcam')
        self.assertEqual(doc['recent_max'], 200)
        self.assertEqual(doc['totals']['files_stored'], 4)
        # the site's own log format, written when a session closes
        deadline = time.time() + 5
        while time.time() < deadline and ngx.access_log().count(
                ' 200 ok imei=') < 2:
            time.sleep(0.05)
        self.assertEqual(ngx.access_log().count(' 200 ok imei='), 2,
                         ngx.access_log())
        # the stream part uses the store's default temp path, <store>/.tmp
        self.assertTrue(os.path.isdir(os.path.join(ngx.store, '.tmp')))


if __name__ == '__main__':
    unittest.main()
