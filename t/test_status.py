"""The shared zone and the status endpoint (issue 4): live sessions over
two workers and TLS, counters against what the simulator did, reloads
and resizes, a zone too small for its devices, the formats and methods,
escaped device paths, configuration errors.  (conf-examples/status.conf:
test_examples.py.)

Every test runs a real nginx with the module, dualcam-sim as the devices,
and reads the status over HTTP (JSON and Prometheus; see t/lib/status.py).
"""

import json
import os
import re
import time

from harness import NginxTestCase, ROOT, need_sim
from status import (HTTP_STATUS, StatusClient, metric, metric_sum,
                    parse_prometheus, sim_background)


IMEI = 352093081000000

# the default server with reuseport, so that the kernel spreads devices
# over all workers and the status must show the sessions of every one
SERVER_REUSEPORT = '''
    server {
        listen 127.0.0.1:@PORT@ reuseport;
        dualcam zone=z;
        dualcam_store @STORE@;
        dualcam_temp_path @TEMP@;
        %s
    }
'''


def stored(doc, kind, side):
    return doc['totals']['files_stored_by_kind'][kind][side]


class StatusLive(NginxTestCase):

    def test_twenty_slow_devices_two_workers(self):
        """20 rate-limited devices on 2 workers: all 20 sessions appear,
        their progress grows, and afterwards none is left and the 20
        uploads are in "recent"."""
        need_sim(self)
        ngx = self.start_nginx(workers=2, zone='z 1m recent=64',
                               stream=SERVER_REUSEPORT % '',
                               http=HTTP_STATUS % 'z')
        st = StatusClient(ngx)

        size = 96 * 1024
        sim = sim_background(ngx, '--devices', 20, '--imei-base', IMEI,
                             '--concurrency', 20, '--files',
                             'photof:%d' % size, '--rate', 12000,
                             '--verify-store', ngx.store, '--timeout', 90)
        try:
            # all 20 with a file in flight and something received
            doc = st.wait(lambda d: len(d['sessions']) == 20 and all(
                s['file'] is not None and s['file']['received'] > 0
                for s in d['sessions']), timeout=30,
                what='20 sessions with progress')

            t = doc['totals']
            self.assertEqual(t['sessions_active'], 20)
            self.assertEqual(t['connections'], 20)
            imeis = sorted(int(s['imei']) for s in doc['sessions'])
            self.assertEqual(imeis, list(range(IMEI, IMEI + 20)))

            workers = set(ngx.worker_pids())
            pids = set(s['pid'] for s in doc['sessions'])
            self.assertTrue(pids <= workers, (pids, workers))
            # reuseport spreads 20 connections over both workers (all on
            # one has probability 2^-19)
            self.assertEqual(len(pids), 2, pids)

            for s in doc['sessions']:
                self.assertFalse(s['tls'])
                self.assertTrue(s['peer'].startswith('127.0.0.1:'), s)
                self.assertEqual(s['protocol'], 5)
                f = s['file']
                self.assertEqual((f['name'], f['kind'], f['side']),
                                 ('%photof', 'photo', 'front'))
                self.assertEqual(f['total'], size // 1024)
                self.assertGreaterEqual(f['size'], size)
                self.assertTrue(0 < f['progress'] < 1, f)
                self.assertLessEqual(s['connected_since'],
                                     s['last_activity'])

            first = dict((s['imei'], s['file']['received'])
                         for s in doc['sessions'])

            # progress grows: at 12000 B/s a PROGRESS (16 packets) comes
            # every ~1.4 s
            time.sleep(3.5)
            doc2 = st.json()
            later = dict((s['imei'], s['file']['received'])
                         for s in doc2['sessions'] if s['file'])
            self.assertEqual(len(later), 20, json.dumps(doc2)[:3000])
            for imei, n in first.items():
                self.assertGreater(later[imei], n, imei)
            for s in doc2['sessions']:
                self.assertGreater(s['file']['rate'], 0, s)
                self.assertLess(s['file']['rate'], 12000 * 3, s)

            out, err = sim.communicate(timeout=120)
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.communicate()
        self.assertEqual(sim.returncode, 0, err[-3000:])

        ngx.wait_access(20)
        doc = st.wait(lambda d: d['totals']['sessions_active'] == 0,
                      timeout=10, what='no active session')
        t = doc['totals']
        self.assertEqual(doc['sessions'], [])
        self.assertEqual(len(doc['recent']), 20)
        self.assertEqual(t['files_stored'], 20)
        self.assertEqual(stored(doc, 'photo', 'front'), 20)
        self.assertEqual(t['file_bytes_stored'], 20 * size)
        self.assertEqual(t['evicted'], 0)
        self.assertEqual(t['dropped'], 0)

        files = set(os.path.join(ngx.store, f) for f in ngx.store_files())
        for r in doc['recent']:
            self.assertEqual(r['result'], 'ok', r)
            self.assertEqual(r['size'], size)
            self.assertEqual(r['file'], '%photof')
            self.assertIn(r['path'], files)
            self.assertGreater(r['duration'], 1.0)
            self.assertLessEqual(r['started'], r['finished'])
        self.assertEqual(sorted(int(r['imei']) for r in doc['recent']),
                         list(range(IMEI, IMEI + 20)))
        # newest first (each worker stamps with its own cached time, so
        # two workers' entries may be a few ms out of order)
        ends = [r['finished'] for r in doc['recent']]
        for a, b in zip(ends, ends[1:]):
            self.assertGreaterEqual(a + 0.5, b, ends)


    def test_tls_sessions(self):
        """A TLS device shows "tls": true, with its peer and progress."""
        need_sim(self)
        ngx = self.start_nginx(ssl=True, zone='z 64k',
                               http=HTTP_STATUS % 'z')
        st = StatusClient(ngx)
        sim = sim_background(ngx, '--devices', 2, '--imei-base', IMEI,
                             '--files', 'photor:40000', '--rate', 16000,
                             '--timeout', 60)
        try:
            doc = st.wait(lambda d: len(d['sessions']) == 2 and all(
                s['file'] and s['file']['received'] for s in d['sessions']),
                timeout=20, what='2 TLS sessions with progress')
            for s in doc['sessions']:
                self.assertIs(s['tls'], True)
                self.assertEqual(s['file']['side'], 'rear')
            out, err = sim.communicate(timeout=60)
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.communicate()
        self.assertEqual(sim.returncode, 0, err[-3000:])
        ngx.wait_access(2)
        doc = st.wait(lambda d: d['totals']['files_stored'] == 2,
                      what='2 files')
        self.assertEqual(stored(doc, 'photo', 'rear'), 2)


class StatusCounters(NginxTestCase):

    def check_prometheus_matches(self, st, doc):
        m = st.prometheus()
        t = doc['totals']
        self.assertEqual(metric(m, 'dualcam_connections_total'),
                         t['connections'])
        self.assertEqual(metric(m, 'dualcam_sessions_active'),
                         t['sessions_active'])
        self.assertEqual(metric_sum(m, 'dualcam_files_stored_total'),
                         t['files_stored'])
        for kind in ('photo', 'video', 'path'):
            for side in ('front', 'rear', 'none'):
                self.assertEqual(
                    metric(m, 'dualcam_files_stored_total', kind=kind,
                           side=side), stored(doc, kind, side))
        for name, key in (('file_bytes_stored', 'file_bytes_stored'),
                          ('crc_failures', 'crc_failures'),
                          ('resumes', 'resumes'),
                          ('resumes_across_connections',
                           'resumes_across_connections'),
                          ('protocol_errors', 'protocol_errors'),
                          ('timeouts', 'timeouts'),
                          ('refused', 'refused'),
                          ('store_errors', 'store_errors'),
                          ('zone_evicted', 'evicted'),
                          ('zone_dropped', 'dropped'),
                          ('files_failed', 'files_failed')):
            self.assertEqual(metric(m, 'dualcam_%s_total' % name), t[key],
                             name)
        for code, n in t['device_status'].items():
            self.assertEqual(metric(m, 'dualcam_device_status_total',
                                    code=code), n)
        for result, n in t['sessions_ended'].items():
            self.assertEqual(metric(m, 'dualcam_sessions_ended_total',
                                    result=result), n)

    def test_counters_match_the_simulator(self):
        """files by kind and side, bytes, CRC failures, resumes (within
        a session and across connections), STATUS codes, refused IMEIs."""
        need_sim(self)
        allow = os.path.join('@PREFIX@', 'imeis.txt')
        ngx = self.start_nginx(start=False, zone='z 1m recent=100',
                               server='dualcam_allow_imei '
                                      '@PREFIX@/imeis.txt;\n'
                                      '        dualcam_timeout 1s;',
                               http=HTTP_STATUS % 'z')
        with open(ngx.subst(allow), 'w') as f:
            for i in range(100):
                f.write('%d\n' % (IMEI + i))
        ngx.start()
        st = StatusClient(ngx)

        # 3 devices, each a front and a rear photo and a front video
        r = ngx.sim('--devices', 3, '--imei-base', IMEI, '--files',
                    'photof:5000,photor:3000,videof:20000',
                    '--verify-store', ngx.store, '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

        # 2 devices with one bad CRC each: a RESUME within the session
        r = ngx.sim('--devices', 2, '--imei-base', IMEI + 10, '--files',
                    'photof:10000', '--crc-error-at', 3, '--verify-store',
                    ngx.store, '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

        # 1 device dropping after packet 4: it reconnects and resumes
        # from the partial file the first connection left
        r = ngx.sim('--devices', 1, '--imei-base', IMEI + 20, '--files',
                    'videor:20000', '--drop-after', 4, '--verify-store',
                    ngx.store, '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

        # 2 devices answering the file request with STATUS 3
        r = ngx.sim('--devices', 2, '--imei-base', IMEI + 30, '--status',
                    3, '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

        # 4 devices not on the allow-list
        r = ngx.sim('--devices', 4, '--imei-base', IMEI + 1000,
                    '--expect-refused', '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

        # 1 device going silent mid-file: closed after dualcam_timeout
        r = ngx.sim('--devices', 1, '--imei-base', IMEI + 40, '--files',
                    'photof:20000', '--stall-after', 5, '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

        # 1 connection sending garbage instead of an init
        sock = ngx.connect()
        sock.sendall(b'GET / HTTP/1.0\r\n\r\n' + b'\xff' * 64)
        sock.settimeout(10)
        while sock.recv(4096):
            pass
        sock.close()

        ngx.wait_access(3 + 2 + 2 + 2 + 4 + 1 + 1)
        doc = st.wait(lambda d: d['totals']['sessions_active'] == 0,
                      timeout=10, what='no active session')
        t = doc['totals']

        self.assertEqual(t['connections'], 15)
        self.assertEqual(stored(doc, 'photo', 'front'), 3 + 2)
        self.assertEqual(stored(doc, 'photo', 'rear'), 3)
        self.assertEqual(stored(doc, 'video', 'front'), 3)
        self.assertEqual(stored(doc, 'video', 'rear'), 1)
        self.assertEqual(t['files_stored'], 12)
        self.assertEqual(t['file_bytes_stored'],
                         3 * 28000 + 2 * 10000 + 20000)
        self.assertEqual(t['crc_failures'], 2)
        self.assertEqual(t['resumes'], 2)
        self.assertEqual(t['resumes_across_connections'], 1)
        self.assertEqual(t['device_status'], {'3': 2})
        self.assertEqual(t['refused'], 4)
        self.assertEqual(t['sessions_ended']['refused'], 4)
        self.assertEqual(t['protocol_errors'], 1)
        self.assertEqual(t['sessions_ended']['protocol_error'], 1)
        self.assertEqual(t['timeouts'], 1)
        self.assertEqual(t['sessions_ended']['timeout'], 1)
        self.assertEqual(t['store_errors'], 0)
        # the stalled file and the STATUS-answered requests never made it
        self.assertGreaterEqual(t['files_failed'], 1)
        self.assertEqual(len(ngx.store_files()) -
                         len([f for f in ngx.store_files()
                              if f.endswith('.json')]), 12)

        ok = [x for x in doc['recent'] if x['result'] == 'ok']
        self.assertEqual(len(ok), 12)
        self.assertEqual(sum(x['size'] for x in ok), t['file_bytes_stored'])

        self.check_prometheus_matches(st, doc)


class StatusReload(NginxTestCase):

    def upload(self, ngx, n, base):
        r = ngx.sim('--devices', n, '--imei-base', base, '--files',
                    'photof:4000', '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

    def test_reload_keeps_totals_resize_starts_fresh(self):
        need_sim(self)
        ngx = self.start_nginx(workers=2, zone='z 1m recent=10',
                               http=HTTP_STATUS % 'z')
        st = StatusClient(ngx)

        self.upload(ngx, 3, IMEI)
        ngx.wait_access(3)
        before = st.wait(lambda d: d['totals']['files_stored'] == 3,
                         what='3 files')

        ngx.reload()
        after = st.json()
        self.assertEqual(after['totals'], before['totals'])
        self.assertEqual(after['start_time'], before['start_time'])
        self.assertEqual(len(after['recent']), 3)

        self.upload(ngx, 2, IMEI + 100)
        ngx.wait_access(5)
        doc = st.wait(lambda d: d['totals']['files_stored'] == 5,
                      what='5 files after the reload')
        self.assertEqual(doc['totals']['connections'], 5)
        self.assertEqual(doc['start_time'], before['start_time'])
        self.assertEqual(len(doc['recent']), 5)

        # recent=N changes on a reload without a new zone
        ngx.write_conf(ngx.conf.replace('dualcam_zone z 1m recent=10;',
                                        'dualcam_zone z 1m recent=2;'))
        ngx.reload()
        self.upload(ngx, 1, IMEI + 200)
        ngx.wait_access(6)
        # (an old worker may still answer for a moment after a reload)
        doc = st.wait(lambda d: d['totals']['files_stored'] == 6
                      and d['recent_max'] == 2, what='6 files, recent=2')
        self.assertEqual(doc['recent_max'], 2)
        self.assertEqual(len(doc['recent']), 2)
        self.assertEqual(doc['start_time'], before['start_time'])

        # a new size: a fresh zone, and a notice saying so
        ngx.write_conf(ngx.conf.replace('dualcam_zone z 1m recent=2;',
                                        'dualcam_zone z 2m recent=2;'))
        ngx.reload()
        ngx.wait_log(r'\[notice\].*dualcam zone "z" changed size from '
                     r'1048576 to 2097152, it starts fresh')
        doc = st.wait(lambda d: d['zone_size'] == 2 * 1024 * 1024,
                      what='the new zone')
        self.assertEqual(doc['totals']['files_stored'], 0)
        self.assertEqual(doc['totals']['connections'], 0)
        self.assertEqual(doc['recent'], [])
        self.assertGreaterEqual(doc['start_time'], before['start_time'])

        self.upload(ngx, 1, IMEI + 300)
        ngx.wait_access(7)
        st.wait(lambda d: d['totals']['files_stored'] == 1,
                what='1 file in the new zone')


class StatusSmallZone(NginxTestCase):

    def test_200_devices_in_a_32k_zone(self):
        """A zone with room for a few dozen entries under 200 concurrent
        devices: every upload succeeds, the status reports what it could
        not keep, and the slab does not flood the log with [crit]."""
        need_sim(self)
        ngx = self.start_nginx(workers=2, zone='z 32k recent=8',
                               stream=SERVER_REUSEPORT % '',
                               main='worker_rlimit_nofile 4096;',
                               http=HTTP_STATUS % 'z')
        st = StatusClient(ngx)

        sim = sim_background(ngx, '--devices', 200, '--imei-base', IMEI,
                             '--concurrency', 200, '--files',
                             'photof:24000', '--rate', 8000,
                             '--verify-store', ngx.store, '--timeout', 120)
        try:
            doc = st.wait(lambda d: d['totals']['sessions_active'] >= 150,
                          timeout=30, what='150 sessions at once')
            t = doc['totals']
            self.assertLess(len(doc['sessions']), t['sessions_active'])
            self.assertGreater(t['dropped'], 0)
            out, err = sim.communicate(timeout=180)
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.communicate()
        self.assertEqual(sim.returncode, 0, err[-3000:])

        ngx.wait_access(200, timeout=30)
        doc = st.wait(lambda d: d['totals']['sessions_active'] == 0,
                      timeout=10, what='no active session')
        t = doc['totals']
        self.assertEqual(t['connections'], 200)
        self.assertEqual(t['files_stored'], 200)
        self.assertEqual(t['file_bytes_stored'], 200 * 24000)
        self.assertGreater(t['evicted'] + t['dropped'], 0)
        self.assertEqual(doc['sessions'], [])
        self.assertLessEqual(len(doc['recent']), 8)
        self.assertTrue(all(r['result'] == 'ok' for r in doc['recent']))

        log = ngx.error_log()
        self.assertNotIn('ngx_slab_alloc() failed', log)
        self.assertEqual(len(re.findall(r'\[crit\]', log)), 0)

        m = st.prometheus()
        self.assertEqual(metric(m, 'dualcam_zone_dropped_total'),
                         t['dropped'])
        self.assertEqual(metric(m, 'dualcam_zone_recent'),
                         len(doc['recent']))


class StatusEndpoint(NginxTestCase):

    def test_formats_and_methods(self):
        ngx = self.start_nginx(zone='z 64k recent=4',
                               http=HTTP_STATUS % 'z')
        st = StatusClient(ngx)

        # an empty zone is valid too
        doc = st.json()
        self.assertEqual(doc['zone'], 'z')
        self.assertEqual(doc['nginx_version'], '1.22.1')
        self.assertEqual(doc['zone_size'], 64 * 1024)
        self.assertEqual(doc['recent_max'], 4)
        self.assertEqual(doc['sessions'], [])
        self.assertEqual(doc['recent'], [])
        self.assertGreaterEqual(doc['uptime'], 0)
        self.assertAlmostEqual(doc['start_time'], time.time(), delta=60)
        for k in ('connections', 'sessions_active', 'files_stored',
                  'file_bytes_stored', 'crc_failures', 'resumes',
                  'resumes_across_connections', 'protocol_errors',
                  'timeouts', 'refused', 'store_errors', 'evicted',
                  'dropped', 'files_failed'):
            self.assertEqual(doc['totals'][k], 0, k)

        if os.access(os.path.join(ROOT, 'build', 'dualcam-sim'), os.X_OK):
            r = ngx.sim('--devices', 2, '--imei-base', IMEI, '--files',
                        'photof:3000,videor:5000', '--timeout', 60)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            ngx.wait_access(2)
            doc = st.wait(lambda d: d['totals']['files_stored'] == 4,
                          what='4 files')
            self.assertEqual(len(doc['recent']), 4)

        # Prometheus: by query, by Accept; strict line format
        code, h, body = st.request('GET', '?format=prometheus')
        self.assertEqual(code, 200)
        self.assertEqual(h['content-type'],
                         'text/plain; version=0.0.4; charset=utf-8')
        self.assertEqual(h['cache-control'], 'no-store')
        m = parse_prometheus(body.decode('utf-8'))
        names = set(k[0] for k in m)
        for n in ('dualcam_uptime_seconds', 'dualcam_connections_total',
                  'dualcam_sessions_active', 'dualcam_sessions_ended_total',
                  'dualcam_files_stored_total',
                  'dualcam_file_bytes_stored_total',
                  'dualcam_crc_failures_total', 'dualcam_resumes_total',
                  'dualcam_resumes_across_connections_total',
                  'dualcam_protocol_errors_total', 'dualcam_timeouts_total',
                  'dualcam_refused_total', 'dualcam_store_errors_total',
                  'dualcam_zone_evicted_total',
                  'dualcam_zone_dropped_total'):
            self.assertIn(n, names)
        text = body.decode('utf-8')
        self.assertIn('# TYPE dualcam_device_status_total counter', text)
        self.assertEqual(metric(m, 'dualcam_files_stored_total',
                                kind='photo', side='front'),
                         stored(doc, 'photo', 'front'))

        code, h, body = st.request('GET', '', {'Accept': 'text/plain'})
        self.assertEqual(code, 200)
        self.assertTrue(h['content-type'].startswith('text/plain; '
                                                     'version=0.0.4'))
        parse_prometheus(body.decode('utf-8'))

        for accept in ('application/json', 'text/plain, application/json',
                       '*/*'):
            code, h, body = st.request('GET', '', {'Accept': accept})
            self.assertEqual(code, 200)
            self.assertEqual(h['content-type'], 'application/json', accept)
            json.loads(body.decode('utf-8'))

        # a browser gets the operator's page (t/test_page.py)
        code, h, body = st.request('GET', '', {'Accept': 'text/html'})
        self.assertEqual(code, 200)
        self.assertEqual(h['content-type'], 'text/html; charset=utf-8')

        code, h, body = st.request('GET', '?format=json',
                                   {'Accept': 'text/plain'})
        self.assertEqual(h['content-type'], 'application/json')
        json.loads(body.decode('utf-8'))

        code, h, body = st.request('GET', '?format=xml')
        self.assertEqual(code, 400)

        # HEAD: the headers of a GET, no body
        code, h, body = st.request('HEAD')
        self.assertEqual(code, 200)
        self.assertEqual(body, b'')
        self.assertEqual(h['content-type'], 'application/json')
        self.assertGreater(int(h['content-length']), 100)

        for method in ('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'):
            code, h, body = st.request(method, body=b'{}')
            self.assertEqual(code, 405, method)
            self.assertEqual(h['allow'], 'GET, HEAD', method)

        # the endpoint still works after all that
        st.json()

    def test_device_paths_escaped(self):
        """A device path with quotes, backslashes, control characters,
        UTF-8 and bytes that are not UTF-8 stays valid JSON."""
        need_sim(self)
        ngx = self.start_nginx(zone='z 64k', http=HTTP_STATUS % 'z')
        st = StatusClient(ngx)
        # '\udcff' is the byte 0xff on the command line (surrogateescape)
        path = 'dsm/"q\\uote"/\u00fc\u20ac\ttab\udcff.jpg'
        r = ngx.sim('--protocol', 6, '--files', 'path:%s:3000' % path,
                    '--timeout', 30)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        ngx.wait_access(1)
        code, h, body = st.request('GET')
        self.assertEqual(code, 200)
        doc = json.loads(body.decode('utf-8'))
        rec = doc['recent'][0]
        self.assertEqual(rec['kind'], 'path')
        self.assertEqual(rec['result'], 'ok')
        self.assertEqual(rec['size'], 3000)
        # valid UTF-8 kept, the stray byte as the code point of its value
        self.assertEqual(rec['file'], path.replace('\udcff', '\u00ff'))
        self.assertIn(b'\\"q\\\\uote\\"', body)
        self.assertIn(b'\\t', body)
        self.assertIn(b'\\u00ff', body)

    def test_http_block_first_and_undefined_zone(self):
        """dualcam_status may come before the stream block; a zone never
        given a size is a configuration error."""
        ngx = self.start_nginx(start=False)
        ngx.expect_log(r'\[emerg\]')
        conf = ngx.conf.replace('stream {', 'http {\n    access_log off;\n'
                                + HTTP_STATUS % 'z' + '}\nstream {\n'
                                '    dualcam_zone z 64k;', 1)
        conf = re.sub(r'\n(\s+)dualcam;\n', r'\n\1dualcam zone=z;\n', conf,
                      count=1)
        self.assertIn('dualcam zone=z;', conf)
        path = os.path.join(ngx.prefix, 'conf', 'first.conf')
        with open(path, 'w') as f:
            f.write(ngx.subst(conf))
        r = ngx.test_config(path)
        self.assertEqual(r.returncode, 0, r.stderr)

        bad = ngx.conf + 'http {\n    access_log off;\n' + \
            HTTP_STATUS % 'nosuch' + '}\n'
        path = os.path.join(ngx.prefix, 'conf', 'bad.conf')
        with open(path, 'w') as f:
            f.write(ngx.subst(bad))
        r = ngx.test_config(path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('zero size shared memory zone "nosuch"',
                      r.stderr + ngx.error_log())

        # a zone too small, a bad recent=, a duplicate
        for line, msg in (('dualcam_zone y 16k;', 'is too small'),
                          ('dualcam_zone y 64k recent=x;', 'invalid'),
                          ('dualcam_zone y 64k foo=1;', 'invalid parameter'),
                          ('dualcam_zone y 64k; dualcam_zone y 64k;',
                           'duplicate zone "y"')):
            conf = ngx.conf.replace('stream {', 'stream {\n    ' + line, 1)
            path = os.path.join(ngx.prefix, 'conf', 'bad2.conf')
            with open(path, 'w') as f:
                f.write(conf)
            r = ngx.test_config(path)
            self.assertNotEqual(r.returncode, 0, line)
            self.assertIn(msg, r.stderr + ngx.error_log(), line)
