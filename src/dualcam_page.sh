#!/bin/sh
# Turns the operator's page into C: dualcam_page.sh IN.html OUT.c
#
# Run by the Makefile that nginx's configure writes (see config.make), so
# it uses only what every Debian system has: sh, od (coreutils) and sed.
# The output depends on the bytes of IN only, byte for byte the same on
# every run.

set -e

in=$1
out=$2

if [ -z "$in" ] || [ -z "$out" ] || [ ! -s "$in" ]; then
    echo "usage: $0 IN.html OUT.c (IN not empty)" >&2
    exit 2
fi

mkdir -p "$(dirname "$out")"

{
    echo '/* made from dualcam_page.html by dualcam_page.sh: do not edit */'
    echo
    echo '#include <ngx_config.h>'
    echo '#include <ngx_core.h>'
    echo
    echo '#include "ngx_http_dualcam_page.h"'
    echo
    echo
    echo 'static u_char  ngx_http_dualcam_page_data[] = {'
    LC_ALL=C od -An -v -w12 -tx1 "$in" \
        | sed -e 's/ \([0-9a-f][0-9a-f]\)/ 0x\1,/g' -e 's/^ */    /' \
              -e 's/ *$//'
    echo '};'
    echo
    echo
    echo 'void'
    echo 'ngx_http_dualcam_page(ngx_str_t *page)'
    echo '{'
    echo '    page->len = sizeof(ngx_http_dualcam_page_data);'
    echo '    page->data = ngx_http_dualcam_page_data;'
    echo '}'
} > "$out.tmp"

mv -f "$out.tmp" "$out"
