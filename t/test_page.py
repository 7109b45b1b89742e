"""The operator's page (issue 13) and the JSON paging it relies on.

Paging: "?limit=", "?imei=", "?active=" of the status JSON against what
the zone holds, every document read by a strict JSON parser; bad values
are a 400; the page is the HTML file compiled in, byte for byte.

Page: Debian's chromium, headless, driven by puppeteer-core
(t/lib/browser.py): live uploads of 20 simulated devices at a GSM-like
rate, photo thumbnails, the IMEI filter, per-IMEI browsing from nginx's
autoindex JSON, a device's HTML-looking path shown as text, crafted
status documents (stalled rows, failures, MP4 video, unsafe URLs), and
5,000 idle devices.  Screenshots of every step go to
build/test-output/test_page/<test>/.
"""

import http.client
import json
import os
import resource
import socket
import subprocess
import time
import unittest
import urllib.parse

import harness
from harness import NginxTestCase, ROOT, need_sim
from browser import Browser, output_dir
import device as D
from status import StatusClient, sim_background


PAGE_SRC = os.path.join(ROOT, 'src', 'dualcam_page.html')

HTTP_PAGE = '''
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location = /dualcam/status {
            dualcam_status z%s;
        }
        location /store/ {
            alias @STORE@/;
            autoindex on;
            autoindex_format json;
            mp4;
            types {
                image/jpeg jpg jpeg;
                video/mp4 mp4;
                application/json json;
            }
            default_type application/octet-stream;
            add_header X-Content-Type-Options nosniff;
            add_header Content-Security-Policy sandbox;
        }
    }
'''

STORE = ' store_url=/store/'


def strict_json(body):
    """body parsed as JSON the strict way: UTF-8, no duplicate keys, no
    NaN/Infinity, nothing after the document."""
    def pairs(kv):
        keys = [k for k, _ in kv]
        assert len(keys) == len(set(keys)), 'duplicate key in %r' % keys
        return dict(kv)

    def constant(c):
        raise AssertionError('not JSON: %s' % c)

    text = body.decode('utf-8')
    return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)


def get(port, path, method='GET', headers=None):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), \
            r.read()
    finally:
        c.close()


def status_json(ngx, query=''):
    code, h, body = get(ngx.http_port, '/dualcam/status' + query)
    assert code == 200, (query, code, body[:300])
    assert h['content-type'] == 'application/json', h
    return strict_json(body), len(body)


def idle_devices(port, imei_base, n, init=True):
    """n connected sockets; with init, each has sent a valid init (so it
    shows an IMEI) and then stays silent."""
    socks = []
    for i in range(n):
        s = socket.create_connection(('127.0.0.1', port), 10)
        if init:
            s.sendall(D.init_packet(imei_base + i, D.FLAG_PHOTO_FRONT))
        socks.append(s)
    return socks


def need_fds(test, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    if hard != resource.RLIM_INFINITY and hard < n:
        test.skipTest('open files limited to %d' % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


def stop_sim(p):
    if p.poll() is None:
        p.kill()
    p.communicate()


# --- JSON paging, no browser ------------------------------------------------

class Paging(NginxTestCase):

    BASE_DONE = 352093088100000
    BASE_STALL = 352093088200000
    BASE_IDLE = 352093088300000

    def test_limit_imei_active(self):
        """limit, imei (digits anywhere in the 15) and active=1 select
        exactly what the zone holds; *_matched count before the limit."""
        need_sim(self)
        ngx = self.start_nginx(zone='z 1m recent=64',
                               server='dualcam_timeout 60s;',
                               http=HTTP_PAGE % STORE)
        r = ngx.sim('--devices', 4, '--imei-base', self.BASE_DONE,
                    '--files', 'photof:3000,videof:5000', '--verify-store',
                    ngx.store, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        idle = idle_devices(ngx.port, self.BASE_IDLE, 3)
        silent = idle_devices(ngx.port, 0, 1, init=False)
        stall = sim_background(ngx, '--devices', 2, '--imei-base',
                               self.BASE_STALL, '--files', 'photof:60000',
                               '--stall-after', 3, '--timeout', 60, '-q')
        try:
            st = StatusClient(ngx)
            st.wait(lambda d: len(d['sessions']) == 6 and sum(
                1 for s in d['sessions'] if s['file']) == 2,
                timeout=15, what='3 idle, 1 silent and 2 stalled sessions')
            full, full_len = status_json(ngx)
            self.check_selection(ngx, full)
            self.check_urls(ngx, full)
        finally:
            stop_sim(stall)
            for s in idle + silent:
                s.close()

    def check_selection(self, ngx, full):
        sessions, recent = full['sessions'], full['recent']
        self.assertEqual(len(sessions), 6)
        self.assertEqual(len(recent), 8)
        self.assertEqual((full['sessions_matched'], full['recent_matched']),
                         (6, 8))
        self.assertEqual(full['store_url'], '/store/')
        self.assertLess(abs(full['time'] - time.time()), 5)

        def key(e):
            return (e['imei'], e['peer'], e.get('path'))

        def same(a, b):
            return [key(e) for e in a] == [key(e) for e in b]

        # active=1: the sessions with a file in flight, recent untouched
        doc, _ = status_json(ngx, '?active=1')
        want = [s for s in sessions if s['file'] is not None]
        self.assertEqual(len(want), 2)
        self.assertTrue(same(doc['sessions'], want))
        self.assertEqual(doc['sessions_matched'], 2)
        self.assertTrue(same(doc['recent'], recent))

        # limit: the first N of each list, the counts of all
        for n in (0, 1, 3, 6, 7, 100):
            doc, _ = status_json(ngx, '?limit=%d' % n)
            self.assertTrue(same(doc['sessions'], sessions[:n]), n)
            self.assertTrue(same(doc['recent'], recent[:n]), n)
            self.assertEqual((doc['sessions_matched'],
                              doc['recent_matched']), (6, 8))
            self.assertEqual(doc['totals'], full['totals'])

        # imei: the digits anywhere in the 15-digit IMEI; no IMEI yet
        # (the silent connection) never matches
        for q in ('%015d' % (self.BASE_DONE + 2), '088100001', '0883',
                  '88', '2', '000000000000000', '9999'):
            doc, _ = status_json(ngx, '?imei=' + q)
            ws = [s for s in sessions if s['imei'] and q in s['imei']]
            wr = [e for e in recent if e['imei'] and q in e['imei']]
            self.assertTrue(same(doc['sessions'], ws), q)
            self.assertTrue(same(doc['recent'], wr), q)
            self.assertEqual((doc['sessions_matched'],
                              doc['recent_matched']), (len(ws), len(wr)), q)
        self.assertIn(None, [s['imei'] for s in sessions])
        doc, _ = status_json(ngx, '?imei=%015d' % (self.BASE_DONE + 2))
        self.assertEqual(len(doc['recent']), 2)

        # all three at once
        doc, _ = status_json(ngx, '?active=1&limit=1&imei=0882')
        self.assertEqual(doc['sessions_matched'], 2)
        self.assertEqual(len(doc['sessions']), 1)
        self.assertEqual(doc['sessions'][0]['imei'],
                         '%015d' % self.BASE_STALL)
        self.assertEqual((doc['recent'], doc['recent_matched']), ([], 0))
        # an empty imei is no filter
        doc, _ = status_json(ngx, '?imei=&limit=2')
        self.assertEqual(doc['sessions_matched'], 6)

        # what is not one of these is a 400, logged at info
        for q, what in (('limit=-1', 'limit'), ('limit=abc', 'limit'),
                        ('limit=', 'limit'),
                        ('limit=99999999999999999999999', 'limit'),
                        ('imei=35209308810000a', 'imei'),
                        ('imei=3520930881000001', 'imei'),
                        ('imei=%2035', 'imei'),
                        ('active=yes', 'active'), ('active=', 'active'),
                        ('active=11', 'active'), ('format=xml', 'format')):
            code, _, body = get(ngx.http_port, '/dualcam/status?' + q)
            self.assertEqual(code, 400, q)
            ngx.wait_log(r'\[info\].*dualcam_status: (invalid|unknown) '
                         r'"%s" argument' % what)

        # Prometheus is not cut: the metrics count everything
        code, _, body = get(ngx.http_port,
                            '/dualcam/status?format=prometheus&limit=0')
        self.assertEqual(code, 200)
        self.assertIn(b'\ndualcam_zone_sessions 6\n', body)
        self.assertIn(b'\ndualcam_zone_recent 8\n', body)

    def check_urls(self, ngx, full):
        """With store_url, a stored upload's url is store_url + IMEI/name,
        and nginx serves the very bytes stored."""
        ok = [e for e in full['recent'] if e['result'] == 'ok']
        self.assertEqual(len(ok), 8)
        for e in ok:
            name = os.path.basename(e['path'])
            self.assertEqual(e['url'], '/store/%s/%s' % (e['imei'], name))
            code, _, body = get(ngx.http_port, e['url'])
            self.assertEqual(code, 200, e)
            with open(e['path'], 'rb') as f:
                self.assertEqual(body, f.read())
        # autoindex JSON of an IMEI: the browsing the page does
        code, h, body = get(ngx.http_port, '/store/%s/' % ok[0]['imei'])
        self.assertEqual(code, 200)
        names = sorted(f['name'] for f in strict_json(body))
        self.assertEqual(len(names), 4, names)   # 2 files, 2 sidecars

    def test_no_store_url(self):
        """Without store_url: "store_url" and every "url" are null."""
        need_sim(self)
        ngx = self.start_nginx(zone='z 1m', http=HTTP_PAGE % '')
        ngx.sim('--files', 'photof:2000', check=True)
        doc, _ = status_json(ngx)
        self.assertIsNone(doc['store_url'])
        self.assertEqual(len(doc['recent']), 1)
        self.assertEqual(doc['recent'][0]['result'], 'ok')
        self.assertIsNone(doc['recent'][0]['url'])

    def test_page_format(self):
        """The page for a browser (Accept: text/html, ?format=html): the
        bytes of src/dualcam_page.html, tens of KB, with a strict CSP;
        JSON still for scripts and for the page's own fetches."""
        ngx = self.start_nginx(zone='z 1m', http=HTTP_PAGE % STORE)
        with open(PAGE_SRC, 'rb') as f:
            page = f.read()
        self.assertLess(len(page), 64 * 1024)
        browser = ('text/html,application/xhtml+xml,application/xml;q=0.9,'
                   'image/avif,image/webp,*/*;q=0.8')
        for query, accept in (('', browser), ('?format=html', ''),
                              ('?format=html', 'application/json'),
                              ('?format=HTML&limit=zzz', '')):
            code, h, body = get(ngx.http_port, '/dualcam/status' + query,
                                headers={'Accept': accept} if accept else {})
            self.assertEqual(code, 200, query)
            self.assertEqual(h['content-type'], 'text/html; charset=utf-8')
            self.assertEqual(body, page)
            self.assertEqual(int(h['content-length']), len(page))
            self.assertIn("default-src 'none'", h['content-security-policy'])
            self.assertIn("frame-ancestors 'none'",
                          h['content-security-policy'])
            self.assertEqual(h['x-content-type-options'], 'nosniff')
            self.assertEqual(h['cache-control'], 'no-store')
            self.assertEqual(h['vary'], 'Accept')

        # a bad format is a 400 even for a browser, whatever comes first
        for query in ('?format=xml', '?limit=zzz&format=xml',
                      '?format=htm'):
            code, h, body = get(ngx.http_port, '/dualcam/status' + query,
                                headers={'Accept': browser})
            self.assertEqual(code, 400, query)

        code, h, body = get(ngx.http_port, '/dualcam/status', 'HEAD',
                            {'Accept': browser})
        self.assertEqual((code, body), (200, b''))
        self.assertEqual(int(h['content-length']), len(page))

        for accept in ('', '*/*', 'application/json',
                       'text/html, application/json'):
            code, h, body = get(ngx.http_port, '/dualcam/status',
                                headers={'Accept': accept} if accept else {})
            self.assertEqual(code, 200)
            self.assertEqual(h['content-type'], 'application/json', accept)
            self.assertEqual(h['vary'], 'Accept')
            strict_json(body)

    def test_quickstart_page(self):
        """conf-examples/quickstart.conf (make run): the page, the stored
        files it links, the per-device listing; partials are not served."""
        need_sim(self)
        ngx = self.start_nginx(start=False)
        os.makedirs(ngx.temp, exist_ok=True)
        with open(os.path.join(ROOT, 'conf-examples',
                               'quickstart.conf')) as f:
            ngx.conf = harness.adapt_example(f.read(), ngx)
        self.assertIn('alias store/;', ngx.conf)    # = ngx.store
        ngx.port = ngx.example_ports[5232]
        ngx.http_port = ngx.example_ports[8080]
        ngx.start()
        ngx.sim('--files', 'photof:20000', '--verify-store', ngx.store,
                check=True)
        code, h, body = get(ngx.http_port, '/dualcam/status',
                            headers={'Accept': 'text/html'})
        self.assertEqual((code, h['content-type']),
                         (200, 'text/html; charset=utf-8'))
        doc, _ = status_json(ngx)
        e = doc['recent'][0]
        code, _, body = get(ngx.http_port, e['url'])
        self.assertEqual(code, 200)
        with open(e['path'], 'rb') as f:
            self.assertEqual(body, f.read())
        code, _, body = get(ngx.http_port, '/store/%s/' % e['imei'])
        self.assertEqual(len(strict_json(body)), 2)
        os.makedirs(os.path.join(ngx.store, '.tmp'), exist_ok=True)
        code, _, _ = get(ngx.http_port, '/store/.tmp/')
        self.assertEqual(code, 403)

    def test_page_generator(self):
        """src/dualcam_page.sh, which config.make runs: every byte value
        comes out as itself, twice the same output, empty input refused."""
        import re
        import tempfile
        gen = os.path.join(ROOT, 'src', 'dualcam_page.sh')
        d = tempfile.mkdtemp(prefix='dualcam-page-')
        try:
            src = os.path.join(d, 'in.html')
            data = bytes(range(256)) * 3 + b'\xff'
            with open(src, 'wb') as f:
                f.write(data)
            outs = []
            for n in (1, 2):
                out = os.path.join(d, 'gen%d' % n, 'page.c')
                subprocess.run(['sh', gen, src, out], check=True)
                with open(out) as f:
                    outs.append(f.read())
            self.assertEqual(outs[0], outs[1])
            body = outs[0].split('{', 1)[1].split('}', 1)[0]
            got = bytes(int(h, 16) for h in re.findall(r'0x([0-9a-f]{2}),',
                                                        body))
            self.assertEqual(got, data)
            self.assertTrue(all(len(line) <= 80
                                for line in outs[0].split('\n')))
            open(os.path.join(d, 'empty'), 'w').close()
            r = subprocess.run(['sh', gen, os.path.join(d, 'empty'),
                                os.path.join(d, 'x.c')],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
            self.assertFalse(os.path.exists(os.path.join(d, 'x.c')))
        finally:
            import shutil
            shutil.rmtree(d)

    def test_store_url_config(self):
        """store_url must end with "/"; other parameters are refused."""
        ngx = self.start_nginx(start=False, zone='z 1m',
                               http=HTTP_PAGE % STORE)
        ngx.expect_log(r'\[emerg\].*(store_url|invalid parameter)')
        for param, msg in (
                (' store_url=/store', '"store_url" must end with "/"'),
                (' store_url=', '"store_url" must end with "/"'),
                (' stor_url=/s/', 'invalid parameter "stor_url=/s/"')):
            conf = ngx.conf.replace(STORE, param)
            path = os.path.join(ngx.prefix, 'conf', 'bad.conf')
            with open(path, 'w') as f:
                f.write(conf)
            r = ngx.test_config(path)
            self.assertNotEqual(r.returncode, 0, param)
            self.assertIn(msg, r.stderr)
        ngx.write_conf()
        self.assertEqual(ngx.test_config().returncode, 0)


# --- the page in a real browser ---------------------------------------------

# the rows of the page's tables, as the page shows them
JS_SESSIONS = '''Array.from(document.querySelectorAll(
    "#sessions tbody tr.session")).map(function (tr) {
        var p = tr.querySelector("progress");
        return {imei: tr.cells[0].textContent, name: tr.cells[3].textContent,
                progress: p ? p.value : null,
                stalled: tr.classList.contains("stalled")};
    })'''
JS_RECENT = '''Array.from(document.querySelectorAll(
    "#recent tbody tr.upload")).map(function (tr) {
        var img = tr.querySelector("img.thumb");
        var v = tr.querySelector("video");
        var a = tr.cells[7].querySelector("a");
        return {imei: tr.cells[1].textContent, file: tr.cells[3].textContent,
                result: tr.cells[6].textContent,
                fail: tr.classList.contains("fail"),
                img: img ? img.getAttribute("src") : null,
                loaded: img ? img.complete && img.naturalWidth : 0,
                video: v ? v.getAttribute("src") : null,
                link: a ? a.getAttribute("href") : null};
    })'''
JS_XSS_FLAGS = ('[window.__xss === undefined, '
                'document.querySelectorAll("img[src=x]").length, '
                'document.scripts.length, '
                'document.querySelectorAll("svg, iframe, [onerror], '
                '[onload]").length]')


def local(url):
    """The path of an absolute URL of the test's server (None stays)."""
    if url is None:
        return None
    u = urllib.parse.urlsplit(url)
    assert u.scheme == 'http' and u.hostname == '127.0.0.1', url
    return u.path


def jpeg_padded(jpeg, size):
    """jpeg grown to size bytes with COM segments after SOI: still the
    same picture, but an upload that takes a while at a GSM rate."""
    assert jpeg[:2] == b'\xff\xd8'
    out = bytearray(jpeg[:2])
    need = size - len(jpeg)
    while need > 4:
        n = min(need - 4, 65533)
        out += b'\xff\xfe' + (n + 2).to_bytes(2, 'big') + b'c' * n
        need -= n + 4
    out += jpeg[2:]
    return bytes(out)


class Page(NginxTestCase):

    browser = None

    @classmethod
    def setUpClass(cls):
        cls.browser = Browser.start(output_dir('test_page'))

    @classmethod
    def tearDownClass(cls):
        if cls.browser is not None:
            cls.browser.close()

    def setUp(self):
        super().setUp()
        self.b = self.browser
        self.b.outdir = output_dir('test_page', self._testMethodName)
        self.b.reset()
        self.b.errors()

    def tearDown(self):
        try:
            errors = [e for e in self.b.errors()
                      if e.startswith('pageerror')]
            self.assertEqual(errors, [], 'JavaScript errors in the page')
        finally:
            super().tearDown()

    def start_nginx(self, start=True, **kw):
        # the browser holds connections open (keepalive, preconnects with
        # no request yet): a worker would wait for them on QUIT
        kw['main'] = kw.get('main', '') + '\nworker_shutdown_timeout 1s;'
        return super().start_nginx(start, **kw)

    def url(self, ngx):
        return 'http://127.0.0.1:%d/dualcam/status' % ngx.http_port

    def set_filter(self, digits):
        self.b.eval('(function () { var e = document.getElementById('
                    '"filter"); e.value = %s; e.dispatchEvent(new Event('
                    '"input")); return 1; })()' % json.dumps(digits))

    def test_twenty_devices_live(self):
        """20 devices upload a photo at 8 kB/s: 20 active rows whose
        progress bars grow, the IMEI filter narrows them, then 0 active
        and 20 more recent rows with loaded thumbnails, the earlier
        failure highlighted, and a per-IMEI listing."""
        need_sim(self)
        b = self.b
        base = 352093087000000
        ngx = self.start_nginx(workers=2, zone='z 1m recent=64',
                               server='dualcam_timeout 2s;',
                               http=HTTP_PAGE % STORE)
        photo = jpeg_padded(b.jpeg(
            '<body style="margin:0;background:linear-gradient(90deg,'
            '#1f6feb,#f6c343)"><h1 style="font:40px sans-serif;color:#fff;'
            'margin:80px 30px">front camera</h1></body>'), 96 * 1024)
        photo_path = os.path.join(ngx.prefix, 'photo.jpg')
        with open(photo_path, 'wb') as f:
            f.write(photo)
        # what came before: two photos stored, one upload that stalled
        # and timed out (a failure, highlighted with its result word)
        ngx.sim('--devices', 2, '--imei-base', base + 100, '--files',
                'photof:1', '--file-from', photo_path, check=True)
        ngx.sim('--imei', base + 102, '--files', 'photor:40000',
                '--stall-after', 3, '--timeout', 20, check=True)
        sim = sim_background(ngx, '--devices', 20, '--imei-base', base,
                             '--concurrency', 20, '--files', 'photof:1',
                             '--file-from', photo_path, '--rate', 8000,
                             '--verify-store', ngx.store, '--timeout', 90)
        try:
            b.goto(self.url(ngx))
            b.wait('(%s).filter(function (s) { return s.progress > 0; })'
                   '.length == 20' % JS_SESSIONS, 20,
                   what='20 active rows with progress')
            first = dict((s['imei'], s['progress'])
                         for s in b.eval(JS_SESSIONS))
            self.assertEqual(sorted(first), ['%015d' % (base + i)
                                             for i in range(20)])
            b.screenshot('01-uploading')
            b.wait('(function (f) { var s = %s; return s.length == 20 && '
                   's.every(function (r) { return r.progress > f[r.imei]; '
                   '}); })(%s)' % (JS_SESSIONS, json.dumps(first)), 10,
                   what='every progress bar grown')
            b.screenshot('02-progress')
            # the one in the README: uploads in flight, the first stored
            b.screenshot('page-uploading')
            for s in b.eval(JS_SESSIONS):
                self.assertEqual(s['name'], '%photof')
                self.assertFalse(s['stalled'], s)
            self.assertIn('20 uploading',
                          b.eval('document.getElementById('
                                 '"sessions-count").textContent'))

            # the filter: typed digits reach the server as ?imei=
            one = '%015d' % (base + 7)
            b.requests()
            b.type('#filter', one)
            b.wait('(function () { var s = %s; return s.length == 1 && '
                   's[0].imei == "%s"; })()' % (JS_SESSIONS, one), 10,
                   what='the filter leaves one row')
            b.screenshot('03-filter')
            self.assertTrue(any('imei=' + one in r['url']
                                for r in b.requests()))
            self.set_filter('')
            b.wait('(%s).length >= 15' % JS_SESSIONS, 10,
                   what='the rows back without the filter')

            out, err = sim.communicate(timeout=90)
            self.assertEqual(sim.returncode, 0, err[-2000:])
        finally:
            stop_sim(sim)

        b.wait('(%s).length == 0 && (%s).filter(function (r) { '
               'return r.result == "ok"; }).length == 22'
               % (JS_SESSIONS, JS_RECENT), 15,
               what='0 active and 20 more recent rows')
        # lazy thumbnails: those in view load; every one has its URL
        b.wait('(%s).some(function (r) { return r.loaded > 0; })'
               % JS_RECENT, 10, what='a thumbnail loaded')
        b.screenshot('04-done')
        rows = b.eval(JS_RECENT)
        self.assertEqual(len(rows), 23)
        failed = [r for r in rows if r['imei'] == '%015d' % (base + 102)]
        self.assertEqual(len(failed), 1)
        failed = failed[0]
        rows.remove(failed)
        self.assertEqual((failed['imei'], failed['result'], failed['fail'],
                          failed['img'], failed['link']),
                         ('%015d' % (base + 102), 'timeout', True,
                          None, None))
        self.assertEqual(sorted(r['imei'] for r in rows),
                         ['%015d' % (base + i) for i in
                          list(range(20)) + [100, 101]])
        for r in rows:
            self.assertFalse(r['fail'], r)
            self.assertTrue(local(r['img']).startswith(
                '/store/%s/' % r['imei']), r)
            self.assertEqual(r['link'], r['img'])
        loaded = [r for r in rows if r['loaded']]
        self.assertEqual(loaded[0]['loaded'], 320)   # the JPEG's width
        code, _, body = get(ngx.http_port, local(loaded[0]['img']))
        self.assertEqual((code, body), (200, photo))

        # the recent list filtered
        self.set_filter('%06d' % 12)
        b.wait('(function () { var r = %s; return r.length == 1 && '
               'r[0].imei == "%015d"; })()' % (JS_RECENT, base + 12), 10,
               what='the filter leaves one recent row')
        self.set_filter('')
        b.wait('(%s).length == 23' % JS_RECENT, 10)

        # per-IMEI browsing: nginx's autoindex JSON of the store
        b.click('#recent tbody tr.upload a.imei')
        b.wait('document.querySelectorAll("#files .f").length == 2 && '
               'Array.from(document.querySelectorAll("#files img")).every('
               'function (i) { return i.complete && i.naturalWidth > 0; })',
               10, what='the IMEI listing with its photo')
        names = b.eval('Array.from(document.querySelectorAll("#files .f '
                       '.n")).map(function (n) { return n.textContent; })')
        self.assertEqual(sorted(n.rsplit('.', 1)[1] for n in names),
                         ['jpg', 'json'])
        b.screenshot('05-browse')

        # a photo opened by itself shows, under the store's sandbox CSP
        b.goto('http://127.0.0.1:%d%s' % (ngx.http_port,
                                           local(loaded[0]['img'])))
        self.assertEqual(b.eval('document.images.length && '
                                'document.images[0].naturalWidth'), 320)

    def test_device_text_is_never_html(self):
        """A path-mode device sending "<img src=x onerror=...>" as its path
        (and a <script> one): shown as text while in flight and once
        stored, and no script of theirs runs."""
        need_sim(self)
        b = self.b
        ngx = self.start_nginx(zone='z 1m', http=HTTP_PAGE % STORE)
        img = '<img src=x onerror=window.__xss=1>'
        script = '<script>window.__xss=2</script>.jpg'
        sim = sim_background(ngx, '--imei', 352093086000001, '--files',
                             'path:%s:24000,path:%s:3000' % (img, script),
                             '--rate', 6000, '--verify-store', ngx.store,
                             '--timeout', 60)
        try:
            b.goto(self.url(ngx))
            b.wait('(%s).some(function (s) { return s.name == %s; })'
                   % (JS_SESSIONS, json.dumps(img)), 15,
                   what='the path in flight, as text')
            b.screenshot('01-in-flight')
            self.assertEqual(b.eval(JS_XSS_FLAGS), [True, 0, 1, 0])
            out, err = sim.communicate(timeout=60)
            self.assertEqual(sim.returncode, 0, err[-2000:])
        finally:
            stop_sim(sim)
        b.wait('(%s).length == 2' % JS_RECENT, 10)
        files = sorted(r['file'] for r in b.eval(JS_RECENT))
        self.assertEqual(files, sorted([img, script]))
        b.screenshot('02-stored')
        self.assertEqual(b.eval(JS_XSS_FLAGS), [True, 0, 1, 0])
        # the text is there, in a table cell, exactly as sent
        self.assertTrue(b.eval('Array.from(document.querySelectorAll('
                               '"#recent td")).some(function (t) { return '
                               't.textContent == %s; })' % json.dumps(img)))

    def test_crafted_documents(self):
        """What the page makes of status fields the simulator cannot
        produce: a stalled session stands out, failures are highlighted
        with their result word, a video with an MP4 plays in <video>, a
        URL that is not http(s) is never a link, HTML anywhere is text."""
        b = self.b
        ngx = self.start_nginx(zone='z 1m', http=HTTP_PAGE % STORE)
        real, _ = status_json(ngx)
        now = real['time']
        imei = '352093085000001'

        def session(n, age, name, rate=4000):
            return {'imei': '35209308500000%d' % n, 'protocol': 5,
                    'peer': '<b>192.0.2.%d</b>:4000' % n, 'tls': n == 2,
                    'pid': 1, 'connected_since': now - 300,
                    'last_activity': now - age, 'files_done': 0,
                    'bytes_done': 0,
                    'file': {'name': name, 'kind': 'video', 'side': 'rear',
                             'total': 100, 'size': 102400,
                             'received': 51200, 'resume_from': 0,
                             'packets': 50, 'crc_errors': 0,
                             'progress': 0.5, 'rate': rate,
                             'started': now - 30}}

        def upload(result, kind, name, url=None, **kw):
            d = {'imei': imei, 'peer': '192.0.2.1:4000', 'file': name,
                 'kind': kind, 'side': 'front', 'path': None, 'size': 1000,
                 'result': result, 'duration': 1.5, 'started': now - 10,
                 'finished': now - 9, 'url': url}
            d.update(kw)
            return d

        doc = dict(real)
        # stalled: no report for 20 s, or three of its own intervals
        # (16 KiB at its rate: 82 s at 200 B/s)
        doc['sessions'] = [session(1, 1, '%videor'),
                           session(2, 95, '<svg onload=window.__xss=4>'),
                           session(3, 60, '%photof', rate=200),
                           session(4, 250, '%photor', rate=200)]
        doc['sessions_matched'] = 4
        doc['recent'] = [
            upload('timeout', 'photo', '%photof', started=now - 3 * 86400,
                   finished=now - 3 * 86400 + 2),
            upload('ok', 'video', '%videof',
                   '/store/%s/20251125T143950Z-front-video.h265' % imei,
                   path='/srv/x/%s/20251125T143950Z-front-video.h265' % imei,
                   mp4='/srv/x/%s/20251125T143950Z-front-video.mp4' % imei),
            upload('ok', 'photo', '%photor', 'javascript:window.__xss=5'),
            upload('duplicate', 'photo', '%photof',
                   '/store/%s/a.jpg' % imei),
            upload('crc_limit', 'path', '<img src=x onerror=window.__xss=6>'),
        ]
        doc['recent_matched'] = 5
        b.route('format=json', json.dumps(doc))
        b.goto(self.url(ngx))
        b.wait('(%s).length == 5' % JS_RECENT, 10)
        b.screenshot('01-crafted')

        s = b.eval(JS_SESSIONS)
        self.assertEqual([x['stalled'] for x in s],
                         [False, True, False, True])
        self.assertEqual(s[1]['name'], '<svg onload=window.__xss=4>')
        self.assertIn('stalled', b.eval(
            'document.querySelector("#sessions tr.stalled").textContent'))
        self.assertEqual(b.eval(
            'document.querySelector("#sessions tbody td:nth-child(2)")'
            '.textContent'), '<b>192.0.2.1</b>:4000')

        r = b.eval(JS_RECENT)
        self.assertEqual([(x['result'], x['fail']) for x in r],
                         [('timeout', True), ('ok', False), ('ok', False),
                          ('duplicate', False), ('crc limit', True)])
        # an upload of another day says its date, today's only the time
        times = b.eval('Array.from(document.querySelectorAll("#recent tbody '
                       'tr")).map(function (tr) { return tr.cells[0]'
                       '.textContent; })')
        self.assertRegex(times[0], r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
        self.assertRegex(times[1], r'^\d\d:\d\d:\d\d$')
        self.assertEqual(local(r[1]['video']), '/store/%s/20251125T143950Z-'
                         'front-video.mp4' % imei)
        # Debian's chromium has no H.265 decoder (no hardware here): the
        # page says so next to the clip, whose sound still plays
        hevc = b.eval('document.createElement("video").canPlayType('
                      '\'video/mp4; codecs="hvc1.1.6.L93.B0"\') !== ""')
        note = b.eval('document.querySelector("#recent tr:nth-child(2)")'
                      '.textContent.indexOf("no H.265 decoder") >= 0')
        self.assertEqual(note, not hevc)
        self.assertEqual((r[2]['img'], r[2]['link'], r[2]['video']),
                         (None, None, None))
        self.assertEqual(r[0]['link'], None)
        self.assertEqual(b.eval(JS_XSS_FLAGS), [True, 0, 1, 0])
        self.assertEqual(b.eval('document.querySelectorAll('
                                '"a[href^=javascript]").length'), 0)

    def test_behind_auth_basic(self):
        """The README's setup: allow/deny and auth_basic around the status
        and the store.  Without the password: 401 for the page, the JSON
        and the files; with it, the page polls and shows the photo."""
        need_sim(self)
        b = self.b
        http = HTTP_PAGE % STORE
        guard = ('allow 127.0.0.1;\n            deny all;\n'
                 '            auth_basic "dualcam";\n'
                 '            auth_basic_user_file @PREFIX@/conf/htpasswd;')
        http = http.replace('dualcam_status z store_url=/store/;',
                            'dualcam_status z store_url=/store/;\n'
                            '            ' + guard)
        http = http.replace('autoindex on;', 'autoindex on;\n            '
                            + guard)
        ngx = self.start_nginx(start=False, zone='z 1m', http=http)
        pw = subprocess.run(['openssl', 'passwd', '-apr1', 'secret'],
                            capture_output=True, text=True, check=True)
        with open(os.path.join(ngx.prefix, 'conf', 'htpasswd'), 'w') as f:
            f.write('duty:%s\n' % pw.stdout.strip())
        ngx.start()
        photo = os.path.join(ngx.prefix, 'photo.jpg')
        with open(photo, 'wb') as f:
            f.write(b.jpeg('<h1>rear camera</h1>'))
        ngx.sim('--files', 'photor:1', '--file-from', photo, check=True)
        # no password: nothing
        for path in ('/dualcam/status', '/dualcam/status?format=html',
                     '/store/', '/store/%015d/' % 352093080000000):
            self.assertEqual(get(ngx.http_port, path)[0], 401, path)
        b.auth('duty', 'secret')
        # a link to a device's files opens with its listing
        b.goto(self.url(ngx) + '#files=%015d' % 352093080000000)
        b.wait('(%s).some(function (r) { return r.loaded == 320; })'
               % JS_RECENT, 10, what='the photo behind auth_basic')
        b.wait('document.querySelectorAll("#files .f").length == 2', 10,
               what="the device's files from the link")
        b.screenshot('01-auth')

    def test_video_plays_from_its_mp4(self):
        """A DualCam recording uploaded as %videof: its recent row plays
        the MP4 the module made (mp4_url) in a <video>; the browser reads
        its metadata (duration from the camera's timestamps); the raw file
        and the MP4 are served with their types and nosniff."""
        need_sim(self)
        b = self.b
        src = harness.fixture('video/dualcam-front-20241101T070713Z.h265')
        ngx = self.start_nginx(zone='z 1m', http=HTTP_PAGE % STORE)
        ngx.sim('--files', 'videof:@' + src + ',photof:3000',
                '--verify-store', ngx.store, check=True)
        doc, _ = status_json(ngx)
        video = [e for e in doc['recent'] if e['kind'] == 'video'][0]
        self.assertTrue(video['mp4_url'].endswith('-front-video.mp4'), video)
        b.goto(self.url(ngx))
        b.wait('(%s).some(function (r) { return r.video; })' % JS_RECENT,
               10, what='a <video> row')
        row = [r for r in b.eval(JS_RECENT) if r['video']][0]
        self.assertEqual(local(row['video']), video['mp4_url'])
        self.assertEqual(local(row['link']), video['mp4_url'])
        b.wait('(function () { var v = document.querySelector('
               '"#recent video"); return v.readyState >= 1; })()', 10,
               what='the MP4 metadata loaded')
        duration = b.eval('document.querySelector("#recent video")'
                          '.duration')
        self.assertAlmostEqual(duration, 1.0, delta=0.1)
        b.screenshot('01-video')
        # the simulator's photo is no picture a browser decodes: a link
        b.wait('(%s).some(function (r) { return r.file == "%%photof" && '
               '!r.img && r.link; })' % JS_RECENT, 10,
               what='an undecodable photo shown as a link')
        for url, ctype in ((video['mp4_url'], 'video/mp4'),
                           (video['url'], 'application/octet-stream')):
            code, h, body = get(ngx.http_port, url)
            self.assertEqual((code, h['content-type']), (200, ctype), url)
            self.assertEqual(h['x-content-type-options'], 'nosniff')
            self.assertEqual(h['content-security-policy'], 'sandbox')
        with open(src, 'rb') as f:
            self.assertEqual(get(ngx.http_port, video['url'])[2], f.read())

    def test_rates_and_outage(self):
        """Per-minute rates come from the totals of two polls and the
        server's clock; a status that fails is said in the header, and
        the page recovers when it answers again."""
        b = self.b
        ngx = self.start_nginx(zone='z 1m', http=HTTP_PAGE % STORE)
        doc, _ = status_json(ngx)
        t = doc['totals']

        def at(dt, stored, nbytes, failed):
            d = json.loads(json.dumps(doc))
            d['time'] = doc['time'] + dt
            d['totals'].update(files_stored=stored, file_bytes_stored=nbytes,
                               files_failed=failed)
            return json.dumps(d)

        tile = ('(function (k) { var t = Array.from(document.querySelectorAll('
                '"#tiles .tile")).filter(function (e) { return e.querySelector('
                '".k").textContent == k; })[0]; return t.querySelector(".v")'
                '.textContent + "|" + t.querySelector(".r").textContent; })')
        b.route('format=json', at(0, 10, 1000000, 1))
        b.goto(self.url(ngx))
        b.wait('document.body.dataset.polls >= 1', 10)
        self.assertEqual(b.eval(tile + '("files stored")'), '10|… /min')
        # 30 s later by the server's clock: 10 more files, 3 MB, 2 failed
        b.route('format=json', at(30, 20, 4000000, 3))
        b.wait(tile + '("files stored") == "20|20.0 /min"', 10,
               what='20 files/min')
        self.assertEqual(b.eval(tile + '("bytes stored")'),
                         '4.00 MB|6.00 MB /min')
        self.assertEqual(b.eval(tile + '("files failed")'), '3|4.0 /min')
        b.screenshot('01-rates')

        b.route('format=json', 'upstream gone', 'text/plain', 503)
        b.wait('document.getElementById("state").className == "down"', 10,
               what='the header saying the status is unreachable')
        self.assertIn('HTTP 503', b.eval(
            'document.getElementById("state").textContent'))
        b.screenshot('02-outage')
        b.route('format=json', at(32, 20, 4000000, 3))
        b.wait('document.getElementById("state").className == ""', 10,
               what='the page back')

    def test_five_thousand_idle_devices(self):
        """5,000 connected idle devices and 3 uploading: the page shows the
        3 rows and the count within a few seconds, and its requests fetch
        those rows only (the full JSON is megabytes)."""
        need_sim(self)
        need_fds(self, 12000)
        b = self.b
        n = 5000
        ngx = self.start_nginx(start=False, zone='z 4m',
                               main='worker_rlimit_nofile 12000;',
                               server='dualcam_timeout 120s;',
                               http=HTTP_PAGE % STORE)
        ngx.conf = ngx.conf.replace('worker_connections 1024;',
                                    'worker_connections 8000;')
        ngx.start()
        socks = []
        sim = None
        try:
            socks = idle_devices(ngx.port, 352093084000000, n)
            sim = sim_background(ngx, '--devices', 3, '--imei-base',
                                 352093083000000, '--files', 'photof:200000',
                                 '--rate', 4000, '--timeout', 90, '-q')
            st = StatusClient(ngx)
            st.wait(lambda d: d['totals']['sessions_active'] == n + 3 and sum(
                1 for s in d['sessions'] if s['file']) == 3, timeout=30,
                interval=0.5, what='5003 sessions, 3 uploading')
            full, full_len = status_json(ngx)
            self.assertGreater(full_len, 500000)

            t0 = time.time()
            b.goto(self.url(ngx))
            b.wait('(%s).length == 3 && document.getElementById("tiles")'
                   '.textContent.indexOf("5,003") >= 0' % JS_SESSIONS, 10,
                   what='3 rows and 5,003 devices')
            took = time.time() - t0
            b.screenshot('01-5000-idle')
            self.assertLess(took, 5.0)
            time.sleep(2.5)   # a poll or two more
            reqs = [r for r in b.requests() if '/dualcam/status' in r['url']]
            page = [r for r in reqs if 'format=json' not in r['url']]
            polls = [r for r in reqs if 'format=json' in r['url']]
            self.assertEqual(len(page), 1, page)
            self.assertGreaterEqual(len(polls), 2, polls)
            for r in polls:
                self.assertIn('active=1', r['url'])
                self.assertIn('limit=100', r['url'])
                self.assertEqual(r['status'], 200)
                self.assertLess(r['size'], 20000, r)
            active_size = max(r['size'] for r in polls)

            # idle devices too: 100 rows of 5003, still a bounded answer
            b.requests()
            b.click('#idle')
            b.wait('(%s).length == 100' % JS_SESSIONS, 10,
                   what='100 rows with the idle devices')
            self.assertIn('100 of 5003', b.eval(
                'document.getElementById("sessions-more").textContent'))
            b.screenshot('02-idle-too')
            polls = [r for r in b.requests() if 'format=json' in r['url']]
            self.assertTrue(polls)
            for r in polls:
                self.assertNotIn('active=1', r['url'])
                self.assertIn('limit=100', r['url'])
                self.assertLess(r['size'], 80000, r)
            print('\n  5000 idle: page shown in %.2f s, full JSON %d bytes, '
                  'poll %d bytes (%d with the idle devices)'
                  % (took, full_len, active_size,
                     max(r['size'] for r in polls)))
        finally:
            if sim is not None:
                stop_sim(sim)
            for s in socks:
                s.close()


if __name__ == '__main__':
    unittest.main()
