"""The MP4 of a recording (issue 10), checked by Debian's ffmpeg/ffprobe as
the independent oracle: build/dualcam-mp4 on both real DualCam recordings
and on plain Annex B H.265 made here with ffmpeg's libx265 (multi-slice
frames; a stream that starts before its first IRAP picture).

- ffprobe: codec hevc, tag hvc1, every frame, the duration from the
  timestamps, the display size;
- ffmpeg -f framemd5: the MP4's decoded video equals the raw stream's,
  frame for frame;
- the audio decodes to exactly what ffmpeg's own G.711 decoder makes of
  the chunks, sample for sample;
- moov precedes mdat.
"""

import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import ROOT, NginxTestCase, need_sim

TOOL = os.path.join(ROOT, 'build', 'dualcam-mp4')
VIDEO = os.path.join(ROOT, '..', 'shared', 'fixtures', 'video')
FIXTURES = [
    # name, frames, key frames, audio chunks, seconds
    ('dualcam-front-20241101T070713Z.h265', 20, 1, 25, 1.0),
    ('dualcam-front-20241101T095040Z.h265', 60, 3, 75, 3.0),
]


def have_ffmpeg():
    return shutil.which('ffmpeg') and shutil.which('ffprobe')


def ptmf_records(data):
    """(type, timestamp, payload) of each PTMF record, by its length."""
    out = []
    off = 0
    while off < len(data):
        assert data[off:off + 4] == b'PTMF', off
        length, ts = struct.unpack('<II', data[off + 24:off + 32])
        out.append((chr(data[off + 5]), ts,
                    data[off + 36:off + 36 + length]))
        off += 36 + length
    assert off == len(data)
    return out


def nal_units(stream):
    """(offset of the start code, NAL unit) of plain Annex B."""
    starts = []
    i = stream.find(b'\x00\x00\x01')
    while i >= 0:
        starts.append(i)
        i = stream.find(b'\x00\x00\x01', i + 3)
    out = []
    for k, s in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(stream)
        nal = stream[s + 3:end].rstrip(b'\x00')
        begin = s - 1 if s > 0 and stream[s - 1] == 0 else s
        out.append((begin, nal))
    return out


def access_units(stream):
    """Start offsets of the access units (H.265 7.4.2.4.4) and whether
    each is IRAP."""
    aus = []
    have_vcl = False
    for off, nal in nal_units(stream):
        t = (nal[0] >> 1) & 0x3f
        first = t < 32 and len(nal) > 2 and nal[2] & 0x80
        starts = first or 32 <= t <= 35 or t == 39
        if starts and (have_vcl or not aus):
            aus.append([off, False])
            have_vcl = False
        if t < 32:
            have_vcl = True
            if 16 <= t <= 23:
                aus[-1][1] = True
    return aus


def top_boxes(data):
    out = []
    off = 0
    while off < len(data):
        size, kind = struct.unpack('>I4s', data[off:off + 8])
        if size == 1:
            size = struct.unpack('>Q', data[off + 8:off + 16])[0]
        assert size >= 8, (off, size)
        out.append(kind.decode())
        off += size
    assert off == len(data)
    return out


@unittest.skipUnless(have_ffmpeg(), 'ffmpeg/ffprobe not installed '
                     '(make deps installs them)')
class Oracle(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='dualcam-mp4-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def remux(self, src, *args):
        out = self.path(os.path.basename(src) + '.mp4')
        r = subprocess.run([TOOL] + list(args) + [src, out],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        info = subprocess.run([TOOL, '--info'] + list(args) + [src],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(info.returncode, 0, info.stderr)
        return out, json.loads(info.stdout)

    def probe(self, path):
        r = subprocess.run(['ffprobe', '-v', 'error', '-count_frames',
                            '-show_streams', '-show_format', '-of', 'json',
                            path], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def framemd5(self, *args):
        r = subprocess.run(['ffmpeg', '-v', 'error'] + list(args)
                           + ['-map', '0:v', '-f', 'framemd5', '-'],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [line.rsplit(',', 1)[1].strip()
                for line in r.stdout.splitlines()
                if line and not line.startswith('#')]

    def pcm(self, *args):
        r = subprocess.run(['ffmpeg', '-v', 'error'] + list(args)
                           + ['-map', '0:a', '-f', 's16le', '-'],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def check_moov_first(self, path):
        with open(path, 'rb') as f:
            data = f.read()
        self.assertEqual(top_boxes(data), ['ftyp', 'moov', 'mdat'])
        return data

    def test_fixtures(self):
        for name, frames, keys, chunks, seconds in FIXTURES:
            with self.subTest(fixture=name):
                src = os.path.join(VIDEO, name)
                with open(src, 'rb') as f:
                    records = ptmf_records(f.read())

                out, info = self.remux(src)
                self.check_moov_first(out)

                self.assertEqual(info['container'], 'ptmf')
                self.assertEqual(info['codec'], 'hvc1.1.6.L93.B0')
                self.assertEqual((info['width'], info['height']),
                                 (1280, 720))
                self.assertEqual(info['frames'], frames)
                self.assertEqual(info['key_frames'], keys)
                self.assertEqual(info['dropped'], 0)
                self.assertEqual(info['size'], os.path.getsize(out))
                self.assertEqual(info['audio']['source'], 'pcm_alaw')
                self.assertEqual(info['audio']['samples'], chunks * 320)

                p = self.probe(out)
                v = [s for s in p['streams'] if s['codec_type'] == 'video']
                a = [s for s in p['streams'] if s['codec_type'] == 'audio']
                self.assertEqual(len(v), 1)
                self.assertEqual(len(a), 1)
                v, a = v[0], a[0]
                self.assertEqual(v['codec_name'], 'hevc')
                self.assertEqual(v['codec_tag_string'], 'hvc1')
                self.assertEqual((v['width'], v['height']), (1280, 720))
                self.assertEqual(int(v['nb_read_frames']), frames)
                self.assertLess(abs(float(v['duration']) - seconds), 0.05)
                self.assertEqual(a['codec_name'], 'flac')
                self.assertEqual(a['codec_tag_string'], 'fLaC')
                self.assertEqual(int(a['sample_rate']), 8000)
                self.assertEqual(int(a['nb_read_frames']), chunks)

                # the camera's own timing: the first audio chunk starts
                # when its timestamp says, after the first frame's
                first_v = records[0][1]
                first_a = [ts for t, ts, _ in records if t == 'A'][0]
                self.assertAlmostEqual(float(a['start_time']),
                                       (first_a - first_v) / 1e6, places=2)

                # frame for frame: the video records as plain Annex B
                raw = self.path('raw.h265')
                with open(raw, 'wb') as f:
                    f.write(b''.join(p for t, _, p in records if t != 'A'))
                want = self.framemd5('-f', 'hevc', '-i', raw)
                got = self.framemd5('-i', out)
                self.assertEqual(len(want), frames)
                self.assertEqual(got, want)

                # sample for sample: ffmpeg's own A-law decoder
                alaw = self.path('raw.alaw')
                with open(alaw, 'wb') as f:
                    f.write(b''.join(p[4:] for t, _, p in records
                                     if t == 'A'))
                want = self.pcm('-f', 'alaw', '-ar', '8000', '-ac', '1',
                                '-i', alaw)
                got = self.pcm('-i', out)
                self.assertEqual(len(got), chunks * 320 * 2)
                self.assertTrue(got == want, 'the audio differs')

    def test_no_audio(self):
        src = os.path.join(VIDEO, FIXTURES[0][0])
        out, info = self.remux(src, '--no-audio')
        self.assertIsNone(info['audio'])
        p = self.probe(out)
        self.assertEqual([s['codec_type'] for s in p['streams']], ['video'])

    def x265(self, name, frames, params, size='350x198'):
        """Plain Annex B from libx265; 350x198 is cropped from 352x200
        by the SPS's conformance window."""
        out = self.path(name)
        r = subprocess.run(
            ['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i',
             'testsrc2=size=%s:rate=25' % size, '-frames:v', str(frames),
             '-pix_fmt', 'yuv420p', '-c:v', 'libx265', '-x265-params',
             'log-level=error:' + params, '-f', 'hevc', out],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, 'rb') as f:
            return out, f.read()

    def test_annexb_slices(self):
        raw, data = self.x265('slices.h265', 30,
                              'bframes=0:slices=4:keyint=10:min-keyint=10:'
                              'scenecut=0:repeat-headers=1')

        # several slices per frame, really
        slices = [n for _, n in nal_units(data)
                  if (n[0] >> 1) & 0x3f < 32]
        self.assertGreater(len(slices), 30 * 2)

        out, info = self.remux(raw, '--fps', '25')
        self.check_moov_first(out)
        self.assertEqual(info['container'], 'annexb')
        self.assertEqual((info['width'], info['height']), (350, 198))
        self.assertEqual(info['frames'], 30)
        self.assertEqual(info['key_frames'], 3)
        self.assertIsNone(info['audio'])

        p = self.probe(out)
        v = p['streams'][0]
        self.assertEqual(v['codec_tag_string'], 'hvc1')
        self.assertEqual((v['width'], v['height']), (350, 198))
        self.assertEqual(int(v['nb_read_frames']), 30)
        self.assertLess(abs(float(v['duration']) - 1.2), 0.04)

        want = self.framemd5('-f', 'hevc', '-i', raw)
        self.assertEqual(len(want), 30)
        self.assertEqual(self.framemd5('-i', out), want)

    def test_annexb_before_first_irap(self):
        _, data = self.x265('full.h265', 24,
                            'bframes=0:keyint=8:min-keyint=8:scenecut=0:'
                            'repeat-headers=1')
        aus = access_units(data)
        self.assertEqual(len(aus), 24)
        self.assertEqual([k for k, (_, irap) in enumerate(aus) if irap],
                         [0, 8, 16])

        # from the third frame: 6 frames before the next IRAP
        cut = self.path('cut.h265')
        with open(cut, 'wb') as f:
            f.write(data[aus[2][0]:])
        from_irap = self.path('irap.h265')
        with open(from_irap, 'wb') as f:
            f.write(data[aus[8][0]:])

        out, info = self.remux(cut, '--fps', '25')
        self.assertEqual(info['dropped'], 6)
        self.assertEqual(info['frames'], 16)
        self.assertEqual(info['key_frames'], 2)

        want = self.framemd5('-f', 'hevc', '-i', from_irap)
        self.assertEqual(len(want), 16)
        self.assertEqual(self.framemd5('-i', out), want)

    def test_annexb_bframes(self):
        """B-frames (open GOPs, CRA pictures) in plain Annex B: the
        composition offsets come from the picture order counts, and the
        first picture shown starts at 0."""
        raw, data = self.x265('b.h265', 50, 'bframes=4:keyint=10:'
                              'min-keyint=10:scenecut=0', size='352x200')
        out, info = self.remux(raw, '--fps', '25')
        self.assertEqual(info['frames'], 50)
        self.assertEqual(info['key_frames'], 5)
        with open(out, 'rb') as f:
            self.assertEqual(top_boxes(f.read()), ['ftyp', 'moov', 'mdat'])
        v = self.probe(out)['streams'][0]
        self.assertEqual(int(v['nb_read_frames']), 50)
        self.assertAlmostEqual(float(v['start_time']), 0.0, places=3)
        self.assertAlmostEqual(float(v['duration']), 2.0, places=2)
        want = self.framemd5('-f', 'hevc', '-i', raw)
        self.assertEqual(len(want), 50)
        self.assertEqual(self.framemd5('-i', out), want)

    def test_refused(self):
        # B-frames in PTMF records: one time per frame, and nothing says
        # whether it is the decoding or the presentation time: refused
        _, data = self.x265('b.h265', 10, 'bframes=2:keyint=10')
        ptmf = b''
        aus = [off for off, _ in access_units(data)] + [len(data)]
        for k in range(len(aus) - 1):
            au = data[aus[k]:aus[k + 1]]
            ptmf += (b'PTMF\x00' + (b'I' if k == 0 else b'P')
                     + bytes(18)
                     + struct.pack('<II', len(au), 1000 + 50000 * k)
                     + bytes(4) + au)
        raw = self.path('b.ptmf')
        with open(raw, 'wb') as f:
            f.write(ptmf)
        r = subprocess.run([TOOL, '--info', raw], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('reordered pictures', json.loads(r.stdout)['error'])

        bad = self.path('bad.h265')
        with open(os.path.join(VIDEO, FIXTURES[0][0]), 'rb') as f:
            data = bytearray(f.read())
        data[24:28] = struct.pack('<I', 1 << 30)
        with open(bad, 'wb') as f:
            f.write(data)
        r = subprocess.run([TOOL, bad], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn('a payload of 1073741824 bytes', r.stderr)
        self.assertFalse(os.path.exists(self.path('bad.mp4')))
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ['b.h265', 'b.ptmf', 'bad.h265'])

    def test_never_overwrites(self):
        src = os.path.join(VIDEO, FIXTURES[0][0])
        out = self.path('x.mp4')
        with open(out, 'w') as f:
            f.write('mine')
        r = subprocess.run([TOOL, src, out], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)
        with open(out) as f:
            self.assertEqual(f.read(), 'mine')
        self.assertEqual(os.listdir(self.dir), ['x.mp4'])


STATUS_HTTP = """
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location = /dualcam/status { dualcam_status dc; }
    }"""

MP4_LOG = ("log_format mp4 '$dualcam_result $dualcam_mp4';\n"
           "    access_log @PREFIX@/logs/mp4.log mp4;")


class Module(NginxTestCase):
    """The module makes the MP4 in its commit task: a simulated DualCam
    uploads the real recordings as %videof (dualcam-sim --files
    videof:@PATH)."""

    def setUp(self):
        super().setUp()
        need_sim(self)
        self.dir = tempfile.mkdtemp(prefix='dualcam-mp4-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        super().tearDown()

    def cli(self, src, *args):
        """What build/dualcam-mp4 makes of src: the module's MP4 must be
        the same bytes (the CLI's are checked by ffmpeg above)."""
        out = os.path.join(self.dir, os.path.basename(src) + '.mp4')
        if os.path.exists(out):
            os.unlink(out)
        r = subprocess.run([TOOL] + list(args) + [src, out],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, 'rb') as f:
            return f.read()

    def mp4_log(self, ngx, n, timeout=10):
        """The lines of the $dualcam_mp4 access log, once there are n (a
        session's line is written when nginx has closed it, which may be
        after the simulator has exited)."""
        path = os.path.join(ngx.prefix, 'logs', 'mp4.log')
        deadline = time.monotonic() + timeout
        while True:
            with open(path) as f:
                lines = [line for line in f.read().split('\n') if line]
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def stored(self, ngx):
        files = ngx.store_files()
        raw = [f for f in files if f.endswith('.h265')]
        mp4 = [f for f in files if f.endswith('.mp4')]
        side = [f for f in files if f.endswith('.json')]
        return raw, mp4, side

    def sidecar(self, ngx, raw):
        with open(os.path.join(ngx.store, raw + '.json'), 'rb') as f:
            return json.loads(f.read().decode('utf-8'))

    def read(self, ngx, name):
        with open(os.path.join(ngx.store, name), 'rb') as f:
            return f.read()

    def test_fixtures_uploaded(self):
        ngx = self.start_nginx(stream_main=MP4_LOG)
        for k, (name, frames, keys, chunks, seconds) in enumerate(FIXTURES):
            src = os.path.join(VIDEO, name)
            r = ngx.sim('--imei', 863719061653375 + k, '--files',
                        'videof:@' + src, '--verify-store', ngx.store)
            self.assertEqual(r.returncode, 0, r.stderr)

        raw, mp4, side = self.stored(ngx)
        self.assertEqual(len(raw), 2)
        self.assertEqual(len(side), 2)
        self.assertEqual(sorted(m[:-4] for m in mp4),
                         sorted(f[:-5] for f in raw))

        for f in raw:
            self.assertTrue(f.endswith('-front-video.h265'), f)
            body = self.read(ngx, f)
            fx = [x for x in FIXTURES
                  if len(body) == os.path.getsize(os.path.join(VIDEO, x[0]))]
            name, frames, keys, chunks, seconds = fx[0]
            with open(os.path.join(VIDEO, name), 'rb') as fd:
                self.assertEqual(body, fd.read(), 'the raw file as sent')

            sc = self.sidecar(ngx, f)
            m = sc['mp4']
            self.assertEqual(m['file'], os.path.basename(f)[:-5] + '.mp4')
            self.assertEqual(m['container'], 'ptmf')
            self.assertEqual(m['codec'], 'hvc1.1.6.L93.B0')
            self.assertEqual((m['width'], m['height']), (1280, 720))
            self.assertEqual(m['frames'], frames)
            self.assertEqual(m['key_frames'], keys)
            self.assertEqual(m['dropped'], 0)
            self.assertLess(abs(m['duration'] - seconds), 0.05)
            self.assertEqual(m['audio']['codec'], 'flac')
            self.assertEqual(m['audio']['sample_rate'], 8000)
            self.assertEqual(m['audio']['samples'], chunks * 320)

            data = self.read(ngx, f[:-5] + '.mp4')
            self.assertEqual(len(data), m['size'])
            self.assertEqual(top_boxes(data), ['ftyp', 'moov', 'mdat'])
            self.assertTrue(data == self.cli(os.path.join(VIDEO, name)),
                            'the module and dualcam-mp4 differ')

        # nothing left behind in the temp path
        self.assertEqual(ngx.temp_files(), [])
        ngx.wait_log(r'stored ".*-front-video\.mp4" too')

        lines = self.mp4_log(ngx, 2)
        names = sorted(line.split()[1] for line in lines)
        self.assertEqual(names, sorted(os.path.basename(m) for m in mp4))

    def test_status_recent(self):
        """The status endpoint's recent entry names the MP4."""
        ngx = self.start_nginx(zone='dc 1m', http=STATUS_HTTP)
        src = os.path.join(VIDEO, FIXTURES[0][0])
        r = ngx.sim('--files', 'videof:@' + src + ',photof:2000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        url = 'http://127.0.0.1:%d/dualcam/status' % ngx.http_port
        with urllib.request.urlopen(url, timeout=10) as f:
            status = json.loads(f.read().decode('utf-8'))
        recent = {e['kind']: e for e in status['recent']}
        video, photo = recent['video'], recent['photo']
        self.assertTrue(video['path'].endswith('-front-video.h265'))
        self.assertEqual(video['mp4'], video['path'][:-5] + '.mp4')
        self.assertTrue(os.path.exists(video['mp4']))
        self.assertIsNone(photo['mp4'])

    def test_path_mode(self):
        """A path-mode .h265 gets its MP4; a path-mode .mp4 is stored as
        it came, with no second MP4."""
        ngx = self.start_nginx()
        src = os.path.join(VIDEO, FIXTURES[0][0])
        made = os.path.join(self.dir, 'made.mp4')
        with open(made, 'wb') as f:
            f.write(self.cli(src))
        r = ngx.sim('--files', 'path:adas/video/1.h265:@' + src
                    + ',path:adas/video/2.mp4:@' + made,
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = ngx.store_files()
        h265 = [f for f in files if f.endswith('.h265')]
        mp4 = [f for f in files if f.endswith('.mp4')]
        self.assertEqual(len(h265), 1)
        self.assertEqual(len(mp4), 2)
        self.assertEqual(self.sidecar(ngx, h265[0])['mp4']['frames'], 20)
        as_is = [f for f in mp4 if f + '.json' in files]
        self.assertEqual(len(as_is), 1)
        with open(made, 'rb') as f:
            self.assertEqual(self.read(ngx, as_is[0]), f.read())
        with open(os.path.join(ngx.store, as_is[0] + '.json')) as f:
            self.assertNotIn('mp4', json.load(f))

    def test_served_by_nginx_mp4_module(self):
        """The store served with nginx's own mp4 module: it parses the
        moov, and a ?start= cut at a key frame is a valid MP4 too."""
        ngx = self.start_nginx(http="""
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location /store/ { alias @STORE@/; mp4; mp4_start_key_frame on; }
    }""")
        src = os.path.join(VIDEO, FIXTURES[1][0])
        r = ngx.sim('--files', 'videof:@' + src, '--verify-store',
                    ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        mp4 = [f for f in ngx.store_files() if f.endswith('.mp4')][0]
        base = 'http://127.0.0.1:%d/store/%s' % (ngx.http_port, mp4)
        with urllib.request.urlopen(base, timeout=10) as f:
            self.assertEqual(f.read(), self.read(ngx, mp4))
        with urllib.request.urlopen(base + '?start=1.5', timeout=10) as f:
            cut = f.read()
        path = os.path.join(self.dir, 'cut.mp4')
        with open(path, 'wb') as f:
            f.write(cut)
        self.assertEqual(top_boxes(cut), ['ftyp', 'moov', 'mdat'])
        self.assertLess(len(cut), len(self.read(ngx, mp4)))
        # it starts at the key frame before 1.5 s (there is one a
        # second); the frames up to 1.5 s are hidden by an edit list and
        # everything decodes: the same pictures as the whole file's last
        # 30 frames
        want = Oracle.framemd5(self, '-i', os.path.join(ngx.store, mp4))
        got = Oracle.framemd5(self, '-i', path)
        self.assertEqual(got, want[-len(got):])
        self.assertGreaterEqual(len(got), 30)

    def test_without_thread_pool(self):
        """dualcam_thread_pool off: the same MP4, made in the worker."""
        ngx = self.start_nginx(server='dualcam_thread_pool off;')
        src = os.path.join(VIDEO, FIXTURES[0][0])
        r = ngx.sim('--files', 'videof:@' + src, '--verify-store',
                    ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, mp4, side = self.stored(ngx)
        self.assertEqual((len(raw), len(mp4), len(side)), (1, 1, 1))
        self.assertTrue(self.read(ngx, mp4[0]) == self.cli(src))
        self.assertEqual(ngx.temp_files(), [])

    def test_drop_and_resume(self):
        """The device drops mid-file and resumes: one MP4, of the whole
        recording."""
        ngx = self.start_nginx()
        src = os.path.join(VIDEO, FIXTURES[1][0])
        r = ngx.sim('--files', 'videof:@' + src, '--drop-after', 200,
                    '--reconnects', 3, '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, mp4, side = self.stored(ngx)
        self.assertEqual((len(raw), len(mp4), len(side)), (1, 1, 1))
        self.assertIn('1 resumes, 1 drops', r.stdout)
        self.assertGreater(self.sidecar(ngx, raw[0])['resumed_from'], 0)
        self.assertEqual(self.sidecar(ngx, raw[0])['mp4']['frames'], 60)
        self.assertTrue(self.read(ngx, mp4[0]) == self.cli(src))
        self.assertEqual(ngx.temp_files(), [])

    def test_off(self):
        ngx = self.start_nginx(server='dualcam_mp4 off;',
                               stream_main=MP4_LOG)
        src = os.path.join(VIDEO, FIXTURES[0][0])
        r = ngx.sim('--files', 'videof:@' + src + ',photof:3000',
                    '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, mp4, side = self.stored(ngx)
        self.assertEqual((len(raw), len(mp4), len(side)), (1, 0, 2))
        self.assertNotIn('mp4', self.sidecar(ngx, raw[0]))
        self.assertEqual(self.mp4_log(ngx, 1), ['ok -'])

    def test_audio_off(self):
        ngx = self.start_nginx(server='dualcam_mp4_audio off;')
        src = os.path.join(VIDEO, FIXTURES[0][0])
        r = ngx.sim('--files', 'videof:@' + src, '--verify-store',
                    ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, mp4, side = self.stored(ngx)
        self.assertIsNone(self.sidecar(ngx, raw[0])['mp4']['audio'])
        self.assertTrue(self.read(ngx, mp4[0])
                        == self.cli(src, '--no-audio'))

    def test_photo_has_no_mp4(self):
        ngx = self.start_nginx()
        r = ngx.sim('--files', 'photof:3000', '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, mp4, side = self.stored(ngx)
        self.assertEqual(mp4, [])
        with open(os.path.join(ngx.store, side[0])) as f:
            self.assertNotIn('mp4', json.load(f))

    def test_corrupt_recording(self):
        """A recording the remuxer refuses is stored raw, as received; the
        sidecar and a warn line say why; the session is ok."""
        with open(os.path.join(VIDEO, FIXTURES[0][0]), 'rb') as f:
            data = bytearray(f.read())
        off = 36 + 69012
        data[off + 24:off + 28] = struct.pack('<I', 325)
        bad = os.path.join(self.dir, 'bad.h265')
        with open(bad, 'wb') as f:
            f.write(data)

        ngx = self.start_nginx(stream_main=MP4_LOG)
        ngx.expect_log(r'\[warn\].*no MP4 of ".*-front-video\.h265", '
                       r'stored as received: record 2 at byte 69409: no '
                       r'PTMF magic')
        r = ngx.sim('--files', 'videof:@' + bad, '--verify-store',
                    ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, mp4, side = self.stored(ngx)
        self.assertEqual((len(raw), len(mp4), len(side)), (1, 0, 1))
        self.assertEqual(self.read(ngx, raw[0]), bytes(data))
        sc = self.sidecar(ngx, raw[0])
        self.assertEqual(sc['mp4'], {
            'error': 'record 2 at byte 69409: no PTMF magic '
                     '(54 4d 46 00)'})
        ngx.wait_log(r'\[warn\].*no MP4 of')
        self.assertEqual(ngx.temp_files(), [])
        self.assertEqual(self.mp4_log(ngx, 1), ['ok -'])


if __name__ == '__main__':
    unittest.main()
