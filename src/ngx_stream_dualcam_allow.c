
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam_allow_imei: the list of IMEIs served, read when the
 * configuration is loaded, and the lookup at every init packet.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam.h"


static int ngx_libc_cdecl ngx_stream_dualcam_cmp_imei(const void *one,
    const void *two);


char *
ngx_stream_dualcam_allow_imei(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_stream_dualcam_srv_conf_t *dscf = conf;

    u_char           *buf, *p, *last, *tok;
    off_t             size;
    ssize_t           n;
    uint64_t          imei, *ip;
    ngx_str_t        *value, name;
    ngx_uint_t        line;
    ngx_file_t        file;
    ngx_array_t      *allow;
    ngx_file_info_t   fi;

    if (dscf->allow != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", name.data);
        return NGX_CONF_ERROR;
    }

    buf = NULL;
    size = 0;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%s\" failed", name.data);
        goto failed;
    }

    size = ngx_file_size(&fi);

    if (size > 64 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" is too large", name.data);
        goto failed;
    }

    buf = ngx_pnalloc(cf->temp_pool, (size_t) size + 1);
    if (buf == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, buf, (size_t) size, 0);
    if (n != (ssize_t) size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read \"%s\"", name.data);
        goto failed;
    }

    ngx_close_file(file.fd);
    file.fd = NGX_INVALID_FILE;

    allow = ngx_array_create(cf->pool, 16, sizeof(uint64_t));
    if (allow == NULL) {
        return NGX_CONF_ERROR;
    }

    /* one IMEI a line (or several, space-separated); "#" comments */

    last = buf + size;
    line = 1;

    for (p = buf; p < last; /* void */) {

        if (*p == '\n') {
            line++;
            p++;
            continue;
        }

        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
            continue;
        }

        if (*p == '#') {
            while (p < last && *p != '\n') {
                p++;
            }

            continue;
        }

        tok = p;
        imei = 0;

        while (p < last && *p >= '0' && *p <= '9' && p - tok < 15) {
            imei = imei * 10 + (*p++ - '0');
        }

        if (p == tok
            || (p < last && *p != ' ' && *p != '\t' && *p != '\r'
                && *p != '\n' && *p != '#'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid IMEI in \"%s\" line %ui",
                               name.data, line);
            return NGX_CONF_ERROR;
        }

        ip = ngx_array_push(allow);
        if (ip == NULL) {
            return NGX_CONF_ERROR;
        }

        *ip = imei;
    }

    if (allow->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"%s\" holds no IMEI: every device is refused",
                           name.data);
    }

    ngx_qsort(allow->elts, allow->nelts, sizeof(uint64_t),
              ngx_stream_dualcam_cmp_imei);

    dscf->allow = allow;

    return NGX_CONF_OK;

failed:

    if (file.fd != NGX_INVALID_FILE) {
        ngx_close_file(file.fd);
    }

    return NGX_CONF_ERROR;
}


static int ngx_libc_cdecl
ngx_stream_dualcam_cmp_imei(const void *one, const void *two)
{
    const uint64_t  *a = one;
    const uint64_t  *b = two;

    if (*a == *b) {
        return 0;
    }

    return (*a < *b) ? -1 : 1;
}


ngx_uint_t
ngx_stream_dualcam_allowed(ngx_array_t *allow, uint64_t imei)
{
    uint64_t    *a;
    ngx_uint_t   lo, hi, mid;

    a = allow->elts;
    lo = 0;
    hi = allow->nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (a[mid] == imei) {
            return 1;
        }

        if (a[mid] < imei) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}
