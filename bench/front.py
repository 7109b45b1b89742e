"""bench/run.py scenario `front`: what the cluster front and a node cost.

The same GSM-rate fleet twice, side by side in one run: straight to one
node (conf-examples/cluster-node.conf without the PROXY header), then
through the front (conf-examples/cluster.conf: dualcam_preread, hash
$dualcam_imei consistent, PROXY protocol) to three nodes, and once more
with TLS from the devices to the front.  For each: the
devices connected at the peak, the CPU the workers used while all of
them were uploading (cores = CPU seconds / wall seconds over the steady
window), the RSS per device, and every file byte-exact.  Capacity per
core follows: devices uploading at the rate / cores used.

    python3 bench/run.py --only front [--front-devices N --front-rate B/S]
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 't', 'lib'))

import harness  # noqa: E402
from cluster import Cluster  # noqa: E402


def _fleet(b, label, port, devices, rate, size, stores, nsims, base,
           watch, extra=()):
    """Run the sims against port; the CPU the watched nginx ({name:
    Nginx}) workers use while every device is connected, in cores, and
    their RSS growth then, KiB: ({name: cores}, {name: KiB}), or None."""
    per = [devices // nsims + (1 if i < devices % nsims else 0)
           for i in range(nsims)]
    rss0 = dict((k, b.workers_rss(v)) for k, v in watch.items())
    sims = []
    for i, n in enumerate(per):
        cmd = [b.SIM, '--host', '127.0.0.1', '--port', str(port),
               '--devices', str(n), '--imei-base', str(base + i * 100000),
               '--files', 'videof:%d' % size, '--rate', str(rate),
               '--concurrency', '256', '--seed', str(i + 1), '--json',
               '--verify-store', stores, '--timeout', '300'] + list(extra)
        sims.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True))

    # the steady window: from all connected (and, with TLS, 10 s later:
    # the handshakes done) until the first finishes
    t0 = time.monotonic()
    start = end = None
    peak = 0
    rss = {}
    settled = 0
    while any(p.poll() is None for p in sims):
        conn = b.established_ss(port)
        peak = max(peak, conn)
        now = time.monotonic()
        if extra and start is None and conn >= devices and not settled:
            settled = now + 10
        if start is None and conn >= devices and now >= settled:
            start = (now, dict((k, b.workers_cpu(v))
                               for k, v in watch.items()))
            rss = dict((k, b.workers_rss(v) - rss0[k])
                       for k, v in watch.items())
        elif start is not None and end is None and conn < devices:
            end = (now, dict((k, b.workers_cpu(v))
                             for k, v in watch.items()))
        if now - t0 > 400:
            break
        time.sleep(0.2)
    outs = [p.communicate(timeout=60) for p in sims]
    ok = sum((b.last_json(o) or {}).get('verify', {}).get('ok', 0)
             for o, _ in outs)
    fail = [e[-300:] for (o, e), p in zip(outs, sims) if p.returncode]

    b.row('front', '[%s] devices connected at once (peak)' % label,
          '%d of %d' % (peak, devices), '%d' % devices, peak >= devices)
    b.row('front', '[%s] files byte-exact (sims verify)' % label,
          '%d%s' % (ok, '' if not fail else ', %d sims failed'
                    % len(fail)), '%d' % devices, ok == devices)
    for f in fail[:2]:
        b.note('front [%s]: sim: %s' % (label, f))
    if start is None or end is None:
        b.note('front [%s]: no steady window (never all %d connected)'
               % (label, devices))
        return None
    wall = end[0] - start[0]
    cores = dict((k, (end[1][k] - start[1][k]) / wall) for k in watch)
    b.note('front [%s]: steady window %.1f s with all %d devices '
           'uploading' % (label, wall, devices))
    return cores, rss


def _rows(b, label, name, devices, rate, cores, rss):
    b.row('front', '[%s] %s: %d devices at %d B/s, cores; devices per '
          'core' % (label, name, devices, rate),
          '%.3f; %.0f' % (cores, devices / cores if cores else 0))
    b.row('front', '[%s] %s: RSS growth per uploading device, KiB'
          % (label, name), '%.1f' % (rss / devices))


def scenario_front(b, args):
    """b is bench/run.py (its helpers and row/note)."""
    devices = args.front_devices
    rate = args.front_rate
    size = args.front_size
    nsims = 2
    b.log('== front: %d devices, a %d B video each at %d B/s, straight '
          'to a node, then through the front to 3 nodes, plain and TLS'
          % (devices, size, rate))

    # 1. one node, the devices straight to it (no PROXY header)
    direct = Cluster(harness.Nginx, nodes=1, node_workers=1,
                     front_workers=1)
    node = direct.nodes[0]
    try:
        direct.front.stop()
        node.stop()
        node.conf = node.conf.replace(' proxy_protocol ', ' ')
        node.start()
        one = _fleet(b, 'direct', node.port, devices, rate, size,
                     node.store, nsims, 361000000000000, {'node': node})
        if one is not None:
            _rows(b, 'direct', 'node', devices, rate, one[0]['node'],
                  one[1]['node'])
    finally:
        for n in [direct.front] + direct.nodes:
            b.stop_nginx(n, keep=args.keep)

    # 2. through the front to three nodes
    cl = Cluster(harness.Nginx, node_workers=1, front_workers=1)
    try:
        watch = {'front': cl.front}
        for i, n in enumerate(cl.nodes):
            watch['node%d' % i] = n
        three = _fleet(b, 'via front', cl.front.port, devices, rate, size,
                       cl.stores(), nsims, 362000000000000, watch)
        if three is not None:
            cores, rss = three
            _rows(b, 'via front', 'front', devices, rate, cores['front'],
                  rss['front'])
            nodes = 0
            for i in range(3):
                k = 'node%d' % i
                n = len(cl.node_records(i))
                nodes += cores[k]
                _rows(b, 'via front', k, n, rate, cores[k], rss[k])
            b.row('front', '[via front] the 3 nodes together, cores',
                  '%.3f%s' % (nodes, '' if one is None else
                              ' (%.2fx the direct node)' % (
                                  nodes / one[0]['node'])))
            if one is not None:
                b.row('front', '[via front] front cores / direct node '
                      'cores', '%.2f' % (cores['front'] / one[0]['node']))

        # 3. the same over TLS to the front (plain to the nodes)
        # twice the file, so that the handshakes are over well before the
        # first device is done
        tls = _fleet(b, 'TLS front', cl.front.tls_port, devices, rate,
                     2 * size,
                     cl.stores(), nsims, 363000000000000,
                     {'front': cl.front}, extra=['--tls'])
        if tls is not None:
            _rows(b, 'TLS front', 'front', devices, rate,
                  tls[0]['front'], tls[1]['front'])
    finally:
        for n in [cl.front] + cl.nodes:
            b.stop_nginx(n, keep=args.keep)
