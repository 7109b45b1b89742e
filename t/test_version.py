"""The module reports the version of debian/changelog (issue 14).

The one version fact is the top entry of debian/changelog: `config` turns
it into NGX_STREAM_DUALCAM_VERSION at configure time, the Debian package
gets the same number from dpkg-buildpackage.  These tests check that the
module built from this tree says that number where an operator looks: the
startup notice in error.log (on start and on every reload), the status
JSON ("version") and the Prometheus output (dualcam_build_info).
"""

import os
import re
import shutil
import subprocess
import unittest

from harness import NginxTestCase, ROOT
from status import HTTP_STATUS, StatusClient, metric

CHANGELOG = os.path.join(ROOT, 'debian', 'changelog')


def changelog_version():
    """The version of the top entry, parsed the way `config` does it."""
    with open(CHANGELOG) as f:
        first = f.readline()
    m = re.match(r'^\S+ \(([^)]+)\)', first)
    assert m, 'no version on the first line of debian/changelog: %r' % first
    return m.group(1)


class Version(NginxTestCase):

    def test_changelog_parse_agrees_with_dpkg(self):
        if shutil.which('dpkg-parsechangelog') is None:
            self.skipTest('dpkg-dev not installed')
        r = subprocess.run(['dpkg-parsechangelog', '-l', CHANGELOG,
                            '-S', 'Version'], capture_output=True, text=True,
                           check=True)
        self.assertEqual(r.stdout.strip(), changelog_version())

    def test_reported_in_log_json_and_prometheus(self):
        version = changelog_version()
        ngx = self.start_nginx(zone='z 1m', http=HTTP_STATUS % 'z',
                               log_level='notice')
        notice = (r'\[notice\] \d+#\d+: ngx_stream_dualcam_module/%s '
                  r'\(nginx/1\.22\.1\)' % re.escape(version))
        ngx.wait_log(notice)

        st = StatusClient(ngx)
        doc = st.json()
        self.assertEqual(doc['version'], version)
        self.assertEqual(doc['nginx_version'], '1.22.1')
        samples = st.prometheus()
        self.assertEqual(metric(samples, 'dualcam_build_info',
                                version=version, nginx_version='1.22.1'), 1)
        self.assertEqual(len([k for k in samples
                              if k[0] == 'dualcam_build_info']), 1)

        # a reload names the build again (the one it keeps running)
        ngx.reload()
        ngx.wait_log('(?s)%s.*%s' % (notice, notice))


if __name__ == '__main__':
    unittest.main()
