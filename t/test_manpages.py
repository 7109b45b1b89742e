"""The man pages the Debian package installs describe the programs as they
are (issue 14): every option a program's --help lists is in its man page,
and the man page lists no option the program does not have.

A program of build/ without a page in man/ fails here too: debian/rules
refuses to package it.
"""

import glob
import os
import re
import subprocess
import unittest

from harness import ROOT

LONG_OPT = re.compile(r'(?<![\w-])--([a-z][a-z0-9-]*)')
# in roff, a dash the reader types is written \-
MAN_OPT = re.compile(r'(?<![\w-])\\-\\-([a-z][a-z0-9\\-]*)')


def man_options(path):
    with open(path) as f:
        text = f.read()
    return {m.replace('\\-', '-') for m in MAN_OPT.findall(text)}


class ManPages(unittest.TestCase):

    def programs(self):
        """The programs debian/rules installs that are built here."""
        out = []
        for name in ('dualcam-sim', 'dualcam-mp4'):
            path = os.path.join(ROOT, 'build', name)
            if os.access(path, os.X_OK):
                out.append((name, path))
        return out

    def test_sim_is_built(self):
        names = [n for n, _ in self.programs()]
        self.assertIn('dualcam-sim', names, 'build/dualcam-sim not built')

    def test_every_option_documented(self):
        for name, path in self.programs():
            with self.subTest(program=name):
                page = os.path.join(ROOT, 'man', name + '.1')
                self.assertTrue(os.path.exists(page),
                                'man/%s.1 is missing' % name)
                r = subprocess.run([path, '--help'], capture_output=True,
                                   text=True, timeout=10)
                helped = set(LONG_OPT.findall(r.stdout + r.stderr))
                self.assertIn('help', helped, r.stdout + r.stderr)
                documented = man_options(page)
                self.assertEqual(sorted(helped - documented), [],
                                 'in --help, not in man/%s.1' % name)
                self.assertEqual(sorted(documented - helped), [],
                                 'in man/%s.1, not in --help' % name)

    def test_pages_have_the_sections(self):
        for page in glob.glob(os.path.join(ROOT, 'man', '*.1')):
            with self.subTest(page=os.path.basename(page)):
                with open(page) as f:
                    text = f.read()
                for sec in ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS',
                            '"EXIT STATUS"'):
                    self.assertRegex(text, r'(?m)^\.SH %s$' % sec)


if __name__ == '__main__':
    unittest.main()
