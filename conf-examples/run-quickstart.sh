#!/bin/sh
# `make run`: nginx in the foreground with conf-examples/quickstart.conf,
# prefix ./var/ (store, logs, temp files all under it).  Ctrl-C stops it.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

nginx=${NGINX:-/usr/sbin/nginx}
var="$top/var"

if [ ! -f build/ngx_stream_dualcam_module.so ]; then
    echo "build/ngx_stream_dualcam_module.so is missing: run make first" >&2
    exit 1
fi

mkdir -p "$var/logs" "$var/store" "$var/tmp"

# as root, the workers run as nobody: they write the store
if [ "$(id -u)" = 0 ]; then
    chown nobody:nogroup "$var/store" 2>/dev/null \
        || chown nobody "$var/store"
fi

"$nginx" -t -q -p "$var/" -c "$top/conf-examples/quickstart.conf" \
    -e "$var/logs/error.log"

cat <<MSG

ngx_stream_dualcam quick start (nginx in the foreground, Ctrl-C stops it)

  devices connect to   port 5232 (TCP) on this host
  finished files in    $var/store/<IMEI>/  (+ .json sidecar per file)
  partial uploads in   $var/store/.tmp/
  the page             http://127.0.0.1:8080/dualcam/status  (open it in a
                       browser: live uploads, photos, clips)
  status               curl http://127.0.0.1:8080/dualcam/status
                       curl 'http://127.0.0.1:8080/dualcam/status?format=prometheus'
  logs                 $var/logs/error.log, $var/logs/dualcam-access.log

  a simulated tracker: build/dualcam-sim -p 5232 -f photof:50000,videof:2M \\
                           --verify-store $var/store
  a real tracker:      set the camera server (DualCam / "Camera" settings in
                       the Teltonika Configurator) to this host's address,
                       port 5232, TLS off

MSG

exec "$nginx" -p "$var/" -c "$top/conf-examples/quickstart.conf" \
    -e "$var/logs/error.log" -g 'daemon off;'
