"""The integration-test harness: a real nginx per test, in its own temp dir.

Typical use (a unittest test case):

    from harness import NginxTestCase

    class T(NginxTestCase):
        def test_upload(self):
            ngx = self.start_nginx()             # default dualcam server
            r = ngx.sim('--files', 'photof:5000', '--verify-store', ngx.store)
            self.assertEqual(r.returncode, 0, r.stderr)
            rec = ngx.wait_access(1)[0]
            self.assertEqual(rec['status'], '200')
            # tearDown stops nginx by pid and asserts that error.log has no
            # [alert] / [crit] / sanitizer line (see expect_log())

Nginx(...) keyword arguments (all optional):

    server       text put inside the default dualcam `server { }` block,
                 after `listen`, `dualcam`, `dualcam_store`, `dualcam_temp_path`
    stream_main  text put in the `stream { }` block before the server
    stream       replaces the whole default server block (then you write your
                 own `server { listen @PORT@; ... }`)
    http         if not None, an `http { }` block is added with this text
                 (temp paths of http are moved into the prefix)
    main         text at the top level (after `events { }`)
    zone         "NAME SIZE" -> `dualcam_zone NAME SIZE;` in stream and
                 `dualcam zone=NAME;` in the default server
    workers      worker_processes (default 1)
    log_level    error_log level (default "info")
    ssl          True: the default server listens with `ssl`, a self-signed
                 certificate is made in the prefix (ngx.cert, ngx.key)

Placeholders substituted in every piece of text: @PORT@ (device port),
@PORT2@, @PORT3@ (spare ports), @HTTP_PORT@, @PREFIX@, @STORE@, @TEMP@,
@ROOT@ (the repository), @CERT@, @KEY@.

Attributes: prefix, conf_path, error_log_path, access_log_path, pid_path,
store, temp, port, port2, port3, http_port, cert, key, proc (Popen of the
master), conf (the generated text), module (a private copy of the .so,
so that a rebuild during a test cannot crash its workers).

Methods:
    start()                 write the conf, start nginx, wait for the pid file,
                            the device port to listen and a worker
    stop(timeout=10)        QUIT by pid, then KILL (workers too) on timeout
    reload(wait=True)       HUP; waits until a new set of workers is up
    test_config(conf=None)  run `nginx -t` on this (or another) conf file;
                            returns CompletedProcess
    master_pid(), worker_pids(), fd_count(pid)
    error_log(), access_log() (text), access_records() (list of dicts with
    keys addr status result imei files bytes received sent time),
    wait_access(n, timeout=10) (waits for >= n records, returns them)
    wait_log(pattern, timeout=10) (regex in error.log; returns the match)
    expect_log(*patterns)   bad lines matching one of these regexes are
                            allowed in the final error.log check
    check_log()             raise AssertionError on unexpected bad lines
    sim(*args, timeout=120, port=None, tls=None) run build/dualcam-sim with
                            --host 127.0.0.1 --port <port> [--tls]
    sim_start(*args, port=None, tls=None) the same in the background
                            (a Popen)
    store_files(), temp_files(), stored_records() (relative paths, sorted)
    subst(text), write_conf(conf=None), cleanup()

Module functions: fixture(name) (a file of ../shared/fixtures, or
DUALCAM_SHARED), free_port(), make_cert(dir), chown_worker(path),
adapt_example(text, ngx) (a conf-examples/*.conf made runnable in ngx's
prefix: ports, paths, certificates), need_sim(testcase).
    connect(port=None, tls=None) -> socket (TLS: ssl-wrapped, no verify)

ASan / wrappers: DUALCAM_NGINX (default /usr/sbin/nginx) is the binary;
DUALCAM_MASTER_PROCESS=off runs one process (for valgrind; reload and
worker counts do not apply then);
DUALCAM_NGINX_WRAPPER (e.g. "valgrind -q") is split with shlex and put in
front of it; DUALCAM_MODULE overrides the module path; LD_PRELOAD and
ASAN_OPTIONS etc. from the environment are passed through to nginx.
DUALCAM_KEEP=1 keeps the temp dirs for post-mortem.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
NGINX = os.environ.get('DUALCAM_NGINX', '/usr/sbin/nginx')
STREAM_MODULE = os.environ.get('DUALCAM_STREAM_MODULE',
                               '/usr/lib/nginx/modules/ngx_stream_module.so')
MODULE = os.environ.get('DUALCAM_MODULE',
                        os.path.join(ROOT, 'build',
                                     'ngx_stream_dualcam_module.so'))
SIM = os.environ.get('DUALCAM_SIM', os.path.join(ROOT, 'build',
                                                 'dualcam-sim'))
SHARED = os.environ.get('DUALCAM_SHARED',
                        os.path.join(ROOT, '..', 'shared'))

# error.log lines that fail a test unless it expects them
BAD_LINE = re.compile(r'\[alert\]|\[crit\]|\[emerg\]|AddressSanitizer|'
                      r'LeakSanitizer|runtime error:')

LOG_FORMAT = ('$remote_addr $status $dualcam_result $dualcam_imei '
              '$dualcam_files $dualcam_bytes $bytes_received $bytes_sent '
              '$session_time')
ACCESS_KEYS = ('addr', 'status', 'result', 'imei', 'files', 'bytes',
               'received', 'sent', 'time')


def fixture(name='dualcam-session-2024-10-30.json'):
    """Path of a file in ../shared/fixtures (DUALCAM_SHARED overrides)."""
    return os.path.join(SHARED, 'fixtures', name)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def worker_user():
    """(user, group) the workers run as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    return ('nobody', 'nogroup')


def chown_worker(path):
    """Make path owned by the worker user (when running as root)."""
    u = worker_user()
    if u is None:
        return
    import grp
    import pwd
    os.chown(path, pwd.getpwnam(u[0]).pw_uid, grp.getgrnam(u[1]).gr_gid)


def make_cert(directory, name='cert'):
    """Self-signed RSA certificate for 127.0.0.1; returns (cert, key)."""
    cert = os.path.join(directory, name + '.pem')
    key = os.path.join(directory, name + '.key')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
                    '-keyout', key, '-out', cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def _die_with_parent():
    """In the child before exec: SIGTERM when the test runner dies, so a
    killed run leaves no nginx behind (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM), 0, 0, 0)
    except Exception:
        pass


def _children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                st = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...
        rest = st[st.rfind(')') + 2:].split()
        if len(rest) > 1 and int(rest[1]) == pid:
            out.append(int(d))
    return sorted(out)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open('/proc/%d/stat' % pid) as f:
            st = f.read()
        return st[st.rfind(')') + 2] != 'Z'
    except OSError:
        return False


class Nginx(object):
    """One nginx instance in its own prefix; see the module docstring."""

    def __init__(self, server='', stream_main='', stream=None, http=None,
                 main='', zone=None, workers=1, log_level='info', ssl=False,
                 prefix=None):
        self.own_prefix = prefix is None
        self.prefix = prefix or tempfile.mkdtemp(prefix='dualcam-t-')
        os.chmod(self.prefix, 0o755)
        for d in ('logs', 'conf'):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        self.conf_path = os.path.join(self.prefix, 'conf', 'nginx.conf')
        self.error_log_path = os.path.join(self.prefix, 'logs', 'error.log')
        self.access_log_path = os.path.join(self.prefix, 'logs',
                                            'access.log')
        self.pid_path = os.path.join(self.prefix, 'logs', 'nginx.pid')
        self.store = os.path.join(self.prefix, 'store')
        self.temp = os.path.join(self.prefix, 'tmp')
        os.makedirs(self.store, exist_ok=True)
        chown_worker(self.store)
        self.port = free_port()
        self.port2 = free_port()
        self.port3 = free_port()
        self.http_port = free_port()
        self.ssl = ssl
        self.cert = self.key = None
        if ssl:
            self.cert, self.key = make_cert(self.prefix)
        # a private copy: a rebuild of build/*.so while this nginx runs
        # (cp rewrites the file in place) must not crash its workers
        self.module = os.path.join(self.prefix,
                                   'ngx_stream_dualcam_module.so')
        if os.path.exists(MODULE):
            shutil.copyfile(MODULE, self.module)
        else:
            self.module = MODULE
        self.proc = None
        self._master = None
        self._expected = []
        self._stderr = None

        if stream is None:
            listen = 'listen 127.0.0.1:@PORT@%s;' % (' ssl' if ssl else '')
            tls = ''
            if ssl:
                tls = ('ssl_certificate @CERT@;\n'
                       '        ssl_certificate_key @KEY@;\n'
                       '        ssl_handshake_timeout 5s;\n        ')
            stream = ('server {\n'
                      '        %s\n'
                      '        %s'
                      'dualcam%s;\n'
                      '        dualcam_store @STORE@;\n'
                      '        dualcam_temp_path @TEMP@;\n'
                      '        %s\n'
                      '    }' % (listen, tls,
                                 ' zone=%s' % zone.split()[0] if zone
                                 else '', server))
        zone_line = 'dualcam_zone %s;' % zone if zone else ''
        user = worker_user()
        conf = []
        if user is not None:
            conf.append('user %s %s;' % user)
        conf.append('worker_processes %d;' % workers)
        conf.append('daemon off;')
        # DUALCAM_MASTER_PROCESS=off: one process (make test-valgrind)
        self.master_process = os.environ.get('DUALCAM_MASTER_PROCESS', 'on')
        conf.append('master_process %s;' % self.master_process)
        conf.append('pid @PREFIX@/logs/nginx.pid;')
        conf.append('error_log @PREFIX@/logs/error.log %s;' % log_level)
        conf.append('load_module %s;' % STREAM_MODULE)
        conf.append('load_module %s;' % self.module)
        conf.append('events { worker_connections 1024; }')
        conf.append(main)
        conf.append('stream {\n'
                    '    log_format dualcam \'%s\';\n'
                    '    access_log @PREFIX@/logs/access.log dualcam;\n'
                    '    %s\n'
                    '    %s\n'
                    '    %s\n'
                    '}' % (LOG_FORMAT, zone_line, stream_main, stream))
        if http is not None:
            conf.append('http {\n'
                        '    access_log off;\n'
                        '    client_body_temp_path @PREFIX@/http_body;\n'
                        '    proxy_temp_path @PREFIX@/http_proxy;\n'
                        '    fastcgi_temp_path @PREFIX@/http_fastcgi;\n'
                        '    uwsgi_temp_path @PREFIX@/http_uwsgi;\n'
                        '    scgi_temp_path @PREFIX@/http_scgi;\n'
                        '    %s\n'
                        '}' % http)
        self.conf = self.subst('\n'.join(conf) + '\n')

    # -- configuration ---------------------------------------------------

    def subst(self, text):
        """Replace the @NAME@ placeholders in text."""
        for k, v in (('@PORT@', self.port), ('@PORT2@', self.port2),
                     ('@PORT3@', self.port3), ('@HTTP_PORT@', self.http_port),
                     ('@PREFIX@', self.prefix), ('@STORE@', self.store),
                     ('@TEMP@', self.temp), ('@ROOT@', ROOT),
                     ('@CERT@', self.cert or ''), ('@KEY@', self.key or '')):
            text = text.replace(k, str(v))
        return text

    def write_conf(self, conf=None):
        """Write conf (or the generated one) to conf_path."""
        if conf is not None:
            self.conf = self.subst(conf)
        with open(self.conf_path, 'w') as f:
            f.write(self.conf)

    def _cmd(self, *args):
        wrapper = shlex.split(os.environ.get('DUALCAM_NGINX_WRAPPER', ''))
        return wrapper + [NGINX, '-p', self.prefix + '/', '-c',
                          self.conf_path, '-e', self.error_log_path] \
            + list(args)

    def test_config(self, conf_path=None):
        """`nginx -t` on conf_path (default: ours); CompletedProcess."""
        if conf_path is None:
            self.write_conf()
            conf_path = self.conf_path
        cmd = self._cmd('-t')
        cmd[cmd.index('-c') + 1] = conf_path
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=60)

    # -- lifecycle -------------------------------------------------------

    def start(self, timeout=15, wait_port=True):
        """Start nginx; wait for the pid file and the device port."""
        self.write_conf()
        self._stderr = open(os.path.join(self.prefix, 'logs', 'stderr.log'),
                            'w')
        self.proc = subprocess.Popen(self._cmd(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('nginx exited with %s:\n%s' % (
                    self.proc.returncode, self.error_log()[-3000:]))
            try:
                with open(self.pid_path) as f:
                    pid = int(f.read().strip() or 0)
                if pid:
                    self._master = pid
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError('nginx did not write its pid file')
        if wait_port:
            self.wait_port(self.port, deadline - time.time())
        while (time.time() < deadline and self.master_process == 'on'
               and not self.worker_pids()):
            time.sleep(0.02)
        return self

    def wait_port(self, port, timeout=10):
        """Wait until 127.0.0.1:port is listening (without connecting,
        so no access log record is made)."""
        deadline = time.time() + max(timeout, 1)
        want = ':%04X' % port
        while time.time() < deadline:
            with open('/proc/net/tcp') as f:
                for line in f.readlines()[1:]:
                    p = line.split()
                    if p[1].endswith(want) and p[3] == '0A':
                        return
            time.sleep(0.02)
        raise RuntimeError('port %d is not listening' % port)

    def master_pid(self):
        return self._master

    def worker_pids(self):
        """Pids of the master's children (workers, cache processes); with
        DUALCAM_MASTER_PROCESS=off the one nginx process."""
        if self._master is None:
            return []
        if self.master_process != 'on':
            return [self._master]
        return _children(self._master)

    def fd_count(self, pid):
        """Number of open fds of pid."""
        return len(os.listdir('/proc/%d/fd' % pid))

    def reload(self, wait=True, timeout=15):
        """HUP the master; with wait, until a new set of workers is up."""
        old = set(self.worker_pids())
        os.kill(self._master, signal.SIGHUP)
        if not wait:
            return
        deadline = time.time() + timeout
        while time.time() < deadline:
            now = set(self.worker_pids())
            if now - old:
                time.sleep(0.1)
                return
            time.sleep(0.02)
        raise RuntimeError('no new workers after reload')

    def stop(self, timeout=10):
        """QUIT the master by pid; KILL master and workers on timeout."""
        if self.proc is None:
            return
        pid = self._master or self.proc.pid
        workers = self.worker_pids()
        if self.proc.poll() is None:
            try:
                os.kill(pid, signal.SIGQUIT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                workers = self.worker_pids() or workers
                for p in [pid] + workers:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait(5)
        deadline = time.time() + 5
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.02)
        for p in workers:
            if _alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def cleanup(self):
        """Stop and remove the prefix (unless DUALCAM_KEEP=1)."""
        self.stop()
        if self.own_prefix and os.environ.get('DUALCAM_KEEP') != '1':
            shutil.rmtree(self.prefix, ignore_errors=True)

    # -- logs ------------------------------------------------------------

    def _read(self, path):
        try:
            with open(path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def error_log(self):
        return self._read(self.error_log_path) + self._read(
            os.path.join(self.prefix, 'logs', 'stderr.log'))

    def access_log(self):
        return self._read(self.access_log_path)

    def access_records(self):
        """The access log as a list of dicts (see ACCESS_KEYS)."""
        out = []
        for line in self.access_log().splitlines():
            parts = line.split()
            if len(parts) == len(ACCESS_KEYS):
                out.append(dict(zip(ACCESS_KEYS, parts)))
        return out

    def wait_access(self, n, timeout=10):
        """Wait for at least n access records; return them all."""
        deadline = time.time() + timeout
        while True:
            recs = self.access_records()
            if len(recs) >= n or time.time() > deadline:
                if len(recs) < n:
                    raise AssertionError(
                        'expected %d access records, got %d:\n%s\n%s' % (
                            n, len(recs), self.access_log(),
                            self.error_log()[-3000:]))
                return recs
            time.sleep(0.05)

    def wait_log(self, pattern, timeout=10):
        """Wait for regex pattern in error.log; return the match."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while True:
            m = rx.search(self.error_log())
            if m or time.time() > deadline:
                if not m:
                    raise AssertionError('%r not in error.log:\n%s' % (
                        pattern, self.error_log()[-3000:]))
                return m
            time.sleep(0.05)

    def expect_log(self, *patterns):
        """Allow bad lines (crit, alert ...) matching these regexes."""
        self._expected.extend(re.compile(p) for p in patterns)

    def bad_lines(self):
        out = []
        for line in self.error_log().splitlines():
            if BAD_LINE.search(line) and not any(
                    p.search(line) for p in self._expected):
                out.append(line)
        return out

    def check_log(self):
        bad = self.bad_lines()
        if bad:
            raise AssertionError('unexpected lines in error.log:\n' +
                                 '\n'.join(bad[:20]))

    # -- files -----------------------------------------------------------

    def _walk(self, top):
        out = []
        for d, _, files in os.walk(top):
            for f in files:
                out.append(os.path.relpath(os.path.join(d, f), top))
        return sorted(out)

    def store_files(self):
        """Files in the store, relative to it, sorted."""
        return self._walk(self.store)

    def temp_files(self):
        """Files under dualcam_temp_path: partials and state records (the
        records of stored files, *.stored, are stored_records())."""
        return [f for f in self._walk(self.temp)
                if not f.endswith('.stored')]

    def stored_records(self):
        """The records of stored files (for duplicate detection)."""
        return [f for f in self._walk(self.temp) if f.endswith('.stored')]

    # -- devices ---------------------------------------------------------

    def sim(self, *args, timeout=120, port=None, tls=None, check=False):
        """Run dualcam-sim against this nginx; CompletedProcess (text)."""
        cmd = [SIM, '--host', '127.0.0.1', '--port',
               str(port or self.port)]
        if tls if tls is not None else self.ssl:
            cmd.append('--tls')
        cmd += [str(a) for a in args]
        for _ in range(20):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True,
                                   timeout=timeout)
                break
            except OSError:
                # being rebuilt right now (ETXTBSY, EACCES): wait for it
                time.sleep(0.5)
        else:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError('dualcam-sim failed (%d): %s\n%s' % (
                r.returncode, ' '.join(cmd), r.stderr[-3000:]))
        return r

    def sim_start(self, *args, port=None, tls=None):
        """dualcam-sim in the background: a Popen (text pipes); collect
        it with .communicate(timeout=...)."""
        cmd = [SIM, '--host', '127.0.0.1', '--port',
               str(port or self.port)]
        if tls if tls is not None else self.ssl:
            cmd.append('--tls')
        cmd += [str(a) for a in args]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def connect(self, port=None, tls=None, timeout=10):
        """A connected socket to the device port (TLS when ssl=True)."""
        s = socket.create_connection(('127.0.0.1', port or self.port),
                                     timeout)
        if tls if tls is not None else self.ssl:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
        return s


def adapt_example(text, ngx):
    """A conf-examples/*.conf made runnable in ngx's prefix: module paths,
    listen ports (each distinct port -> a free one; ngx.example_ports maps
    old -> new), store/temp paths, pid, error_log, absolute access_log
    paths and certificates are replaced; everything else stays."""
    ports = {}

    def port(m):
        old = int(m.group(2))
        if old not in ports:
            ports[old] = free_port()
        return '%s127.0.0.1:%d' % (m.group(1), ports[old])

    text = re.sub(r'load_module\s+\S*ngx_stream_dualcam_module\.so;',
                  'load_module %s;' % ngx.module, text)
    text = re.sub(r'load_module\s+\S*ngx_stream_module\.so;',
                  'load_module %s;' % STREAM_MODULE, text)
    text = re.sub(r'(listen\s+)(?:[\d.]+:)?(\d+)', port, text)
    text = re.sub(r'dualcam_store\s+[^;\s]+;', 'dualcam_store %s;' % ngx.store,
                  text)
    text = re.sub(r'dualcam_temp_path\s+[^;\s]+', 'dualcam_temp_path %s'
                  % ngx.temp, text)
    text = re.sub(r'(?m)^pid\s+[^;]+;', 'pid %s;' % ngx.pid_path, text)
    text = re.sub(r'(?m)^error_log\s+\S+', 'error_log %s'
                  % ngx.error_log_path, text)
    text = re.sub(r'access_log\s+/[^;\s]+', 'access_log %s'
                  % ngx.access_log_path, text)
    if re.search(r'ssl_certificate\s', text):
        if ngx.cert is None:
            ngx.cert, ngx.key = make_cert(ngx.prefix)
        text = re.sub(r'ssl_certificate\s+[^;]+;', 'ssl_certificate %s;'
                      % ngx.cert, text)
        text = re.sub(r'ssl_certificate_key\s+[^;]+;',
                      'ssl_certificate_key %s;' % ngx.key, text)
    user = worker_user()
    if user is not None and not re.search(r'(?m)^user\s', text):
        text = 'user %s %s;\n' % user + text
    if not re.search(r'(?m)^daemon\s', text):
        text = 'daemon off;\n' + text
    ngx.example_ports = ports
    return text


class NginxTestCase(unittest.TestCase):
    """A TestCase whose start_nginx() instances are stopped, checked for
    bad error.log lines and removed in tearDown."""

    def setUp(self):
        self._nginxes = []

    def start_nginx(self, start=True, **kw):
        ngx = Nginx(**kw)
        self._nginxes.append(ngx)
        if start:
            ngx.start()
        return ngx

    def tearDown(self):
        errors = []
        for ngx in self._nginxes:
            try:
                ngx.stop()
                ngx.check_log()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                ngx.cleanup()
        self._nginxes = []
        if errors:
            raise AssertionError('\n'.join(errors))


def need_sim(test):
    """Skip test (a TestCase) when build/dualcam-sim is missing."""
    if not os.access(SIM, os.X_OK):
        test.skipTest('build/dualcam-sim not built')


if __name__ == '__main__':
    print(__doc__)
    sys.exit(0)
