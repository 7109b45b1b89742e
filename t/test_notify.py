"""Event notifications (dualcam_notify): a real HTTP(S) receiver gets an
event for every stored and every lost file, signed, through receiver
errors, outages, kill -9 and restarts; events leave the spool only on a
2xx, or into failed/ after dualcam_notify_max_age."""

import json
import os
import re
import shutil
import signal
import tempfile
import time
import zlib

from harness import NginxTestCase, adapt_example, need_sim, ROOT
from receiver import Receiver, make_ca, strict_json
from status import StatusClient, parse_prometheus

STATUS_HTTP = '''
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location = /dualcam/status { dualcam_status dc; }
    }'''

FAST = '''
        dualcam_notify_timeout %s;
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


def assert_duplicates_explained(test, ngx, rx):
    """At least once: an event answered 2xx twice must have had an
    attempt whose answer the worker did not get (timed out, broken)."""
    log = ngx.error_log()
    for eid, n in rx.delivered().items():
        if n > 1:
            test.assertRegex(log, r'event %s\.\w+ for .*: .*(timed out '
                             r'before it answered|broke|closed the '
                             r'connection)' % eid,
                             'event %s sent %d times' % (eid, n))


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

    def notify_nginx(self, rx_url, extra='', workers=1, zone=True,
                     timeout='1s', **kw):
        server = 'dualcam_notify %s%s;\n%s\n%s' % (
            rx_url, kw.pop('events', ''), FAST % timeout, extra)
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
        ngx = self.notify_nginx(rx.url(), workers=2, timeout='10s',
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
            self.assertNotIn('sha256', ev)         # dualcam_sha256 off
            self.assertEqual(ev['artifacts'][0]['path'], ev['path'])
            paths.add(ev['path'])
        self.assertEqual(len(paths), 401)

        wait_for(lambda: spool_files(ngx) == [], what='an empty spool')
        n = StatusClient(ngx).wait(lambda d: d['notify']['sent'] == 401,
                                   what='401 sent')['notify']
        self.assertEqual(n['events'], 401)
        self.assertEqual(n['pending'], 0)
        self.assertEqual(n['dead_lettered'], 0)
        # on a loaded machine an attempt may time out; each is logged
        self.assertEqual(n['failed_attempts'],
                         len(re.findall(r'\[warn\].*dualcam notify: .*'
                                        r'attempt \d+:', ngx.error_log())))
        m = StatusClient(ngx).prometheus()
        self.assertEqual(m[('dualcam_notify_sent_total', ())], 401)
        self.assertEqual(m[('dualcam_notify_pending', ())], 0)
        for p, n in base.items():
            wait_for(lambda: ngx.fd_count(p) == n, timeout=5,
                     what='worker %d back to %d fds (has %d)'
                     % (p, n, ngx.fd_count(p)))


    def test_device_bytes_stay_strict_json(self):
        """A path that is not UTF-8 (the Latin-1 J\\xfcrgen of issue 9),
        dropped once then stored: the "failed" and the "stored" event
        parse strictly, the name escaped as the sidecar has it."""
        import subprocess
        import harness
        need_sim(self)
        rx = self.receiver()
        ngx = self.notify_nginx(rx.url())
        path = b'dsm/picture/J\xfcrgen-\xce\xfd "q" \\.jpg'
        r = subprocess.run([os.fsencode(harness.SIM), b'--host', b'127.0.0.1',
                            b'--port', str(ngx.port).encode(),
                            b'--protocol', b'6', b'--files',
                            b'path:' + path + b':5000', b'--drop-after', b'2',
                            b'--reconnects', b'2'],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(2, timeout=20)
        evs = {}
        for q in rx.requests:
            self.assertIsNotNone(q['json'], q.get('json_error'))
            evs[q['json']['event']] = q['json']
        want = 'dsm/picture/J\u00fcrgen-\u00ce\u00fd "q" \\.jpg'
        self.assertEqual(evs['failed']['name'], want)
        self.assertEqual(evs['stored']['name'], want)
        with open(evs['stored']['sidecar'], 'rb') as f:
            self.assertEqual(strict_json(f.read())['name'], want)

    def test_without_a_thread_pool(self):
        """dualcam_thread_pool off: the commit stages and the spool walks
        run in the event loop; the events are the same."""
        need_sim(self)
        rx = self.receiver()
        ngx = self.notify_nginx(rx.url(), workers=2,
                                extra='dualcam_thread_pool off;')
        r = ngx.sim('-n', 10, '--files', 'photof:3000,photor:3000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(20, timeout=20)
        for rec in self.stored_bodies(rx).values():
            with open(rec['json']['sidecar'], 'rb') as f:
                side = strict_json(f.read())
            for k, v in side.items():
                self.assertEqual(rec['json'][k], v, k)
        wait_for(lambda: spool_files(ngx) == [], what='an empty spool')

    def test_no_file_without_its_event(self):
        """While the worker cannot write its event, the commit fails: the
        device does not hear 00 09, nothing is in the store; once it can,
        the device's next try stores the file, with its event."""
        need_sim(self)
        rx = self.receiver()
        ngx = self.notify_nginx(rx.url())
        ngx.expect_log(r'\[crit\].*open\(\) "[^"]*/notify/\d+/\.\w+\.tmp" '
                       r'failed \(13: Permission denied\)')
        own = os.path.join(ngx.temp, 'notify', str(ngx.worker_pids()[0]))
        wait_for(lambda: os.path.isdir(own), what=own)
        os.chmod(own, 0o500)
        try:
            sim = ngx.sim_start('--files', 'photof:3000', '--reconnects', 30,
                                '--reconnect-delay', 300)
            ngx.wait_log(r'\[crit\].*open\(\) "[^"]*\.tmp" failed \(13')
            time.sleep(0.5)
            self.assertEqual([f for f in ngx.store_files()
                              if not f.endswith('.json')], [])
        finally:
            os.chmod(own, 0o700)
        out, err = sim.communicate(timeout=60)
        self.assertEqual(sim.returncode, 0, err)
        rx.wait(1, timeout=20)
        data = [f for f in ngx.store_files() if not f.endswith('.json')]
        self.assertEqual(len(data), 1)
        ev = list(self.stored_bodies(rx).values())[0]['json']
        self.assertEqual(ev['path'], os.path.join(ngx.store, data[0]))

    def test_video_event_names_its_mp4(self):
        """A stored video: its event lists the raw file and its MP4 as
        artifacts, and carries the sidecar's "mp4" facts."""
        need_sim(self)
        src = os.path.join(ROOT, '..', 'shared', 'fixtures', 'video',
                           'dualcam-front-20241101T070713Z.h265')
        if not os.path.exists(src):
            self.skipTest('no video fixture')
        rx = self.receiver()
        ngx = self.notify_nginx(rx.url(), timeout='5s')
        r = ngx.sim('--files', 'videof:@' + src, '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(1, timeout=20)
        ev = list(self.stored_bodies(rx).values())[0]['json']
        exts = [a['ext'] for a in ev['artifacts']]
        self.assertEqual(exts, ['h265', 'mp4'])
        mp4 = ev['artifacts'][1]['path']
        self.assertTrue(os.path.exists(mp4))
        self.assertEqual(ev['mp4']['file'], os.path.basename(mp4))
        self.assertEqual(os.path.getsize(mp4), ev['mp4']['size'])


class Retries(NotifyCase):

    def test_500_then_timeout_then_reset_then_2xx(self):
        """The receiver answers 500, then says nothing until the timeout,
        then resets the connection: the event is tried again each time,
        with backoff, until the 2xx; each failure is a warn line and a
        failed attempt, the last error is in the status."""
        need_sim(self)
        rx = self.receiver(hold=2.5)
        rx.script('500', 'timeout', 'reset')
        ngx = self.notify_nginx(rx.url())
        r = ngx.sim('--files', 'photof:4000')
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(1, timeout=20)
        tries = [q for q in rx.requests if q['event'] == 'stored']
        self.assertEqual([q['status'] for q in tries],
                         ['500', 'timeout', 'reset', '200'])
        self.assertEqual([q['attempt'] for q in tries], [1, 2, 3, 4])
        self.assertEqual(len(set(q['id'] for q in tries)), 1)
        for a, b in zip(tries, tries[1:]):
            self.assertGreaterEqual(b['time'] - a['time'], 0.04)
        log = ngx.error_log()
        self.assertRegex(log, r'\[warn\].*attempt 1: .* answered 500; again')
        self.assertRegex(log, r'\[warn\].*attempt 2: .* timed out before it '
                              r'answered; again')
        self.assertRegex(log, r'\[warn\].*attempt 3: .*(broke|closed the '
                              r'connection without an answer); again')
        n = StatusClient(ngx).wait(lambda d: d['notify']['sent'] == 1,
                                   what='sent')['notify']
        self.assertEqual(n['failed_attempts'], 3)
        self.assertEqual(n['pending'], 0)
        self.assertIsNotNone(n['last_error'])
        self.assertEqual(spool_files(ngx), [])

    def test_receiver_down_then_back(self):
        """The receiver is down for the first 20 s of an upload wave:
        nothing is lost (not even by the sweeper of the temp path, which
        the spool is in and which runs every second here), all events
        arrive once it is back, within the backoff bound."""
        need_sim(self)
        from harness import free_port
        port = free_port()
        url = 'http://127.0.0.1:%d/events' % port
        ngx = self.notify_nginx(url, workers=2, timeout='3s',
                                extra='dualcam_resume_timeout 1s;')
        ngx.expect_log(r'connect\(\) to 127\.0\.0\.1:%d failed' % port)
        down = time.time()
        st = StatusClient(ngx)
        for k, at in enumerate((0, 8, 16)):
            time.sleep(max(0, down + at - time.time()))
            r = ngx.sim('-n', 10, '--imei-base', 352093086000000 + 100 * k,
                        '--files', 'photof:3000,videof:6000')
            self.assertEqual(r.returncode, 0, r.stderr)
        st.wait(lambda d: d['notify']['pending'] == 60
                and d['notify']['failed_attempts'] >= 60,
                what='60 pending, failing')
        time.sleep(max(0, down + 20 - time.time()))
        self.assertEqual(len(spool_files(ngx)), 60)
        self.assertIsNotNone(st.json()['notify']['last_error'])
        back = time.time()
        rx = self.receiver(port=port)
        rx.wait(60, timeout=10)
        # backoff max 400 ms, jitter below it: seconds, not minutes
        self.assertLess(time.time() - back, 6.0)
        st.wait(lambda d: d['notify']['pending'] == 0
                and d['notify']['sent'] >= 60, what='all sent')
        self.assertEqual(spool_files(ngx), [])
        assert_duplicates_explained(self, ngx, rx)


class Crash(NotifyCase):

    def test_kill_9_then_quit_then_start(self):
        """kill -9 of a worker that holds undelivered events (some of
        them answered 2xx by the receiver but not yet removed), then
        nginx -s quit, then a new start: every stored file's event is
        delivered; an event arrives twice only if its first 2xx was
        answered to a worker that was killed before it heard it."""
        need_sim(self)
        rx = self.receiver(hold=1.0)
        ngx = self.notify_nginx(rx.url(), workers=2, timeout='3s',
                                extra='dualcam_notify_concurrency 4;')
        ngx.expect_log(r'exited on signal 9')
        # the receiver takes its time: deliveries are in flight
        rx.slow = 0.8
        r = ngx.sim('-n', 15, '--files', 'photof:2000,photor:2000')
        self.assertEqual(r.returncode, 0, r.stderr)
        data = [f for f in ngx.store_files() if not f.endswith('.json')]
        self.assertEqual(len(data), 30)
        wait_for(lambda: len(rx.requests) >= 2, what='deliveries started')

        # the worker with the most events left in its directory
        top = os.path.join(ngx.temp, 'notify')
        counts = {}
        for f in spool_files(ngx):
            d = f.split('/')[0]
            if d.isdigit():
                counts[int(d)] = counts.get(int(d), 0) + 1
        victim = max(counts, key=counts.get)
        self.assertIn(victim, ngx.worker_pids())
        os.kill(victim, signal.SIGKILL)
        killed = time.time()
        rx.set_status(503)
        rx.slow = 0
        # the new worker adopts the killed one's directory
        wait_for(lambda: not os.path.exists(os.path.join(top, str(victim))),
                 what='the directory of %d adopted' % victim)
        ngx.wait_log(r'events of an earlier process adopted')
        ngx.stop()
        left = spool_files(ngx)
        self.assertTrue(left, 'nothing left to deliver after the quit')

        rx.set_status(200)
        ngx.start()
        wait_for(lambda: spool_files(ngx) == [], timeout=20,
                 what='an empty spool')
        ok = rx.delivered()
        by_path = {}
        first_ok = {}
        for q in rx.requests:
            if q['status'] == '200' and q['json']:
                by_path.setdefault(q['json']['path'], q['id'])
                first_ok.setdefault(q['id'], q)
        for f in data:
            self.assertIn(os.path.join(ngx.store, f), by_path, f)
        log = ngx.error_log()
        by_kill = 0
        for eid, n in ok.items():
            if n > 1 and first_ok[eid]['time'] < killed:
                by_kill += 1
            elif n > 1:
                # else only an answer the worker did not get explains it
                self.assertRegex(log, r'event %s\.\w+ for .*: .*(timed out '
                                 r'before it answered|broke|closed the '
                                 r'connection)' % eid)
        # at most what the killed worker had in flight
        self.assertLessEqual(by_kill, 4)


    def test_reload(self):
        """Events pending at a reload are adopted by the new workers once
        the old ones have exited, and sent once each."""
        need_sim(self)
        rx = self.receiver(status=503)
        ngx = self.notify_nginx(rx.url(), workers=2, timeout='3s')
        r = ngx.sim('-n', 5, '--files', 'photof:2000,photor:2000')
        self.assertEqual(r.returncode, 0, r.stderr)
        st = StatusClient(ngx)
        st.wait(lambda d: d['notify']['failed_attempts'] >= 10,
                what='every event tried')
        old = set(ngx.worker_pids())
        ngx.reload()
        top = os.path.join(ngx.temp, 'notify')
        wait_for(lambda: not any(os.path.exists(os.path.join(top, str(p)))
                                 for p in old), timeout=15,
                 what='the old workers\' directories adopted')
        rx.set_status(200)
        rx.wait(10, timeout=15)
        wait_for(lambda: spool_files(ngx) == [], what='an empty spool')
        assert_duplicates_explained(self, ngx, rx)
        self.assertTrue(set(ngx.worker_pids()).isdisjoint(old))
        # the file goes first, then the counter: wait for both
        n = st.wait(lambda d: d['notify']['pending'] == 0,
                    what='nothing pending')['notify']
        self.assertGreaterEqual(n['sent'], 10)


    def test_quit_with_a_delivery_in_flight(self):
        """nginx -s quit while a receiver holds a delivery: the worker
        waits for it at most until worker_shutdown_timeout, the event
        stays in the spool, and the next start delivers it."""
        need_sim(self)
        rx = self.receiver(hold=20)
        rx.script('timeout')
        ngx = self.notify_nginx(rx.url(), timeout='30s',
                                main='worker_shutdown_timeout 1s;')
        r = ngx.sim('--files', 'photof:3000')
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: rx.requests, what='the delivery in flight')
        t0 = time.time()
        ngx.stop(timeout=15)
        self.assertLess(time.time() - t0, 6)
        self.assertEqual(len(spool_files(ngx)), 1)
        self.assertEqual(rx.delivered(), {})
        ngx.start()
        rx.wait(1, timeout=15)
        wait_for(lambda: spool_files(ngx) == [], what='an empty spool')


class Https(NotifyCase):

    def test_https_verify_on_and_off(self):
        """https receivers with a CA the test made: verified by name
        (with SNI) and by address; a certificate from another CA is
        refused with verify on and accepted with it off."""
        need_sim(self)
        tmp = tempfile.mkdtemp(prefix='dualcam-ca-')
        self.addCleanup(shutil.rmtree, tmp, True)
        os.makedirs(os.path.join(tmp, 'a'))
        os.makedirs(os.path.join(tmp, 'b'))
        ca, cert, key = make_ca(os.path.join(tmp, 'a'))
        other, _, _ = make_ca(os.path.join(tmp, 'b'))
        rx = self.receiver(tls=(cert, key), secret='k')

        def server(port, lines):
            return ('server {\n listen 127.0.0.1:%s;\n dualcam;\n'
                    ' dualcam_store @STORE@;\n dualcam_temp_path @TEMP@;\n'
                    ' dualcam_notify_secret k;\n%s\n%s\n}\n'
                    % (port, FAST % '5s', lines))
        stream = (
            server('@PORT@',
                   'dualcam_notify %s;\ndualcam_notify %s;\n'
                   'dualcam_notify_ssl_trusted_certificate %s;'
                   % (rx.url('/name', 'localhost'),
                      rx.url('/address', '127.0.0.1'), ca)) +
            server('@PORT2@',
                   'dualcam_notify %s;\n'
                   'dualcam_notify_ssl_trusted_certificate %s;'
                   % (rx.url('/other-ca', 'localhost'), other)) +
            server('@PORT3@',
                   'dualcam_notify %s;\ndualcam_notify_ssl_verify off;\n'
                   'dualcam_notify_ssl_trusted_certificate %s;'
                   % (rx.url('/verify-off', 'localhost'), other)))
        ngx = self.start_nginx(stream=stream)
        for port, imei in ((ngx.port, 352093081000000),
                           (ngx.port2, 352093082000000),
                           (ngx.port3, 352093083000000)):
            r = ngx.sim('--imei-base', imei, '--files', 'photof:3000',
                        port=port)
            self.assertEqual(r.returncode, 0, r.stderr)
        # one event id, the same for both receivers of the first server
        wait_for(lambda: len([q for q in rx.requests
                              if q['status'] == '200']) >= 3, timeout=20,
                 what='3 deliveries')
        ngx.wait_log(r'\[warn\].*other-ca, attempt 2: SSL certificate '
                     r'verify error')
        got = {}
        for q in rx.requests:
            if q['status'] == '200':
                got.setdefault(q['path'], q)
        self.assertEqual(sorted(got), ['/address', '/name', '/verify-off'])
        self.assertEqual(got['/name']['sni'], 'localhost')
        self.assertIsNone(got['/address']['sni'])
        self.assertEqual(got['/name']['host'], 'localhost:%d' % rx.port)
        self.assertEqual(got['/name']['id'], got['/address']['id'])
        for q in got.values():
            self.assertTrue(q['sig_ok'])
            self.assertEqual(q['json']['event'], 'stored')
        self.assertFalse(got['/name']['reused'])
        # the next event resumes the TLS session of the first
        r = ngx.sim('--imei-base', 352093081000100, '--files', 'photof:3000')
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: len([q for q in rx.requests if q['status'] == '200'
                              and q['path'] == '/name']) == 2,
                 what='a second event to /name')
        second = [q for q in rx.requests if q['status'] == '200'
                  and q['path'] == '/name'][1]
        self.assertTrue(second['reused'])
        self.assertTrue(second['sig_ok'])
        # refused: still in the spool, not sent
        self.assertNotIn('/other-ca', [q['path'] for q in rx.requests])
        other_hash = '.%08x' % zlib.crc32(
            rx.url('/other-ca', 'localhost').encode())
        self.assertEqual(len([f for f in spool_files(ngx)
                              if f.endswith(other_hash)]), 1)


class Failed(NotifyCase):

    def test_failed_and_session_events(self):
        """A dropped upload (kept for its resume) and a session ended by
        the CRC limit each make a "failed" event with the result, the
        verified bytes and whether a partial was kept; the resumed file
        a "stored" one; every session a connect and an end event."""
        need_sim(self)
        rx = self.receiver()
        ngx = self.notify_nginx(rx.url(), events=' events=stored,failed,'
                                'session', extra='dualcam_max_crc_errors 3;')
        r = ngx.sim('--imei-base', '352093084000000', '--files',
                    'photof:20000', '--drop-after', 3, '--reconnects', 2)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = ngx.sim('--imei-base', '352093085000000', '--files',
                    'photof:20000', '--crc-error-rate', 1)
        self.assertNotEqual(r.returncode, 0)
        # drop: failed, connect+end per connection, stored; crc:
        # failed, connect+end
        rx.wait(9, timeout=20)
        wait_for(lambda: spool_files(ngx) == [], what='an empty spool')
        time.sleep(0.2)
        evs = [q['json'] for q in rx.requests if q['status'] == '200']
        failed = sorted((e for e in evs if e['event'] == 'failed'),
                        key=lambda e: e['imei'])
        self.assertEqual(len(failed), 2, evs)
        drop, crc = failed
        self.assertEqual(drop['imei'], '352093084000000')
        self.assertEqual(drop['result'], 'closed_by_device')
        self.assertGreater(drop['verified_bytes'], 0)
        self.assertTrue(drop['kept_for_resume'])
        self.assertEqual(drop['kind'], 'photo')
        self.assertEqual(drop['side'], 'front')
        self.assertEqual(crc['imei'], '352093085000000')
        self.assertEqual(crc['result'], 'crc_limit')
        self.assertEqual(crc['verified_bytes'], 0)
        self.assertFalse(crc['kept_for_resume'])
        self.assertGreaterEqual(crc['crc_failures'], 3)
        stored = [e for e in evs if e['event'] == 'stored']
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored[0]['imei'], '352093084000000')
        self.assertGreater(stored[0]['resumed_from'], 0)
        sessions = [(e['imei'], e['state'], e.get('result'))
                    for e in evs if e['event'] == 'session']
        for imei in ('352093084000000', '352093085000000'):
            mine = [x for x in sessions if x[0] == imei]
            self.assertEqual(len([x for x in mine if x[1] == 'connect']),
                             len([x for x in mine if x[1] == 'end']), mine)
        self.assertIn(('352093084000000', 'end', 'closed_by_device'),
                      sessions)
        self.assertIn(('352093084000000', 'end', 'ok'), sessions)
        self.assertEqual([x for x in sessions if x[0] == '352093085000000'],
                         [('352093085000000', 'connect', None),
                          ('352093085000000', 'end', 'crc_limit')])
        ids = [e['id'] for e in evs]
        self.assertEqual(len(ids), len(set(ids)))

    def test_max_age_dead_letters(self):
        """A receiver that never says 2xx: after dualcam_notify_max_age
        the event moves to failed/ with an error line, the counters say
        dead-lettered; it is never just dropped."""
        need_sim(self)
        rx = self.receiver(status=500)
        ngx = self.notify_nginx(rx.url(), extra='dualcam_notify_max_age 2s;')
        r = ngx.sim('--files', 'photof:3000')
        self.assertEqual(r.returncode, 0, r.stderr)
        m = ngx.wait_log(r'\[error\].*dualcam notify: event (\w+\.\w+) for '
                         r'\S+ is \d+ s old after (\d+) attempts \(the '
                         r'last: .*answered 500\): moved to "([^"]+)"',
                         timeout=15)
        self.assertGreaterEqual(int(m.group(2)), 3)
        dead = m.group(3)
        self.assertEqual(os.path.dirname(dead),
                         os.path.join(ngx.temp, 'notify', 'failed'))
        with open(dead, 'rb') as f:
            head, body = f.read().split(b'\n', 1)
        self.assertTrue(head.startswith(b'DCN1 stored '))
        self.assertEqual(strict_json(body)['id'], m.group(1).split('.')[0])
        self.assertEqual(spool_files(ngx), [])
        n = StatusClient(ngx).wait(lambda d: d['notify']['dead_lettered'],
                                   what='dead-lettered')['notify']
        self.assertEqual(n['dead_lettered'], 1)
        self.assertEqual(n['pending'], 0)
        self.assertEqual(n['sent'], 0)
        self.assertEqual(rx.delivered(), {})


class Example(NotifyCase):

    def test_conf_example_notify(self):
        """conf-examples/notify.conf, pointed at a local receiver, loads
        and delivers a signed event."""
        need_sim(self)
        rx = self.receiver(secret='change-me-to-a-long-random-string')
        ngx = self.start_nginx(start=False)
        with open(os.path.join(ROOT, 'conf-examples', 'notify.conf')) as f:
            text = adapt_example(f.read(), ngx)
        text = re.sub(r'dualcam_notify\s+https://\S+', 'dualcam_notify %s'
                      % rx.url(), text)
        ngx.write_conf(text)
        t = ngx.test_config(ngx.conf_path)
        self.assertEqual(t.returncode, 0, t.stderr)
        # the device port of the example, now a free one
        port = ngx.example_ports[5232]
        ngx.port = port
        ngx.start()
        r = ngx.sim('--files', 'photof:3000', port=port)
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(1, timeout=20)
        q = [q for q in rx.requests if q['status'] == '200'][0]
        self.assertTrue(q['sig_ok'])
        self.assertEqual(q['json']['event'], 'stored')



class ReadmeReceiver(NotifyCase):

    def test_the_readme_receiver(self):
        """The receiver example of the README, run as it is written (on a
        free port): it accepts nginx's signed events and refuses those
        signed with another secret, which nginx then retries."""
        import subprocess
        import sys
        from harness import free_port
        need_sim(self)
        with open(os.path.join(ROOT, 'README.md')) as f:
            readme = f.read()
        m = re.search(r'A receiver, checking the signature.*?```python\n'
                      r'(.*?)```', readme, re.S)
        self.assertIsNotNone(m, 'no receiver example in the README')
        port = free_port()
        code = m.group(1).replace("('0.0.0.0', 8000)",
                                  "('127.0.0.1', %d)" % port)
        self.assertNotEqual(code, m.group(1))
        proc = subprocess.Popen([sys.executable, '-u', '-c', code],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.wait, 5)
        self.addCleanup(proc.kill)
        wait_for(lambda: self._listening(port), what='the receiver')
        url = 'http://127.0.0.1:%d/dualcam/events' % port
        good = self.notify_nginx(url, extra='dualcam_notify_secret '
                                 'change-me-to-a-long-random-string;')
        bad = self.notify_nginx(url, extra='dualcam_notify_secret wrong;')
        r = good.sim('--files', 'photof:3000')
        self.assertEqual(r.returncode, 0, r.stderr)
        r = bad.sim('--files', 'photof:3000')
        self.assertEqual(r.returncode, 0, r.stderr)
        bad.wait_log(r'\[warn\].*attempt 2: .*answered 401')
        wait_for(lambda: spool_files(good) == [], what='delivered')
        self.assertEqual(len(spool_files(bad)), 1)
        proc.kill()
        out = proc.communicate(timeout=5)[0]
        stored = [line for line in out.splitlines()
                  if line.startswith('stored ')]
        self.assertEqual(len(stored), 1, out)
        self.assertTrue(stored[0].split()[1].startswith(good.store))

    def _listening(self, port):
        import socket
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return True
        except OSError:
            return False


class Config(NotifyCase):

    def test_bad_configurations_say_why(self):
        """nginx -t refuses a bad dualcam_notify line with a message that
        names the problem."""
        cases = [
            ('dualcam_notify ftp://127.0.0.1/x;', r'http:// or https:// '
             r'expected'),
            ('dualcam_notify http://127.0.0.1/x events=stored,bogus;',
             r'unknown event "bogus"'),
            ('dualcam_notify http://127.0.0.1/x foo=bar;',
             r'invalid parameter "foo=bar"'),
            ('dualcam_notify http://no-such-host.invalid/x;',
             r'host not found'),
            ('dualcam_notify http://127.0.0.1/x;\n'
             'dualcam_notify_backoff 10s 1s;', r'max below min'),
            ('dualcam_notify http://127.0.0.1/x;\n'
             'dualcam_notify_concurrency 0;', r'at least 1'),
            ('dualcam_notify http://127.0.0.1/x;\n'
             'dualcam_notify_spool @PREFIX@/spool 1;',
             r'invalid number of arguments in "dualcam_notify_spool"'),
        ]
        for server, pattern in cases:
            with self.subTest(server=server):
                ngx = self.start_nginx(start=False, server=server)
                ngx.expect_log(r'\[emerg\]')
                t = ngx.test_config()
                self.assertNotEqual(t.returncode, 0)
                self.assertRegex(t.stderr, pattern)

    def test_spool_made_by_the_master(self):
        """The spool and its failed/ exist (for the worker user) before
        a worker runs; each worker has its directory and lock there."""
        need_sim(self)
        rx = self.receiver()
        ngx = self.notify_nginx(rx.url(), workers=2, extra='dualcam_notify_'
                                'spool @PREFIX@/outbox;')
        top = os.path.join(ngx.prefix, 'outbox')
        self.assertTrue(os.path.isdir(os.path.join(top, 'failed')))
        for p in ngx.worker_pids():
            wait_for(lambda: os.path.isdir(os.path.join(top, str(p))),
                     what='the directory of worker %d' % p)
            self.assertTrue(os.path.exists(os.path.join(top, '%d.lock' % p)))
        r = ngx.sim('--files', 'photof:3000')
        self.assertEqual(r.returncode, 0, r.stderr)
        rx.wait(1)
        wait_for(lambda: spool_files(ngx, top) == [], what='empty spool')
        self.assertFalse(os.path.exists(os.path.join(ngx.temp, 'notify')))
