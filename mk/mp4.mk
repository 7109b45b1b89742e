# The MP4 remuxer (issue 10): ffmpeg/ffprobe from Debian are the oracle of
# t/test_mp4.py (decoded frames and samples), never a runtime dependency.
# Debian's ffmpeg has libx265, which makes the plain Annex B test streams.

DEPS_PKGS += ffmpeg
