"""A RESUME is repeated only when the device has been silent for the
repeat interval: frames still in flight when the device hears it (it was
sending when the bad CRC went out) are input, so on a GSM link the file is
not asked for, and paid for, twice."""

import struct
import time

from faults import NAME_10, StepDevice, content, stored
from harness import NginxTestCase

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
