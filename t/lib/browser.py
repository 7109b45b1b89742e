"""A real browser for the page tests: Debian's chromium, headless, driven
by puppeteer-core from build/npm (`make page-deps` installs both) through
t/lib/browser.js.

    from browser import Browser
    b = Browser.start(outdir)             # skips the test only when
                                          # chromium cannot start
    b.goto(url)                           # {'status': 200, 'ms': ...}
    b.eval('document.title')              # any JSON-able value
    b.wait('document.querySelectorAll("tr").length == 20', timeout=10)
    b.type('#filter', '123', clear=True); b.click('a.imei')
    b.screenshot('01-uploading')          # <outdir>/01-uploading.png
    b.jpeg('<p>hello</p>')                # bytes of a JPEG chromium made
    b.auth('duty', 'secret')              # HTTP basic credentials
    b.route('format=json', body)          # answer matching URLs with body
    b.requests()                          # responses since the last call:
                                          # [{url, status, size, type}]
    b.errors()                            # page errors, console errors
    b.reset()                             # a fresh tab
    b.close()

A missing puppeteer-core or node is an error (the test fails and says
`make page-deps`), not a skip: `make test` installs them.
"""

import json
import os
import select
import signal
import subprocess
import time
import unittest

import harness

NODE = os.environ.get('DUALCAM_NODE', 'node')
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'browser.js')
OUTPUT = os.path.join(harness.ROOT, 'build', 'test-output')


def output_dir(*parts):
    """build/test-output/<parts>, made empty."""
    d = os.path.join(OUTPUT, *parts)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        p = os.path.join(d, f)
        if os.path.isfile(p):
            os.unlink(p)
    return d


def _is_our_chromium(pid):
    """pid is still a chromium leading its own process group."""
    try:
        with open('/proc/%d/comm' % pid) as f:
            comm = f.read()
        return 'chrom' in comm and os.getpgid(pid) == pid
    except (OSError, ProcessLookupError):
        return False


class BrowserError(AssertionError):
    pass


class Browser(object):
    def __init__(self, proc, ready, outdir):
        self.proc = proc
        self.pid = ready.get('pid')
        self.version = ready.get('version')
        self.outdir = outdir
        self.shots = []
        self._buf = b''

    @classmethod
    def start(cls, outdir):
        """A running browser, or unittest.SkipTest when chromium cannot
        start (the reason is printed)."""
        try:
            proc = subprocess.Popen([NODE, SCRIPT, harness.ROOT],
                                    stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as e:
            raise BrowserError('node cannot run (%s): make page-deps' % e)
        b = cls(proc, {}, outdir)
        try:
            ready = json.loads(b._line(60))
        except (BrowserError, ValueError) as e:
            b._kill()
            raise BrowserError('browser driver did not start: %s %s' % (
                e, proc.stderr.read(2000) if proc.poll() is not None
                else ''))
        if not ready.get('ready'):
            b._kill()
            if ready.get('missing'):
                raise BrowserError(ready['error'])
            print('\nSKIP page test: chromium cannot start: %s'
                  % ready.get('error'))
            raise unittest.SkipTest('chromium cannot start: %s'
                                    % ready.get('error'))
        b.pid = ready.get('pid')
        b.version = ready.get('version')
        return b

    def _line(self, timeout):
        deadline = time.time() + timeout
        while b'\n' not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise BrowserError('browser: no answer in %ss' % timeout)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise BrowserError('browser driver exited (%s)' %
                                   self.proc.poll())
            self._buf += chunk
        line, self._buf = self._buf.split(b'\n', 1)
        return line.decode('utf-8')

    def call(self, op, timeout=30, **kw):
        kw['op'] = op
        self.proc.stdin.write((json.dumps(kw) + '\n').encode('utf-8'))
        self.proc.stdin.flush()
        r = json.loads(self._line(timeout))
        if not r.get('ok'):
            raise BrowserError('browser %s: %s' % (op, r.get('error')))
        return r

    def goto(self, url, timeout=15):
        return self.call('goto', timeout=timeout + 10, url=url,
                         ms=int(timeout * 1000))

    def eval(self, expr):
        return self.call('eval', expr=expr)['value']

    def wait(self, expr, timeout=10, what=None):
        """Wait until the JS expression is true; AssertionError (with a
        screenshot) when it does not become true in time."""
        try:
            return self.call('wait', timeout=timeout + 10, expr=expr,
                             ms=int(timeout * 1000))['ms']
        except BrowserError as e:
            shot = self.screenshot('failed-wait')
            raise AssertionError('page: %s not true in %ss (%s); see %s' % (
                what or expr, timeout, e, shot))

    def type(self, selector, text, clear=False):
        self.call('type', selector=selector, text=text, clear=clear)

    def click(self, selector):
        self.call('click', selector=selector)

    def screenshot(self, name, full=True, jpeg=False):
        """<outdir>/<name>.png (.jpg with jpeg: smaller, for docs)."""
        path = os.path.join(self.outdir, name + ('.jpg' if jpeg else '.png'))
        kw = {'type': 'jpeg', 'quality': 85} if jpeg else {}
        self.call('screenshot', path=path, fullPage=full, **kw)
        self.shots.append(path)
        return path

    def jpeg(self, html, width=320, height=240, quality=80):
        """The bytes of a JPEG of html as chromium renders it."""
        import base64
        return base64.b64decode(self.call('jpeg', html=html, width=width,
                                          height=height,
                                          quality=quality)['data'])

    def reset(self):
        """A fresh tab for the next test (no routes, no history)."""
        self.call('reset')

    def auth(self, user, password):
        """Answer HTTP basic authentication with these (this tab)."""
        self.call('auth', user=user, password=password)

    def route(self, match, body, content_type='application/json',
              status=200):
        """Answer requests whose URL holds match with body (a second
        route for the same match replaces the first)."""
        self.call('route', match=match, body=body, contentType=content_type,
                  status=status)

    def requests(self):
        return self.call('requests')['requests']

    def errors(self):
        return self.call('errors')['errors']

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call('close', timeout=15)
            except (BrowserError, OSError, ValueError):
                pass
        self._kill()

    def _kill(self):
        # the driver and, should it have died first, its chromium (its own
        # process group): both started here, ended by their ids
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.pid and _is_our_chromium(self.pid):
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
