"""The disk fails under nginx: the file system fills up during an upload
(mid-file, at the commit, for the sidecar, at the file's open), it is
remounted read-only, a file system is mounted over the temp path, the
store directory is made unwritable or removed, the temp directory is
removed.  Each ends in a [crit] line with the path and
errno, a session ended with 500/store_error, nothing in the store, and
nginx serving the next device (resuming the verified prefix) once the
administrator has fixed the disk.

Most tests put the store and the temp path on a small tmpfs they mount
(we are root) so that "disk full" and "read-only" are real, also for
root (skipped where no tmpfs can be mounted); the harness runs the
workers as nobody, so chmod works as well.  DiskThreadPool: all of it
with the commits in a thread pool.
"""

import os
import shutil
import subprocess

import device as D
from faults import (IMEI, NAME_10, StepDevice, can_mount, content, fill,
                    free_pages, meta, mount_tmpfs, partials, stored,
                    wait_closed, wait_for, wait_partial)
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


def server_block_temp(temp, extra=''):
    return '''
    server {
        listen 127.0.0.1:@PORT@;
        dualcam;
        dualcam_store @STORE@;
        dualcam_temp_path %s;
        dualcam_timeout 2s;
        %s
    }''' % (temp, extra)
BIG = content(100, seed=2)
NAME_100 = NAME_10


class Disk(NginxTestCase):

    # the commits in the event loop; DiskThreadPool: in a thread pool
    POOL = ' dualcam_thread_pool off;'

    def start_on(self, fs, extra=''):
        """nginx with store and temp path on fs (a mounted tmpfs)."""
        os.makedirs(os.path.join(fs, 'store'))
        chown_worker(os.path.join(fs, 'store'))
        conf = STREAM % {'fs': fs, 'extra': extra + self.POOL}
        ngx = self.start_nginx(stream=conf)
        ngx.store = os.path.join(fs, 'store')
        ngx.temp = os.path.join(fs, 'tmp')
        return ngx

    def mount(self, size):
        """A tmpfs of size for this test; skipped where this process may
        not mount one."""
        if not can_mount():
            self.skipTest('cannot mount a tmpfs here')
        return mount_tmpfs(self, size)

    def upload(self, ngx, body, imei=IMEI, first=None):
        """A whole upload on a new connection; returns the RESUME value."""
        dev = StepDevice(ngx.connect(), body, imei=imei)
        n = dev.offer()
        if first is not None:
            self.assertEqual(n, first)
        dev.send_packets()
        dev.finish()
        return n

    def send_until_closed(self, dev):
        """Send the rest of the file; the server may close meanwhile."""
        try:
            dev.send_packets()
            dev.expect(0x0009)
        except (OSError, D.ServerClosed, AssertionError):
            pass
        wait_closed(dev.sock, timeout=5)

    def last_record(self, ngx, n):
        return ngx.wait_access(n)[n - 1]

    def test_disk_full_mid_file(self):
        """100 packets; after the START the file system is filled but 7
        pages: the flush of packets 17..32 gets a short write, then
        ENOSPC.  crit, 500/store_error, nothing in the store, and the 28
        packets that reached the disk are kept.  Space returns: the
        device resumes at 29, byte-exact; another device uploads too."""
        fs = self.mount('512k')
        ngx = self.start_on(fs)
        ngx.expect_log(r'\[crit\].*No space left on device')

        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 0)
        filler = fill(fs, leave_pages=7)
        self.send_until_closed(dev)

        rec = self.last_record(ngx, 1)
        self.assertEqual((rec['status'], rec['result']),
                         ('500', 'store_error'))
        ngx.wait_log(r'\[crit\].*pwrite\(\) "%s/tmp/[^"]*" failed '
                     r'\(28: No space left on device\)' % fs)
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(list(partials(ngx.temp).values()), [28 * 1024])

        # the disk stays full: a clean refusal again, nginx serves on
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 29)
        self.send_until_closed(dev)
        rec = self.last_record(ngx, 2)
        self.assertEqual(rec['result'], 'store_error')
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(list(partials(ngx.temp).values()), [28 * 1024])

        os.unlink(filler)
        self.upload(ngx, BIG, first=29)
        self.assertEqual(stored(ngx.store), {NAME_100: BIG})
        self.upload(ngx, BODY, imei=IMEI + 1, first=0)
        self.assertEqual(stored(ngx.store, IMEI + 1), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_disk_full_at_commit(self):
        """A 9-packet file; 8 packets are on disk (2 pages: the store
        flushes when the device pauses) when the disk fills up; the last
        packet needs a new page: the flush at commit fails, nothing
        reaches the store, the device hears no 00 09, the 8 packets stay;
        space returns and the next connection resumes at 9."""
        fs = self.mount('256k')
        ngx = self.start_on(fs)
        ngx.expect_log(r'\[crit\].*No space left on device')
        nine = content(9, seed=4)

        dev = StepDevice(ngx.connect(), nine)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(8)
        self.assertEqual(wait_partial(ngx.temp), 8 * 1024)
        filler = fill(fs, leave_pages=0)
        self.send_until_closed(dev)
        rec = self.last_record(ngx, 1)
        self.assertEqual((rec['status'], rec['result'], rec['files']),
                         ('500', 'store_error', '0'))
        ngx.wait_log(r'\[crit\].*pwrite\(\) "[^"]*" failed '
                     r'\(28: No space left on device\)')
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(list(partials(ngx.temp).values()), [8 * 1024])

        os.unlink(filler)
        self.upload(ngx, nine, first=9)
        self.assertEqual(stored(ngx.store), {NAME_10: nine})
        self.assertEqual(ngx.temp_files(), [])

    def test_disk_full_for_the_sidecar(self):
        """9 of 10 packets on disk (3 pages, the third with room for the
        last 300 bytes) when the disk fills up: the file is completed
        and linked into the store, but its sidecar cannot be written:
        the link is removed again, no file without its sidecar, nothing
        in the store; the whole verified file stays for the resume."""
        fs = self.mount('256k')
        ngx = self.start_on(fs, 'dualcam_fsync off;')
        ngx.expect_log(r'\[crit\].*No space left on device')

        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(9)
        self.assertEqual(wait_partial(ngx.temp), 9 * 1024)
        filler = fill(fs, leave_pages=0)
        self.send_until_closed(dev)
        rec = self.last_record(ngx, 1)
        self.assertEqual((rec['status'], rec['result']),
                         ('500', 'store_error'))
        ngx.wait_log(r'\[crit\].*\.json" failed \(28: No space left')
        self.assertEqual(ngx.store_files(), [])
        # the verified file is kept whole for the resume
        self.assertEqual(list(partials(ngx.temp).values()), [len(BODY)])
        # and no stray sidecar: the partial and its state record only
        self.assertEqual(len(ngx.temp_files()), 2, ngx.temp_files())

        os.unlink(filler)
        self.upload(ngx, BODY, first=10)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_disk_full_at_file_open(self):
        """The file system is full before the START: the partial's state
        record cannot be written: crit, 500, and neither an empty partial
        nor an empty state record is left behind."""
        fs = self.mount('256k')
        ngx = self.start_on(fs)
        ngx.expect_log(r'\[crit\].*No space left on device')
        filler = fill(fs, leave_pages=0)
        self.assertEqual(free_pages(fs), 0)
        dev = StepDevice(ngx.connect(), BODY)
        dev.dev.send(D.init_packet(IMEI, D.FLAG_PHOTO_FRONT))
        dev.expect(0x000A)
        dev.dev.send(D.frame(0x000B, meta()))
        dev.expect(0x0008)
        dev.dev.send(D.frame(0x0001, b'\0\0\0\x0a\0\0'))
        self.send_until_closed(dev)
        rec = self.last_record(ngx, 1)
        self.assertEqual((rec['status'], rec['result']),
                         ('500', 'store_error'))
        ngx.wait_log(r'\[crit\].*\.state" failed \(28: No space left')
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(ngx.temp_files(), [])
        os.unlink(filler)
        self.upload(ngx, BODY, first=0)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})

    def test_temp_path_on_another_file_system(self):
        """A temp path on another file system than the store is refused
        at start (t/test_store_paths.py); one mounted over the temp path
        while nginx runs makes link() fail with EXDEV at every commit:
        crit saying so, 500, nothing in the store, the partial kept."""
        if not can_mount():
            self.skipTest('cannot mount a tmpfs here')
        ngx = self.start_nginx(stream=server_block_temp('@TEMP@',
                                                        self.POOL))
        os.makedirs(ngx.temp, exist_ok=True)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755',
                        'dualcam-test', ngx.temp], check=True,
                       capture_output=True)
        try:
            chown_worker(ngx.temp)
            ngx.expect_log(r'\[crit\].*must be on the file system of '
                           r'dualcam_store')
            dev = StepDevice(ngx.connect(), BODY)
            self.assertEqual(dev.offer(), 0)
            self.send_until_closed(dev)
            rec = self.last_record(ngx, 1)
            self.assertEqual((rec['status'], rec['result']),
                             ('500', 'store_error'))
            ngx.wait_log(r'\[crit\].*link\(\) .* failed: dualcam_temp_path '
                         r'must be on the file system of dualcam_store '
                         r'\(18: Invalid cross-device link\)')
            self.assertEqual(ngx.store_files(), [])
            self.assertEqual(list(partials(ngx.temp).values()),
                             [len(BODY)])
        finally:
            # before tearDown removes the prefix
            subprocess.run(['umount', '-l', ngx.temp],
                           capture_output=True)

    def test_store_read_only_remount(self):
        """The file system of store and temp path is remounted read-only
        between two uploads (root or not, nothing can be written): crit
        with EROFS, 500, nothing stored; remounted read-write, the next
        upload is stored."""
        fs = self.mount('1m')
        ngx = self.start_on(fs)
        ngx.expect_log(r'\[crit\].*\(30: Read-only file system\)')
        self.upload(ngx, BODY, imei=IMEI + 1)

        subprocess.run(['mount', '-o', 'remount,ro', fs], check=True)
        try:
            dev = StepDevice(ngx.connect(), BODY)
            dev.dev.send(D.init_packet(IMEI, D.FLAG_PHOTO_FRONT))
            dev.expect(0x000A)
            dev.dev.send(D.frame(0x000B, meta()))
            dev.expect(0x0008)
            dev.dev.send(D.frame(0x0001, b'\0\0\0\x0a\0\0'))
            self.send_until_closed(dev)
            rec = self.last_record(ngx, 2)
            self.assertEqual((rec['status'], rec['result']),
                             ('500', 'store_error'))
            ngx.wait_log(r'\[crit\].*"%s/tmp/[^"]*" failed '
                         r'\(30: Read-only file system\)' % fs)
        finally:
            subprocess.run(['mount', '-o', 'remount,rw', fs], check=True)
        self.assertEqual(stored(ngx.store), {})

        self.upload(ngx, BODY, first=0)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_store_dir_not_writable(self):
        """chmod 555 on the store (workers run as nobody) while running:
        the commit cannot create <store>/<IMEI>/: crit with EACCES, 500,
        nothing stored, the verified file kept; chmod 755 and the device
        comes back: resumed, byte-exact.  The same for an IMEI directory
        that exists and is read-only (link() fails).  (The store of the
        test's prefix: no tmpfs needed, so this runs wherever the suite
        runs.)"""
        ngx = self.start_nginx(stream=server_block_temp('@TEMP@',
                                                        self.POOL))
        ngx.expect_log(r'\[crit\].*\(13: Permission denied\)')

        os.chmod(ngx.store, 0o555)
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        self.send_until_closed(dev)
        rec = self.last_record(ngx, 1)
        self.assertEqual((rec['status'], rec['result']),
                         ('500', 'store_error'))
        ngx.wait_log(r'\[crit\].*mkdir\(\) "%s/%d" failed '
                     r'\(13: Permission denied\)' % (ngx.store, IMEI))
        self.assertEqual(ngx.store_files(), [])
        self.assertEqual(list(partials(ngx.temp).values()), [len(BODY)])
        os.chmod(ngx.store, 0o755)
        self.upload(ngx, BODY, first=10)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})

        # the IMEI directory exists, read-only: link() fails
        imei_dir = os.path.join(ngx.store, str(IMEI))
        os.chmod(imei_dir, 0o555)
        body2 = content(10, seed=3)
        dev = StepDevice(ngx.connect(), body2, time_ms=1730288106000)
        self.assertEqual(dev.offer(), 0)
        self.send_until_closed(dev)
        ngx.wait_log(r'\[crit\].*link\(\) "[^"]*" to "%s/[^"]*" failed '
                     r'\(13: Permission denied\)' % imei_dir)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        os.chmod(imei_dir, 0o755)
        dev = StepDevice(ngx.connect(), body2, time_ms=1730288106000)
        self.assertEqual(dev.offer(), 10)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store),
                         {NAME_10: BODY,
                          '20241030-113506-front-photo.jpg': body2})
        self.assertEqual(ngx.temp_files(), [])

    def test_store_dir_removed(self):
        """rm -rf of the whole store while running: crit with ENOENT,
        500, the partial kept; the administrator recreates the directory
        and the device's next connection resumes, byte-exact."""
        fs = self.mount('1m')
        ngx = self.start_on(fs)
        ngx.expect_log(r'\[crit\].*\(2: No such file or directory\)')
        self.upload(ngx, BODY, imei=IMEI + 1)

        shutil.rmtree(ngx.store)
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        self.send_until_closed(dev)
        rec = self.last_record(ngx, 2)
        self.assertEqual((rec['status'], rec['result']),
                         ('500', 'store_error'))
        ngx.wait_log(r'\[crit\].*"%s/%d" failed \(2: No such file'
                     % (ngx.store, IMEI))
        self.assertFalse(os.path.exists(ngx.store))
        self.assertEqual(list(partials(ngx.temp).values()), [len(BODY)])

        os.makedirs(ngx.store)
        chown_worker(ngx.store)
        self.upload(ngx, BODY, first=10)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_temp_dir_removed_mid_upload(self):
        """rm -rf of dualcam_temp_path while a partial is open in it: the
        upload goes on into the unlinked file, the commit's link() fails
        (ENOENT): crit, 500, nothing in the store; after a reload the
        device uploads the file again from the start, byte-exact."""
        fs = self.mount('1m')
        ngx = self.start_on(fs)
        ngx.expect_log(r'\[crit\].*link\(\) "%s/tmp/[^"]*" to "[^"]*" '
                       r'failed \(2: No such file or directory\)' % fs)
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(5)
        wait_partial(ngx.temp)
        shutil.rmtree(ngx.temp)
        self.send_until_closed(dev)
        rec = self.last_record(ngx, 1)
        self.assertEqual((rec['status'], rec['result']),
                         ('500', 'store_error'))
        ngx.wait_log(r'\[crit\].*link\(\).*failed \(2: No such file')
        self.assertEqual(ngx.store_files(), [])
        ngx.reload()
        wait_for(lambda: os.path.isdir(ngx.temp), what='temp path')
        self.upload(ngx, BODY, first=0)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_temp_dir_removed(self):
        """rm -rf of dualcam_temp_path while running: uploads are refused
        cleanly (crit, 500) and nginx keeps serving; `nginx -s reload`
        creates the path again (ngx_add_path) and uploads are stored."""
        fs = self.mount('1m')
        ngx = self.start_on(fs)
        ngx.expect_log(r'\[crit\].*"%s/tmp/[^"]*" failed '
                       r'\(2: No such file or directory\)' % fs)
        shutil.rmtree(ngx.temp)
        for i in range(2):
            dev = StepDevice(ngx.connect(), BODY)
            dev.dev.send(D.init_packet(IMEI, D.FLAG_PHOTO_FRONT))
            dev.expect(0x000A)
            dev.dev.send(D.frame(0x000B, meta()))
            dev.expect(0x0008)
            dev.dev.send(D.frame(0x0001, b'\0\0\0\x0a\0\0'))
            self.send_until_closed(dev)
            rec = self.last_record(ngx, i + 1)
            self.assertEqual((rec['status'], rec['result']),
                             ('500', 'store_error'))
        self.assertEqual(ngx.store_files(), [])
        ngx.reload()
        wait_for(lambda: os.path.isdir(ngx.temp), what='temp path')
        self.upload(ngx, BODY, first=0)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])


class DiskThreadPool(Disk):
    """All of the above with dualcam_thread_pool: the commit (flush,
    fsync, link, sidecar) fails in a thread of nginx's default pool."""

    POOL = ' dualcam_thread_pool default;'
