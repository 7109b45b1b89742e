#!/usr/bin/env python3
"""Run the integration tests: every t/test_*.py, with unittest.

    python3 t/run.py                       all of them
    python3 t/run.py t/test_upload.py [more files ...]
    python3 t/run.py test_upload           a module by name
    python3 t/run.py test_upload.Upload.test_path_mode   one test
    python3 t/run.py -k upload             unittest's -k pattern filter
    python3 t/run.py -v                    verbose

The last lines are "N passed, N failed, N skipped" and, when the run
failed, one line that says why.  The exit status is non-zero when a test
failed or errored, and also when no test passed: no test was found (a
mistyped name or -k pattern, an empty file) or every test found was
skipped.  A run that checked nothing must not look like a green one.
Skipped tests are listed with their reasons, so a partly skipped run
says what it did not check.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'lib'))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main(argv):
    verbosity = 1
    patterns = []
    names = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '-v':
            verbosity = 2
        elif a == '-k' and i + 1 < len(argv):
            i += 1
            patterns.append(argv[i])
        else:
            names.append(a)
        i += 1

    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ['*%s*' % p for p in patterns]
    suite = unittest.TestSuite()
    if not names:
        suite.addTests(loader.discover(HERE, pattern='test_*.py',
                                       top_level_dir=HERE))
    for n in names:
        if n.endswith('.py') or os.sep in n:
            n = os.path.splitext(os.path.basename(n))[0]
        suite.addTests(loader.loadTestsFromName(n))

    runner = unittest.TextTestRunner(verbosity=verbosity, resultclass=Result,
                                     stream=sys.stdout)
    r = runner.run(suite)
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    for test, reason in r.skipped:
        print('skipped: %s: %s' % (test.id(), reason))
    print('%d passed, %d failed, %d skipped' % (r.passed, failed,
                                                len(r.skipped)))
    why = None
    if failed:
        why = '%d test(s) failed' % failed
    elif r.testsRun == 0:
        why = 'no test found'
    elif r.passed == 0:
        why = 'no test passed: all %d skipped' % len(r.skipped)
    if why is not None:
        print('FAIL: %s' % why)
    sys.stdout.flush()
    return 1 if why is not None else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
