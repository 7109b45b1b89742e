"""A commit that hangs in its thread (dualcam_thread_pool; the file
system is frozen with fsfreeze, so the flush or fsync blocks) while the
device waits, drops, the session times out, nginx reloads, shuts down or
its worker is killed.  The session waits for its commit; whatever ends
it meanwhile takes effect after the commit, the file is stored
byte-exact with its sidecar (or not at all), nothing crashes.
"""

import os
import signal
import socket
import time

from faults import (IMEI, NAME_10, StepDevice, can_mount_ext4, content,
                    frozen, mount_ext4, stored, wait_closed, wait_for,
                    wait_partial)
from harness import NginxTestCase, chown_worker

STREAM = '''
    server {
        listen 127.0.0.1:@PORT@;
        dualcam;
        dualcam_store %(fs)s/store;
        dualcam_temp_path %(fs)s/tmp;
        dualcam_timeout 2s;
        %(extra)s
    }
'''

BODY = content(10)


class SlowCommit(NginxTestCase):
    """dualcam_thread_pool: a commit that hangs in its thread (the file
    system is frozen with fsfreeze, so the flush or fsync blocks), while
    the device drops, the session times out, or nginx shuts down.  The
    session waits for its commit; whatever ends it meanwhile takes effect
    after the commit, the file is stored byte-exact, nothing crashes."""

    def setUp(self):
        super().setUp()
        if not can_mount_ext4():
            self.skipTest('cannot mount and freeze a loop ext4 here')

    def start_on_ext4(self, main=''):
        fs = mount_ext4(self)
        os.makedirs(os.path.join(fs, 'store'))
        chown_worker(os.path.join(fs, 'store'))
        ngx = self.start_nginx(main=main, stream=STREAM % {
            'fs': fs, 'extra': 'dualcam_thread_pool default;'})
        ngx.store = os.path.join(fs, 'store')
        ngx.temp = os.path.join(fs, 'tmp')
        return fs, ngx

    def nine_packets(self, ngx):
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(9)
        wait_partial(ngx.temp, minimum=9 * 1024)
        return dev

    def test_device_hears_0009_only_after_the_commit(self):
        """The last packet arrives while the file system is frozen: no
        00 09 while the commit hangs (1.2 s); thawed, the file is stored
        and then the device hears 00 09."""
        fs, ngx = self.start_on_ext4()
        dev = self.nine_packets(ngx)
        with frozen(fs):
            dev.send_packets()
            dev.sock.settimeout(1.2)
            with self.assertRaises(socket.timeout):
                dev.dev.recv_frame()
            self.assertEqual(ngx.store_files(), [])
            dev.sock.settimeout(10)
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['result'], rec['files'], rec['bytes']),
                         ('ok', '1', str(len(BODY))))

    def test_commit_slower_than_dualcam_timeout(self):
        """The commit hangs for 2.5 s, longer than dualcam_timeout (2s):
        the device is not idle, it waits for the server, so it hears
        00 09 once the file is stored, and the session ends "ok".  (Before
        d577108 the idle timer ended it "timeout" right after the commit,
        without 00 09, and the device sent the file again.)"""
        fs, ngx = self.start_on_ext4()
        dev = self.nine_packets(ngx)
        with frozen(fs):
            dev.send_packets()
            time.sleep(2.5)
        dev.sock.settimeout(10)
        try:
            dev.finish()
        finally:
            self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['result'], rec['files']), ('ok', '1'), rec)

    def test_device_drops_during_the_commit(self):
        """The device sends the last packet and closes while the commit
        hangs: the commit completes after the thaw (the file was complete
        and verified), then the session ends; nothing is left over."""
        fs, ngx = self.start_on_ext4()
        dev = self.nine_packets(ngx)
        with frozen(fs):
            dev.send_packets()
            time.sleep(0.3)
            dev.drop()
            time.sleep(1.0)
            self.assertEqual(ngx.access_records(), [])
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['files']), ('200', '1'), rec)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_reload_during_the_commit(self):
        """nginx -s reload while a commit hangs (longer than
        dualcam_timeout): the old worker waits for it, the device hears
        00 09 and ends its session normally, then the old worker exits;
        the new worker serves the next device."""
        fs, ngx = self.start_on_ext4()
        dev = self.nine_packets(ngx)
        old = ngx.worker_pids()
        with frozen(fs):
            dev.send_packets()
            time.sleep(0.3)
            ngx.reload(wait=False)
            time.sleep(2.5)
            self.assertTrue(set(old) & set(ngx.worker_pids()))
        dev.sock.settimeout(10)
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        wait_for(lambda: not set(old) & set(ngx.worker_pids()),
                 what='the old worker to exit')
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('200', 'ok', '1'), rec)
        body = content(10, seed=11)
        dev = StepDevice(ngx.connect(), body, imei=IMEI + 1)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store, IMEI + 1), {NAME_10: body})

    def test_kill_worker_during_the_commit(self):
        """kill -9 of the worker while its commit hangs in a thread (the
        process dies once the file system thaws): nothing half-done in
        the store, no file without its sidecar; the device's next
        connection resumes the verified file and it is stored,
        byte-exact, with its sidecar."""
        fs, ngx = self.start_on_ext4()
        dev = self.nine_packets(ngx)
        old = ngx.worker_pids()
        ngx.expect_log(r'\[alert\].* worker process %d exited on signal 9'
                       % old[0])
        with frozen(fs):
            dev.send_packets()
            time.sleep(0.3)
            os.kill(old[0], signal.SIGKILL)
            time.sleep(0.5)
        wait_for(lambda: [p for p in ngx.worker_pids() if p not in old],
                 what='a new worker')
        wait_closed(dev.sock, timeout=5)
        files = ngx.store_files()
        # either nothing, or the file with its sidecar: never one alone
        self.assertIn(len(files), (0, 2), files)
        dev = StepDevice(ngx.connect(), BODY)
        resume = dev.offer()
        self.assertIn(resume, (0, 10) if not files else (0,))
        dev.send_packets()
        dev.finish()
        data = [f for f in ngx.store_files() if not f.endswith('.json')]
        self.assertEqual(len(ngx.store_files()), 2 * len(data))
        for name, body in stored(ngx.store).items():
            self.assertEqual(body, BODY, name)
        self.assertEqual(ngx.temp_files(), [])

    def test_shutdown_during_the_commit(self):
        """nginx -s quit with worker_shutdown_timeout 1s while the commit
        hangs (past dualcam_timeout too): the worker waits for its thread,
        ends the session (503 / shutdown, with the file counted) and exits
        cleanly.  (Before d577108, once the shutdown and read timers had
        fired the session had no timer left and the exiting worker left
        it: "[alert] open socket #3 left in connection 2", "aborting", no
        access log record.)"""
        fs, ngx = self.start_on_ext4(main='worker_shutdown_timeout 1s;')
        dev = self.nine_packets(ngx)
        with frozen(fs):
            dev.send_packets()
            time.sleep(0.3)
            os.kill(ngx.master_pid(), signal.SIGQUIT)
            time.sleep(2.5)
            self.assertIsNone(ngx.proc.poll())
        ngx.proc.wait(10)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])
        self.assertNotIn('open socket', ngx.error_log())
        rec = ngx.wait_access(1, timeout=2)[0]
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('503', 'shutdown', '1'), rec)
