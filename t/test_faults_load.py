"""Fault matrix, hostile and racing peers: 1,000 connections that send
nothing, slowloris connections that send one byte a second, and several
connections of one IMEI uploading the same file at once; real devices
keep uploading byte-exact meanwhile.
"""

import json
import os
import re
import resource
import selectors
import socket
import subprocess
import time

from faults import (IMEI, NAME_10, StepDevice, content, partials,
                    raise_worker_connections, stored, wait_for)
from harness import SIM, NginxTestCase, need_sim

import device as D


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


class SameImei(NginxTestCase):

    def test_two_connections_same_file_at_once(self):
        """A uploads the file; B (same IMEI, same file) comes while A is
        at packet 5: B may not touch A's partial, uploads into a private
        temp file and is stored; A finishes too, and is found to be the
        same file: acknowledged, not stored twice."""
        ngx = self.start_nginx(server='dualcam_timeout 5s;')
        body = content(10)
        a = StepDevice(ngx.connect(), body)
        self.assertEqual(a.offer(), 0)
        a.send_packets(5)
        b = StepDevice(ngx.connect(), body)
        self.assertEqual(b.offer(), 0)
        ngx.wait_log(r'partial "[^"]*" is in use, uploading into a '
                     r'private temp file')
        b.send_packets(3)
        a.send_packets(2)
        b.send_packets()
        b.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: body})
        a.send_packets()
        a.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: body})
        self.assertEqual([r['result'] for r in ngx.wait_access(2)],
                         ['ok', 'duplicate'])
        self.assertEqual(ngx.temp_files(), [])

    def test_racing_drops_keep_the_partial_whole(self):
        """A holds the resumable partial and B a private one (same IMEI,
        same file); A drops after 5 packets, B after 7: only A's prefix
        stays (B's private file cannot be resumed and is removed), and
        it is not corrupted: the next connection resumes at 6, and while
        it holds the partial a third connection goes private again;
        both byte-exact."""
        ngx = self.start_nginx(server='dualcam_timeout 5s;')
        body = content(10, seed=7)
        a = StepDevice(ngx.connect(), body)
        self.assertEqual(a.offer(), 0)
        b = StepDevice(ngx.connect(), body)
        self.assertEqual(b.offer(), 0)
        a.send_packets(3)
        b.send_packets(7)
        a.send_packets(2)
        a.drop()
        b.drop()
        ngx.wait_access(2)
        self.assertEqual(list(partials(ngx.temp).values()), [5 * 1024])
        self.assertEqual(len(ngx.temp_files()), 2)

        c = StepDevice(ngx.connect(), body)
        self.assertEqual(c.offer(), 6)
        d = StepDevice(ngx.connect(), body)
        self.assertEqual(d.offer(), 0)
        c.send_packets(2)
        d.send_packets()
        c.send_packets()
        d.finish()
        c.finish()
        # the second to finish is the same file: acknowledged, not stored
        files = stored(ngx.store)
        self.assertEqual(list(files.values()), [body])
        self.assertEqual(ngx.temp_files(), [])

    def test_sim_random_drops_and_crc_errors(self):
        """A soak: 50 devices on 2 workers, a photo and a video each, every
        file dropped with probability 0.5 per connection and every packet
        bad with probability 0.01, reconnecting 50 ms after a drop: every
        file byte-exact.  A reconnect that comes before the server has
        seen the old connection end finds the partial in use and uploads
        privately; only such partials are left over (for the sweeper:
        see test_faults_admin)."""
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

    def test_sim_same_imei_many_connections(self):
        """dualcam-sim: 8 devices with one IMEI upload the same two files
        at once (2 workers): every one is acknowledged and byte-exact, no
        temp left.  Each file is stored at least once; copies finishing
        at the same instant in both workers may both be stored (the two
        workers check the record of stored files at the same time)."""
        need_sim(self)
        ngx = self.start_nginx(server='dualcam_timeout 5s;', workers=2)
        r = ngx.sim('--devices', 8, '--imei', 352093086000000, '--files',
                    'photof:40000,videof:80000', '--rate', 200000,
                    '--verify-store', ngx.store, '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        files = stored(ngx.store, 352093086000000)
        kinds = sorted(set(n.split('-')[-1].split('.')[-1] for n in files))
        self.assertEqual(kinds, ['h265', 'jpg'], sorted(files))
        self.assertLessEqual(len(files), 16, sorted(files))
        wait_for(lambda: ngx.temp_files() == [], timeout=5,
                 what='an empty temp path')
