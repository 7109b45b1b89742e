"""t/run.py itself: a run that checked nothing is a failed run.

A suite where every test skips (no simulator built, no tmpfs allowed) or
where a name or -k pattern matches nothing used to end "0 passed, 0
failed" with exit status 0, which CI takes for green.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'run.py')


class Runner(unittest.TestCase):

    def run_py(self, source, *args):
        """run.py on a module made of source; CompletedProcess."""
        with tempfile.TemporaryDirectory(prefix='dualcam-run-') as d:
            with open(os.path.join(d, 'sample_mod.py'), 'w') as f:
                f.write(textwrap.dedent(source))
            env = dict(os.environ, PYTHONPATH=d)
            return subprocess.run([sys.executable, RUN, 'sample_mod']
                                  + list(args), env=env, text=True,
                                  capture_output=True, timeout=60)

    def last_lines(self, r):
        return r.stdout.rstrip('\n').splitlines()[-2:]

    def test_all_skipped_fails(self):
        r = self.run_py('''
            import unittest
            class T(unittest.TestCase):
                def test_a(self):
                    self.skipTest('nothing here')
                @unittest.skip('nor here')
                def test_b(self):
                    pass
        ''')
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.last_lines(r),
                         ['0 passed, 0 failed, 2 skipped',
                          'FAIL: no test passed: all 2 skipped'])
        self.assertIn('skipped: sample_mod.T.test_a: nothing here', r.stdout)

    def test_nothing_found_fails(self):
        source = '''
            import unittest
            class T(unittest.TestCase):
                def test_a(self):
                    pass
        '''
        r = self.run_py(source, '-k', 'no_such_test')
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.last_lines(r)[-1], 'FAIL: no test found')

        r = self.run_py('import unittest\n')
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.last_lines(r)[-1], 'FAIL: no test found')

    def test_some_skipped_passes(self):
        r = self.run_py('''
            import unittest
            class T(unittest.TestCase):
                def test_a(self):
                    pass
                def test_b(self):
                    self.skipTest('not here')
        ''')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.last_lines(r)[-1],
                         '1 passed, 0 failed, 1 skipped')
        self.assertIn('skipped: sample_mod.T.test_b: not here', r.stdout)

    def test_failure_fails(self):
        r = self.run_py('''
            import unittest
            class T(unittest.TestCase):
                def test_a(self):
                    pass
                def test_b(self):
                    self.fail('no')
        ''')
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.last_lines(r),
                         ['1 passed, 1 failed, 0 skipped',
                          'FAIL: 1 test(s) failed'])


if __name__ == '__main__':
    unittest.main()
