"""Scale-out (issue 12): a front routing every device by its IMEI.

Four real nginx instances on 127.0.0.1, made from the examples an
operator copies: the front from conf-examples/cluster.conf
(dualcam_preread, `hash $dualcam_imei consistent`, PROXY protocol to the
nodes, TLS on a second port) and three nodes from
conf-examples/cluster-node.conf (`listen ... proxy_protocol`,
set_real_ip_from, a status zone each).  The devices are dualcam-sim
processes talking to the front only; which node served whom is read from
the nodes' access logs and stores, never assumed.
"""

import json
import os
import socket
import struct
import time

import device
import harness
from cluster import Cluster, one_node, resumes
from harness import NginxTestCase, need_sim


IMEI = 356000000000000

FAIL_TIMEOUT = 1          # s, the front's fail_timeout here
PREREAD_TIMEOUT = 1       # s


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def make(tc, **kw):
    return Cluster(lambda: tc.start_nginx(start=False),
                   fail_timeout=FAIL_TIMEOUT,
                   preread_timeout=PREREAD_TIMEOUT, **kw)


class Routing(NginxTestCase):

    def test_drops_resume_on_the_node_holding_the_partial(self):
        """300 devices, each dropping after packet 8 of its photo and
        reconnecting from a new source port: every reconnect reaches the
        node with its partial (RESUME 9), every file is byte-exact and
        on one node only; the front logs $dualcam_imei; the nodes' zones
        add up to what the devices did."""
        need_sim(self)
        cl = make(self)
        n = 300
        r = cl.sim('--devices', n, '--imei-base', IMEI, '--concurrency', 100,
                   '--files', 'photof:20000', '--drop-after', 8,
                   '--reconnects', 3, '--reconnect-delay', 500,
                   '--log-resumes', '--json',
                   '--verify-store', cl.stores(), '--timeout', 90)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        summary = json.loads(r.stdout)
        self.assertEqual(summary['files_delivered'], n)
        self.assertEqual(summary['verify'],
                         {'ok': n, 'missing': 0, 'corrupt': 0})
        self.assertEqual(summary['connections'], 2 * n)

        # RESUME 0 (from the start) on the first connection, and after
        # the reconnect RESUME 9: the partial of packets 1..8 was where
        # the reconnect landed
        res = resumes(r.stderr)
        self.assertEqual(sorted(res), list(range(IMEI, IMEI + n)))
        for imei, units in res.items():
            self.assertEqual(units, [0, 9], imei)

        # every IMEI's sessions and files on one node; all nodes used
        recs = cl.wait_node_records(2 * n)
        self.assertEqual(sum(len(x) for x in recs), 2 * n)
        where = one_node(cl.sessions(recs))
        self.assertEqual(sorted(where), list(range(IMEI, IMEI + n)))
        self.assertEqual(one_node(cl.stored()), where)
        self.assertEqual(set(where.values()), {0, 1, 2})
        for i in range(3):
            for rec in recs[i]:
                self.assertEqual(rec['protocol'], '5')
                self.assertIn(rec['result'], ('ok', 'closed_by_device'))

        # the front: $dualcam_imei and the node it chose, per session
        front = cl.wait_front_records(2 * n)
        self.assertEqual(len(front), 2 * n)
        ports = dict((n.port, i) for i, n in enumerate(cl.nodes))
        device_ports = {}
        for rec in front:
            self.assertEqual(rec['status'], '200')
            self.assertEqual(rec['protocol'], '5')
            imei = int(rec['imei'])
            up = int(rec['upstream'].split(':')[1])
            self.assertEqual(ports[up], where[imei], rec)
            device_ports.setdefault(imei, set()).add(rec['port'])
        # a new source port for the reconnect
        for imei, p in device_ports.items():
            self.assertEqual(len(p), 2, (imei, p))

        # the nodes saw the devices' ports (PROXY protocol), not the
        # front's own connections
        for i in range(3):
            for rec in recs[i]:
                imei = int(rec['imei'])
                self.assertIn(rec['port'], device_ports[imei], rec)

        # the status zones add up to what the simulator did
        docs = [cl.status(i) for i in range(3)]
        self.assertEqual(sum(d['totals']['files_stored'] for d in docs), n)
        self.assertEqual(sum(d['totals']['connections'] for d in docs),
                         summary['connections'])
        for i, d in enumerate(docs):
            self.assertEqual(d['totals']['files_stored'],
                             sum(1 for v in where.values() if v == i))

    def test_device_address_reaches_the_node(self):
        """The PROXY header from the front is what the node's sidecar,
        access log and status page show: the device's own address and
        port (here 127.0.0.5), not the front's."""
        cl = make(self)
        packets = device.load_fixture(harness.fixture())
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.bind(('127.0.0.5', 0))
        port = s.getsockname()[1]
        s.connect(('127.0.0.1', cl.front.port))
        device.replay(s, packets)
        s.close()

        imei = struct.unpack('>Q', packets[0][4:12])[0]
        recs = cl.wait_node_records(1)
        node = [i for i in range(3) if recs[i]]
        self.assertEqual(len(node), 1, recs)
        rec = recs[node[0]][0]
        self.assertEqual((rec['addr'], rec['port']), ('127.0.0.5', str(port)))
        self.assertEqual(rec['via'], '127.0.0.1')
        self.assertNotEqual(rec['via_port'], str(port))
        self.assertEqual((rec['result'], int(rec['imei']), rec['protocol']),
                         ('ok', imei, '5'))

        ngx = cl.nodes[node[0]]
        name = '%015d/20241030-113505-front-photo.jpg' % imei
        self.assertEqual(read(os.path.join(ngx.store, name)),
                         device.fixture_file(packets))
        side = json.loads(read(os.path.join(ngx.store, name + '.json')))
        self.assertEqual(side['peer'], '127.0.0.5')

        doc = cl.status(node[0])
        self.assertEqual([r['peer'] for r in doc['recent']],
                         ['127.0.0.5:%d' % port])

        front = cl.wait_front_records(1)
        self.assertEqual((front[0]['addr'], front[0]['port'],
                          int(front[0]['imei'])),
                         ('127.0.0.5', str(port), imei))


    def test_protocol_6_path_mode_through_the_front(self):
        """A protocol-6 device (path mode, JSON metadata) through the
        front: $dualcam_protocol is 6 on the front and on its node, the
        file is stored byte-exact."""
        need_sim(self)
        cl = make(self)
        r = cl.sim('--devices', 5, '--imei-base', IMEI, '--protocol', 6,
                   '--files', 'path:dsm/picture/231020/231452.jpg:5000',
                   '--verify-store', cl.stores(), '--timeout', 30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        recs = cl.wait_node_records(5)
        self.assertEqual(len(one_node(cl.sessions(recs))), 5)
        for node_recs in recs:
            for rec in node_recs:
                self.assertEqual((rec['protocol'], rec['result']),
                                 ('6', 'ok'), rec)
        front = cl.wait_front_records(5)
        self.assertEqual(sorted(x['protocol'] for x in front), ['6'] * 5)


class NodeLoss(NginxTestCase):

    def test_node_killed_mid_run_then_restarted(self):
        """A node killed (-9) while its devices upload: they complete on
        the other nodes from the start, the others' devices do not move,
        the front logs the failover; the node started again gets back
        exactly the devices it had."""
        need_sim(self)
        cl = make(self)
        n = 90
        stores = cl.stores()

        # the ring: one small photo each
        r = cl.sim('--devices', n, '--imei-base', IMEI, '--concurrency', n,
                   '--files', 'photof:3000', '--verify-store', stores,
                   '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        recs = cl.wait_node_records(n)
        ring = one_node(cl.sessions(recs))
        self.assertEqual(len(ring), n)
        self.assertEqual(set(ring.values()), {0, 1, 2})
        victim = max(range(3), key=lambda i: list(ring.values()).count(i))
        lost = sorted(i for i, v in ring.items() if v == victim)
        start = [len(x) for x in recs]

        # a 200 KB video each at 50 KB/s: 4 s; the victim dies at ~1.5 s
        sim = cl.front.sim_start(
            '--devices', n, '--imei-base', IMEI, '--concurrency', n,
            '--files', 'videof:200k', '--rate', 50000, '--reconnects', 5,
            '--log-resumes', '--json', '--verify-store', stores,
            '--timeout', 60, port=cl.front.port)
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                doc = cl.status(victim)
                busy = [x for x in doc['sessions']
                        if x['file'] is not None and x['file']['received']]
                if len(busy) == len(lost):
                    break
                time.sleep(0.1)
            self.assertEqual(len(busy), len(lost), doc)
            cl.kill_node(victim)
            out, err = sim.communicate(timeout=90)
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.communicate()
        self.assertEqual(sim.returncode, 0, out + err[-3000:])
        summary = json.loads(out)
        self.assertEqual(summary['verify'],
                         {'ok': n, 'missing': 0, 'corrupt': 0})

        # the victim's devices started over elsewhere (RESUME 0 twice),
        # the others were never interrupted (one RESUME 0)
        res = resumes(err)
        for imei in range(IMEI, IMEI + n):
            want = [0, 0] if imei in lost else [0]
            self.assertEqual(res.get(imei), want, imei)

        # who went where: the survivors' sessions of the video round
        # (the killed node wrote no access log line for its cut sessions)
        recs = cl.wait_node_records(sum(start) + n)
        moved = one_node(cl.sessions(recs, start))
        self.assertEqual(sorted(moved), list(range(IMEI, IMEI + n)))
        for imei, node in moved.items():
            if imei in lost:
                self.assertNotEqual(node, victim, imei)
            else:
                self.assertEqual(node, ring[imei], imei)
        # and the videos are there, never on the victim
        for imei in lost:
            self.assertFalse(any('video' in f for f in
                                 cl.nodes[victim].store_files()
                                 if f.startswith('%015d/' % imei)))

        # the front noticed
        port = cl.nodes[victim].port
        cl.front.wait_log(r'\[error\].*connect\(\) failed \(111: '
                          r'Connection refused\) while connecting to '
                          r'upstream.*upstream: "127\.0\.0\.1:%d"' % port)
        failed = [x for x in cl.front_records()
                  if ', ' in x['upstream']]
        self.assertTrue(failed)
        for x in failed:
            self.assertTrue(x['upstream'].startswith('127.0.0.1:%d, '
                                                     % port), x)
            self.assertIn(int(x['imei']), lost)

        # the node is back.  After fail_timeout the front lets one
        # connection try it (others meanwhile still skip it); once that
        # one got through, the ring is what it was
        cl.start_node(victim)
        time.sleep(FAIL_TIMEOUT + 1)
        start = [len(x) for x in cl.wait_node_records(0)]
        r = cl.sim('--imei', lost[0], '--files', 'photor:3000',
                   '--verify-store', stores, '--timeout', 30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        recs = cl.wait_node_records(sum(start) + 1)
        self.assertEqual(one_node(cl.sessions(recs, start)),
                         {lost[0]: victim})
        start = [len(x) for x in recs]
        r = cl.sim('--devices', n, '--imei-base', IMEI, '--concurrency', n,
                   '--files', 'photor:3000', '--verify-store', stores,
                   '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        recs = cl.wait_node_records(sum(start) + n)
        back = one_node(cl.sessions(recs, start))
        self.assertEqual(dict((i, (ring[i], back.get(i))) for i in ring
                              if back.get(i) != ring[i]), {},
                         'IMEI: (node before, node after); victim %d, '
                         'front: %s' % (victim, cl.front.error_log()[-3000:]))


    def test_node_added_moves_about_a_quarter(self):
        """A fourth node added to the front (reload): the devices that
        move all move to it, about 1/4 of them, none between the old
        three."""
        need_sim(self)
        cl = make(self)
        n = 300
        r = cl.sim('--devices', n, '--imei-base', IMEI, '--concurrency', 100,
                   '--files', 'photof:2000', '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        recs = cl.wait_node_records(n)
        before = one_node(cl.sessions(recs))
        start = [len(x) for x in recs]

        new = cl.add_node()
        r = cl.sim('--devices', n, '--imei-base', IMEI, '--concurrency', 100,
                   '--files', 'photor:2000', '--verify-store', cl.stores(),
                   '--timeout', 60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        recs = cl.wait_node_records(sum(start) + n)
        after = one_node(cl.sessions(recs, start + [0]))
        self.assertEqual(sorted(after), sorted(before))
        moved = [i for i in before if after[i] != before[i]]
        for imei in moved:
            self.assertEqual(after[imei], new, imei)
        # 160 points per server on the ring: 25 % expected
        self.assertTrue(0.15 * n <= len(moved) <= 0.35 * n, len(moved))


    def test_every_node_down(self):
        """No node answers: the front closes the device's connection with
        $status 502 after trying each node once; the device is left to
        retry later."""
        cl = make(self)
        for node in cl.nodes:
            node.stop()
        s = socket.create_connection(('127.0.0.1', cl.front.port), 10)
        s.sendall(device.init_packet(IMEI, 0x04))
        self.assertEqual(s.recv(100), b'')
        s.close()
        rec = cl.wait_front_records(1)[0]
        self.assertEqual((rec['status'], rec['imei']), ('502', '%015d' % IMEI))
        self.assertEqual(len(rec['upstream'].split(', ')), 3, rec)
        cl.front.wait_log(r'no live upstreams|connect\(\) failed')


class SharedStore(NginxTestCase):

    def test_two_nodes_one_store_names_stay_unique(self):
        """Two nginx on one store (each its own temp path on that file
        system), the same 20 devices offering the same photo to both at
        once: 40 files, none overwritten, every one complete."""
        need_sim(self)
        shared = self.start_nginx(start=False)
        store = shared.store
        nodes = []
        for name in ('a', 'b'):
            stream = ('server {\n'
                      '        listen 127.0.0.1:@PORT@;\n'
                      '        dualcam;\n'
                      '        dualcam_store %s;\n'
                      '        dualcam_temp_path %s/.tmp-%s;\n'
                      '    }' % (store, store, name))
            nodes.append(self.start_nginx(stream=stream))
        sims = [ngx.sim_start('--devices', 20, '--imei-base', IMEI,
                              '--concurrency', 20, '--files',
                              'photof:30000', '--rate', 60000,
                              '--verify-store', store, '--json',
                              '--timeout', 60) for ngx in nodes]
        for p in sims:
            out, err = p.communicate(timeout=90)
            self.assertEqual(p.returncode, 0, out + err[-2000:])
        photos = [f for f in shared.store_files()
                  if f.endswith('.jpg') and not f.startswith('.tmp')]
        self.assertEqual(len(photos), 40)
        for imei in range(IMEI, IMEI + 20):
            mine = sorted(f for f in photos
                          if f.startswith('%015d/' % imei))
            self.assertEqual(len(mine), 2, mine)
            # one name is the other's with -1: link() refused to reuse it
            self.assertTrue(mine[1].endswith('-1.jpg') or
                            mine[0].endswith('-1.jpg'), mine)
            for f in mine:
                self.assertTrue(os.path.exists(
                    os.path.join(store, f + '.json')), f)
            sizes = set(os.path.getsize(os.path.join(store, f))
                        for f in mine)
            self.assertEqual(sizes, {30000})


class EdgeRefusal(NginxTestCase):

    def raw(self, port, data, timeout=10):
        """Send data, read until the front closes; (bytes, seconds)."""
        s = socket.create_connection(('127.0.0.1', port), timeout)
        t0 = time.time()
        try:
            if data:
                s.sendall(data)
            got = b''
            while True:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                got += chunk
            return got, time.time() - t0
        finally:
            s.close()

    def test_bad_traffic_never_reaches_a_node(self):
        """Garbage, a 16-digit IMEI, an IMEI not in the allow list,
        silence and a close before the init: refused at the front with a
        line at dualcam_log_level, no upstream chosen, no connection to
        any node; allowed devices still pass."""
        need_sim(self)
        allowed = [IMEI + i for i in range(3)]
        cl = make(self, allow=allowed, log_level='notice')
        port = cl.front.port

        got, _ = self.raw(port, b'GET / HTTP/1.0\r\n\r\n')
        self.assertEqual(got, b'')
        cl.front.wait_log(r'\[notice\].*not a dualcam init packet '
                          r'\(starts 474554202f204854\), closing')

        got, _ = self.raw(port, device.init_packet(10 ** 15, 0x04))
        self.assertEqual(got, b'\x00\x00\x00\x00')
        cl.front.wait_log(r'\[notice\].*invalid IMEI 1000000000000000 in '
                          r'init packet, closing')

        stranger = IMEI + 999
        got, _ = self.raw(port, device.init_packet(stranger, 0x04))
        self.assertEqual(got, b'\x00\x00\x00\x00')
        r = cl.sim('--imei', stranger, '--expect-refused', '--timeout', 20)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cl.front.wait_log(r'\[notice\].*IMEI %015d is not in the allow '
                          r'list' % stranger)

        got, took = self.raw(port, device.init_packet(IMEI, 0x04)[:5])
        self.assertEqual(got, b'')
        self.assertGreater(took, PREREAD_TIMEOUT - 0.2)
        self.assertLess(took, PREREAD_TIMEOUT + 3)
        cl.front.wait_log(r'\[notice\].*no dualcam init packet within '
                          r'preread_timeout \(5 of 16 bytes\), closing')

        s = socket.create_connection(('127.0.0.1', port), 5)
        s.sendall(b'\x00\x00\x00')
        s.close()
        cl.front.wait_log(r'\[notice\].*device closed before its init '
                          r'packet was complete \(3 of 16 bytes\)')

        # what the front's access log says: no node was chosen
        front = cl.wait_front_records(6)
        self.assertEqual(
            sorted((x['status'], x['imei']) for x in front),
            sorted([('400', '-'), ('400', '-'), ('403', '%015d' % stranger),
                    ('403', '%015d' % stranger), ('200', '-'),
                    ('200', '-')]))
        for x in front:
            self.assertEqual(x['upstream'], '-', x)

        # the nodes saw nothing at all
        time.sleep(0.3)
        for i in range(3):
            self.assertEqual(cl.nodes[i].access_log(), '')
            self.assertEqual(cl.status(i)['totals']['connections'], 0)

        # the allow list lets its devices through to a node
        r = cl.sim('--devices', 3, '--imei-base', IMEI, '--files',
                   'photof:3000', '--verify-store', cl.stores(),
                   '--timeout', 30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        recs = cl.wait_node_records(3)
        self.assertEqual(sorted(one_node(cl.sessions(recs))), allowed)


class FrontTLS(NginxTestCase):

    def test_tls_at_the_front_plain_to_the_nodes(self):
        """Devices speak TLS to the front (listen ... ssl), which routes
        them by the IMEI it reads after the handshake and talks plain TCP
        to the nodes; drops resume on the same node."""
        need_sim(self)
        cl = make(self)
        n = 30
        r = cl.sim('--devices', n, '--imei-base', IMEI, '--concurrency', n,
                   '--files', 'photof:12000', '--drop-after', 5,
                   '--reconnects', 3, '--reconnect-delay', 500,
                   '--log-resumes', '--verify-store',
                   cl.stores(), '--timeout', 60, tls=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        for imei, units in resumes(r.stderr).items():
            self.assertEqual(units, [0, 6], imei)
        recs = cl.wait_node_records(2 * n)
        where = one_node(cl.sessions(recs))
        self.assertEqual(len(where), n)
        self.assertEqual(one_node(cl.stored()), where)
        front = cl.wait_front_records(2 * n)
        self.assertEqual(len(front), 2 * n)
        # the nodes have no TLS listener: a TLS record forwarded to them
        # would have been a protocol error, so the files above came over
        # plain TCP
        for node in cl.nodes:
            self.assertNotIn(' ssl', node.conf)
        for i in range(3):
            for rec in recs[i]:
                self.assertIn(rec['result'], ('ok', 'closed_by_device'), rec)
