"""The store is ready before the first device, or nginx says why: the
master creates a missing store (and a temp path inside it) for the worker
user, as it does nginx's temp paths; a store that cannot work is one
[emerg] at `nginx -t` and at start; an allow list without an IMEI is a
[warn]."""

import os
import pwd
import shutil
import tempfile

from harness import NginxTestCase, need_sim, worker_user


def need_root_and_user(test):
    if worker_user() is None:
        test.skipTest('needs root (workers as another user)')


class Creation(NginxTestCase):

    def test_missing_store_is_created_for_the_worker_user(self):
        """A store that does not exist (temp path elsewhere) is created
        at start, owned by the worker user; the first device stores."""
        need_sim(self)
        ngx = self.start_nginx(start=False)
        shutil.rmtree(ngx.store)
        ngx.start()
        st = os.stat(ngx.store)
        user = worker_user()
        if user is not None:
            self.assertEqual(st.st_uid, pwd.getpwnam(user[0]).pw_uid)
        r = ngx.sim('--files', 'photof:5000', '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn('store_error', ngx.access_log())

    def test_temp_path_inside_a_missing_store(self):
        """dualcam_temp_path <store>/.tmp written before dualcam_store,
        the store missing: both are created, parent first."""
        need_sim(self)
        ngx = self.start_nginx(start=False, stream='''server {
        listen 127.0.0.1:@PORT@;
        dualcam_temp_path @STORE@/.tmp 1;
        dualcam;
        dualcam_store @STORE@;
    }''')
        shutil.rmtree(ngx.store)
        ngx.start()
        self.assertTrue(os.path.isdir(os.path.join(ngx.store, '.tmp')))
        r = ngx.sim('--files', 'photof:5000', '--verify-store', ngx.store)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_nginx_t_creates_it_too(self):
        """As for nginx's temp paths, `nginx -t` creates the store."""
        ngx = self.start_nginx(start=False)
        shutil.rmtree(ngx.store)
        t = ngx.test_config()
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertTrue(os.path.isdir(ngx.store))


class Refused(NginxTestCase):

    def refused(self, ngx, pattern):
        ngx.expect_log(pattern)
        t = ngx.test_config()
        self.assertNotEqual(t.returncode, 0, t.stderr)
        self.assertRegex(t.stderr, r'\[emerg\] ' + pattern)
        self.assertEqual(len([l for l in t.stderr.splitlines()
                              if '[emerg]' in l]), 1, t.stderr)
        with self.assertRaises(RuntimeError):
            ngx.start(timeout=5)

    def test_store_the_worker_user_cannot_enter(self):
        """A store under a directory only root may enter: nginx names the
        directory and the user, at -t and at start, before any device
        gets a 500."""
        need_root_and_user(self)
        ngx = self.start_nginx(start=False)
        locked = os.path.join(ngx.prefix, 'locked')
        os.mkdir(locked, 0o700)
        ngx.store = os.path.join(locked, 'store')
        ngx.conf = ngx.conf.replace(os.path.join(ngx.prefix, 'store'),
                                    ngx.store)
        self.refused(ngx, r'dualcam_store "%s": the worker user "%s" may '
                     r'not enter "%s"' % (ngx.store, worker_user()[0],
                                          locked))

    def test_store_is_a_regular_file(self):
        ngx = self.start_nginx(start=False)
        shutil.rmtree(ngx.store)
        with open(ngx.store, 'w') as f:
            f.write('not a directory\n')
        self.refused(ngx, r'dualcam_store "%s": "%s" is not a directory'
                     % (ngx.store, ngx.store))
        with open(ngx.store) as f:
            self.assertEqual(f.read(), 'not a directory\n')
        self.assertEqual(os.stat(ngx.store).st_mode & 0o777, 0o644)

    def test_temp_path_on_another_file_system(self):
        """Files are link()ed from the temp path into the store: a temp
        path on another file system is refused at start."""
        if os.stat('/dev/shm').st_dev == os.stat(tempfile.gettempdir()) \
                .st_dev:
            self.skipTest('/dev/shm is on the same file system')
        ngx = self.start_nginx(start=False)
        other = tempfile.mkdtemp(prefix='dualcam-t-', dir='/dev/shm')
        self.addCleanup(shutil.rmtree, other, True)
        os.chmod(other, 0o755)
        ngx.conf = ngx.conf.replace(ngx.temp, other)
        self.refused(ngx, r'dualcam_temp_path "%s" is on another file '
                     r'system than dualcam_store "%s"' % (other, ngx.store))

    def test_store_not_writable_without_a_user_directive(self):
        """nginx started as an unprivileged user (no "user"): the store
        must be writable by that user, which nginx cannot chown to."""
        need_root_and_user(self)
        ngx = self.start_nginx(start=False)
        os.chown(ngx.store, 0, 0)
        os.chmod(ngx.store, 0o755)
        ngx.conf = ngx.conf.replace('user nobody nogroup;\n', '')
        wrapper = os.environ.get('DUALCAM_NGINX_WRAPPER', '')
        os.environ['DUALCAM_NGINX_WRAPPER'] = (
            'setpriv --reuid=nobody --regid=nogroup --clear-groups '
            + wrapper)
        self.addCleanup(os.environ.__setitem__, 'DUALCAM_NGINX_WRAPPER',
                        wrapper)
        for d in ('logs', 'conf'):
            shutil.chown(os.path.join(ngx.prefix, d), 'nobody', 'nogroup')
        shutil.chown(ngx.temp if os.path.exists(ngx.temp) else ngx.prefix,
                     'nobody', 'nogroup')
        uid = pwd.getpwnam('nobody').pw_uid
        ngx.expect_log('may not write it')
        t = ngx.test_config()
        self.assertNotEqual(t.returncode, 0, t.stderr)
        self.assertIn('[emerg] dualcam_store "%s": the worker user "uid %d" '
                      'may not write it' % (ngx.store, uid), t.stderr)


class AllowList(NginxTestCase):

    def test_an_allow_list_without_imeis_warns(self):
        need_sim(self)
        ngx = self.start_nginx(start=False)
        path = os.path.join(ngx.prefix, 'allow.txt')
        with open(path, 'w') as f:
            f.write('# nobody yet\n\n')
        ngx.conf = ngx.conf.replace(
            'dualcam_store', 'dualcam_allow_imei %s;\n        '
            'dualcam_store' % path, 1)
        t = ngx.test_config()
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn('[warn] "%s" holds no IMEI: every device is refused'
                      % path, t.stderr)
        ngx.start()
        self.assertIn('holds no IMEI', ngx.error_log())
        r = ngx.sim('--expect-refused')
        self.assertEqual(r.returncode, 0, r.stderr)
