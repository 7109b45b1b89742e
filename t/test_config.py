"""Configurations nginx -t refuses, each with the message that names the
mistake: a dualcam_buffer_size smaller than a frame, an allow list with
a bad IMEI or none at all, an unknown parameter of dualcam, no
dualcam_store."""

import os

from harness import NginxTestCase


class ConfigErrors(NginxTestCase):

    def check(self, server, message, files=None):
        ngx = self.start_nginx(start=False, server=server)
        for name, text in (files or {}).items():
            with open(os.path.join(ngx.prefix, name), 'w') as f:
                f.write(text)
        ngx.expect_log(r'\[emerg\]')
        r = ngx.test_config()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(message, r.stderr)

    def test_buffer_too_small(self):
        self.check('dualcam_buffer_size 1k;',
                   '"dualcam_buffer_size" must be at least 1034')

    def test_bad_allow_list(self):
        self.check('dualcam_allow_imei @PREFIX@/allow.txt;',
                   'invalid IMEI in', {'allow.txt': '123\n1234567890123456\n'})

    def test_missing_allow_list(self):
        self.check('dualcam_allow_imei @PREFIX@/nope.txt;', 'nope.txt')

    def test_zone_parameter(self):
        ngx = self.start_nginx(start=False, stream='''server {
            listen 127.0.0.1:@PORT@;
            dualcam bogus=1;
            dualcam_store @STORE@;
        }''')
        ngx.expect_log(r'\[emerg\]')
        r = ngx.test_config()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('invalid parameter "bogus=1"', r.stderr)

    def test_store_required(self):
        ngx = self.start_nginx(start=False, stream='''server {
            listen 127.0.0.1:@PORT@;
            dualcam;
        }''')
        ngx.expect_log(r'\[emerg\]')
        r = ngx.test_config()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('"dualcam" needs "dualcam_store"', r.stderr)
