"""Event notifications (dualcam_notify): a real HTTP(S) receiver gets an
event for every stored and every lost file, signed, through receiver
errors, outages, kill -9 and restarts; events leave the spool only on a
2xx, or into failed/ after dualcam_notify_max_age."""

import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import time

from harness import NginxTestCase, adapt_example, need_sim, ROOT
from receiver import Receiver, make_ca, strict_json
from status import StatusClient, parse_prometheus

STATUS_HTTP = '''
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location = /dualcam/status { dualcam_status dc; }
    }'''

FAST = '''
        dualcam_notify_timeout 1s;
        dualcam_notify_backoff 100ms 400ms;
'''


def spool_files(ngx, spool=None):
    """Event files in the spool (not failed/), relative paths."""
    top = spool or os.path.join(ngx.temp, 'notify')
    out = []
    for d, dirs, files in os.walk(top):
        if os.path.basename(d) == 'failed':
            continue
        for f in files:
            if not f.endswith('.lock'):
                out.append(os.path.relpath(os.path.join(d, f), top))
    return sorted(out)


def wait_for(cond, timeout=15, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError('timed out waiting for %s' % what)


class NotifyCase(NginxTestCase):

    def setUp(self):
        super().setUp()
        self.receivers = []

    def tearDown(self):
        for rx in self.receivers:
            rx.stop()
        super().tearDown()

    def receiver(self, **kw):
        rx = Receiver(**kw)
        self.receivers.append(rx)
        return rx

    def notify_nginx(self, rx_url, extra='', workers=1, zone=True, **kw):
        server = 'dualcam_notify %s%s;\n%s\n%s' % (
            rx_url, kw.pop('events', ''), FAST, extra)
        args = dict(server=server, workers=workers)
        if zone:
            args.update(zone='dc 1m', http=STATUS_HTTP)
        args.update(kw)
        return self.start_nginx(**args)

    def stored_bodies(self, rx):
        """The first 2xx-answered body of every stored event, by id."""
        out = {}
        for r in rx.requests:
            if r['event'] == 'stored' and r['status'].startswith('2'):
                out.setdefault(r['id'], r)
        return out


class Stored(NotifyCase):

    def test_every_stored_file_has_its_event(self):
        """200 devices store 400 files: 400 "stored" events arrive, each
        signed, its body strict JSON holding its sidecar's fields, the
        size and SHA-256 of its stored file; the spool is empty, the
        counters say so, the workers' fds are back to where they were."""
        need_sim(self)
        rx = self.receiver(secret='t0p-secret')
        ngx = self.notify_nginx(rx.url(), workers=2,
                                extra='dualcam_notify_secret t0p-secret;')
        # one file first: the workers are fully up, their spool open
        r = ngx.sim('--imei-base', '352093089000000', '--files',
                    'photof:1000')
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(1)
        time.sleep(0.3)
        base = {p: ngx.fd_count(p) for p in ngx.worker_pids()}
        r = ngx.sim('-n', 200, '-c', 200, '--files',
                    'photof:3000,photor:5000', '--verify-store', ngx.store,
                    timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(401, timeout=60)

        stored = self.stored_bodies(rx)
        self.assertEqual(len(stored), 401)
        data = [f for f in ngx.store_files() if not f.endswith('.json')]
        self.assertEqual(len(data), 401)
        paths = set()
        for eid, rec in stored.items():
            self.assertTrue(rec['sig_ok'], rec['signature'])
            ev = rec['json']
            self.assertIsNotNone(ev, rec.get('json_error'))
            self.assertEqual(ev['event'], 'stored')
            self.assertEqual(ev['id'], eid)
            self.assertEqual(rec['path'], '/events')
            with open(ev['sidecar'], 'rb') as f:
                side = strict_json(f.read())
            for k, v in side.items():
                self.assertEqual(ev[k], v, k)
            with open(ev['path'], 'rb') as f:
                body = f.read()
            self.assertEqual(ev['size'], len(body))
            self.assertEqual(ev['sha256'], hashlib.sha256(body).hexdigest())
            self.assertEqual(ev['artifacts'][0]['path'], ev['path'])
            paths.add(ev['path'])
        self.assertEqual(len(paths), 401)

        wait_for(lambda: spool_files(ngx) == [], what='an empty spool')
        n = StatusClient(ngx).wait(lambda d: d['notify']['sent'] == 401,
                                   what='401 sent')['notify']
        self.assertEqual(n['events'], 401)
        self.assertEqual(n['pending'], 0)
        self.assertEqual(n['dead_lettered'], 0)
        self.assertEqual(n['failed_attempts'], 0, n)
        m = StatusClient(ngx).prometheus()
        self.assertEqual(m[('dualcam_notify_sent_total', ())], 401)
        self.assertEqual(m[('dualcam_notify_pending', ())], 0)
        for p, n in base.items():
            wait_for(lambda: ngx.fd_count(p) == n, timeout=5,
                     what='worker %d back to %d fds (has %d)'
                     % (p, n, ngx.fd_count(p)))
