"""Helpers for the status endpoint tests (t/test_status_*.py).

    from status import HTTP_STATUS, StatusClient, parse_prometheus

    ngx = self.start_nginx(zone='z 1m', http=HTTP_STATUS % 'z')
    st = StatusClient(ngx)
    doc = st.json()                       # GET, parsed (asserts 200)
    metrics = st.prometheus()             # GET ?format=prometheus, parsed
    code, headers, body = st.request('POST')

parse_prometheus(text) is a strict checker of the Prometheus text format
0.0.4 as the module writes it: it raises AssertionError on any line that is
not `# HELP name text`, `# TYPE name counter|gauge` or a sample
`name{label="v",...} value`, on a sample before its TYPE, on a counter not
ending in _total, on a duplicate series, and returns
{(name, ((label, value), ...)): float}.
"""

import http.client
import json
import math
import re
import time

HTTP_STATUS = '''
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location = /dualcam/status { dualcam_status %s; }
    }
'''

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
VALUE = (r'(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?'
         r'|[+-]Inf|NaN)')

RX_HELP = re.compile(r'^# HELP (%s) (.*)$' % NAME)
RX_TYPE = re.compile(r'^# TYPE (%s) (counter|gauge)$' % NAME)
RX_SAMPLE = re.compile(r'^(%s)(\{(?:%s=%s(?:,%s=%s)*)?\})? (%s)$' % (
    NAME, LABEL, LABEL_VALUE, LABEL, LABEL_VALUE, VALUE))
RX_PAIR = re.compile(r'(%s)=(%s)' % (LABEL, LABEL_VALUE))


def parse_prometheus(text):
    """Strict parse of the text format 0.0.4; see the module docstring."""
    assert text.endswith('\n'), 'the exposition must end with a newline'
    types = {}
    helps = set()
    samples = {}
    for n, line in enumerate(text.split('\n')[:-1], 1):
        where = 'line %d: %r' % (n, line)
        assert line != '', 'empty line, ' + where
        assert line == line.strip(), 'stray white space, ' + where
        if line.startswith('#'):
            m = RX_HELP.match(line)
            if m:
                assert m.group(1) not in helps, 'second HELP, ' + where
                assert m.group(1) not in types, 'HELP after TYPE, ' + where
                assert m.group(2), 'empty HELP, ' + where
                helps.add(m.group(1))
                continue
            m = RX_TYPE.match(line)
            assert m, 'bad comment line, ' + where
            name, kind = m.group(1), m.group(2)
            assert name not in types, 'second TYPE, ' + where
            assert not any(k[0] == name for k in samples), \
                'TYPE after samples, ' + where
            if kind == 'counter':
                assert name.endswith('_total'), \
                    'counter not ending in _total, ' + where
            else:
                assert not name.endswith('_total'), \
                    'gauge ending in _total, ' + where
            types[name] = kind
            continue
        m = RX_SAMPLE.match(line)
        assert m, 'bad sample line, ' + where
        name = m.group(1)
        assert name in types, 'sample before its TYPE, ' + where
        assert name.startswith('dualcam_'), 'metric prefix, ' + where
        labels = []
        if m.group(2):
            labels = [(k, json.loads(v))
                      for k, v in RX_PAIR.findall(m.group(2))]
            names = [k for k, _ in labels]
            assert len(set(names)) == len(names), 'repeated label, ' + where
        key = (name, tuple(sorted(labels)))
        assert key not in samples, 'duplicate series, ' + where
        v = float(m.group(3))
        assert not math.isnan(v), 'NaN, ' + where
        if types[name] == 'counter':
            assert v >= 0, 'negative counter, ' + where
        samples[key] = v
    for name in types:
        assert name in helps, 'TYPE without HELP: ' + name
    return samples


def metric(samples, name, **labels):
    """The value of one series (0 when absent)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def metric_sum(samples, name):
    """Sum of all series of a metric."""
    return sum(v for k, v in samples.items() if k[0] == name)


class StatusClient(object):
    def __init__(self, ngx, path='/dualcam/status', port=None):
        self.ngx = ngx
        self.path = path
        self.port = port or ngx.http_port

    def request(self, method='GET', query='', headers=None, body=None):
        """(status, {lowercase header: value}, body bytes)."""
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            c.request(method, self.path + query, body=body,
                      headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return (r.status, dict((k.lower(), v)
                                   for k, v in r.getheaders()), data)
        finally:
            c.close()

    def json(self, query=''):
        code, headers, body = self.request('GET', query)
        assert code == 200, (code, body[:500])
        assert headers['content-type'] == 'application/json', headers
        return json.loads(body.decode('utf-8'))

    def prometheus(self, query='?format=prometheus', headers=None):
        code, h, body = self.request('GET', query, headers=headers)
        assert code == 200, (code, body[:500])
        assert h['content-type'].startswith('text/plain; version=0.0.4'), h
        return parse_prometheus(body.decode('utf-8'))

    def wait(self, pred, timeout=30, interval=0.1, what='condition'):
        """Poll the JSON until pred(doc) is true; return that doc."""
        deadline = time.time() + timeout
        doc = None
        while time.time() < deadline:
            doc = self.json()
            if pred(doc):
                return doc
            time.sleep(interval)
        raise AssertionError('status: %s not reached in %ss; last:\n%s' % (
            what, timeout, json.dumps(doc, indent=1)[:4000]))


def sim_background(ngx, *args, port=None):
    """Start build/dualcam-sim against ngx without waiting: a Popen whose
    communicate() gives (stdout, stderr) as text."""
    import subprocess
    import harness
    cmd = [harness.SIM, '--host', '127.0.0.1', '--port',
           str(port or ngx.port)]
    if ngx.ssl:
        cmd.append('--tls')
    cmd += [str(a) for a in args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
