"""A RESUME is repeated only when the device has been silent for the
repeat interval: frames still in flight when the device hears it (it was
sending when the bad CRC went out) are input, so on a GSM link the file is
not asked for, and paid for, twice."""

import os
import struct
import time

from faults import (IMEI, NAME_10, StepDevice, can_mount_ext4, content,
                    frozen, mount_ext4, partials, stored, wait_for)
from harness import NginxTestCase, chown_worker
import device

BODY = content(20)


class Repeat(NginxTestCase):

    def test_frames_in_flight_hold_the_repeat(self):
        """After a bad CRC at packet 4 the device goes on sending packets
        5..12, one every 0.4 s (3.2 s, longer than the 2 s repeat), before
        it reads the RESUME: it hears exactly one RESUME, for 4."""
        ngx = self.start_nginx()
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(3)
        dev.send_packets(1, bad_crc_at=4)
        dev.send_slowly(8, 0.4)
        dev.dev.sock.settimeout(1.0)
        self.assertEqual(dev.sync(), 4)
        dev.send_packets()
        dev.dev.sock.settimeout(10)
        dev.finish()       # a second RESUME here would fail: not 00 09
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})

    def test_silence_still_repeats(self):
        """The same without the frames in flight: the device that sends
        nothing hears the RESUME again after 2 s."""
        ngx = self.start_nginx()
        dev = StepDevice(ngx.connect(), BODY)
        self.assertEqual(dev.offer(), 0)
        dev.send_packets(3)
        dev.send_packets(1, bad_crc_at=4)
        t = time.time()
        dev.dev.sock.settimeout(5)
        self.assertEqual(struct.unpack('>I', dev.expect(0x0002))[0], 4)
        self.assertEqual(struct.unpack('>I', dev.expect(0x0002))[0], 4)
        self.assertGreater(time.time() - t, 1.5)
        dev.drop()

    def test_stalled_worker_reads_before_repeating(self):
        """The worker stalls for 3 s (dualcam_thread_pool off: another
        device's commit waits on a frozen file system in the event loop)
        while the SYNC that answers the RESUME arrives.  When it goes on,
        the RESUME timer has expired, and another connection's event
        comes first (epoll_events 1: one event per wake-up), so the timer
        runs before the SYNC's read event: the repeat reads first, finds
        the SYNC, and the device hears one RESUME."""
        if not can_mount_ext4():
            self.skipTest('cannot mount and freeze a loop ext4 here')
        fs = mount_ext4(self)
        os.makedirs(os.path.join(fs, 'store'))
        chown_worker(os.path.join(fs, 'store'))
        ngx = self.start_nginx(start=False, stream='''
            server {
                listen 127.0.0.1:@PORT@;
                dualcam;
                dualcam_store %(fs)s/store;
                dualcam_temp_path %(fs)s/tmp;
                dualcam_thread_pool off;
            }''' % {'fs': fs})
        ngx.conf = ngx.conf.replace('worker_connections 1024;',
                                    'worker_connections 1024; '
                                    'epoll_events 1;')
        ngx.start()
        ngx.store = os.path.join(fs, 'store')
        ngx.temp = os.path.join(fs, 'tmp')
        a = StepDevice(ngx.connect(), BODY)             # the one asked
        b = StepDevice(ngx.connect(), BODY, imei=IMEI + 1)   # commits
        c = StepDevice(ngx.connect(), BODY, imei=IMEI + 2)   # an event
        for dev in (a, b, c):
            self.assertEqual(dev.offer(), 0)
        b.send_packets(9)
        c.send_packets(3)
        a.send_packets(3)
        a.send_packets(1, bad_crc_at=4)
        self.assertEqual(struct.unpack('>I', a.expect(0x0002))[0], 4)
        wait_for(lambda: len(partials(ngx.temp)) == 3)
        with frozen(fs):
            b.send_packets()                # the worker stalls on it
            time.sleep(0.3)
            c.send_packets(1)               # ready first
            time.sleep(0.3)
            a.dev.send(device.frame(0x0003, struct.pack('>I', 4)))
            a.next, a.crc = 4, 0            # SYNC 4: the RESUME heard
            time.sleep(2.7)                 # past the 2 s repeat
        a.send_packets()
        a.sock.settimeout(10)
        a.finish()          # a repeated RESUME here fails: not 00 09
        b.finish()
        c.send_packets()
        c.finish()
        self.assertEqual(stored(ngx.store), {NAME_10: BODY})
        self.assertEqual(stored(ngx.store, IMEI + 1), {NAME_10: BODY})
