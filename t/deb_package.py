"""The Debian package in the system nginx (issue 14).

Run by `make test-deb` (part of `make test`), which builds the package
first (build/deb/, see mk/deb.mk) and passes DUALCAM_DEB (the .deb) and
DUALCAM_DEB_SRC (the source copy it was built in; an older version is
built from it here for the upgrade).  As root, on the machine's own nginx:

  - `apt-get install ./libnginx-mod-stream-dualcam_*.deb`; the module,
    its load_module snippet enabled after mod-stream, the programs, the
    man pages, the docs, the example site (not enabled) and the store
    owned by www-data are there;
  - `nginx -t` with Debian's stock /etc/nginx/nginx.conf plus the example
    site (enabled as the README says, its ports moved to free ones on
    127.0.0.1), then the system nginx binary started by pid on a copy of
    the stock nginx.conf (pid, logs and the sites include moved into a
    temp dir: the default site would take port 80) and uploads with
    /usr/bin/dualcam-sim --verify-store;
  - `apt-get remove`, then `purge`: module and snippet gone, `nginx -t`
    passes, the store and its files stay;
  - an upgrade from an older build with uploads in flight: they all
    arrive, the running nginx and its workers live on, a reload keeps the
    old module (it is mapped already), a restart runs the new one; then
    remove and purge with the example site still enabled: a warning, and
    the links to the purged example files are dropped.

It never touches libnginx-mod-stream or nginx-core (other tests use them
at the same time), leaves no nginx running, and puts the system back as it
found it: package purged, links removed, /var/lib/dualcam removed when it
did not exist before.  It refuses to run when the package is installed
or /var/lib/dualcam exists already.
"""

import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness
from harness import BAD_LINE, ROOT, free_port

PKG = 'libnginx-mod-stream-dualcam'
NGINX = '/usr/sbin/nginx'
SIM = '/usr/bin/dualcam-sim'
STORE = '/var/lib/dualcam'
SO = '/usr/lib/nginx/modules/ngx_stream_dualcam_module.so'
SNIPPET = '/usr/share/nginx/modules-available/mod-stream-dualcam.conf'
ENABLED = '/etc/nginx/modules-enabled/70-mod-stream-dualcam.conf'
SITE_DIR = '/etc/nginx/dualcam'
# where the README tells the operator to link the example site
LINK_STREAM = '/etc/nginx/modules-enabled/90-dualcam-stream.conf'
LINK_STATUS = '/etc/nginx/sites-enabled/dualcam-status.conf'
APT = ['apt-get', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300',
       '--no-install-recommends']
ENV = dict(os.environ, DEBIAN_FRONTEND='noninteractive')


def run(cmd, check=True, timeout=600, env=ENV, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=timeout, cwd=cwd)
    if check and r.returncode != 0:
        raise AssertionError('%s: exit %d\n%s\n%s' % (
            ' '.join(cmd), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


def installed_version():
    r = run(['dpkg-query', '-W', '-f=${db:Status-Status} ${Version}', PKG],
            check=False)
    parts = r.stdout.split()
    if r.returncode == 0 and len(parts) == 2 and parts[0] == 'installed':
        return parts[1]
    return None


def package_known():
    """Installed, or removed with its conffiles left (config-files)."""
    r = run(['dpkg-query', '-W', '-f=${db:Status-Status}', PKG],
            check=False)
    return r.returncode == 0 and r.stdout.strip() not in ('', 'not-installed')


def deb_version(path):
    return run(['dpkg-deb', '-f', path, 'Version']).stdout.strip()


def links_to_site():
    out = []
    for d in ('/etc/nginx/modules-enabled', '/etc/nginx/sites-enabled'):
        for p in glob.glob(os.path.join(d, '*')):
            if os.path.islink(p) and os.path.realpath(p).startswith(
                    SITE_DIR + '/'):
                out.append(p)
    return out


def store_files():
    out = []
    for d, _, files in os.walk(STORE):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), STORE))
    return sorted(out)


def nginx_t():
    """`nginx -t` on the stock /etc/nginx/nginx.conf."""
    return run([NGINX, '-t'], check=False, timeout=60)


def replace_once(text, old, new):
    assert text.count(old) == 1, 'expected once in the file: %r' % old
    return text.replace(old, new)


def build_older(src, version, into):
    """The package of src with its changelog's version set to version."""
    tree = os.path.join(into, 'src')
    shutil.copytree(src, tree, symlinks=True,
                    ignore=shutil.ignore_patterns('obj-*', 'build-tools'))
    path = os.path.join(tree, 'debian', 'changelog')
    with open(path) as f:
        lines = f.readlines()
    lines[0] = re.sub(r'\(([^)]+)\)', '(%s)' % version, lines[0], count=1)
    with open(path, 'w') as f:
        f.writelines(lines)
    run(['dpkg-buildpackage', '-us', '-uc', '-b'], cwd=tree,
        env=dict(ENV, DEB_BUILD_OPTIONS='nocheck noautodbgsym'))
    debs = glob.glob(os.path.join(into, '%s_%s_*.deb' % (PKG, version)))
    assert len(debs) == 1, os.listdir(into)
    return debs[0]


class SystemNginx(object):
    """Debian's nginx binary on a copy of the stock nginx.conf, by pid."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.pid_path = os.path.join(tmp, 'nginx.pid')
        self.error_log_path = os.path.join(tmp, 'error.log')
        self.conf_path = os.path.join(tmp, 'nginx.conf')
        with open('/etc/nginx/nginx.conf') as f:
            conf = f.read()
        conf = replace_once(conf, 'pid /run/nginx.pid;',
                            'pid %s;\ndaemon off;' % self.pid_path)
        conf = replace_once(conf, 'error_log /var/log/nginx/error.log;',
                            'error_log %s notice;' % self.error_log_path)
        conf = replace_once(conf, 'access_log /var/log/nginx/access.log;',
                            'access_log %s/access.log;' % tmp)
        # the example site's status server only: the default site would
        # listen on port 80
        conf = replace_once(conf, 'include /etc/nginx/sites-enabled/*;',
                            'include %s;' % LINK_STATUS)
        with open(self.conf_path, 'w') as f:
            f.write(conf)
        self.proc = None
        self.master = None

    def start(self, port):
        if os.path.exists(self.pid_path):
            os.unlink(self.pid_path)
        self.proc = subprocess.Popen(
            [NGINX, '-c', self.conf_path, '-e', self.error_log_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=harness._die_with_parent)
        deadline = time.time() + 15
        while time.time() < deadline:
            assert self.proc.poll() is None, (
                'nginx exited: %s' % self.error_log()[-2000:])
            try:
                with open(self.pid_path) as f:
                    self.master = int(f.read().strip() or 0) or None
            except (OSError, ValueError):
                pass
            if self.master and self.workers() and listening(port):
                return
            time.sleep(0.05)
        raise AssertionError('nginx did not start:\n' +
                             self.error_log()[-2000:])

    def workers(self):
        return harness._children(self.master) if self.master else []

    def reload(self):
        old = set(self.workers())
        os.kill(self.master, signal.SIGHUP)
        deadline = time.time() + 15
        while time.time() < deadline:
            if set(self.workers()) - old:
                return
            time.sleep(0.05)
        raise AssertionError('no new workers after reload')

    def stop(self):
        if self.proc is None:
            return
        workers = self.workers()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                for p in [self.proc.pid] + workers:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait(5)
        deadline = time.time() + 5
        while time.time() < deadline and any(harness._alive(p)
                                             for p in workers):
            time.sleep(0.05)
        for p in workers:
            if harness._alive(p):
                os.kill(p, signal.SIGKILL)
        self.proc = None
        self.master = None

    def error_log(self):
        try:
            with open(self.error_log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def bad_lines(self):
        return [l for l in self.error_log().splitlines()
                if BAD_LINE.search(l)]


def listening(port):
    want = ':%04X' % port
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1].endswith(want) and p[3] == '0A':
                return True
    return False


def _terminated(signum, frame):
    raise SystemExit('terminated by signal %d' % signum)


class Package(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # a killed run (SIGTERM) still puts the system back: the test
        # fails, tearDown runs
        signal.signal(signal.SIGTERM, _terminated)
        if os.geteuid() != 0:
            raise unittest.SkipTest('installs a package: needs root')
        if package_known():
            raise AssertionError('%s is installed here already; this test '
                                 'would replace it' % PKG)
        if os.path.lexists(STORE):
            raise AssertionError('%s exists already; this test would '
                                 'write into it' % STORE)
        assert not links_to_site(), links_to_site()
        cls.tmp = tempfile.mkdtemp(prefix='dualcam-deb-')
        os.chmod(cls.tmp, 0o755)
        cls.deb = os.environ.get('DUALCAM_DEB')
        src = os.environ.get('DUALCAM_DEB_SRC')
        if not cls.deb or not src:
            raise AssertionError('run it with `make test-deb` (it needs '
                                 'DUALCAM_DEB and DUALCAM_DEB_SRC)')
        cls.version = deb_version(cls.deb)
        cls.old_version = cls.version + '~old1'
        cls.old_deb = build_older(src, cls.old_version,
                                  os.path.join(cls.tmp, 'old'))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, 'tmp', '/nonexistent'),
                      ignore_errors=True)

    def setUp(self):
        self.ngx = None
        self.sims = []
        self.release = None
        self.port = free_port()
        self.http_port = free_port()
        self.site = os.path.join(self.tmp, 'site-%d' % self.port)
        os.makedirs(self.site)
        os.chmod(self.site, 0o755)

    def tearDown(self):
        # back to how the system was: nothing of ours running, installed,
        # linked or stored
        if self.release is not None:
            # an apt-get waiting in its DPkg::Pre-Invoke hook goes on
            open(self.release, 'w').close()
        for p in self.sims:
            try:
                p.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
        if self.ngx is not None:
            self.ngx.stop()
        self.disable_site()
        if package_known():
            run(APT + ['purge', PKG])
        shutil.rmtree(STORE, ignore_errors=True)

    # -- steps ------------------------------------------------------------

    def install(self, deb):
        run(APT + ['install', os.path.abspath(deb)])
        self.assertEqual(installed_version(), deb_version(deb))

    def enable_site(self):
        """The example site as the README enables it, with its ports moved
        to free ones on 127.0.0.1 and its access log into the temp dir."""
        with open(os.path.join(SITE_DIR, 'dualcam-stream.conf')) as f:
            stream = f.read()
        stream = replace_once(stream, 'listen 5232;',
                              'listen 127.0.0.1:%d;' % self.port)
        stream = replace_once(stream, '/var/log/nginx/dualcam-access.log',
                              os.path.join(self.site, 'access.log'))
        with open(os.path.join(SITE_DIR, 'dualcam-status.conf')) as f:
            status = f.read()
        status = replace_once(status, 'listen 127.0.0.1:8080;',
                              'listen 127.0.0.1:%d;' % self.http_port)
        for name, text, link in (('dualcam-stream.conf', stream,
                                  LINK_STREAM),
                                 ('dualcam-status.conf', status,
                                  LINK_STATUS)):
            path = os.path.join(self.site, name)
            with open(path, 'w') as f:
                f.write(text)
            os.symlink(path, link)

    def disable_site(self):
        for link in (LINK_STREAM, LINK_STATUS):
            if os.path.islink(link):
                os.unlink(link)

    def start(self):
        if self.ngx is None:
            self.ngx = SystemNginx(self.site)
        self.ngx.start(self.port)

    def status(self):
        url = 'http://127.0.0.1:%d/dualcam/status' % self.http_port
        with urllib.request.urlopen(url, timeout=10) as r:
            self.assertEqual(r.status, 200)
            return json.loads(r.read())

    def sim_args(self, *args):
        return [SIM, '--host', '127.0.0.1', '--port', str(self.port)] + \
            [str(a) for a in args]

    def upload(self, *args):
        r = run(self.sim_args(*args) + ['--verify-store', STORE],
                check=False, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def assert_version_running(self, version):
        self.assertEqual(self.status()['version'], version)

    def assert_clean_log(self):
        self.assertEqual(self.ngx.bad_lines(), [])

    # -- the tests --------------------------------------------------------

    def test_install_run_remove_purge(self):
        self.install(self.deb)

        # what is where
        for path in (SO, SNIPPET, SIM, '/usr/share/man/man1/dualcam-sim.1.gz',
                     '/usr/share/doc/%s/README.md.gz' % PKG,
                     '/usr/share/doc/%s/copyright' % PKG,
                     '/usr/share/doc/%s/examples/quickstart.conf' % PKG,
                     os.path.join(SITE_DIR, 'dualcam-stream.conf'),
                     os.path.join(SITE_DIR, 'dualcam-status.conf')):
            self.assertTrue(os.path.exists(path), path)
        files = run(['dpkg', '-L', PKG]).stdout.split()
        programs = [f for f in files if f.startswith('/usr/bin/')]
        self.assertIn(SIM, programs)
        for p in programs:
            self.assertIn('/usr/share/man/man1/%s.1.gz'
                          % os.path.basename(p), files)
        if '/usr/bin/dualcam-mp4' in programs:
            # the remuxer works from /usr/bin: a fixture recording to MP4
            out = os.path.join(self.site, 'front.mp4')
            run(['/usr/bin/dualcam-mp4', harness.fixture(
                'video/dualcam-front-20241101T070713Z.h265'), out])
            with open(out, 'rb') as f:
                self.assertEqual(f.read(8)[4:], b'ftyp')
        with open(SNIPPET) as f:
            self.assertEqual(f.read(), 'load_module '
                             'modules/ngx_stream_dualcam_module.so;\n')
        self.assertEqual(os.readlink(ENABLED), SNIPPET)
        enabled = sorted(os.listdir('/etc/nginx/modules-enabled'))
        self.assertLess(enabled.index('50-mod-stream.conf'),
                        enabled.index(os.path.basename(ENABLED)))
        for ours in ('dualcam-stream.conf', 'dualcam-status.conf'):
            with open(os.path.join(SITE_DIR, ours)) as f, \
                    open(os.path.join(ROOT, 'conf-examples', 'debian',
                                      ours)) as g:
                self.assertEqual(f.read(), g.read())
        depends = run(['dpkg-query', '-W', '-f=${Depends}', PKG]).stdout
        self.assertRegex(depends, r'(^|, )libnginx-mod-stream(,|$)')
        abi = run(['dpkg-query', '-W', '-f=${Provides}', 'nginx']).stdout
        m = re.search(r'nginx-abi-[\w.~+-]+', abi)
        self.assertTrue(m, abi)
        self.assertIn(m.group(0), depends.split(', '))

        # the store: the maintainer script made it for the workers' user
        st = os.stat(STORE)
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, 'www-data')
        self.assertEqual(st.st_mode & 0o777, 0o750)

        # installed is not enabled: no site, no port of ours
        self.assertEqual(links_to_site(), [])
        r = nginx_t()
        self.assertEqual(r.returncode, 0, r.stderr)

        # the example site, enabled by hand
        self.enable_site()
        r = nginx_t()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('test is successful', r.stderr)

        self.start()
        self.assertRegex(self.ngx.error_log(),
                         r'\[notice\] \d+#\d+: ngx_stream_dualcam_module/%s '
                         r'\(nginx/' % re.escape(self.version))
        self.assert_version_running(self.version)
        self.upload('-n', 3, '-f', 'photof:50000,videof:300k', '-t', 60)
        stored = store_files()
        self.assertEqual(len([f for f in stored if f.endswith('.json')]), 6,
                         stored)
        for f in stored:
            if not f.startswith('.tmp'):
                owner = os.stat(os.path.join(STORE, f)).st_uid
                self.assertEqual(pwd.getpwuid(owner).pw_name, 'www-data', f)
        doc = self.status()
        self.assertEqual(doc['totals']['files_stored'], 6)
        self.ngx.stop()
        self.assert_clean_log()

        # remove: the operator disables the site first (the README says so)
        self.disable_site()
        r = run(APT + ['remove', PKG])
        self.assertIsNone(installed_version())
        for gone in (SO, SNIPPET, SIM, ENABLED):
            self.assertFalse(os.path.exists(gone), gone)
        self.assertTrue(os.path.exists(os.path.join(SITE_DIR,
                                                    'dualcam-stream.conf')))
        r = nginx_t()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(store_files(), stored)

        # purge: the conffiles and the disabled link go, the store stays
        run(APT + ['purge', PKG])
        self.assertFalse(package_known())
        self.assertFalse(os.path.lexists(ENABLED))
        self.assertFalse(os.path.lexists(ENABLED + '.removed'))
        self.assertFalse(os.path.exists(SITE_DIR))
        r = nginx_t()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(store_files(), stored)

    def test_upgrade_with_uploads_in_flight(self):
        self.assertEqual(run(['dpkg', '--compare-versions', self.old_version,
                              'lt', self.version], check=False).returncode, 0)
        self.install(self.old_deb)
        self.enable_site()
        self.start()
        self.assert_version_running(self.old_version)
        master, workers = self.ngx.master, self.ngx.workers()

        # apt-get runs up to the point where it calls dpkg, and waits there
        # (DPkg::Pre-Invoke) until the uploads run: how long apt takes to
        # get there on a loaded machine does not matter then
        ready = os.path.join(self.site, 'apt-ready')
        go = os.path.join(self.site, 'apt-go')
        apt = subprocess.Popen(
            APT + ['-o', 'DPkg::Pre-Invoke::=touch %s; while [ ! -e %s ]; '
                   'do sleep 0.05; done' % (ready, go),
                   'install', os.path.abspath(self.deb)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=ENV)
        self.sims.append(apt)
        deadline = time.time() + 300
        self.release = go
        while not os.path.exists(ready):
            if apt.poll() is not None:
                self.fail('apt-get ended early:\n' + apt.communicate()[0])
            self.assertLess(time.time(), deadline, 'apt-get took too long')
            time.sleep(0.05)

        # 8 trackers at 30 kB/s with 300 kB each: ~10 s of uploads
        sim = subprocess.Popen(
            self.sim_args('-n', 8, '-f', 'photof:300k', '-r', 30000,
                          '-t', 90, '--verify-store', STORE),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.sims.append(sim)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.status()['totals']['sessions_active'] == 8:
                break
            time.sleep(0.1)
        else:
            self.fail('the uploads did not start')

        # dpkg unpacks: the new .so takes the old one's name (a rename)
        inode = os.stat(SO).st_ino
        open(go, 'w').close()
        while os.stat(SO).st_ino == inode and apt.poll() is None:
            time.sleep(0.01)
        in_flight = sim.poll() is None
        out = apt.communicate(timeout=300)[0]
        self.assertEqual(apt.returncode, 0, out)
        self.assertEqual(installed_version(), self.version)
        self.assertTrue(in_flight, 'the uploads were over before dpkg '
                        'replaced the module: make them longer')
        self.assertTrue(harness._alive(master))
        self.assertEqual(self.ngx.workers(), workers)
        # still the old .so in memory, the new one on disk
        self.assert_version_running(self.old_version)
        with open(SO, 'rb') as f:
            self.assertIn(('ngx_stream_dualcam_module/%s '
                           % self.version).encode(), f.read())

        out, err = sim.communicate(timeout=120)
        self.assertEqual(sim.returncode, 0, out + err)
        self.assertEqual(self.ngx.workers(), workers)
        self.assertEqual(self.status()['totals']['files_stored'], 8)

        # a reload works, and keeps the mapped module: the README says a
        # new .so needs a restart
        self.ngx.reload()
        self.assert_version_running(self.old_version)
        self.upload('-n', 2, '--imei-base', 352093080001000, '-t', 60)

        self.ngx.stop()
        self.start()
        self.assert_version_running(self.version)
        self.upload('-n', 2, '--imei-base', 352093080002000, '-t', 60)
        self.ngx.stop()
        self.assert_clean_log()

        # an operator who removes and purges with the site still enabled
        # (linked to the conffiles, as the README does it) is warned, and
        # after the purge `nginx -t` works again: the links to the deleted
        # example files go, the others stay
        self.disable_site()
        others = sorted(os.listdir('/etc/nginx/sites-enabled'))
        os.symlink(os.path.join(SITE_DIR, 'dualcam-stream.conf'),
                   LINK_STREAM)
        os.symlink(os.path.join(SITE_DIR, 'dualcam-status.conf'),
                   LINK_STATUS)
        r = run(APT + ['remove', PKG])
        self.assertIn('still enables the dualcam example site',
                      r.stdout + r.stderr)
        run(APT + ['purge', PKG])
        self.assertFalse(os.path.lexists(LINK_STREAM))
        self.assertFalse(os.path.lexists(LINK_STATUS))
        self.assertEqual(sorted(os.listdir('/etc/nginx/sites-enabled')),
                         others)
        r = nginx_t()
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == '__main__':
    unittest.main()
