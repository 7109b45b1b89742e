"""The sweeper of the temp path: partials and state records unused for
dualcam_resume_timeout are removed by the worker's timer: many at once
(no [crit] whatever the readdir() order), three levels deep, and never
a FIFO, a fresh file, a file behind a symbolic link or a partial a
connection holds.  (A partial left by a killed worker: test_admin.py;
the walk off the event loop: test_commit.py.)"""

import os
import re
import time

from faults import (IMEI, NAME_10, StepDevice, content, partials,
                    server_block, stored, wait_for, wait_partial)
from harness import NginxTestCase, chown_worker

BIG = content(100, seed=5)


class Sweeper(NginxTestCase):

    def test_sweeper_many_stale_partials(self):
        """20 stale partials with their state records (left by devices
        that never came back): the sweeper removes all 40 files without a
        [crit] line.  (It removes a state record with its partial; with
        20 pairs readdir() lists some record after its partial with
        probability 1 - 2^-20, and a walk that then stat()s the vanished
        record must take that as no error: it logged "[crit] stat()
        ENOENT" before d577108.)"""
        ngx = self.start_nginx(stream=server_block(
            'dualcam_resume_timeout 2s;'))
        old = time.time() - 60
        for i in range(20):
            name = os.path.join(ngx.temp, '%d-%016x' % (IMEI + i, i))
            for path, data in ((name, b'x' * 1024),
                               (name + '.state', b'dualcam partial 1\n')):
                with open(path, 'wb') as f:
                    f.write(data)
                os.utime(path, (old, old))
        wait_for(lambda: ngx.temp_files() == [], timeout=8,
                 what='the sweeper')
        self.assertEqual(len(re.findall(r'dualcam: removing',
                                        ngx.error_log())), 20)
        self.assertNotRegex(ngx.error_log(), r'\[crit\]')

    def test_sweeper_levels_and_foreign_entries(self):
        """dualcam_temp_path with levels 1 2 2: stale partials three
        directories deep are swept; a FIFO and a fresh file are left
        alone; nothing is logged above notice."""
        ngx = self.start_nginx(stream=server_block(
            'dualcam_resume_timeout 2s;', '1 2 2'))
        old = time.time() - 60
        stale = []
        for i in range(6):
            d = os.path.join(ngx.temp, '%x' % i, '%02x' % i, '%02x' % i)
            os.makedirs(d, exist_ok=True)
            chown_worker(d)
            name = os.path.join(d, '%d-%016x' % (IMEI + i, i))
            for path in (name, name + '.state'):
                with open(path, 'wb') as f:
                    f.write(b'x' * 100)
                os.utime(path, (old, old))
                stale.append(path)
        fifo = os.path.join(ngx.temp, 'a-fifo')
        os.mkfifo(fifo)
        os.utime(fifo, (old, old))
        fresh = os.path.join(ngx.temp, 'fresh')
        with open(fresh, 'wb') as f:
            f.write(b'y')
        wait_for(lambda: not any(os.path.exists(p) for p in stale),
                 timeout=8, what='the sweeper')
        self.assertTrue(os.path.exists(fifo))
        self.assertTrue(os.path.exists(fresh))
        self.assertEqual(ngx.bad_lines(), [])

    def test_sweeper_does_not_follow_symlinks(self):
        """A symbolic link in the temp path to a directory elsewhere (an
        administrator's doing; a device can name nothing on disk): the
        sweeper must not walk into it and delete old files there (it
        lstat()s its entries; nginx's own ngx_walk_tree() would follow)."""
        ngx = self.start_nginx(stream=server_block(
            'dualcam_resume_timeout 2s;'))
        victim = os.path.join(ngx.prefix, 'elsewhere')
        os.makedirs(victim)
        chown_worker(victim)
        precious = os.path.join(victim, 'precious.jpg')
        with open(precious, 'wb') as f:
            f.write(b'\xff\xd8 an old photo \xff\xd9')
        old = time.time() - 3600
        os.utime(precious, (old, old))
        os.symlink(victim, os.path.join(ngx.temp, 'link'))
        # a stale partial of our own, to know that a sweep has run
        mine = os.path.join(ngx.temp, '%d-%016x' % (IMEI, 1))
        with open(mine, 'wb') as f:
            f.write(b'x')
        os.utime(mine, (old, old))
        wait_for(lambda: not os.path.exists(mine), timeout=8,
                 what='the sweeper')
        time.sleep(1.2)         # one more sweep
        self.assertTrue(os.path.exists(precious),
                        'the sweeper removed a file behind a symlink')

    def test_sweeper_spares_a_held_partial(self):
        """An upload that pauses longer than dualcam_resume_timeout (but
        less than dualcam_timeout): the sweeper finds its partial stale
        by mtime but the connection holds it; nothing is removed and the
        upload completes byte-exact."""
        ngx = self.start_nginx(stream=server_block(
            'dualcam_timeout 10s; dualcam_resume_timeout 2s;'))
        dev = StepDevice(ngx.connect(), BIG)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(20)
        size = wait_partial(ngx.temp, minimum=16384)
        time.sleep(4.5)
        self.assertEqual(list(partials(ngx.temp).values()), [size])
        self.assertNotIn('removing', ngx.error_log())
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BIG})
        self.assertEqual(ngx.temp_files(), [])
