"""Several connections of one IMEI with the same file at once: a second
connection may not touch the partial the first one writes (it uploads
into a private temp file), drops of either keep the resumable partial
whole, and the file is stored once (the one that finishes second is a
duplicate), with one worker or several.
"""

from faults import NAME_10, StepDevice, content, partials, stored, wait_for
from harness import NginxTestCase, need_sim

# two workers with reuseport: the kernel spreads the connections, so the
# two of one file may land in different processes
REUSEPORT = '''
    server {
        listen 127.0.0.1:@PORT@ reuseport;
        dualcam;
        dualcam_store @STORE@;
        dualcam_temp_path @TEMP@;
        dualcam_timeout 5s;
    }'''


class SameFile(NginxTestCase):

    def test_two_connections_same_file_at_once(self):
        """A uploads the file; B (same IMEI, same file) comes while A is
        at packet 5: B may not touch A's partial, uploads into a private
        temp file and is stored; A finishes too, and is found to be the
        same file: acknowledged, not stored twice."""
        self.two_at_once(self.start_nginx(server='dualcam_timeout 5s;'))

    def test_two_connections_same_file_two_workers(self):
        """The same with two workers and reuseport, so that the two
        connections may land in different processes."""
        self.two_at_once(self.start_nginx(workers=2, stream=REUSEPORT))

    def two_at_once(self, ngx):
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
        self.assertEqual(len(ngx.store_files()), 2)     # and its sidecar
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
