#!/usr/bin/env python3
"""`make bench`: the module against the limits of this machine (issue 5).

Starts its own nginx with the module (t/lib/harness.py: a temp prefix,
free 127.0.0.1 ports, stopped by pid at the end), runs dualcam-sim
scenarios next to the raw sink (bench/sink.c fed by bench/rawsend.c), and
prints a table that it also writes to bench/RESULTS.md with the machine
and the commands to reproduce.  Figures are ratios measured side by side
in one run; targets are printed next to them and nothing fails on them.

Scenarios (--only takes a comma-separated subset):
    crc      MB/s of every CRC path and memcpy (build/bench/crc_bench)
    core     the protocol core alone: one 64 MB upload through
             dualcam_server_step() in memory, MB/s and ns per frame
    mp4      the remuxer alone: MB/s of making the MP4 of each real
             DualCam recording in memory (build/bench/mp4_bench)
    one      one device, one 64 MB video, vs the raw sink
    many     100 devices at once, 6 MB each, vs the raw sink, CPU s/GB
    small    the durable small-file rate: 1,000 x 50 KB photos through the
             module (defaults, and the old defaults: fsync in the worker)
             vs a C loop of write + fsync + rename (bench/fsyncloop.c) and
             the raw sink with an fsync per file, interleaved
    status   status GET latency (p50/p99/max) while 1,000 devices commit,
             defaults vs the old defaults
    wire     bytes on the wire / file bytes at 2,000 devices (dualcam-sim),
             defaults vs the old defaults
    conc     10,000 devices at a GSM rate, 50 KB photo each: RSS/device,
             socket memory, status latency, every file byte-exact
    faults   1,000 devices, 1% bad CRC, 1% drops: byte-exact, resumes
    notify   200 devices x 2 photos, dualcam_notify on against off (two
             servers of one nginx, runs interleaved): upload MB/s and
             files/s, and how long the last event takes to arrive
    profile  callgrind of one single-process nginx receiving one video
    ab       (not by default) the module with bench/proposals/*.patch
             applied, built in a temp copy, against the module as it is
    front    a GSM-rate fleet straight to one node, then through the
             cluster front (dualcam_preread, hash $dualcam_imei) to three
             nodes, plain and over TLS: CPU and RSS of the front and the
             nodes (bench/front.py)
"""

import argparse
import atexit
import datetime
import glob
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 't', 'lib'))

import harness  # noqa: E402

BUILD = os.path.join(ROOT, 'build')
SIM = os.path.join(BUILD, 'dualcam-sim')
SINK = os.path.join(BUILD, 'bench', 'sink')
RAWSEND = os.path.join(BUILD, 'bench', 'rawsend')
FSYNCLOOP = os.path.join(BUILD, 'bench', 'fsyncloop')
CRC_BENCH = os.path.join(BUILD, 'bench', 'crc_bench')
CORE_BENCH = os.path.join(BUILD, 'bench', 'core_bench')
MP4_BENCH = os.path.join(BUILD, 'bench', 'mp4_bench')
VIDEO = os.path.join(ROOT, '..', 'shared', 'fixtures', 'video')
RESULTS = os.path.join(ROOT, 'bench', 'RESULTS.md')

MB = 1 << 20
CLK_TCK = os.sysconf('SC_CLK_TCK')
PAGE = os.sysconf('SC_PAGE_SIZE')
NOFILE = 20000

# small comes before the scenarios that write and delete gigabytes (see
# quiet())
SCENARIOS = ('crc', 'core', 'mp4', 'small', 'one', 'many', 'status',
             'wire', 'conc', 'faults', 'notify', 'profile', 'ab', 'front')
DEFAULT = ('crc', 'core', 'mp4', 'small', 'one', 'many', 'status', 'wire',
           'conc', 'faults', 'notify', 'profile', 'front')

# issue 9, item 1: the defaults before it (fsync in the worker)
TODAY = 'dualcam_thread_pool off; dualcam_fsync on;'

notes = []          # free text for RESULTS.md, in order
rows = []           # (scenario, figure, value, target, verdict)


def log(msg):
    print(msg, flush=True)


def note(msg):
    log('  note: ' + msg)
    notes.append(msg)


def row(scenario, figure, value, target='', ok=None):
    verdict = '' if ok is None else ('met' if ok else '**missed**')
    rows.append((scenario, figure, value, target, verdict))
    log('  %-8s %-44s %-22s %-14s %s' % (scenario, figure, value, target,
                                          verdict))


# --- the machine ------------------------------------------------------------

def sh(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                           timeout=30)
        return (r.stdout + r.stderr).strip()
    except Exception as e:      # noqa: BLE001
        return 'n/a (%s)' % e


def machine():
    model = ''
    for line in sh('lscpu').splitlines():
        if line.startswith('Model name:'):
            model = line.split(':', 1)[1].strip()
    flags = open('/proc/cpuinfo').read()
    feats = [f for f in ('pclmulqdq', 'vpclmulqdq', 'avx2', 'avx512f')
             if re.search(r'\b%s\b' % f, flags)]
    return [
        ('CPU', '%s (%s)' % (model, ', '.join(feats))),
        ('nproc', sh('nproc')),
        ('memory', sh("free -g | awk '/^Mem:/{print $2 \" GiB\"}'")),
        ('kernel', platform.release()),
        ('nginx', sh('nginx -v')),
        ('compiler', sh('cc --version | head -1')),
        ('filesystem', sh('df -T %s | awk \'NR==2{print $2}\''
                          % tempfile.gettempdir())),
        ('virtualisation', sh("lscpu | awk -F: '/Hypervisor vendor/"
                              "{gsub(/ /,\"\",$2); print $2}'") or 'none'),
    ]


def raise_limits():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(NOFILE, hard) if hard != resource.RLIM_INFINITY else NOFILE
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return soft, want, hard


# --- /proc ------------------------------------------------------------------

def proc_cpu(pid):
    """utime + stime of pid in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        st = f.read()
    rest = st[st.rfind(')') + 2:].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def proc_rss(pid):
    """VmRSS of pid in KiB."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def sockstat_tcp():
    """(inuse, mem pages) from /proc/net/sockstat."""
    with open('/proc/net/sockstat') as f:
        for line in f:
            if line.startswith('TCP:'):
                p = line.split()
                d = dict(zip(p[1::2], p[2::2]))
                return int(d.get('inuse', 0)), int(d.get('mem', 0))
    return 0, 0


def established(port):
    """Established TCP connections whose local port is port (server side)."""
    want = ':%04X' % port
    n = 0
    for path in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split(None, 4)
                    if p[3] == '01' and p[1].endswith(want):
                        n += 1
        except OSError:
            pass
    return n


def workers_cpu(ngx):
    return sum(proc_cpu(p) for p in ngx.worker_pids())


def workers_rss(ngx):
    return sum(proc_rss(p) for p in ngx.worker_pids())


def settle():
    """Write back what earlier runs left dirty, outside any timing."""
    os.sync()
    time.sleep(0.3)


def quiet(seconds=15):
    """Before a scenario that measures the disk: what the scenario before
    it wrote is written back and the disk left alone for a while.  After
    a scenario that writes and deletes gigabytes the same disk measured
    25-50% slower for some seconds (this disk is mounted with online
    discard; the cause is not established)."""
    settle()
    time.sleep(seconds)


def empty_dir(path):
    for name in os.listdir(path):
        p = os.path.join(path, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.unlink(p)


def count_files(top, suffix=None):
    n = 0
    for _, _, files in os.walk(top):
        n += sum(1 for f in files if suffix is None or f.endswith(suffix))
    return n


def http_get(url, timeout=30):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return time.monotonic() - t0, body


def find_key(obj, pattern):
    """All (path, value) of numeric leaves whose key matches pattern."""
    rx = re.compile(pattern)
    out = []

    def walk(o, path):
        if isinstance(o, dict):
            for k, v in o.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) \
                        and rx.search(k):
                    out.append(('.'.join(path + [k]), v))
                walk(v, path + [k])
        elif isinstance(o, list) and len(o) < 64:
            for i, v in enumerate(o):
                walk(v, path + [str(i)])
    walk(obj, [])
    return out


def last_json(text):
    """The last line of text that parses as a JSON object."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                return json.loads(line)
            except ValueError:
                continue
    try:
        return json.loads(text)
    except ValueError:
        return None


# --- nginx ------------------------------------------------------------------

STATUS_LOCATION = '/status'


def start_nginx(workers=1, connections=1024, fsync_server=True,
                zone_size='64m', backlog=4096, extra_server='',
                log_level='notice', third_server=None, http_extra=''):
    """An nginx with a default server on port (dualcam_fsync default) and,
    with fsync_server, a second one on port2 with dualcam_fsync off."""
    listen = 'listen 127.0.0.1:%s reuseport backlog=%d;' % ('%s', backlog)
    server = ('    server {\n'
              '        ' + listen + '\n'
              '        dualcam zone=bench;\n'
              '        dualcam_store @STORE@;\n'
              '        dualcam_temp_path @TEMP@;\n'
              '        %s\n'
              '    }\n')
    stream = server % ('@PORT@', extra_server)
    if fsync_server:
        stream += server % ('@PORT2@', 'dualcam_fsync off; ' + extra_server)
    if third_server is not None:
        stream += server % ('@PORT3@', third_server + ' ' + extra_server)
    ngx = harness.Nginx(
        stream=stream, zone='bench ' + zone_size, workers=workers,
        log_level=log_level,
        main='worker_rlimit_nofile %d;' % NOFILE,
        http=('server { listen 127.0.0.1:@HTTP_PORT@; '
              'location %s { dualcam_status bench; } %s }'
              % (STATUS_LOCATION, http_extra)))
    ngx.conf = ngx.conf.replace('worker_connections 1024;',
                                'worker_connections %d;' % connections)
    ngx.status_url = 'http://127.0.0.1:%d%s' % (ngx.http_port,
                                                STATUS_LOCATION)
    ngx.start()
    return ngx


# Deleting many files makes the next runs slow on an ext4 without a
# journal (every inode allocation skips the inodes deleted in the last
# 30-60 s one by one): what the runs wrote is deleted when the bench ends,
# not between scenarios.
DELETE_AT_EXIT = []


def delete_at_exit():
    for path in DELETE_AT_EXIT:
        shutil.rmtree(path, ignore_errors=True)
    del DELETE_AT_EXIT[:]


atexit.register(delete_at_exit)


def stop_nginx(ngx, keep=False, timeout=10):
    bad = ngx.bad_lines()
    if bad:
        note('error.log of the %s run has %d [alert]/[crit] lines, '
             'first: `%s`' % (getattr(ngx, 'label', 'nginx'), len(bad),
                              bad[0][:200]))
    ngx.stop(timeout=timeout)
    if not keep:
        DELETE_AT_EXIT.append(ngx.prefix)
    else:
        log('  kept %s' % ngx.prefix)


def status_json(ngx):
    try:
        _, body = http_get(ngx.status_url)
        return json.loads(body)
    except Exception:           # noqa: BLE001
        return None


# --- the load generators ----------------------------------------------------

def sim_cmd(port, devices, files, imei_base, extra=()):
    return [SIM, '--host', '127.0.0.1', '--port', str(port),
            '--devices', str(devices), '--imei-base', str(imei_base),
            '--files', files, '--json'] + list(extra)


def run_sim(cmd, timeout=300):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    dt = time.monotonic() - t0
    return dt, r


def run_raw(conns, size, directory, fsync=False):
    """Raw sender -> raw sink; (seconds, sink CPU seconds, sink report)."""
    cmd = [SINK, '--listen', '127.0.0.1:0', '--dir', directory,
           '--exit-after', str(conns)]
    if fsync:
        cmd.append('--fsync')
    sink = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = sink.stdout.readline()
        port = int(line.split()[1])
        t0 = time.monotonic()
        # --verify-sink: after the last close, every connection's stream
        # in exactly one of the sink's files, byte for byte (untimed)
        r = subprocess.run([RAWSEND, '--port', str(port), '--conns',
                            str(conns), '--size', str(size),
                            '--verify-sink', directory],
                           capture_output=True, text=True, timeout=300)
        dt = time.monotonic() - t0
        out, _ = sink.communicate(timeout=60)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    j = last_json(r.stdout)
    if j is None:
        raise RuntimeError('rawsend failed: %s' % r.stderr)
    # rawsend's own time: first connect to the sink's last close
    dt = j.get('seconds', dt)
    rep = last_json(out)
    rep['verified'] = j.get('verified', 0)
    if r.returncode != 0:
        rep['errors'] = rep.get('errors', 0) or 1
        rep['rawsend'] = r.stderr.strip()[-300:]
    return dt, rep['utime_s'] + rep['stime_s'], rep


# --- scenarios ----------------------------------------------------------------

def scenario_crc(args):
    log('== crc: MB/s of every path, best of 20 windows of 30 ms '
        '(build/bench/crc_bench)')
    r = subprocess.run([CRC_BENCH], capture_output=True,
                       text=True, timeout=120)
    res = {}
    dispatch = '?'
    for line in r.stdout.splitlines():
        d = json.loads(line)
        if 'dispatch' in d:
            dispatch = d['dispatch']
        else:
            res[(d['impl'], d['chunk'])] = d['mb_s']
    if r.returncode != 0:
        note('crc_bench: paths disagree: %s' % r.stderr.strip()[-500:])
    has_clmul = ('clmul', 1024) in res
    for chunk in (1024, 65536):
        what = '%d B' % chunk if chunk < 65536 else '64 KiB'
        mem = res.get(('memcpy', chunk), 0)
        ref = res.get(('bytewise', chunk), 1)
        for impl in ('dualcam_crc16', 'clmul', 'slice8', 'table',
                     'bytewise', 'memcpy'):
            if (impl, chunk) not in res:
                continue
            v = res[(impl, chunk)]
            target, ok = '', None
            if impl == 'dualcam_crc16' and has_clmul:
                target, ok = '>= 10000', v >= 10000
            elif impl == 'slice8':
                target, ok = '>= 2000 (portable)', v >= 2000
            label = impl + (' -> ' + dispatch if impl == 'dualcam_crc16'
                            else '')
            row('crc', '%s, %s chunks, MB/s' % (label, what),
                '%.0f (%.1fx bytewise, %.2fx memcpy)' % (v, v / ref,
                                                         v / mem if mem
                                                         else 0),
                target, ok)
    if not has_clmul:
        note('no PCLMULQDQ: the 10 GB/s target does not apply here')


def scenario_mp4(args):
    log('== mp4: the remuxer on the real recordings, in memory, best of '
        '20 windows of 50 ms (build/bench/mp4_bench)')
    files = sorted(glob.glob(os.path.join(VIDEO, '*.h265')))
    r = subprocess.run([MP4_BENCH] + files, capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0 or not files:
        row('mp4', 'mp4_bench', 'failed: %s' % r.stderr.strip()[-80:])
        return
    for line in r.stdout.splitlines():
        d = json.loads(line)
        row('mp4', 'remux %s (%d KB), MB/s of input' % (
            d['file'], d['bytes'] // 1024),
            '%.0f (memcpy %.0f; MP4 %d KB)' % (d['mb_s'], d['memcpy_mb_s'],
                                               d['mp4_bytes'] // 1024),
            '>= 1000', d['mb_s'] >= 1000)


def scenario_core(args):
    log('== core: one 64 MB upload through dualcam_server_step(), '
        'in memory, best of 5 (build/bench/core_bench)')
    r = subprocess.run([CORE_BENCH], capture_output=True, text=True,
                       timeout=120)
    j = last_json(r.stdout)
    if r.returncode != 0 or j is None:
        row('core', 'core_bench', 'failed: %s' % r.stderr.strip()[-80:])
        return
    row('core', 'dualcam_server_step, MB/s of payload',
        '%.0f (%.0f ns per frame, CRC %s)' % (j['core_mb_s'],
                                               j['ns_per_frame'], j['crc']))
    row('core', 'memcpy of the same stream, MB/s',
        '%.0f (core = %.2fx memcpy)' % (j['memcpy_mb_s'],
                                        j['core_mb_s'] / j['memcpy_mb_s']))
    if shutil.which('valgrind'):
        out = os.path.join(tempfile.gettempdir(),
                           'dualcam-bench-core.callgrind')
        subprocess.run(['valgrind', '--tool=callgrind',
                        '--callgrind-out-file=' + out,
                        '--toggle-collect=dualcam_server_step',
                        CORE_BENCH, '--once', '--size', str(8 * MB)],
                       capture_output=True, timeout=300)
        if os.path.exists(out):
            total, funcs = annotate(out, top=6)
            frames = 8 * MB // 1024
            row('core', 'instructions per DATA frame (callgrind)',
                '%.0f (%s)' % (total / frames, ', '.join(
                    '%s %.0f%%' % (f[2], f[1]) for f in funcs[:3])))


def dualcam_run(ngx, port, devices, size, imei_base, verify):
    """One timed sim run; returns (seconds, worker CPU s, result)."""
    empty_dir(ngx.store)
    settle()
    extra = ['--concurrency', str(devices)]
    if verify:
        extra += ['--verify-store', ngx.store]
    cmd = sim_cmd(port, devices, 'videof:%d' % size, imei_base, extra)
    cpu0 = workers_cpu(ngx)
    dt, r = run_sim(cmd)
    time.sleep(0.05)            # the last commit's accounting
    cpu1 = workers_cpu(ngx)
    stored = count_files(ngx.store, '.h265')
    j = last_json(r.stdout) or {}
    res = {'rc': r.returncode, 'stored': stored, 'json': j,
           'stderr': r.stderr[-2000:], 'cmd': cmd}
    # the sim's own wall time: first connect to last file, without the
    # process start and without --verify-store
    if j.get('wall_s'):
        dt = j['wall_s']
    return dt, cpu1 - cpu0, res


def fast_run(ngx, port, devices, size, imei_base):
    """One timed run of rawsend --dualcam; (seconds, worker CPU s, res)."""
    empty_dir(ngx.store)
    settle()
    cmd = [RAWSEND, '--port', str(port), '--conns', str(devices), '--size',
           str(size), '--dualcam', '--imei-base', str(imei_base),
           '--verify-store', ngx.store]
    cpu0 = workers_cpu(ngx)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    dt = time.monotonic() - t0
    time.sleep(0.05)
    cpu1 = workers_cpu(ngx)
    j = last_json(r.stdout) or {}
    res = {'rc': r.returncode, 'verified': j.get('verified', 0),
           'stderr': r.stderr[-2000:], 'cmd': cmd}
    return j.get('seconds', dt), cpu1 - cpu0, res


KINDS = (
    # key, label, how
    ('raw', 'raw sink (write(2) only)', 'raw'),
    ('on', 'dualcam, default (dualcam_fsync on)', 'fast:port'),
    ('raw_fsync', 'raw sink + fsync per file', 'raw_fsync'),
    ('off', 'dualcam, dualcam_fsync off', 'fast:port2'),
    ('buf', 'dualcam, fsync on, dualcam_buffer_size 64k', 'fast:port3'),
)


def throughput(args, scen, devices, size, reps):
    quiet()
    # the ingest path as measured before MP4 existed: random video bytes
    # are no recording, and the remux attempt is not what these rows ask
    ngx = start_nginx(workers=1, connections=4096, fsync_server=True,
                      extra_server='dualcam_mp4 off;',
                      third_server='dualcam_buffer_size 64k;')
    ngx.label = scen
    sinkdir = os.path.join(ngx.prefix, 'sink')
    os.makedirs(sinkdir)
    payload = devices * size
    m = {k[0]: [] for k in KINDS}
    cpu = {k[0]: [] for k in KINDS}
    failures = []
    sim = {}
    base = 350000000000000 + (1000000 if devices > 1 else 0)
    ports = {'port': ngx.port, 'port2': ngx.port2, 'port3': ngx.port3}
    try:
        # warm-up, not counted: the first touch of fresh page-cache pages
        # costs several times more in this VM (copy_folio_from_iter_atomic
        # and memset dominate the sink's profile then)
        run_raw(devices, size, sinkdir)
        fast_run(ngx, ngx.port2, devices, size, base)
        for rep in range(reps):
            for key, label, how in KINDS:
                if how.startswith('raw'):
                    empty_dir(sinkdir)
                    settle()
                    dt, c, rep_ = run_raw(devices, size, sinkdir,
                                          fsync=how == 'raw_fsync')
                    if (rep_['errors'] or rep_['closed'] != devices
                            or rep_['verified'] != devices):
                        failures.append('raw sink: %r' % rep_)
                else:
                    base += 10000
                    dt, c, res = fast_run(ngx, ports[how.split(':')[1]],
                                          devices, size, base)
                    if res['rc'] != 0 or res['verified'] != devices:
                        failures.append(
                            '%s: rc %s, %d of %d verified: %s'
                            % (label, res['rc'], res['verified'], devices,
                               res['stderr'].strip()[-300:]))
                m[key].append(payload / dt / 1e6)
                cpu[key].append(c / (payload / 1e9))
            log('  rep %d: %s MB/s' % (rep + 1, ', '.join(
                '%s %.0f' % (k, m[k][-1]) for k in m)))
        # the project's simulator as the device, once per fsync mode
        for key, port in (('on', ngx.port), ('off', ngx.port2)):
            base += 10000
            dt, c, res = dualcam_run(ngx, port, devices, size, base, True)
            ok = (res['rc'] == 0 and res['stored'] == devices
                  and ((res['json'].get('verify') or {}).get('ok')
                       == devices))
            sim[key] = (payload / dt / 1e6, c / (payload / 1e9), ok)
            if not ok:
                failures.append('dualcam-sim fsync %s: rc %s, %d of %d '
                                'stored, verify %s, errors %s: %s' % (
                                    key, res['rc'], res['stored'], devices,
                                    res['json'].get('verify'),
                                    {k: v for k, v in (res['json'].get(
                                        'errors') or {}).items() if v},
                                    res['stderr'].strip()[-300:]))
    finally:
        stop_nginx(ngx)
    med = {k: statistics.median(v) for k, v in m.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    target = 0.90 if devices == 1 else 0.85
    what = ('one 64 MB video' if devices == 1
            else '%d devices x %d MB' % (devices, size // MB))
    row(scen, 'raw sink (write(2) only), MB/s, %s' % what,
        '%.0f (%.0f..%.0f)' % (med['raw'], min(m['raw']), max(m['raw'])))
    row(scen, 'raw sink + fsync per file, MB/s', '%.0f (%.0f..%.0f)' % (
        med['raw_fsync'], min(m['raw_fsync']), max(m['raw_fsync'])))
    for key, label, how in KINDS:
        if not how.startswith('fast'):
            continue
        base_key = 'raw_fsync' if key == 'on' else 'raw'
        row(scen, label + ', MB/s', '%.0f (%.0f..%.0f)' % (
            med[key], min(m[key]), max(m[key])))
        row(scen, '  ratio to raw', '%.0f%%' % (100 * med[key] / med['raw']),
            '>= %d%%' % (100 * target), med[key] >= target * med['raw'])
        if key in ('on', 'buf'):
            row(scen, '  ratio to raw + fsync', '%.0f%%' % (
                100 * med[key] / med['raw_fsync']))
    for key in ('on', 'off'):
        if key in sim:
            row(scen, 'dualcam-sim as the device, fsync %s, MB/s' % key,
                '%.0f (%.0f%% of raw, %.0f%% of rawsend --dualcam)' % (
                    sim[key][0], 100 * sim[key][0] / med['raw'],
                    100 * sim[key][0] / med[key]))
    if devices > 1 or args.cpu_one:
        for key, label, how in KINDS:
            if not how.startswith('fast'):
                continue
            ratio = cmed[key] / cmed['raw'] if cmed['raw'] else float('inf')
            row(scen, 'CPU s/GB, nginx worker (%s) / sink'
                % label.split(', ', 1)[1],
                '%.2f / %.2f = %.2fx' % (cmed[key], cmed['raw'], ratio),
                '<= 1.3x', ratio <= 1.3)
        ratio = cmed['on'] / cmed['raw_fsync']
        row(scen, 'CPU s/GB, nginx (fsync on) / sink + fsync',
            '%.2f / %.2f = %.2fx' % (cmed['on'], cmed['raw_fsync'], ratio),
            '<= 1.3x', ratio <= 1.3)
    row(scen, 'files stored byte-exact (every run)',
        'all' if not failures else '%d failures' % len(failures), '100%',
        not failures)
    for f in failures[:5]:
        note('%s: %s' % (scen, f))
    return med, cmed


def scenario_one(args):
    log('== one: one device, one 64 MB video, vs the raw sink '
        '(median of %d interleaved reps)' % max(args.reps, 5))
    throughput(args, 'one', 1, 64 * MB, max(args.reps, 5))


def scenario_many(args):
    log('== many: 100 devices at once, 6 MB each, vs the raw sink '
        '(median of %d interleaved reps)' % args.reps)
    throughput(args, 'many', 100, 6 * MB, args.reps)



# --- issue 9: durable small files, status latency, bytes on the wire --------

SMALL_N = 1000
SMALL_SIZE = 50 * 1000
SMALL_REPS = 7          # at least: a rep takes ~5 s, and the disk is noisy
SMALL_QUIET = 20        # s left to the disk before the first run


def photo_run(ngx, port, n, size, imei_base, poller=None):
    """n devices at once, one photo each, by rawsend --dualcam --photo;
    (seconds, verified, rc, stderr).  What earlier runs stored stays:
    imei_base keeps the runs apart (see scenario_small)."""
    settle()
    cmd = [RAWSEND, '--port', str(port), '--conns', str(n), '--size',
           str(size), '--dualcam', '--photo', '--imei-base', str(imei_base),
           '--verify-store', ngx.store]
    if poller is not None:
        poller.window(True)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    dt = time.monotonic() - t0
    if poller is not None:
        poller.window(False)
    j = last_json(r.stdout) or {}
    return j.get('seconds', dt), j.get('verified', 0), r.returncode, \
        r.stderr.strip()[-300:]


def fsyncloop_run(directory, n, size):
    settle()
    r = subprocess.run([FSYNCLOOP, '--dir', directory, '--files', str(n),
                        '--size', str(size)], capture_output=True,
                       text=True, timeout=600)
    j = last_json(r.stdout)
    if r.returncode != 0 or j is None:
        raise RuntimeError('fsyncloop failed: %s' % r.stderr)
    return j['seconds']


def scenario_small(args):
    """Every run writes into directories of its own, and nothing is
    deleted until the scenario ends: on an ext4 without a journal (this
    machine's), every inode allocation skips the inodes deleted in the
    last 30-60 s one by one, so the files one run deleted made the next
    run slow, whichever it was (see RESULTS.md, Analysis)."""
    n, size = SMALL_N, SMALL_SIZE
    reps = max(args.reps, SMALL_REPS)
    log('== small: %d x %d B photos, durable: the module vs write + fsync '
        '+ rename in a C loop vs the raw sink + fsync, %d interleaved reps'
        % (n, size, reps))
    quiet(SMALL_QUIET)
    ngx = start_nginx(workers=1, connections=4096, fsync_server=True,
                      third_server=TODAY)
    ngx.label = 'small'
    rate = {'loop': [], 'sink': [], 'on': [], 'today': [], 'off': []}
    cpu = {'on': [], 'today': [], 'off': []}
    failures = []
    base = 400000000000000

    def fresh(what, rep_):
        d = os.path.join(ngx.prefix, '%s-%d' % (what, rep_))
        os.makedirs(d)
        return d

    try:
        for _ in range(2):                                  # warm-up
            base += 10000
            photo_run(ngx, ngx.port, n, size, base)
        for rep_ in range(reps):
            rate['loop'].append(n / fsyncloop_run(fresh('loop', rep_), n,
                                                  size))
            for key, port in (('on', ngx.port), ('today', ngx.port3),
                              ('off', ngx.port2)):
                base += 10000
                c0 = workers_cpu(ngx)
                dt, ok, rc, err = photo_run(ngx, port, n, size, base)
                cpu[key].append((workers_cpu(ngx) - c0) / n)
                rate[key].append(n / dt)
                if rc != 0 or ok != n:
                    failures.append('%s: rc %d, %d of %d verified: %s'
                                    % (key, rc, ok, n, err))
                if key == 'on':
                    settle()
                    dt, _, rep = run_raw(n, size, fresh('sink', rep_),
                                         fsync=True)
                    rate['sink'].append(n / dt)
                    if rep['errors'] or rep['verified'] != n:
                        failures.append('raw sink: %r' % rep)
            log('  rep %d: files/s %s' % (rep_ + 1, ', '.join(
                '%s %.0f' % (k, v[-1]) for k, v in rate.items())))
    finally:
        stop_nginx(ngx)
    med = {k: statistics.median(v) for k, v in rate.items()}

    def rng(k):
        return '%.0f (%.0f..%.0f)' % (med[k], min(rate[k]), max(rate[k]))

    row('small', 'C loop write + fsync + rename, 50 KB files/s', rng('loop'))
    row('small', 'raw sink + fsync per file, %d devices, files/s' % n,
        rng('sink'))
    row('small', 'dualcam defaults (thread pool, group commit), files/s',
        rng('on'))
    # side by side: each rep's module run against the loop run just
    # before it, on the same disk in the same minute
    side = [a / b for a, b in zip(rate['on'], rate['loop'])]
    row('small', '  ratio to the C loop, median of the reps',
        '%.0f%% (per rep: %s; of the medians %.0f%%)' % (
            100 * statistics.median(side),
            ', '.join('%.0f%%' % (100 * r) for r in side),
            100 * med['on'] / med['loop']),
        '>= 80%', statistics.median(side) >= 0.8)
    row('small', '  ratio to the raw sink + fsync',
        '%.0f%%' % (100 * med['on'] / med['sink']))
    row('small', 'dualcam old defaults (fsync in the worker), files/s',
        rng('today'))
    row('small', '  ratio to the C loop',
        '%.0f%%' % (100 * med['today'] / med['loop']))
    row('small', 'dualcam dualcam_fsync off (no durability), files/s',
        rng('off'))
    row('small', 'worker CPU per file, ms: defaults / old / fsync off',
        '%.2f / %.2f / %.2f' % tuple(1000 * statistics.median(cpu[k])
                                     for k in ('on', 'today', 'off')))
    row('small', 'files stored byte-exact (every run)',
        'all' if not failures else '%d failures' % len(failures), '100%',
        not failures)
    for f in failures[:5]:
        note('small: %s' % f)


class FastPoller(threading.Thread):
    """GETs the status page back to back (pause s apart); keeps only the
    latencies of GETs that started inside a window()."""

    def __init__(self, url, pause=0.05):
        threading.Thread.__init__(self, daemon=True)
        self.url = url
        self.pause = pause
        self.stop = threading.Event()
        self.open = False
        self.lat = []
        self.errors = []

    def window(self, on):
        self.open = on

    def run(self):
        while not self.stop.is_set():
            inside = self.open
            try:
                dt, _ = http_get(self.url, timeout=120)
                if inside:
                    self.lat.append(dt)
            except Exception as e:      # noqa: BLE001
                if inside:
                    self.errors.append(str(e)[:200])
            self.stop.wait(self.pause)


def pct(values, p):
    v = sorted(values)
    if not v:
        return float('nan')
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def scenario_status(args):
    n, size = SMALL_N, SMALL_SIZE
    log('== status: GETs of the status page every 50 ms while %d devices '
        'upload and commit a %d B photo each; defaults vs the old defaults '
        '(fsync in the worker), %d interleaved reps' % (n, size, args.reps))
    res = {}
    failures = []
    base = 410000000000000
    quiet()
    for key, conf in (('on', ''), ('today', TODAY)):
        res[key] = {'lat': [], 'errors': [], 'idle': [], 'dt': []}
    ngx = {}
    try:
        for key, conf in (('on', ''), ('today', TODAY)):
            ngx[key] = start_nginx(workers=1, connections=4096,
                                   fsync_server=False, extra_server=conf)
            ngx[key].label = 'status ' + key
        for rep_ in range(args.reps):
            for key in ('on', 'today'):
                x = ngx[key]
                for _ in range(3):
                    res[key]['idle'].append(http_get(x.status_url)[0])
                poller = FastPoller(x.status_url)
                poller.start()
                base += 10000
                try:
                    dt, ok, rc, err = photo_run(x, x.port, n, size, base,
                                                poller)
                finally:
                    poller.stop.set()
                    poller.join(150)
                res[key]['lat'] += poller.lat
                res[key]['errors'] += poller.errors
                res[key]['dt'].append(dt)
                if rc != 0 or ok != n:
                    failures.append('%s: rc %d, %d of %d verified: %s'
                                    % (key, rc, ok, n, err))
            log('  rep %d: p99 ms %s' % (rep_ + 1, ', '.join(
                '%s %.0f' % (k, 1000 * pct(v['lat'], 99))
                for k, v in res.items())))
    finally:
        for x in ngx.values():
            stop_nginx(x)
    for key, label in (('on', 'defaults (thread pool, group commit)'),
                       ('today', 'old defaults (fsync in the worker)')):
        lat = res[key]['lat']
        row('status', '[%s] status GET while %d commit, ms' % (label, n),
            'p50 %.1f, p99 %.0f, max %.0f (%d GETs)' % (
                1000 * pct(lat, 50), 1000 * pct(lat, 99),
                1000 * max(lat) if lat else float('nan'), len(lat)))
        row('status', '[%s] status GET idle, ms; upload wave, s' % label,
            'median %.1f; %s' % (
                1000 * statistics.median(res[key]['idle']),
                '/'.join('%.1f' % d for d in res[key]['dt'])))
        if res[key]['errors']:
            note('status %s: GET errors: %s' % (key, res[key]['errors'][:3]))
    on, today = pct(res['on']['lat'], 99), pct(res['today']['lat'], 99)
    row('status', 'p99: defaults / old defaults', '%.0f / %.0f ms = %.2fx'
        % (1000 * on, 1000 * today, on / today if today else 0))
    row('status', 'files stored byte-exact (every run)',
        'all' if not failures else '%d failures' % len(failures), '100%',
        not failures)
    for f in failures[:5]:
        note('status: %s' % f)


def scenario_wire(args):
    n = args.wire_devices
    files = 'photof:51200,videof:262144'
    log('== wire: %d devices (dualcam-sim), %s each, no faults: bytes on '
        'the wire / file bytes; defaults vs the old defaults' % (n, files))
    for key, label, conf in (
            ('on', 'defaults (thread pool, group commit)', ''),
            ('today', 'old defaults (fsync in the worker)', TODAY)):
        ngx = start_nginx(workers=2, connections=8000, fsync_server=False,
                          extra_server=conf)
        ngx.label = 'wire ' + key
        try:
            cmd = sim_cmd(ngx.port, n, files,
                          420000000000000 + (0 if key == 'on' else 100000),
                          ['--concurrency', '500', '--timeout', '300',
                           '--log-resumes', '--verify-store', ngx.store])
            dt, r = run_sim(cmd, timeout=400)
        finally:
            stop_nginx(ngx)
        j = last_json(r.stdout) or {}
        offered = j.get('bytes_offered') or 1
        wire = j.get('wire_bytes', 0) / offered
        data = j.get('bytes_sent', 0) / offered
        ok = (j.get('verify') or {}).get('ok', 0)
        errs = {k: v for k, v in (j.get('errors') or {}).items() if v}
        row('wire', '[%s] bytes on the wire / file bytes' % label,
            '%.4f (DATA file bytes %.4f, framing 6 B per 1024)' % (wire,
                                                                   data),
            '<= 1.02', wire <= 1.02)
        # every RESUME the devices heard: one per file is the start
        heard = re.findall(r'^resume imei=\S+ file=\S+ unit=(\d+)$',
                           r.stderr, re.M)
        row('wire', '[%s] RESUMEs heard (of them at packet 1, beyond the '
            'start); files; wall, s' % label,
            '%d (%d, %s) for %d files; %d delivered, %d verified%s; %.1f'
            % (len(heard), sum(1 for u in heard if int(u) <= 1),
               j.get('resumes'), 2 * n, j.get('files_delivered', 0), ok,
               ', errors %s' % errs if errs else '', j.get('wall_s', dt)))
        if r.returncode != 0:
            note('wire %s: sim rc %d: %s' % (key, r.returncode,
                                             r.stderr.strip()[-300:]))


def status_totals(doc):
    """The numeric totals of a status document, flattened."""
    if not isinstance(doc, dict):
        return {}
    out = {}
    for path, v in find_key(doc, r'.'):
        if not re.search(r'(^|\.)(sessions|recent)\.\d', path):
            out[path] = v
    return out


def established_ss(port):
    """Established connections with local port `port`, from ss(8) (one
    netlink dump; /proc/net/tcp double-counts sockets that move while a
    20,000-line file is read in pieces)."""
    try:
        r = subprocess.run(['ss', '-Htn', 'state', 'established',
                            '( sport = :%d )' % port],
                           capture_output=True, text=True, timeout=30)
        return sum(1 for line in r.stdout.splitlines() if line.strip())
    except (OSError, subprocess.TimeoutExpired):
        return established(port)


class StatusPoller(threading.Thread):
    """GETs the status page once a second, off the sampling loop."""

    def __init__(self, url, port):
        threading.Thread.__init__(self, daemon=True)
        self.url = url
        self.port = port
        self.stop = threading.Event()
        self.lat = []           # (seconds, bytes, established, active)
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            conn = established_ss(self.port)
            try:
                dt, body = http_get(self.url, timeout=120)
                active = None
                try:
                    active = json.loads(body)['totals']['sessions_active']
                except (ValueError, KeyError, TypeError):
                    pass
                self.lat.append((dt, len(body), conn, active))
            except Exception as e:      # noqa: BLE001
                self.errors.append(str(e)[:200])
            self.stop.wait(1.0)


def conc_run(args, pool):
    n = args.conc_devices
    nproc = max(2, (n + 4999) // 5000 + 1)
    size = 50 * 1000
    rate = args.conc_rate
    label = 'thread pool' if pool else 'fsync in the worker'
    log('== conc (%s): %d devices, %d B photo each at %d B/s, %d sims'
        % (label, n, size, rate, nproc))
    ngx = start_nginx(workers=2, connections=12000, fsync_server=False,
                      extra_server='dualcam_thread_pool default;' if pool
                      else 'dualcam_thread_pool off;')
    ngx.label = 'conc (%s)' % label
    per = [n // nproc + (1 if i < n % nproc else 0) for i in range(nproc)]
    sims = []
    samples = []
    poller = None
    try:
        time.sleep(1.0)
        rss0 = workers_rss(ngx)
        sock0 = sockstat_tcp()
        idle_lat = []
        for _ in range(3):
            dt, _ = http_get(ngx.status_url)
            idle_lat.append(dt)
        poller = StatusPoller(ngx.status_url, ngx.port)
        ramp = args.conc_ramp
        t0 = time.monotonic()
        next_start = t0
        base = 360000000000000 + (0 if pool else 1000000)
        started = 0
        peak = None
        while True:
            now = time.monotonic()
            if started < nproc and now >= next_start:
                cmd = sim_cmd(ngx.port, per[started], 'photof:%d' % size,
                              base + started * 100000,
                              ['--rate', str(rate), '--concurrency',
                               str(args.conc_inflight), '--seed',
                               str(started + 1), '--verify-store',
                               ngx.store])
                out = open(os.path.join(ngx.prefix, 'sim%d.out' % started),
                           'w+')
                err = open(os.path.join(ngx.prefix, 'sim%d.err' % started),
                           'w+')
                sims.append((subprocess.Popen(cmd, stdout=out, stderr=err),
                             out, err, cmd))
                started += 1
                next_start = now + ramp / nproc
                if started == 1:
                    poller.start()
            conn = established_ss(ngx.port)
            rss = workers_rss(ngx)
            sock = sockstat_tcp()
            samples.append((now - t0, conn, rss, sock[0], sock[1]))
            if peak is None or conn > peak[1]:
                peak = samples[-1]
            if started == nproc and all(p.poll() is not None
                                        for p, _, _, _ in sims):
                break
            if now - t0 > args.conc_timeout:
                note('conc (%s): sims still running after %d s, killed'
                     % (label, args.conc_timeout))
                for p, _, _, _ in sims:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - t0
        poller.stop.set()
        poller.join(150)
        final_status = status_json(ngx)
    finally:
        if poller is not None:
            poller.stop.set()
        stored = count_files(ngx.store, '.jpg')
        results = {}
        for line in ngx.access_log().splitlines():
            parts = line.split()
            if len(parts) > 2:
                results[parts[2]] = results.get(parts[2], 0) + 1
        stop_nginx(ngx, keep=args.keep)

    ok_files = 0
    sim_fail = []
    p50 = []
    for p, out, err, cmd in sims:
        out.seek(0)
        err.seek(0)
        j = last_json(out.read()) or {}
        ok_files += (j.get('verify') or {}).get('ok', 0)
        p50.append((j.get('file_ms') or {}).get('p50', 0))
        if p.returncode != 0:
            sim_fail.append('rc %s: %s %s' % (
                p.returncode, err.read().strip()[-300:], json.dumps(
                    {k: j.get(k) for k in ('verify', 'errors',
                                           'files_delivered')})))
        out.close()
        err.close()

    sc = 'conc'
    t, conn, rss, inuse, mem = peak
    per_dev = (rss - rss0) / conn if conn else float('nan')
    sock_per = (mem - sock0[1]) * PAGE / 1024 / conn if conn else 0
    row(sc, '[%s] devices connected at once (peak)' % label,
        '%d of %d' % (conn, n), '%d' % n, conn >= n)
    row(sc, '[%s] files stored byte-exact' % label,
        '%d stored, %d verified by the sims%s' % (
            stored, ok_files, '' if not sim_fail else
            ', %d sims failed' % len(sim_fail)),
        '%d' % n, stored == n and ok_files == n and not sim_fail)
    row(sc, '[%s] session results (access log)' % label, ', '.join(
        '%s %d' % kv for kv in sorted(results.items())))
    row(sc, '[%s] nginx worker RSS growth per device, KiB' % label,
        '%.2f (%d -> %d KiB, 2 workers)' % (per_dev, rss0, rss), '<= 8',
        per_dev <= 8)
    row(sc, '[%s] kernel TCP memory per device, KiB' % label,
        '%.2f (both ends; %d -> %d pages)' % (sock_per, sock0[1], mem))
    good = [x for x in poller.lat] if poller else []
    busy = [x for x in good if x[2] >= n * 0.9]
    if busy:
        ds = sorted(x[0] * 1000 for x in busy)
        row(sc, '[%s] status GET with >= 90%% connected, ms' % label,
            'median %.0f, max %.0f (%d GETs, %d KB)' % (
                statistics.median(ds), ds[-1], len(ds),
                max(x[1] for x in busy) / 1000), '', None)
    if good:
        ds = sorted(x[0] * 1000 for x in good)
        row(sc, '[%s] status GET during the run, ms' % label,
            'median %.0f, max %.0f (%d GETs)' % (statistics.median(ds),
                                                  ds[-1], len(ds)))
    row(sc, '[%s] status GET idle, ms' % label,
        'median %.1f' % (statistics.median(idle_lat) * 1000))
    row(sc, '[%s] photo upload time p50 (sims), s; wall, s' % label,
        '%s; %.0f' % ('/'.join('%.1f' % (x / 1000) for x in p50), elapsed),
        '~%.0f at %d B/s' % (size / rate, rate))
    for f in sim_fail[:3]:
        note('conc (%s): sim %s' % (label, f))
    if poller and poller.errors:
        note('conc (%s): status GET errors: %s' % (label,
                                                   poller.errors[:3]))
    if final_status is not None:
        tot = status_totals(final_status)
        keys = [k for k in tot if re.search(
            r'connections|files_stored$|files_failed|timeouts|'
            r'sessions_active', k)]
        note('conc (%s): status totals at the end: %s' % (label, ', '.join(
            '%s=%s' % (k.split('.')[-1], tot[k]) for k in keys)))
    with open(os.path.join(tempfile.gettempdir(),
                           'dualcam-bench-conc-%s.json' % (
                               'pool' if pool else 'worker')), 'w') as f:
        json.dump({'samples': samples,
                   'lat': poller.lat if poller else []}, f)


def scenario_conc(args):
    conc_run(args, True)
    if not args.conc_pool_only:
        conc_run(args, False)


def scenario_front(args):
    import front
    return front.scenario_front(sys.modules[__name__], args)


def scenario_faults(args):
    n = args.fault_devices
    files = 'photof:51200,videof:262144'
    log('== faults: %d devices at once, %s, 1%% bad CRC, 1%% drops, '
        'up to 3 reconnects after a close by the server' % (n, files))
    ngx = start_nginx(workers=2, connections=8000, fsync_server=False,
                      log_level='info')
    ngx.label = 'faults'
    try:
        before = status_totals(status_json(ngx))
        cmd = sim_cmd(ngx.port, n, files, 370000000000000,
                      ['--concurrency', str(n), '--seed', '42',
                       '--crc-error-rate', '0.01', '--drop-rate', '0.01',
                       '--reconnects', '3', '--verify-store', ngx.store])
        dt, r = run_sim(cmd, timeout=300)
        time.sleep(0.3)
        after = status_totals(status_json(ngx))
        photos = count_files(ngx.store, '.jpg')
        videos = count_files(ngx.store, '.h265')
    finally:
        stop_nginx(ngx, keep=args.keep)
    j = last_json(r.stdout) or {}
    verified = (j.get('verify') or {}).get('ok', 0)
    row('faults', 'files stored byte-exact', '%d photos, %d videos, '
        '%d verified, sim rc %d' % (photos, videos, verified, r.returncode),
        '%d + %d' % (n, n), photos == n and videos == n
        and verified == 2 * n and r.returncode == 0)
    delta = {k: after[k] - before.get(k, 0) for k in after
             if re.search(r'resume|crc|drop|reconnect|timeout|error', k,
                          re.I)}
    simk = {k: v for k, v in find_key(
        j, r'^(connections|resumes|drops|crc_errors)$|.') if
        re.match(r'^(connections|resumes|drops|crc_errors)$|^errors\.', k)
        and v}
    verified = (j.get('verify') or {}).get('ok', 0)
    row('faults', 'resumes (status totals)', ', '.join(
        '%s %d' % (k.split('.')[-1], v) for k, v in sorted(delta.items())
        if v) or 'none counted')
    row('faults', 'faults injected / resumes (sim)', ', '.join(
        '%s %s' % (k, v) for k, v in sorted(simk.items())) or 'n/a')
    row('faults', 'wall time, s', '%.1f' % dt)
    if r.returncode != 0:
        note('faults: sim rc %d, stderr: `%s`, summary: `%s`' % (
            r.returncode, r.stderr.strip()[-400:], json.dumps(
                {k: j.get(k) for k in ('verify', 'errors',
                                       'files_delivered')})))


def annotate(outfile, top=12):
    """(total Ir, [(Ir, share %, function)]) from callgrind_annotate."""
    r = subprocess.run(['callgrind_annotate', '--inclusive=no', '--auto=no',
                        '--threshold=100', outfile],
                       capture_output=True, text=True, timeout=120)
    total = 0
    merged = {}
    for line in r.stdout.splitlines():
        m = re.match(r'^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*?)\s*$', line)
        if m and re.search(r'\(\d+x\)|events annotated', m.group(3)):
            continue
        if m and 'PROGRAM TOTALS' in m.group(3):
            total = int(m.group(1).replace(',', ''))
            continue
        m2 = re.match(r'^\s*([\d,]+)\s+(.*PROGRAM TOTALS.*)$', line)
        if m2:
            total = int(m2.group(1).replace(',', ''))
            continue
        if m:
            # file:function [object]; inlined header code is listed under
            # the header's name: merge by function
            name = re.sub(r'\s*\[.*\]$', '', m.group(3))
            name = name.rsplit(':', 1)[-1]
            ir = int(m.group(1).replace(',', ''))
            merged[name] = merged.get(name, 0) + ir
    funcs = sorted(((ir, 100.0 * ir / total if total else 0, name)
                    for name, ir in merged.items()), reverse=True)
    return total, funcs[:top]


def start_single(ngx, timeout=120):
    """Start a `master_process off` nginx (harness.start() waits for
    worker processes, which a single process never has)."""
    ngx.write_conf()
    ngx._stderr = open(os.path.join(ngx.prefix, 'logs', 'stderr.log'), 'w')
    ngx.proc = subprocess.Popen(ngx._cmd(), stdin=subprocess.DEVNULL,
                                stdout=ngx._stderr,
                                stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ngx.proc.poll() is not None:
            raise RuntimeError('nginx exited: %s' % ngx.error_log()[-2000:])
        try:
            with open(ngx.pid_path) as f:
                pid = int(f.read().strip() or 0)
            if pid:
                ngx._master = pid
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    ngx.wait_port(ngx.port, deadline - time.time())


def scenario_notify(args):
    """dualcam_notify costs the upload a file write in the commit (synced
    with the sidecar) and a delivery afterwards; measured as MB/s of the
    same upload to a server without and one with it.  The receiver is a
    location of the same nginx answering 204 (cheap, so the figure is the
    module's cost, not a receiver's)."""
    devices, size, reps = 200, 64 * 1024, max(args.reps, 3)
    log('== notify: %d devices x 2 photos of %d KB, notify off vs on '
        '(median of %d interleaved reps)' % (devices, size // 1024, reps))
    ngx = start_nginx(
        workers=1, connections=4096, fsync_server=False,
        third_server='dualcam_notify http://127.0.0.1:@HTTP_PORT@/events; '
                     'dualcam_notify_secret bench;',
        http_extra='location = /events { return 204; }')
    ngx.label = 'notify'
    files = 'photof:%d,photor:%d' % (size, size)
    payload = devices * 2 * size
    m = {'off': [], 'on': []}
    lag = []
    failures = []
    base = 353000000000000
    try:
        for rep in range(reps + 1):
            for key, port in (('off', ngx.port), ('on', ngx.port3)):
                empty_dir(ngx.store)
                settle()
                base += 10000
                sent0 = ((status_json(ngx) or {}).get('notify') or
                         {}).get('sent', 0)
                cmd = sim_cmd(port, devices, files, base,
                              ['--concurrency', str(devices)])
                dt, r = run_sim(cmd)
                t_end = time.monotonic()
                j = last_json(r.stdout) or {}
                stored = count_files(ngx.store) - count_files(ngx.store,
                                                               '.json')
                if r.returncode != 0 or stored != 2 * devices:
                    failures.append('%s: rc %s, %d of %d stored: %s' % (
                        key, r.returncode, stored, 2 * devices,
                        r.stderr.strip()[-300:]))
                if key == 'on':
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        n = ((status_json(ngx) or {}).get('notify') or {})
                        if n.get('sent', 0) - sent0 >= 2 * devices:
                            break
                        time.sleep(0.02)
                    else:
                        failures.append('on: %s of %d events sent in 60 s'
                                        % (n.get('sent', 0) - sent0,
                                           2 * devices))
                    if rep:
                        lag.append(time.monotonic() - t_end)
                if rep == 0:
                    continue        # warm-up
                m[key].append(payload / j.get('wall_s', dt) / 1e6)
            if rep:
                log('  rep %d: off %.1f MB/s, on %.1f MB/s' % (
                    rep, m['off'][-1], m['on'][-1]))
    finally:
        doc = status_json(ngx) or {}
        stop_nginx(ngx)
    med = {k: statistics.median(v) for k, v in m.items() if v}
    if 'off' in med and 'on' in med:
        for key in ('off', 'on'):
            row('notify', 'dualcam_notify %s, upload MB/s (files/s)' % key,
                '%.1f (%.0f..%.0f) (%.0f files/s)' % (
                    med[key], min(m[key]), max(m[key]),
                    med[key] * 1e6 / size))
        row('notify', '  on / off', '%.0f%%' % (100 * med['on'] /
                                                med['off']))
    if lag:
        row('notify', 'last event delivered, s after the upload ended',
            '%.2f (median; max %.2f)' % (statistics.median(lag), max(lag)))
    n = doc.get('notify') or {}
    row('notify', 'events sent / failed attempts / dead-lettered',
        '%s / %s / %s' % (n.get('sent'), n.get('failed_attempts'),
                          n.get('dead_lettered')), 'all sent, 0 failed',
        not failures and n.get('failed_attempts') == 0)
    for f in failures[:5]:
        note('notify: %s' % f)


def scenario_profile(args):
    size = 4 * MB
    frames = size // 1024
    log('== profile: callgrind, one %d MB video, events only '
        '(--toggle-collect=ngx_process_events_and_timers)' % (size // MB))
    if shutil.which('valgrind') is None:
        note('profile: valgrind not installed')
        return
    prof = []
    # 1. nginx, single process, under callgrind
    out = os.path.join(tempfile.gettempdir(),
                       'dualcam-bench-nginx.callgrind')
    old = os.environ.get('DUALCAM_NGINX_WRAPPER')
    os.environ['DUALCAM_NGINX_WRAPPER'] = (
        'valgrind --tool=callgrind --callgrind-out-file=%s '
        '--toggle-collect=ngx_process_events_and_timers' % out)
    ngx = None
    try:
        ngx = harness.Nginx(
            stream=('server { listen 127.0.0.1:@PORT@; dualcam zone=bench; '
                    'dualcam_store @STORE@; dualcam_temp_path @TEMP@; '
                    'dualcam_fsync off; }'),
            zone='bench 1m', workers=1, log_level='notice')
        ngx.conf = ngx.conf.replace('master_process on;',
                                    'master_process off;')
        ngx.label = 'profile'
        start_single(ngx)
        dt, r = run_sim(sim_cmd(ngx.port, 1, 'videof:%d' % size,
                                380000000000000), timeout=300)
        if r.returncode != 0:
            note('profile: sim failed under callgrind nginx: %s'
                 % r.stderr.strip()[-300:])
    finally:
        if old is None:
            del os.environ['DUALCAM_NGINX_WRAPPER']
        else:
            os.environ['DUALCAM_NGINX_WRAPPER'] = old
        if ngx is not None:
            # valgrind writes the profile on exit, which takes a while
            stop_nginx(ngx, keep=args.keep, timeout=120)
    if os.path.exists(out) and os.path.getsize(out) > 0:
        total, funcs = annotate(out)
        prof.append(('nginx (single process, events only)', total, funcs))
        row('profile', 'nginx instructions per 1030-byte frame (user)',
            '%.0f (%s)' % (total / frames, ', '.join(
                '%s %.0f%%' % (f[2], f[1]) for f in funcs[:3])))
    # 2. the simulator under callgrind against a plain nginx
    out2 = os.path.join(tempfile.gettempdir(), 'dualcam-bench-sim.callgrind')
    ngx = start_nginx(workers=1, fsync_server=True)
    ngx.label = 'profile-sim'
    try:
        cmd = ['valgrind', '--tool=callgrind',
               '--callgrind-out-file=%s' % out2] + sim_cmd(
                   ngx.port2, 1, 'videof:%d' % size, 381000000000000)
        dt, r = run_sim(cmd, timeout=300)
    finally:
        stop_nginx(ngx)
    if os.path.exists(out2):
        total, funcs = annotate(out2)
        prof.append(('dualcam-sim (whole run)', total, funcs))
        row('profile', 'dualcam-sim instructions per 1030-byte frame',
            '%.0f (%s)' % (total / frames, ', '.join(
                '%s %.0f%%' % (f[2], f[1]) for f in funcs[:2])))
    # 3. the bench's own device (rawsend --dualcam), for comparison
    out3 = os.path.join(tempfile.gettempdir(),
                        'dualcam-bench-rawsend.callgrind')
    ngx = start_nginx(workers=1, fsync_server=True)
    ngx.label = 'profile-rawsend'
    try:
        subprocess.run(['valgrind', '--tool=callgrind',
                        '--callgrind-out-file=%s' % out3, RAWSEND,
                        '--port', str(ngx.port2), '--size', str(size),
                        '--dualcam'], capture_output=True, timeout=300)
    finally:
        stop_nginx(ngx)
    if os.path.exists(out3):
        total, funcs = annotate(out3)
        prof.append(('rawsend --dualcam (whole run)', total, funcs))
        row('profile', 'rawsend --dualcam instructions per frame',
            '%.0f (%s)' % (total / frames, ', '.join(
                '%s %.0f%%' % (f[2], f[1]) for f in funcs[:2])))
    return prof


def scenario_ab(args):
    patches = sorted(glob.glob(os.path.join(ROOT, 'bench', 'proposals',
                                            '*.patch')))
    log('== ab: the module with %s vs as it is' % ', '.join(
        os.path.basename(p) for p in patches))
    if not patches:
        return
    top = tempfile.mkdtemp(prefix='dualcam-bench-ab-')
    try:
        subprocess.run('tar cf - --exclude=./build --exclude=./.git '
                       '--exclude=./var . | tar xf - -C %s' % top,
                       shell=True, cwd=ROOT, check=True)
        for p in patches:
            r = subprocess.run(['patch', '-p1', '-s', '-i', p], cwd=top,
                               capture_output=True, text=True)
            if r.returncode != 0:
                row('ab', os.path.basename(p), 'does not apply any more')
                return
        r = subprocess.run(['make', '-s', 'module'], cwd=top,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            row('ab', 'patched build', 'failed: %s' % r.stderr[-200:])
            return
        patched = os.path.join(top, 'build', 'ngx_stream_dualcam_module.so')
        orig = harness.MODULE
        ngx = {}
        try:
            for name, mod in (('as is', orig), ('patched', patched)):
                harness.MODULE = mod
                ngx[name] = start_nginx(
                    workers=1, extra_server='dualcam_mp4 off;',
                    third_server='dualcam_buffer_size 64k;')
                ngx[name].label = 'ab ' + name
        finally:
            harness.MODULE = orig
        devices, size = 100, 6 * MB
        payload = devices * size
        sinkdir = os.path.join(top, 'sink')
        os.makedirs(sinkdir)
        res = {}
        try:
            for n in ngx.values():
                fast_run(n, n.port2, devices, size, 390000000000000)
            for rep in range(args.reps):
                dt, c, _ = run_raw(devices, size, sinkdir)
                res.setdefault('raw', []).append(
                    (payload / dt / 1e6, c / (payload / 1e9)))
                for b, (name, n) in enumerate(ngx.items()):
                    for m, (mode, port) in enumerate((
                            ('fsync off', n.port2), ('fsync on', n.port),
                            ('fsync on, buffer 64k', n.port3))):
                        # IMEIs of their own: the same file from the
                        # same device again is a duplicate, not stored
                        dt, c, r = fast_run(n, port, devices, size,
                                            391000000000000
                                            + rep * 100000 + m * 10000
                                            + b * 1000)
                        if r['verified'] != devices:
                            note('ab: %s %s: %d of %d verified' % (
                                name, mode, r['verified'], devices))
                        res.setdefault((name, mode), []).append(
                            (payload / dt / 1e6, c / (payload / 1e9)))
        finally:
            for n in ngx.values():
                stop_nginx(n)
        med = {k: (statistics.median(x[0] for x in v),
                   statistics.median(x[1] for x in v))
               for k, v in res.items()}
        row('ab', 'raw sink, 100 x 6 MB: MB/s, CPU s/GB',
            '%.0f, %.2f' % med['raw'])
        for mode in ('fsync off', 'fsync on', 'fsync on, buffer 64k'):
            a, b = med[('as is', mode)], med[('patched', mode)]
            row('ab', '%s: as is -> patched, CPU s/GB' % mode,
                '%.2f -> %.2f (%.2fx -> %.2fx the sink)' % (
                    a[1], b[1], a[1] / med['raw'][1], b[1] / med['raw'][1]),
                '<= 1.3x', b[1] <= 1.3 * med['raw'][1])
            row('ab', '%s: as is -> patched, MB/s' % mode,
                '%.0f -> %.0f (%.0f%% -> %.0f%% of raw)' % (
                    a[0], b[0], 100 * a[0] / med['raw'][0],
                    100 * b[0] / med['raw'][0]))
    finally:
        shutil.rmtree(top, ignore_errors=True)


# --- the report ---------------------------------------------------------------

METHOD = """\
- **MB/s** are 10^6 bytes of file payload per second of wall time, from the
  start of the sender process to its exit (the sim exits after the last
  `00 09`, i.e. after the file is committed; rawsend exits after the sink
  closed the connection, i.e. after its last write(2), and fsync(2) with
  `--fsync`).  Each figure is the median of the interleaved repetitions
  (raw, dualcam, raw+fsync, dualcam fsync off, raw, ...); the sink receives
  the same bytes the device sends (1030-byte DATA frames, 64 KiB writes).
- The throughput nginx runs `worker_processes 1` (the sink is one
  process too); the stores of every run are emptied and `sync`ed outside
  the timed part.  The defaults: `dualcam_fsync on` (the file, its
  sidecar and their directories are fsynced before `00 09`) in nginx's
  `default` thread pool, batched (group commit); `off` is measured in the
  same run.  The throughput servers set `dualcam_mp4 off`: rawsend's
  video bytes are no recording, and the ingest path is compared as it was
  measured before the MP4 stage existed.
- **Content checks**: rawsend's content is distinct per connection and
  per offset (the IMEI and the offset in every 1024-byte packet, or every
  64 KiB of a raw stream); after every run it checks the module's store
  (`--verify-store`) or the sink's files (`--verify-sink`: each
  connection's stream in exactly one file) byte for byte.
- **small**: files per second = 1,000 / the time from rawsend's first
  connect to the last close (every device has heard `00 09`, so every
  file is durable); the C loop (bench/fsyncloop.c) times its own loop
  of open, write 50,000 bytes, fsync, close, rename, in a directory of
  the same file system; the sink gets 1,000 connections and fsyncs each
  file before it closes the socket.  The reps are interleaved (loop,
  defaults, sink, old defaults, fsync off, loop, ...); "per rep" are the
  paired ratios, and the target is judged on their median (each module
  run against the loop run of the same minute); at least 7 reps.  The
  scenario runs before those that write and delete gigabytes (one,
  many) and leaves the disk 20 s first (one, many and status 15 s),
  then two warm-up runs.  Every run writes new files into directories of its own, with
  IMEIs of its own, and nothing is deleted until the bench ends: on an
  ext4 without a journal every inode allocation walks past the inodes
  deleted in the last 30-60 s, so deleting a run's 3,000 inodes made the
  next run pay for them, whichever it was (the reason the prefixes of
  all scenarios are deleted at exit).  "Old defaults" are
  `dualcam_thread_pool off; dualcam_fsync on;`, the defaults before
  issue 9.
- **status**: a thread GETs the JSON status page back to back, 50 ms
  apart, and keeps the latencies of the GETs that started while the
  1,000 photos of a rep were uploaded and committed.
- **wire**: dualcam-sim's `wire_bytes` (every byte its devices wrote,
  control frames and the 6 bytes of framing per 1024 included) over
  `bytes_offered` (the file bytes); "DATA file bytes" counts the file
  bytes sent in DATA frames, resends included.
- **CPU s/GB**: utime+stime of the nginx workers from /proc/PID/stat
  before/after the run, per 10^9 payload bytes; the sink's from its own
  getrusage.
- **RSS per device**: the sum of the workers' VmRSS at the sample with the
  most established connections on the device port (from /proc/net/tcp),
  minus the sum at idle before the first connection, divided by that
  number.  **Kernel TCP memory**: `/proc/net/sockstat` `TCP: mem` (pages),
  same two samples; it counts the sockets of both ends (sim and nginx).
- **Status latency**: GETs of the JSON status page, one a second while
  the devices are connected (the page lists every active session).
- **CRC**: best of 20 windows of 30 ms over a 256 KiB buffer (stays in
  L2), as 1024-byte
  packets chained like a transfer's running CRC, and as 64 KiB buffers;
  every path must give the same CRC (crc_bench fails otherwise).
- **Profiles**: callgrind instruction counts (Ir), exclusive per function.
  nginx runs with `master_process off` under callgrind, collecting only
  inside `ngx_process_events_and_timers` (no start-up, no config parsing).
"""


def write_results(args, mach, limits, started, profiles):
    keep = ''
    if os.path.exists(RESULTS):
        old = open(RESULTS).read()
        i = old.find('\n## Analysis')
        if i != -1:
            keep = old[i + 1:]
    out = []
    out.append('# Benchmarks: results\n')
    out.append('Written by `make bench` (bench/run.py) on %s UTC in %.0f s; '
               'scenarios: %s; %d repetitions of each throughput figure.\n'
               % (datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M'),
                  time.monotonic() - started, ', '.join(args.only),
                  args.reps))
    out.append('## Machine\n')
    out.append('| | |\n|---|---|')
    for k, v in mach:
        out.append('| %s | %s |' % (k, v.replace('|', '/')))
    out.append('')
    out.append('## Limits raised for the scenarios\n')
    soft, want, hard = limits
    out.append('- `ulimit -n`: raised by bench/run.py itself (setrlimit) to '
               'the hard limit, at most %d: soft %d before, %d after (hard '
               '%d); nginx, the sims and the sink inherit it.'
               % (NOFILE, soft, want, hard))
    out.append('- nginx: `worker_rlimit_nofile %d;`, `worker_connections '
               '12000;` and `worker_processes 2;` for the 10,000-device run '
               '(one fd per socket on each side: three sims hold ~3,334 '
               'sockets each), `listen ... reuseport backlog=4096` so the '
               'ramp is not cut by the default backlog of 511 and both '
               'workers get an even share; `dualcam_zone bench 64m` so every '
               'session has its status entry.' % NOFILE)
    out.append('- Nothing system-wide is changed (no sysctl).\n')
    out.append('## Figures\n')
    out.append('| scenario | figure | value | target | |')
    out.append('|---|---|---|---|---|')
    for r in rows:
        out.append('| %s |' % ' | '.join(str(x).replace('|', '/')
                                          for x in r))
    out.append('')
    if notes:
        out.append('## Notes from the run\n')
        for n in notes:
            out.append('- %s' % n)
        out.append('')
    if profiles:
        out.append('## Profiles (callgrind, exclusive Ir per function)\n')
        for label, total, funcs in profiles:
            out.append('%s: %s instructions in all.\n' % (label,
                                                          '{:,}'.format(
                                                              total)))
            out.append('| Ir | share | function |')
            out.append('|---|---|---|')
            for ir, share, name in funcs:
                out.append('| {:,} | {:.1f}% | `{}` |'.format(ir, share,
                                                             name))
            out.append('')
    out.append('## How the figures are taken\n')
    out.append(METHOD)
    out.append('## Reproduce\n')
    out.append('```sh\nmake bench                      # all scenarios, '
               '~10 minutes\nmake bench BENCH_ARGS="--only crc,one"  '
               '# a subset\npython3 bench/run.py -h        # the knobs\n'
               '```\n')
    out.append('Single pieces by hand (after `make all bench-tools`):\n')
    out.append('```sh\nbuild/bench/crc_bench\n'
               'build/bench/sink --listen 127.0.0.1:5300 --dir /tmp/s '
               '--exit-after 1 &\n'
               'build/bench/rawsend --port 5300 --conns 1 --size 67108864\n'
               'build/dualcam-sim --host 127.0.0.1 --port PORT --devices 100 '
               '--concurrency 100 --files videof:6291456 --json\n```\n')
    if keep:
        out.append(keep.rstrip() + '\n')
    with open(RESULTS, 'w') as f:
        f.write('\n'.join(out))
    log('wrote %s' % os.path.relpath(RESULTS, ROOT))


def print_table():
    log('')
    log('%-8s %-50s %-40s %-18s %s' % ('scenario', 'figure', 'value',
                                        'target', ''))
    for r in rows:
        log('%-8s %-50s %-40s %-18s %s' % r)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.
                                 RawDescriptionHelpFormatter)
    ap.add_argument('--only', default=','.join(DEFAULT),
                    help='comma-separated scenarios (default: all but ab)')
    ap.add_argument('--reps', type=int, default=3,
                    help='repetitions of each throughput figure')
    ap.add_argument('--cpu-one', action='store_true',
                    help='CPU s/GB rows for the one-device run too')
    ap.add_argument('--conc-devices', type=int, default=10000)
    ap.add_argument('--conc-rate', type=int, default=4096,
                    help='bytes/s per device in the conc scenario')
    ap.add_argument('--conc-ramp', type=float, default=4.0,
                    help='the sims start this many seconds apart in all')
    ap.add_argument('--conc-inflight', type=int, default=256,
                    help='connects in flight per sim (its --concurrency)')
    ap.add_argument('--conc-timeout', type=int, default=150)
    ap.add_argument('--conc-pool-only', action='store_true',
                    help='skip the conc run without dualcam_thread_pool')
    ap.add_argument('--fault-devices', type=int, default=1000)
    ap.add_argument('--front-devices', type=int, default=2000)
    ap.add_argument('--front-rate', type=int, default=4096,
                    help='bytes/s per device in the front scenario')
    ap.add_argument('--front-size', type=int, default=100000,
                    help='the video each device uploads, bytes')
    ap.add_argument('--wire-devices', type=int, default=2000)
    ap.add_argument('--keep', action='store_true',
                    help='keep the nginx prefixes (temp dirs)')
    ap.add_argument('--no-write', action='store_true',
                    help='do not write bench/RESULTS.md')
    args = ap.parse_args()
    args.only = [s for s in args.only.split(',') if s]
    for s in args.only:
        if s not in SCENARIOS:
            ap.error('unknown scenario %r' % s)

    started = time.monotonic()
    load_start = open('/proc/loadavg').read().split()[:3]
    others = sh("ps -eo pcpu,comm --sort=-pcpu --no-headers | head -4")
    limits = raise_limits()
    log('ulimit -n: %d -> %d (hard %d)' % limits)
    mach = machine()
    for k, v in mach:
        log('%-14s %s' % (k, v))
    profiles = None
    for s in args.only:
        need = {'crc': [CRC_BENCH], 'core': [CORE_BENCH],
                'mp4': [MP4_BENCH],
                'small': [SINK, RAWSEND, FSYNCLOOP, harness.MODULE]}.get(
            s, [SIM, SINK, RAWSEND, harness.MODULE])
        missing = [p for p in need if not os.path.exists(p)]
        if missing:
            note('%s: not run, missing %s' % (s, ', '.join(
                os.path.relpath(p, ROOT) for p in missing)))
            row(s, 'scenario', 'not run: missing %s' % ', '.join(
                os.path.basename(p) for p in missing))
            continue
        try:
            r = globals()['scenario_' + s](args)
            if s == 'profile':
                profiles = r
        except Exception as e:      # noqa: BLE001
            import traceback
            traceback.print_exc()
            note('%s: scenario failed: %s' % (s, str(e)[:300]))
            row(s, 'scenario', 'failed: %s' % str(e)[:80])

    print_table()
    load_end = open('/proc/loadavg').read().split()[:3]
    mach.append(('load average', 'at the start %s, at the end %s; busiest '
                 'processes at the start: %s' % (
                     ' '.join(load_start), ' '.join(load_end),
                     '; '.join(' '.join(line.split())
                               for line in others.splitlines()))))
    if not args.no_write:
        write_results(args, mach, limits, started, profiles)
    log('bench: %.0f s' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
