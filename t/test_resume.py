"""A file resumed where its connection ended: a drop (FIN or RST) after
every packet of a 10-packet file, mid-frame, a bad CRC at every packet,
a device that goes silent mid-file, a SYNC lower than asked, a drop in
the second file of a session, path mode (byte offsets), a reconnect on
another worker, dualcam_resume off, a RESUME never answered, and the
same faults through dualcam-sim.  Each run ends in a byte-exact file,
and the RESUME asks for the first packet the server does not hold.
"""

import json
import os
import re
import struct
import time

import device as D
from faults import (IMEI, NAME_10, TIME_MS, StepDevice, content, meta,
                    partials, stored, wait_closed, wait_for)
from harness import NginxTestCase, need_sim

SERVER = '''
        dualcam_timeout 1s;
        dualcam_resume_timeout 60s;
'''

BODY = content(10)          # 9 x 1024 + 300 bytes: 10 packets


class Drops(NginxTestCase):

    def test_drop_after_every_packet(self):
        """For K = 1..10: the device sends K packets and closes (FIN);
        the next connection's RESUME asks for packet K + 1 and the file
        is stored byte-exact.  K = 10: the file is complete before the
        drop, so it is stored by the first connection; the device never
        heard 00 09 and offers it again: it is uploaded again, found
        identical to what was stored, and acknowledged without a second
        copy."""
        ngx = self.start_nginx(server=SERVER)
        for k in range(1, 11):
            imei = IMEI + k
            with self.subTest(drop_after=k):
                s = ngx.connect()
                r = D.Device(s, imei=imei).run(
                    {D.FLAG_PHOTO_FRONT: BODY},
                    meta={D.FLAG_PHOTO_FRONT: meta()}, drop_after=k)
                self.assertTrue(r.dropped)
                self.assertEqual(r.resumes, [0])
                # the server has seen the FIN: the partial is on disk
                ngx.wait_access(2 * k - 1)
                if k < 10:
                    self.assertEqual(stored(ngx.store, imei), {})
                    self.assertEqual(list(partials(ngx.temp).values()),
                                     [k * 1024])
                    # the partial and its state record
                    self.assertEqual(len(ngx.temp_files()), 2)
                else:
                    self.assertEqual(stored(ngx.store, imei),
                                     {NAME_10: BODY})
                    self.assertEqual(partials(ngx.temp), {})

                s = ngx.connect()
                r = D.Device(s, imei=imei).run(
                    {D.FLAG_PHOTO_FRONT: BODY},
                    meta={D.FLAG_PHOTO_FRONT: meta()})
                self.assertTrue(r.closed)
                ngx.wait_access(2 * k)
                if k < 10:
                    self.assertEqual(r.resumes, [k + 1])
                    self.assertEqual(stored(ngx.store, imei),
                                     {NAME_10: BODY})
                    ngx.wait_log(r'resuming after %d verified bytes.*'
                                 r'imei: %d' % (k * 1024, imei))
                    side = os.path.join(ngx.store, str(imei),
                                        NAME_10 + '.json')
                    with open(side) as f:
                        self.assertEqual(json.load(f)['resumed_from'],
                                         k * 1024)
                else:
                    self.assertEqual(r.resumes, [0])
                    self.assertEqual(stored(ngx.store, imei),
                                     {NAME_10: BODY})
                self.assertEqual(partials(ngx.temp), {})
        self.assertEqual(ngx.temp_files(), [])
        recs = ngx.access_records()
        self.assertEqual(len(recs), 20)
        for i, rec in enumerate(recs):
            self.assertEqual(rec['status'], '200', rec)
            if i % 2 == 0:
                # K = 10 (the 19th record) stored the file, then saw FIN
                self.assertEqual(rec['result'], 'closed_by_device', rec)
                self.assertEqual(rec['files'], '1' if i == 18 else '0', rec)
            elif i == 19:
                self.assertEqual(rec['result'], 'duplicate', rec)
            else:
                self.assertEqual(rec['result'], 'ok', rec)

    def test_drop_with_rst_keeps_what_arrived(self):
        """A drop with RST (SO_LINGER 0): whatever the server read before
        the reset is a verified prefix; the resume starts right after it
        and the file is byte-exact.  An RST in the middle of a frame (all
        of packet 7 but its last 500 bytes): the 6 packets before it are
        kept."""
        ngx = self.start_nginx(server=SERVER)
        for k, cut in ((1, 0), (5, 0), (9, 0), (6, 500)):
            imei = IMEI + 100 + k
            with self.subTest(drop_after=k, mid_frame=bool(cut)):
                dev = StepDevice(ngx.connect(), BODY, imei=imei)
                self.assertEqual(dev.offer(), 0)
                dev.send_packets(k)
                if cut:
                    dev.dev.send(dev.packet(k + 1)[:-cut])
                time.sleep(0.2)
                dev.drop(rst=True)
                dev = StepDevice(ngx.connect(), BODY, imei=imei)
                self.assertEqual(dev.offer(), k + 1)
                dev.send_packets()
                dev.finish()
                ngx.wait_log('stored "[^"]*/%d/' % imei)
                self.assertEqual(stored(ngx.store, imei), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_bad_crc_at_every_packet(self):
        """For K = 1..10: packet K has a bad CRC; the server asks for K
        again (RESUME K), the device re-sends from K, the file is
        byte-exact and the sidecar counts one CRC failure and one
        resume."""
        ngx = self.start_nginx(server=SERVER)
        for k in range(1, 11):
            imei = IMEI + 200 + k
            with self.subTest(crc_error_at=k):
                s = ngx.connect()
                r = D.Device(s, imei=imei).run(
                    {D.FLAG_PHOTO_FRONT: BODY},
                    meta={D.FLAG_PHOTO_FRONT: meta()}, crc_error_at=k)
                self.assertTrue(r.closed)
                self.assertEqual(r.resumes, [0, k])
                self.assertEqual(stored(ngx.store, imei), {NAME_10: BODY})
                side = os.path.join(ngx.store, str(imei), NAME_10 + '.json')
                with open(side) as f:
                    doc = json.load(f)
                self.assertEqual((doc['crc_failures'], doc['resumes'],
                                  doc['packets']), (1, 1, 10))
        self.assertEqual(ngx.temp_files(), [])
        for rec in ngx.wait_access(10):
            self.assertEqual((rec['status'], rec['result'], rec['files']),
                             ('200', 'ok', '1'), rec)

    def test_silent_device_mid_file(self):
        """The device sends 4 packets and goes silent without a FIN: the
        server closes it after dualcam_timeout (1s), keeps the 4 verified
        packets in the temp dir, and a new connection resumes at 5."""
        ngx = self.start_nginx(server=SERVER)
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(4)
        took = wait_closed(dev.sock, timeout=8)
        self.assertGreater(took, 0.8)
        self.assertLess(took, 5.0)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']), ('200', 'timeout'))
        ngx.wait_log(r'\[info\].*device timed out.*imei: %d, file: '
                     r'%%photof' % IMEI)
        self.assertEqual(list(partials(ngx.temp).values()), [4096])
        self.assertEqual(len(ngx.temp_files()), 2)      # + .state
        self.assertEqual(stored(ngx.store), {})

        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 5)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])


class Resume(NginxTestCase):
    """Resumes that are not the plain case."""

    def test_device_syncs_lower_than_asked(self):
        """The server holds 6 packets and asks for 7; the device answers
        SYNC 1 (restarts from the beginning) or SYNC 3: the server writes
        where the device says, and the file is byte-exact.  A device that
        then drops again keeps the prefix it verified last (3 packets)."""
        ngx = self.start_nginx(server=SERVER)
        for answer, imei in ((1, IMEI + 1), (3, IMEI + 2)):
            with self.subTest(sync=answer):
                dev = StepDevice(ngx.connect(), BODY, imei=imei)
                dev.offer()
                dev.send_packets(6)
                dev.drop()
                dev = StepDevice(ngx.connect(), BODY, imei=imei)
                self.assertEqual(dev.offer(answer=answer), 7)
                dev.send_packets()
                dev.finish()
                self.assertEqual(stored(ngx.store, imei), {NAME_10: BODY})
        # lower SYNC, then a drop before the old end: a prefix again
        imei = IMEI + 3
        dev = StepDevice(ngx.connect(), BODY, imei=imei)
        dev.offer()
        dev.send_packets(6)
        dev.drop()
        dev = StepDevice(ngx.connect(), BODY, imei=imei)
        self.assertEqual(dev.offer(answer=2), 7)
        dev.send_packets(2)                     # packets 2, 3
        dev.drop()
        ngx.wait_access(6)
        dev = StepDevice(ngx.connect(), BODY, imei=imei)
        # what this connection verified (packets 1..3) is the prefix now
        self.assertEqual(dev.offer(), 4)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store, imei), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_drop_in_second_file_of_a_session(self):
        """A session with a photo (10 packets) and a video (20): the
        connection drops 5 packets into the video.  The photo is stored,
        the video resumes at 6 on the next connection, both byte-exact."""
        ngx = self.start_nginx(server=SERVER)
        video = content(20, seed=9)
        files = {D.FLAG_PHOTO_FRONT: BODY, D.FLAG_VIDEO_FRONT: video}
        metas = {D.FLAG_PHOTO_FRONT: meta(),
                 D.FLAG_VIDEO_FRONT: meta(TIME_MS + 1000,
                                          D.FLAG_VIDEO_FRONT)}
        r = D.Device(ngx.connect()).run(files, meta=metas, drop_after=15)
        self.assertTrue(r.dropped)
        self.assertEqual(r.resumes, [0, 0])
        ngx.wait_access(1)
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        r = D.Device(ngx.connect()).run({D.FLAG_VIDEO_FRONT: video},
                                        meta=metas)
        self.assertTrue(r.closed)
        self.assertEqual(r.resumes, [6])
        self.assertEqual(stored(ngx.store),
                         {NAME_10: BODY,
                          '20241030-113506-front-video.h265': video})
        self.assertEqual(ngx.temp_files(), [])

    def test_path_mode_drop(self):
        """Path mode (0x000C/0x000D, 0x000E with byte offsets, ADAS
        metadata): a drop after K frames resumes at byte K x 1024."""
        ngx = self.start_nginx(server=SERVER)
        path = 'adas/picture/241030/113505.jpg'
        adas = struct.pack('>IBBiiB', TIME_MS // 1000, 1, 0, 24928560,
                           67129240, 0)
        for k in (1, 4, 9):
            imei = IMEI + 300 + k
            with self.subTest(drop_after=k):
                r = D.Device(ngx.connect(), imei=imei).run(
                    {path: BODY}, meta={path: adas}, drop_after=k)
                self.assertEqual(r.resumes, [0])
                wait_for(lambda: len(ngx.access_records()) % 2 == 1,
                         what='the dropped session to end')
                r = D.Device(ngx.connect(), imei=imei).run(
                    {path: BODY}, meta={path: adas})
                self.assertTrue(r.closed)
                self.assertEqual(r.resumes, [k * 1024])
                files = stored(ngx.store, imei)
                self.assertEqual(list(files.values()), [BODY], files)
        self.assertEqual(ngx.temp_files(), [])

    def test_resume_on_another_worker(self):
        """2 workers with reuseport: drops and reconnects land on either
        worker; every resume asks for the right packet (the partial and
        its lock are shared through the file system)."""
        ngx = self.start_nginx(workers=2, stream='''
    server {
        listen 127.0.0.1:@PORT@ reuseport;
        dualcam;
        dualcam_store @STORE@;
        dualcam_temp_path @TEMP@;
        dualcam_timeout 2s;
    }''')
        pids = set()
        for k in range(1, 10):
            imei = IMEI + 400 + k
            with self.subTest(drop_after=k):
                r = D.Device(ngx.connect(), imei=imei).run(
                    {D.FLAG_PHOTO_FRONT: BODY},
                    meta={D.FLAG_PHOTO_FRONT: meta()}, drop_after=k)
                wait_for(lambda: len(ngx.access_records()) == 2 * k - 1,
                         what='the dropped session to end')
                r = D.Device(ngx.connect(), imei=imei).run(
                    {D.FLAG_PHOTO_FRONT: BODY},
                    meta={D.FLAG_PHOTO_FRONT: meta()})
                self.assertEqual(r.resumes, [k + 1])
                self.assertEqual(stored(ngx.store, imei), {NAME_10: BODY})
        for m in re.finditer(r' (\d+)#\d+: \*\d+ resuming after',
                             ngx.error_log()):
            pids.add(m.group(1))
        self.assertEqual(len(pids), 2, 'all resumes on one worker (p=2^-8)')
        self.assertEqual(ngx.temp_files(), [])

    def test_resume_off_leaves_nothing(self):
        """dualcam_resume off: a drop mid-file leaves no temp file at
        all, and the next offer starts from the first packet."""
        ngx = self.start_nginx(server=SERVER + 'dualcam_resume off;')
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(5)
        dev.drop()
        ngx.wait_access(1)
        self.assertEqual(ngx.temp_files(), [])
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets()
        dev.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(ngx.temp_files(), [])

    def test_resume_repeated_then_closed(self):
        """No SYNC after a RESUME: the RESUME is repeated every 2 s, then
        the session ends (timeout), keeping nothing it did not verify."""
        ngx = self.start_nginx()
        s = ngx.connect(timeout=30)
        d = D.Device(s, imei=IMEI)
        self.assertEqual(d.begin(D.FLAG_PHOTO_FRONT, meta(), 10), 0)
        t = time.time()
        frames = [(0x0002, b'\0\0\0\0')]
        try:
            while True:
                frames.append(d.recv_frame())
                if frames[-1][0] == 0x0000:
                    break
        except D.ServerClosed:
            pass
        s.close()
        resumes = [f for f in frames if f[0] == 0x0002]
        self.assertEqual(resumes, [(0x0002, b'\0\0\0\0')] * 6)
        self.assertGreater(time.time() - t, 9)
        rec = ngx.wait_access(1)[0]
        self.assertEqual((rec['status'], rec['result']), ('200', 'timeout'))
        self.assertEqual(ngx.temp_files(), [])


class DropsSim(NginxTestCase):
    """The same faults through dualcam-sim, on a larger file and several
    devices at once (its own device core, its own reconnects)."""

    def sim_resumes(self, stderr):
        out = []
        for line in stderr.splitlines():
            if line.startswith('resume '):
                kv = dict(p.split('=', 1) for p in line.split()[1:])
                out.append((int(kv['imei']), kv['file'], int(kv['unit'])))
        return out

    def test_sim_drop_crc_stall(self):
        need_sim(self)
        ngx = self.start_nginx(server=SERVER)
        base = 352093082000000
        # drop after packet 7 of each file: reconnect, RESUME 8
        r = ngx.sim('--devices', 5, '--imei-base', base, '--files',
                    'photof:30000,videof:70000', '--drop-after', 7,
                    '--log-resumes', '--verify-store', ngx.store,
                    '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        res = self.sim_resumes(r.stderr)
        for i in range(5):
            for f in ('photof', 'videof'):
                self.assertEqual([u for m, n, u in res
                                  if m == base + i and n == f], [0, 8],
                                 (i, f, res))
        # bad CRC at packet 3 of every file: RESUME 3
        r = ngx.sim('--devices', 5, '--imei-base', base + 10, '--files',
                    'photof:30000,videof:70000', '--crc-error-at', 3,
                    '--log-resumes', '--verify-store', ngx.store,
                    '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        res = self.sim_resumes(r.stderr)
        for i in range(5):
            for f in ('photof', 'videof'):
                self.assertEqual([u for m, n, u in res
                                  if m == base + 10 + i and n == f], [0, 3],
                                 (i, f, res))
        # path mode with DATA as 0x000E: the RESUME counts bytes
        imei = base + 30
        r = ngx.sim('--imei', imei, '--protocol', 6, '--enhanced',
                    '--drop-after', 5, '--log-resumes', '--files',
                    'path:adas/video/x.mp4:30000', '--verify-store',
                    ngx.store, '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual([u for m, n, u in self.sim_resumes(r.stderr)],
                         [0, 5120])
        files = ngx.store_files()
        mine = [f for f in files if f.startswith('%d/' % imei)]
        self.assertEqual(len(mine), 2, files)       # the file, its sidecar
        self.assertEqual([p for p in partials(ngx.temp) if str(imei) in p],
                         [])
        # stall after packet 5: the server times the devices out
        t0 = time.time()
        r = ngx.sim('--devices', 5, '--imei-base', base + 20, '--files',
                    'photof:30000', '--stall-after', 5, '--timeout', 30)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertLess(time.time() - t0, 10)
        parts = partials(ngx.temp)
        self.assertEqual(sorted(parts.values()), [5 * 1024] * 5, parts)
        # (a later dualcam-sim run cannot resume them: its metadata
        # carries the time it started as the capture time, so it offers
        # other files; test_silent_device_mid_file covers the resume)
        timeouts = [x for x in ngx.access_records()
                    if x['result'] == 'timeout']
        self.assertEqual(len(timeouts), 5)
