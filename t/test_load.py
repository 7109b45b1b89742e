"""Load with hostile peers: 1,000 connections that send nothing,
slowloris connections that send one byte a second, while real devices
keep uploading byte-exact; and a soak of 50 devices whose connections
drop and whose packets go bad at random.  (Many devices at once:
test_commit.py; one IMEI on many connections: test_same_file.py.)
"""

import json
import os
import re
import resource
import selectors
import socket
import subprocess
import time

import device as D
from faults import IMEI, partials, raise_worker_connections
from harness import SIM, NginxTestCase, need_sim


def sim_background(ngx, *args):
    cmd = [SIM, '--host', '127.0.0.1', '--port', str(ngx.port)]
    cmd += [str(a) for a in args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def sim_wait(test, p, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    test.assertEqual(p.returncode, 0, err[-2000:])
    return out, err


def open_many(port, n):
    """n connected sockets (nothing sent); connects in batches so the
    listen backlog never overflows."""
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b'\1\0\0\0\0\0\0\0')
        s.connect(('127.0.0.1', port))
        socks.append(s)
    return socks


def wait_all_closed(socks, timeout):
    """Seconds until the server closed every socket (EOF/reset), or None
    with the number still open when timeout passes."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    left = len(socks)
    t0 = time.time()
    try:
        while left and time.time() - t0 < timeout:
            for key, _ in sel.select(0.1):
                s = key.fileobj
                try:
                    d = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b''
                if d == b'':
                    sel.unregister(s)
                    left -= 1
    finally:
        sel.close()
    return (time.time() - t0, left)


def need_fds(test, n):
    """Raise this process's open-files limit to n (up to the hard
    limit), or skip the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    if hard != resource.RLIM_INFINITY and hard < n:
        test.skipTest('open files limited to %d' % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


def still_open(socks):
    """The sockets the server has not closed (no EOF, no reset)."""
    out = []
    for s in socks:
        s.setblocking(False)
        try:
            d = s.recv(4096)
        except BlockingIOError:
            out.append(s)
            continue
        except OSError:
            continue
        if d != b'':
            out.append(s)
    return out


class Idle(NginxTestCase):

    def test_thousand_silent_connections(self):
        """1,000 connections that send nothing, opened while 20 real
        devices upload (2 workers): every one is closed by dualcam_timeout
        (1s) with $dualcam_result "timeout", and every real file is
        byte-exact."""
        need_sim(self)
        need_fds(self, 4096)
        ngx = self.start_nginx(start=False, workers=2,
                               main='worker_rlimit_nofile 4096;',
                               server='dualcam_timeout 1s;')
        raise_worker_connections(ngx, 4096)
        ngx.start()
        p = sim_background(ngx, '--devices', 20, '--imei-base',
                           352093084000000, '--concurrency', 20,
                           '--files', 'photof:100000', '--rate', 40000,
                           '--verify-store', ngx.store, '--timeout', 60,
                           '-q')
        try:
            time.sleep(0.3)
            t0 = time.time()
            socks = open_many(ngx.port, 1000)
            opened = time.time() - t0
            took, left = wait_all_closed(socks, 8.0 + opened)
            self.assertEqual(left, 0, '%d of 1000 still open' % left)
            # none closed before the timeout: 1 s after the last connect
            self.assertGreater(took, 0.7)
        finally:
            for s in socks:
                s.close()
        sim_wait(self, p)
        recs = ngx.wait_access(1020)
        timeouts = [r for r in recs if r['result'] == 'timeout']
        ok = [r for r in recs if r['result'] == 'ok']
        self.assertEqual(len(timeouts), 1000)
        self.assertEqual(len(ok), 20)
        for r in timeouts:
            self.assertEqual((r['status'], r['imei'], r['received']),
                             ('200', '-', '0'), r)
        self.assertEqual(len(ngx.store_files()), 40)
        self.assertEqual(ngx.temp_files(), [])

    def test_slowloris_one_byte_a_second(self):
        """200 connections that send a valid init one byte a second: with
        dualcam_timeout 2s they are closed within about 2 s (an init
        needs 16 s at that pace), while 10 real devices upload
        byte-exact.  (Before d577108 every byte re-armed the timer, so a
        byte a second kept a connection open for ever.)"""
        need_sim(self)
        need_fds(self, 600)
        ngx = self.start_nginx(start=False, server='dualcam_timeout 2s;')
        raise_worker_connections(ngx, 4096)
        ngx.start()
        p = sim_background(ngx, '--devices', 10, '--imei-base',
                           352093085000000, '--files', 'photof:100000',
                           '--rate', 40000, '--verify-store', ngx.store,
                           '--timeout', 60, '-q')
        socks = open_many(ngx.port, 200)
        init = D.init_packet(IMEI, D.FLAG_PHOTO_FRONT)
        try:
            alive = still_open(socks)
            t0 = time.time()
            i = 0
            while alive and time.time() - t0 < 5.0:
                for s in alive:
                    try:
                        s.send(init[i:i + 1])
                    except OSError:
                        pass
                i += 1
                time.sleep(1.0)
                alive = still_open(alive)
            left = len(alive)
        finally:
            for s in socks:
                s.close()
            sim_wait(self, p)
        self.assertEqual(len(ngx.store_files()), 20)
        self.assertEqual(left, 0, '%d of 200 slowloris connections '
                         'still open after 5 s' % left)


class Soak(NginxTestCase):

    def test_sim_random_drops_and_crc_errors(self):
        """A soak: 50 devices on 2 workers, a photo and a video each, every
        file dropped with probability 0.5 per connection and every packet
        bad with probability 0.01, reconnecting 50 ms after a drop: every
        file byte-exact.  A reconnect that comes before the server has
        seen the old connection end finds the partial in use and uploads
        privately; only such partials are left over (for the sweeper:
        see test_sweeper.py)."""
        need_sim(self)
        ngx = self.start_nginx(workers=2, server='dualcam_timeout 5s;')
        r = ngx.sim('--devices', 50, '--imei-base', 352093087000000,
                    '--files', 'photof:60000,videof:150000',
                    '--drop-rate', 0.5, '--crc-error-rate', 0.01,
                    '--reconnects', 30, '--reconnect-delay', 50,
                    '--verify-store', ngx.store, '--timeout', 120, '--json')
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        summary = json.loads(r.stdout)
        self.assertEqual(summary['verify'],
                         {'ok': 100, 'missing': 0, 'corrupt': 0})
        self.assertGreater(summary['drops'], 10)
        self.assertGreater(summary['crc_errors'], 10)
        # a drop right after the last packet: stored, but the device did
        # not hear 00 09 and sent the file again: a second copy "-1"
        data = [f for f in ngx.store_files() if not f.endswith('.json')]
        self.assertEqual(len(ngx.store_files()), 2 * len(data))
        bases = {}
        for f in data:
            m = re.match(r'(.*?)(-\d+)?(\.\w+)$', f)
            bases.setdefault(m.group(1) + m.group(3), []).append(f)
        self.assertEqual(len(bases), 100, sorted(bases))
        for base, copies in bases.items():
            self.assertIn(base, copies)
            with open(os.path.join(ngx.store, base), 'rb') as fh:
                want = fh.read()
            for c in copies:
                with open(os.path.join(ngx.store, c), 'rb') as fh:
                    self.assertEqual(fh.read(), want, c)
        in_use = ngx.error_log()
        for p in partials(ngx.temp):
            self.assertIn('%s" is in use' % p, in_use)
