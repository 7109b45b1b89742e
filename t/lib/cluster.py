"""A cluster on 127.0.0.1: one front (conf-examples/cluster.conf) and up
to three nodes (conf-examples/cluster-node.conf), made runnable with
harness.adapt_example plus the few substitutions an operator makes (the
nodes' and the front's addresses, timeouts).  Used by t/test_cluster.py
and bench/front.py.

    cl = Cluster(lambda: tc.start_nginx(start=False))
    r = cl.sim('--devices', 10, '--verify-store', cl.stores())
    recs = cl.wait_node_records(10)          # a list of dicts per node
    where = one_node(cl.sessions(recs))      # {imei: node index}

Attributes: front (its port, tls_port), nodes (each with port,
status_port).  Methods: sim, node_records, front_records,
wait_node_records, wait_front_records, sessions, stored, status,
kill_node, start_node.
"""

import json
import os
import re
import signal
import time
import urllib.request

import harness
from harness import ROOT


FRONT_CONF = os.path.join(ROOT, 'conf-examples', 'cluster.conf')
NODE_CONF = os.path.join(ROOT, 'conf-examples', 'cluster-node.conf')

# the addresses in the examples that the test replaces
FRONT_ADDR = '10.0.0.10'
NODE_ADDRS = ('10.0.0.11:5232', '10.0.0.12:5232', '10.0.0.13:5232')

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
    """One front and three nodes.  new_nginx(**kw) makes an unstarted
    harness.Nginx (a test passes its start_nginx with start=False, so
    tearDown stops and checks them; the benchmark harness.Nginx)."""

    def __init__(self, new_nginx, allow=None, log_level='info', nodes=3,
                 node_workers=1, front_workers=None, fail_timeout=1,
                 preread_timeout=1):
        self.new_nginx = new_nginx
        self.node_workers = node_workers
        self.nodes = [self._node() for _ in NODE_ADDRS[:nodes]]

        ngx = new_nginx()
        text = harness.adapt_example(read(FRONT_CONF).decode(), ngx)
        for addr, node in zip(NODE_ADDRS, self.nodes):
            text = text.replace('server %s ' % addr,
                                'server 127.0.0.1:%d ' % node.port)
        if nodes < len(NODE_ADDRS):
            text = re.sub(r'(?m)^\s*server 10\.0\.0\.\d+:\d+ .*\n', '',
                          text)
        text = text.replace('fail_timeout=10s',
                            'fail_timeout=%ds' % fail_timeout)
        text = text.replace('preread_timeout 10s;',
                            'preread_timeout %ds;' % preread_timeout)
        if front_workers is not None:
            text = re.sub(r'(?m)^worker_processes \w+;',
                          'worker_processes %d;' % front_workers, text)
        text = text.replace('dualcam_log_level info;',
                            'dualcam_log_level %s;' % log_level)
        if allow is not None:
            path = os.path.join(ngx.prefix, 'imeis.txt')
            with open(path, 'w') as f:
                f.write(''.join('%d\n' % i for i in allow))
            text = text.replace('# dualcam_allow_imei '
                                '/etc/nginx/dualcam/imeis.txt;',
                                'dualcam_allow_imei %s;' % path)
        if '10.0.0.' in text:
            raise AssertionError('an example address is left: ' + text)
        ngx.conf = text
        ngx.port = ngx.example_ports[5232]
        ngx.tls_port = ngx.example_ports[5233]
        self.front = ngx

        for node in self.nodes:
            node.start()
        self.front.start()

    def _node(self):
        ngx = self.new_nginx()
        os.makedirs(ngx.temp, exist_ok=True)
        text = harness.adapt_example(read(NODE_CONF).decode(), ngx)
        text = text.replace('set_real_ip_from %s;' % FRONT_ADDR,
                            'set_real_ip_from 127.0.0.1;')
        # one worker per node by default: four instances share two cores
        text = re.sub(r'(?m)^worker_processes \w+;',
                      'worker_processes %d;' % self.node_workers, text)
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
        # a killed master leaves its pid file behind
        os.unlink(node.pid_path)

    def start_node(self, i):
        self.nodes[i].start()

    def add_node(self):
        """A new node, started, and added to the front's upstream after
        the last server line (nginx -s reload of the front); its index."""
        node = self._node()
        node.start()
        self.nodes.append(node)
        last = list(re.finditer(r'(?m)^(\s*server 127\.0\.0\.1:\d+ )'
                                r'(.*)\n', self.front.conf))[-1]
        line = '%s%s\n' % (last.group(1).replace(
            last.group(1).split(':')[-1].strip(), '%d' % node.port)
            .rstrip() + ' ', last.group(2))
        self.front.conf = (self.front.conf[:last.end()] + line
                           + self.front.conf[last.end():])
        self.front.write_conf()
        self.front.reload()
        return len(self.nodes) - 1


def one_node(sessions):
    """{imei: node} when every IMEI was served by one node only."""
    out = {}
    for imei, nodes in sessions.items():
        if len(nodes) != 1:
            raise AssertionError('IMEI %d on nodes %s' % (imei, nodes))
        out[imei] = next(iter(nodes))
    return out


