"""A real HTTP(S) event receiver for the notify tests and the bench.

    from receiver import Receiver, make_ca

    rx = Receiver(secret='s3cret')          # http://127.0.0.1:<rx.port>/
    rx.script('500', 'timeout', 'reset')    # the next answers, then 200
    ...
    rx.wait(400, timeout=60)                # 400 distinct ids answered 2xx
    rx.stop()

Receiver(...) keyword arguments:
    secret     check X-Dualcam-Signature (t=<unix>,v1=<hex HMAC-SHA256 of
               "<t>.<body>">); every request records sig_ok
    tls        (cert, key) to serve https; sni is then the server name
               the client sent
    status     the default answer (200)
    hold       seconds a 'timeout' answer keeps the connection silent
               (rx.slow: seconds before every answer, settable)
    port       listen on this port (default: a free one)

Each request is recorded as a dict: id (header), event (header),
attempt, body (bytes), reused (https: the TLS session was resumed), json (parsed strictly: NaN/Infinity and invalid
UTF-8 raise), status (what was answered, or 'timeout'/'reset'), sig_ok,
sni, time.  rx.requests is the list; rx.delivered() the ids answered 2xx
(a dict id -> number of 2xx answers).
"""

import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def strict_json(body):
    """json.loads that rejects what a strict parser rejects."""
    def bad_constant(name):
        raise ValueError('not JSON: %s' % name)
    return json.loads(body.decode('utf-8', errors='strict'),
                      parse_constant=bad_constant)


def make_ca(directory, names=('localhost',), ips=('127.0.0.1',)):
    """A test CA and a server certificate it signed for names and ips;
    returns (ca_cert, cert, key)."""
    def run(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=directory)
    run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
        '-days', '2', '-subj', '/CN=dualcam test CA',
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout', 'ca.key', '-out', 'ca.pem')
    run('openssl', 'req', '-newkey', 'rsa:2048', '-nodes',
        '-subj', '/CN=%s' % names[0], '-keyout', 'rx.key', '-out', 'rx.csr')
    san = ','.join(['DNS:%s' % n for n in names] +
                   ['IP:%s' % i for i in ips])
    with open(os.path.join(directory, 'rx.ext'), 'w') as f:
        f.write('subjectAltName=%s\nbasicConstraints=CA:FALSE\n' % san)
    run('openssl', 'x509', '-req', '-in', 'rx.csr', '-CA', 'ca.pem',
        '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
        '-extfile', 'rx.ext', '-out', 'rx.pem')
    for k in ('ca.key', 'rx.key'):
        os.chmod(os.path.join(directory, k), 0o644)
    return (os.path.join(directory, 'ca.pem'),
            os.path.join(directory, 'rx.pem'),
            os.path.join(directory, 'rx.key'))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        rx = self.server.rx
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(n)
        rec = {'id': self.headers.get('X-Dualcam-Id'),
               'event': self.headers.get('X-Dualcam-Event'),
               'attempt': int(self.headers.get('X-Dualcam-Attempt', '0')),
               'signature': self.headers.get('X-Dualcam-Signature'),
               'host': self.headers.get('Host'),
               'path': self.path, 'body': body, 'time': time.time(),
               'sni': getattr(self.connection, 'dualcam_sni', None),
               'reused': getattr(self.connection, 'session_reused', None)}
        try:
            rec['json'] = strict_json(body)
        except ValueError as e:
            rec['json'] = None
            rec['json_error'] = str(e)
        rec['sig_ok'] = rx.check_signature(rec['signature'], body)
        action = rx.next_action()
        rec['status'] = action
        if rx.slow:
            time.sleep(rx.slow)
        with rx.lock:
            rx.requests.append(rec)
        if action == 'timeout':
            time.sleep(rx.hold)
            self.close_connection = True
            return
        if action == 'reset':
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack('ii', 1, 0))
            self.close_connection = True
            return
        code = int(action)
        out = b'{"ok":true}' if code < 300 else b'{"ok":false}'
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
        if 200 <= code < 300:
            with rx.lock:
                rx.ok[rec['id']] = rx.ok.get(rec['id'], 0) + 1
                rx.cond.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024   # the default 5 drops SYNs of a burst

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.rx.context is not None:
            sock = self.rx.context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
            sock.settimeout(10)
            try:
                sock.do_handshake()
            except (ssl.SSLError, OSError):
                sock.close()
                raise OSError('handshake failed')
            sock.dualcam_sni = self.rx.last_sni
        return sock, addr

    def handle_error(self, request, client_address):
        pass


class Receiver(object):

    def __init__(self, secret=None, tls=None, status=200, hold=3.0,
                 port=0):
        self.secret = secret
        self.status = status
        self.hold = hold
        self.slow = 0           # seconds before any answer
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.requests = []
        self.ok = {}
        self._script = []
        self.last_sni = None
        self.context = None
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])

            def sni(sock, name, c):
                self.last_sni = name
            ctx.sni_callback = sni
            self.context = ctx
        self.server = _Server(('127.0.0.1', port), _Handler)
        self.server.rx = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path='/events', host='127.0.0.1'):
        scheme = 'https' if self.context is not None else 'http'
        return '%s://%s:%d%s' % (scheme, host, self.port, path)

    def script(self, *actions):
        """The next answers: '500', 'timeout', 'reset', '200', ..."""
        with self.lock:
            self._script.extend(str(a) for a in actions)

    def set_status(self, status):
        with self.lock:
            self.status = status

    def next_action(self):
        with self.lock:
            if self._script:
                return self._script.pop(0)
            return str(self.status)

    def check_signature(self, header, body):
        if self.secret is None:
            return None
        if not header:
            return False
        parts = dict(p.split('=', 1) for p in header.split(',') if '=' in p)
        if 't' not in parts or 'v1' not in parts:
            return False
        if abs(time.time() - int(parts['t'])) > 300:
            return False
        mac = hmac.new(self.secret.encode(), parts['t'].encode() + b'.' +
                       body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(mac, parts['v1'])

    def delivered(self):
        with self.lock:
            return dict(self.ok)

    def wait(self, n, timeout=30):
        """Wait until n distinct ids were answered 2xx; returns them."""
        deadline = time.time() + timeout
        with self.lock:
            while len(self.ok) < n:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError('%d of %d events delivered in %ss'
                                         % (len(self.ok), n, timeout))
                self.cond.wait(min(left, 0.2))
            return dict(self.ok)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
