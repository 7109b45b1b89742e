"""The administrator and the process model: kill -9 of the worker
serving an upload (the device resumes; or never comes back and the
partial is swept), nginx -s reload and a restart (-s quit, then start)
in the middle of an upload, with the commits in the event loop and in
a thread pool.

Every upload here is the python StepDevice (t/lib/faults.py), so that
the fault lands at an exact packet: 100 packets of 1024 bytes.  The
store writes through a buffer (flushed when it is full and when the
device pauses), so what a kill -9 leaves is read from the disk before
the kill, and the RESUME must ask for the packet after it.
"""

import os
import signal
import time

from faults import (IMEI, NAME_10, StepDevice, content, partials,
                    server_block, stored, wait_closed, wait_for,
                    wait_partial)
from harness import NginxTestCase, need_sim

BIG = content(100, seed=5)


def kill_alert(ngx, pid):
    # the master's own line about the worker we killed
    ngx.expect_log(r'\[alert\].* worker process %d exited on signal 9'
                   % pid)


class Crash(NginxTestCase):

    def kill_worker_mid_upload(self, ngx):
        """40 packets sent, at least 16 on disk: kill -9 the worker;
        returns the bytes on disk after the master has a new worker."""
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(40)
        size = wait_partial(ngx.temp, minimum=16384)
        self.assertEqual(size % 1024, 0)
        self.assertLessEqual(size, 40 * 1024)
        old = ngx.worker_pids()
        self.assertEqual(len(old), 1)
        kill_alert(ngx, old[0])
        os.kill(old[0], signal.SIGKILL)
        new = wait_for(lambda: [p for p in ngx.worker_pids()
                                if p not in old], what='a new worker')
        self.assertEqual(len(new), 1)
        wait_closed(dev.sock, timeout=5)
        self.assertEqual(list(partials(ngx.temp).values()), [size])
        return size

    def test_kill_worker_then_resume(self):
        """kill -9 of the worker mid-upload: the master starts a new one,
        the device reconnects and the RESUME asks for the first packet
        that was not on disk; byte-exact; nothing is left in the temp
        path (levels 1 2).  (dualcam_resume_timeout 5s: the new worker's
        first sweep, 2.5 s after it starts, cannot race the reconnect.)"""
        ngx = self.start_nginx(stream=server_block(
            'dualcam_timeout 5s; dualcam_resume_timeout 5s;', '1 2'))
        size = self.kill_worker_mid_upload(ngx)
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), size // 1024 + 1)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BIG})
        self.assertEqual(ngx.temp_files(), [])
        side = os.path.join(ngx.store, str(IMEI), NAME_10 + '.json')
        with open(side) as f:
            self.assertIn('"resumed_from": %d,' % size, f.read())
        # one access record: the killed worker logged nothing
        recs = ngx.wait_access(1)
        self.assertEqual([(r['status'], r['result']) for r in recs],
                         [('200', 'ok')])

    def test_kill_worker_partial_swept(self):
        """kill -9 and the device never comes back: the new worker's
        sweeper removes the partial and its state record once they are
        older than dualcam_resume_timeout (2s; the sweeper runs every
        second then)."""
        ngx = self.start_nginx(stream=server_block(
            'dualcam_timeout 5s; dualcam_resume_timeout 2s;', '1 2'))
        self.kill_worker_mid_upload(ngx)
        self.assertEqual(len(ngx.temp_files()), 2)
        t0 = time.time()
        wait_for(lambda: ngx.temp_files() == [], timeout=12,
                 what='the sweeper')
        self.assertLess(time.time() - t0, 10)
        ngx.wait_log(r'\[notice\].*dualcam: removing "%s/[^"]*", unused '
                     r'for \d+ s' % ngx.temp)
        self.assertEqual(ngx.store_files(), [])
        # and the device's next offer is a fresh upload
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BIG})


class Reload(NginxTestCase):

    POOL = ' dualcam_thread_pool off;'

    def test_reload_mid_upload(self):
        """nginx -s reload after 30 packets: the old worker keeps the
        connection and finishes the upload (byte-exact), then exits; a
        new device is served by the new worker meanwhile."""
        ngx = self.start_nginx(server='dualcam_timeout 5s;' + self.POOL)
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(30)
        old = ngx.worker_pids()
        ngx.reload()
        new = [p for p in ngx.worker_pids() if p not in old]
        self.assertEqual(len(new), 1)
        # a device on the new worker while the old one still serves
        other = StepDevice(ngx.connect(), content(10), imei=IMEI + 1)
        self.assertEqual(other.offer(), 0)
        other.send_packets()
        other.finish()
        self.assertEqual(stored(ngx.store, IMEI + 1),
                         {NAME_10: content(10)})
        dev.send_slowly(10, 0.05)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BIG})
        wait_for(lambda: not any(p in ngx.worker_pids() for p in old),
                 what='the old worker to exit')
        self.assertEqual(ngx.temp_files(), [])
        for r in ngx.wait_access(2):
            self.assertEqual((r['status'], r['result']), ('200', 'ok'))

    def test_reload_under_load_sim(self):
        """20 devices uploading at 40 KB/s each, two reloads meanwhile:
        every file byte-exact (dualcam-sim --verify-store)."""
        need_sim(self)
        ngx = self.start_nginx(server='dualcam_timeout 5s;' + self.POOL,
                               workers=2)
        import subprocess
        from harness import SIM
        p = subprocess.Popen(
            [SIM, '--host', '127.0.0.1', '--port', str(ngx.port),
             '--devices', '20', '--imei-base', '352093083000000',
             '--files', 'photof:60000,videof:60000', '--rate', '40000',
             '--verify-store', ngx.store, '--timeout', '60', '-q'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(0.8)
            ngx.reload()
            time.sleep(0.8)
            ngx.reload()
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, err[-2000:])
        self.assertEqual(len(ngx.store_files()), 80)
        self.assertEqual(ngx.temp_files(), [])


class Restart(NginxTestCase):

    POOL = ' dualcam_thread_pool off;'

    def test_quit_finishes_the_upload(self):
        """-s quit (graceful, no worker_shutdown_timeout) mid-upload: the
        worker stops accepting but serves the device to the end; the
        file is byte-exact; started again, nginx serves the next one."""
        ngx = self.start_nginx(server='dualcam_timeout 5s;' + self.POOL)
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(30)
        os.kill(ngx.master_pid(), signal.SIGQUIT)
        ngx.wait_log(r'gracefully shutting down')
        dev.send_slowly(5, 0.05)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BIG})
        ngx.proc.wait(10)
        ngx.stop()
        ngx.start()
        dev = StepDevice(ngx.connect(), content(10), imei=IMEI + 1)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store, IMEI + 1),
                         {NAME_10: content(10)})
        self.assertEqual(ngx.temp_files(), [])

    def test_restart_resumes(self):
        """-s quit with worker_shutdown_timeout 1s mid-upload: the worker
        ends the session after 1 s (503, "shutdown"), keeping the 30
        verified packets; nginx is started again (same prefix, same
        binary) and the device's next connection resumes at 31,
        byte-exact."""
        ngx = self.start_nginx(server='dualcam_timeout 5s;' + self.POOL,
                               main='worker_shutdown_timeout 1s;')
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(30)
        t0 = time.time()
        os.kill(ngx.master_pid(), signal.SIGQUIT)
        took = wait_closed(dev.sock, timeout=5)
        self.assertGreater(took, 0.5)
        ngx.proc.wait(10)
        self.assertLess(time.time() - t0, 8)
        ngx.stop()
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']), ('503', 'shutdown'))
        self.assertEqual(list(partials(ngx.temp).values()), [30 * 1024])

        ngx.start()
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 31)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BIG})
        self.assertEqual(ngx.temp_files(), [])


class ReloadThreadPool(Reload):
    POOL = ' dualcam_thread_pool default;'


class RestartThreadPool(Restart):
    POOL = ' dualcam_thread_pool default;'
