"""The protocol decisions the code relies on are in the repository
(issue 9 item 18): the comments cite PROTOCOL.md sections that exist, and
nothing but a test reading a fixture points outside the repository
(../shared/fixtures); no comment cites the research notes or the design
text that live outside it.
"""

import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SOURCES = ('src', 'sim', 'bench', 't', 'mk', 'man', 'conf-examples')
TOP = ('ngx_stream_dualcam_module.c', 'config', 'Makefile')
EXT = ('.c', '.h', '.py', '.mk', '.sh', '.conf', '.1')


def files():
    for name in TOP:
        yield os.path.join(ROOT, name)
    for top in SOURCES:
        for d, dirs, names in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [x for x in dirs if x not in ('corpus', 'crashes')]
            for n in names:
                if n.endswith(EXT) or n == 'Makefile':
                    yield os.path.join(d, n)


class ProtocolInTheRepository(unittest.TestCase):

    def test_no_citation_outside_but_fixtures(self):
        me = os.path.abspath(__file__)
        bad = []
        for path in files():
            if os.path.abspath(path) == me:
                continue
            with open(path, errors='replace') as f:
                for n, line in enumerate(f, 1):
                    for m in re.finditer(r'shared/(\w*)', line):
                        if m.group(1) not in ('fixtures', ''):
                            bad.append('%s:%d: %s' % (path, n, line.strip()))
                    if re.search(r'RESEARCH\.md|DESIGN\.md', line):
                        bad.append('%s:%d: %s' % (path, n, line.strip()))
        self.assertEqual(bad, [])

    def test_cited_sections_exist(self):
        with open(os.path.join(ROOT, 'PROTOCOL.md')) as f:
            doc = f.read()
        sections = set(re.findall(r'(?m)^## (\d+)\. ', doc))
        self.assertTrue({'1', '2', '3', '4', '5', '6', '7'} <= sections,
                        sections)
        self.assertIn('Attribution', doc)
        cited = []
        for path in files():
            with open(path, errors='replace') as f:
                text = f.read()
            for m in re.finditer(r'PROTOCOL\.md\s+sections?\s+(\d+)'
                                 r'((?:\s*(?:,|and)\s*\d+)*)', text):
                for num in re.findall(r'\d+', m.group(1) + m.group(2)):
                    cited.append((path, num))
        self.assertGreater(len(cited), 5)
        missing = [c for c in cited if c[1] not in sections]
        self.assertEqual(missing, [])
