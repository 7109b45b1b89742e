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
import re
import signal
import socket
import struct
import time
import urllib.request

import device
import harness
from harness import NginxTestCase, ROOT, need_sim


FRONT_CONF = os.path.join(ROOT, 'conf-examples', 'cluster.conf')
NODE_CONF = os.path.join(ROOT, 'conf-examples', 'cluster-node.conf')

# the addresses in the examples that the test replaces
FRONT_ADDR = '10.0.0.10'
NODE_ADDRS = ('10.0.0.11:5232', '10.0.0.12:5232', '10.0.0.13:5232')

IMEI = 356000000000000

FAIL_TIMEOUT = 1          # s, the front's fail_timeout here
PREREAD_TIMEOUT = 1       # s

# cluster-node.conf's and cluster.conf's log formats
NODE_RECORD = re.compile(
    r'^(?P<addr>\S+):(?P<port>\d+) via (?P<via>\S+):(?P<via_port>\d+) '
    r'(?P<status>\d+) (?P<result>\S+) (?P<imei>\S+) (?P<protocol>\S+) '
    r'(?P<files>\d+) (?P<bytes>\d+) (?P<time>\S+)$')
FRONT_RECORD = re.compile(
    r'^(?P<addr>\S+):(?P<port>\d+) (?P<status>\d+) (?P<imei>\S+) '
    r'(?P<protocol>\S+) (?P<received>\d+) (?P<sent>\d+) (?P<time>\S+) '
    r'(?P<upstream>.+)$')
RESUME = re.compile(r'^resume imei=(\d+) file=(\S+) unit=(\d+)$', re.M)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def records(ngx, rx):
    out = []
    for line in ngx.access_log().splitlines():
        m = rx.match(line)
        if m is None:
            raise AssertionError('access log line %r' % line)
        out.append(m.groupdict())
    return out


def resumes(stderr):
    """{imei: [RESUME units in order]} from dualcam-sim --log-resumes."""
    out = {}
    for imei, _, unit in RESUME.findall(stderr):
        out.setdefault(int(imei), []).append(int(unit))
    return out


class Cluster(object):
    """One front and three nodes in the test's NginxTestCase."""

    def __init__(self, tc, allow=None, log_level='info'):
        self.tc = tc
        self.nodes = [self._node() for _ in NODE_ADDRS]

        ngx = tc.start_nginx(start=False)
        text = harness.adapt_example(read(FRONT_CONF).decode(), ngx)
        for addr, node in zip(NODE_ADDRS, self.nodes):
            text = text.replace('server %s ' % addr,
                                'server 127.0.0.1:%d ' % node.port)
        text = text.replace('fail_timeout=10s',
                            'fail_timeout=%ds' % FAIL_TIMEOUT)
        text = text.replace('preread_timeout 10s;',
                            'preread_timeout %ds;' % PREREAD_TIMEOUT)
        text = text.replace('dualcam_log_level info;',
                            'dualcam_log_level %s;' % log_level)
        if allow is not None:
            path = os.path.join(ngx.prefix, 'imeis.txt')
            with open(path, 'w') as f:
                f.write(''.join('%d\n' % i for i in allow))
            text = text.replace('# dualcam_allow_imei '
                                '/etc/nginx/dualcam/imeis.txt;',
                                'dualcam_allow_imei %s;' % path)
        self.tc.assertNotIn('10.0.0.', text)
        ngx.conf = text
        ngx.port = ngx.example_ports[5232]
        ngx.tls_port = ngx.example_ports[5233]
        self.front = ngx

        for node in self.nodes:
            node.start()
        self.front.start()

    def _node(self):
        ngx = self.tc.start_nginx(start=False)
        os.makedirs(ngx.temp, exist_ok=True)
        text = harness.adapt_example(read(NODE_CONF).decode(), ngx)
        text = text.replace('set_real_ip_from %s;' % FRONT_ADDR,
                            'set_real_ip_from 127.0.0.1;')
        # one worker per node: four instances share two cores
        text = re.sub(r'(?m)^worker_processes \w+;', 'worker_processes 1;',
                      text)
        text = re.sub(r'threads=\d+', 'threads=4', text)
        ngx.conf = text
        ngx.port = ngx.example_ports[5232]
        ngx.status_port = ngx.example_ports[8080]
        return ngx

    # -- what happened where ----------------------------------------------

    def stores(self):
        return ':'.join(n.store for n in self.nodes)

    def sim(self, *args, tls=False, timeout=120):
        port = self.front.tls_port if tls else self.front.port
        return self.front.sim(*args, port=port, tls=tls, timeout=timeout)

    def node_records(self, i):
        return records(self.nodes[i], NODE_RECORD)

    def front_records(self):
        return records(self.front, FRONT_RECORD)

    def wait_node_records(self, n, timeout=15):
        """Until the nodes' access logs hold n records together; a list
        per node."""
        deadline = time.time() + timeout
        while True:
            recs = [self.node_records(i) for i in range(len(self.nodes))]
            if sum(len(r) for r in recs) >= n or time.time() > deadline:
                return recs
            time.sleep(0.05)

    def wait_front_records(self, n, timeout=15):
        deadline = time.time() + timeout
        while True:
            recs = self.front_records()
            if len(recs) >= n or time.time() > deadline:
                return recs
            time.sleep(0.05)

    def sessions(self, recs, start=None):
        """{imei: set of node indexes} of the sessions in recs (a list
        per node), from start[i] on."""
        out = {}
        for i, node_recs in enumerate(recs):
            for r in node_recs[start[i] if start else 0:]:
                if r['imei'] != '-':
                    out.setdefault(int(r['imei']), set()).add(i)
        return out

    def stored(self):
        """{imei: set of node indexes holding files of it}."""
        out = {}
        for i, node in enumerate(self.nodes):
            for name in node.store_files():
                imei = name.split('/')[0]
                if imei.isdigit():
                    out.setdefault(int(imei), set()).add(i)
        return out

    def status(self, i):
        url = 'http://127.0.0.1:%d/dualcam/status' % self.nodes[i].status_port
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())

    def kill_node(self, i):
        """Node loss: kill -9 of the master and its worker."""
        node = self.nodes[i]
        pids = [node.master_pid()] + node.worker_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        node.stop()
        node.expect_log(r'\[emerg\].*bind\(\)')
        # a killed master leaves its pid file behind
        os.unlink(node.pid_path)

    def start_node(self, i):
        self.nodes[i].start()


def one_node(sessions):
    """{imei: node} when every IMEI was served by one node only."""
    out = {}
    for imei, nodes in sessions.items():
        if len(nodes) != 1:
            raise AssertionError('IMEI %d on nodes %s' % (imei, nodes))
        out[imei] = next(iter(nodes))
    return out


class Routing(NginxTestCase):

    def test_drops_resume_on_the_node_holding_the_partial(self):
        """300 devices, each dropping after packet 8 of its photo and
        reconnecting from a new source port: every reconnect reaches the
        node with its partial (RESUME 9), every file is byte-exact and
        on one node only; the front logs $dualcam_imei; the nodes' zones
        add up to what the devices did."""
        need_sim(self)
        cl = Cluster(self)
        n = 300
        r = cl.sim('--devices', n, '--imei-base', IMEI, '--concurrency', 100,
                   '--files', 'photof:20000', '--drop-after', 8,
                   '--reconnects', 3, '--log-resumes', '--json',
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
                self.assertNotIn(rec['via_port'], device_ports[imei], rec)

        # the status zones add up to what the simulator did
        docs = [cl.status(i) for i in range(3)]
        self.assertEqual(sum(d['totals']['files_stored'] for d in docs), n)
        self.assertEqual(sum(d['totals']['connections'] for d in docs),
                         summary['connections'])
        for i, d in enumerate(docs):
            self.assertEqual(d['totals']['files_stored'],
                             sum(1 for v in where.values() if v == i))
