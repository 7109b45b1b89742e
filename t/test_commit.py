"""The commit path: where it runs by default, that nothing of it (nor the
sweeper's walk) stalls the event loop, and that the files of one batch
(group commit) succeed or fail each on its own."""

import hashlib
import json
import os
import time

from faults import (IMEI, NAME_10, StepDevice, can_mount_ext4, content,
                    frozen, mount_ext4, partials, stored, wait_for,
                    wait_partial)
from harness import NginxTestCase, chown_worker, need_sim
from status import StatusClient

BODY = content(10)

STATUS_HTTP = '''
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location = /dualcam/status { dualcam_status dc; }
    }'''


def threads(pid):
    return len(os.listdir('/proc/%d/task' % pid))


class Defaults(NginxTestCase):

    def test_commits_run_in_a_thread_pool_by_default(self):
        """Without dualcam_thread_pool the worker has nginx's default pool
        (32 threads) for its commits; with "off" it has no thread."""
        need_sim(self)
        ngx = self.start_nginx()
        r = ngx.sim('--files', 'photof:5000', '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(threads(ngx.worker_pids()[0]), 33)

        off = self.start_nginx(server='dualcam_thread_pool off;')
        r = off.sim('--files', 'photof:5000', '--verify-store', off.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(threads(off.worker_pids()[0]), 1)

    def test_a_named_pool(self):
        """dualcam_thread_pool NAME uses a pool the configuration
        declares; an undeclared name is a configuration error."""
        need_sim(self)
        ngx = self.start_nginx(main='thread_pool cams threads=3;',
                               server='dualcam_thread_pool cams;')
        r = ngx.sim('--files', 'photof:5000', '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(threads(ngx.worker_pids()[0]), 4)

        bad = self.start_nginx(start=False,
                               server='dualcam_thread_pool nope;')
        bad.expect_log(r'\[emerg\].*unknown thread pool "nope"')
        t = bad.test_config()
        self.assertNotEqual(t.returncode, 0)
        self.assertIn('unknown thread pool "nope"', t.stderr)


class Batches(NginxTestCase):

    def test_many_files_land_together(self):
        """300 devices at once on two workers: their commits share
        batches; every file is byte-exact with a sidecar whose sha256
        matches it, and every session ends 200 ok with its one file."""
        need_sim(self)
        ngx = self.start_nginx(workers=2, server='dualcam_sha256 on;')
        r = ngx.sim('-n', 300, '-c', 300, '--files', 'photof:20000',
                    '--verify-store', ngx.store, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = ngx.store_files()
        data = [f for f in files if not f.endswith('.json')]
        self.assertEqual(len(data), 300)
        for f in data:
            with open(os.path.join(ngx.store, f), 'rb') as fd:
                body = fd.read()
            with open(os.path.join(ngx.store, f + '.json'), 'rb') as fd:
                side = json.loads(fd.read().decode('utf-8'))
            self.assertEqual(side['sha256'], hashlib.sha256(body).hexdigest())
            self.assertEqual(side['size'], len(body))
        self.assertEqual(ngx.temp_files(), [])
        recs = ngx.wait_access(300)
        self.assertEqual(len(recs), 300)
        self.assertTrue(all(r['status'] == '200' and r['result'] == 'ok'
                            and r['files'] == '1' for r in recs))
        self.assertEqual(len(set(r['imei'] for r in recs)), 300)

    def test_a_failed_commit_fails_alone(self):
        """Two devices finish at the same moment; one IMEI's directory
        cannot be written: that device gets store_error (its partial is
        kept), the other's file is stored."""
        ngx = self.start_nginx()
        bad = os.path.join(ngx.store, '%015d' % (IMEI + 1))
        os.makedirs(bad)
        os.chmod(bad, 0o555)
        ngx.expect_log(r'\[crit\].*link\(\) .* failed \(13: Permission')

        a = StepDevice(ngx.connect(), BODY)
        b = StepDevice(ngx.connect(), BODY, imei=IMEI + 1)
        self.assertEqual(a.offer(), 0)
        self.assertEqual(b.offer(), 0)
        a.send_packets(9)
        b.send_packets(9)
        wait_for(lambda: sorted(partials(ngx.temp).values())
                 == [9 * 1024] * 2, what='two partials of 9 packets')
        a.send_packets()
        b.send_packets()
        a.finish()
        recs = ngx.wait_access(2)
        by_imei = dict((r['imei'], r) for r in recs)
        self.assertEqual(by_imei['%015d' % IMEI]['result'], 'ok')
        self.assertEqual(by_imei['%015d' % (IMEI + 1)]['result'],
                         'store_error')
        self.assertEqual(by_imei['%015d' % (IMEI + 1)]['status'], '500')
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(os.listdir(bad), [])


class NotInTheLoop(NginxTestCase):
    """A frozen file system blocks every write to it; what blocks must be
    in a thread, so the worker keeps answering meanwhile."""

    def setUp(self):
        super().setUp()
        if not can_mount_ext4():
            self.skipTest('cannot mount and freeze a loop ext4 here')

    def start_on_ext4(self, extra=''):
        fs = mount_ext4(self)
        os.makedirs(os.path.join(fs, 'store'))
        chown_worker(os.path.join(fs, 'store'))
        ngx = self.start_nginx(zone='dc 1m', http=STATUS_HTTP, stream='''
            server {
                listen 127.0.0.1:@PORT@;
                dualcam zone=dc;
                dualcam_store %(fs)s/store;
                dualcam_temp_path %(fs)s/tmp;
                dualcam_resume_timeout 2s;
                %(extra)s
            }''' % {'fs': fs, 'extra': extra})
        ngx.store = os.path.join(fs, 'store')
        ngx.temp = os.path.join(fs, 'tmp')
        return fs, ngx

    def get_time(self, ngx):
        t = time.time()
        StatusClient(ngx).json()
        return time.time() - t

    def test_batches_wait_together(self):
        """Commits that arrive while a batch is in flight start a batch
        of their own in another thread (up to 8 in flight), so their
        fsyncs wait together: on a frozen disk two commits of different
        devices block two threads, not one."""
        fs, ngx = self.start_on_ext4()
        devs = []
        for imei in (IMEI, IMEI + 1):
            dev = StepDevice(ngx.connect(), BODY, imei=imei)
            self.assertEqual(dev.offer(), 0)
            dev.send_packets(9)
            devs.append(dev)
        wait_for(lambda: sorted(partials(ngx.temp).values())
                 == [9 * 1024, 9 * 1024])
        worker = ngx.worker_pids()[0]

        def blocked():
            n = 0
            for tid in os.listdir('/proc/%d/task' % worker):
                try:
                    with open('/proc/%d/task/%s/stat' % (worker, tid)) as f:
                        if f.read().rsplit(')', 1)[1].split()[0] == 'D':
                            n += 1
                except OSError:
                    pass
            return n

        with frozen(fs):
            devs[0].send_packets()
            time.sleep(0.5)
            devs[1].send_packets()
            deadline = time.time() + 5
            while blocked() < 2 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(blocked(), 2)
            self.assertLess(self.get_time(ngx), 0.5)
        for dev in devs:
            dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(stored(ngx.store, IMEI + 1), {NAME_10: BODY})

    def test_commit_does_not_stall_the_worker(self):
        """A commit hangs on the frozen disk: status GETs served by the
        same worker still answer at once."""
        fs, ngx = self.start_on_ext4()
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(9)
        wait_partial(ngx.temp, minimum=9 * 1024)
        with frozen(fs):
            dev.send_packets()
            time.sleep(0.5)
            for _ in range(3):
                self.assertLess(self.get_time(ngx), 0.5)
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})

    def test_sweeper_walk_does_not_stall_the_worker(self):
        """The sweeper removes a stale partial while the file system is
        frozen (its unlink hangs): the worker still answers; thawed, the
        partial is gone and the removal logged."""
        fs, ngx = self.start_on_ext4()
        stale = os.path.join(ngx.temp, '%015d-0000000000000000' % IMEI)
        os.makedirs(ngx.temp, exist_ok=True)
        with open(stale, 'wb') as f:
            f.write(b'x' * 1000)
        old = time.time() - 3600
        os.utime(stale, (old, old))
        with frozen(fs):
            # the sweep runs every second (half the resume timeout)
            time.sleep(2.5)
            for _ in range(3):
                self.assertLess(self.get_time(ngx), 0.5)
            self.assertTrue(os.path.exists(stale))
        ngx.wait_log(r'dualcam: removing "%s", unused for \d+ s' % stale)
        self.assertFalse(os.path.exists(stale))
