
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The shared-memory zone of the camera server, in the shape of
 * ngx_stream_limit_conn_module.c: a slab pool holding the totals, a queue
 * of active sessions (oldest first) and a queue of recently finished
 * uploads (newest first), written by every worker under the slab mutex.
 *
 * The zone never fails an upload: when the slab is full, the oldest
 * finished entries are evicted, and when nothing is left to evict the new
 * entry is dropped (the session then counts in the totals only).  The
 * slab's own "no memory" message is switched off (log_nomem = 0).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam_zone.h"


#define NGX_STREAM_DUALCAM_ZONE_MAGIC       0x64637a32  /* "dcz2" */
#define NGX_STREAM_DUALCAM_RECENT_DEFAULT   64
#define NGX_STREAM_DUALCAM_RECENT_MAX       100000
#define NGX_STREAM_DUALCAM_RATE_WINDOW      1000        /* ms */


typedef struct {
    ngx_queue_t                          queue;
    ngx_stream_dualcam_zone_session_t    data;
} ngx_stream_dualcam_zone_snode_t;


typedef struct {
    ngx_queue_t                          queue;
    uint64_t                             imei;
    dualcam_kind_e                       kind;
    dualcam_side_e                       side;
    dualcam_result_e                     result;
    uint64_t                             size;
    uint64_t                             start_ms;
    uint64_t                             end_ms;
    size_t                               name_len;
    size_t                               path_len;
    size_t                               addr_len;
    size_t                               mp4_len;
    u_char                               data[1];   /* name path addr
                                                       mp4 */
} ngx_stream_dualcam_zone_rnode_t;


typedef struct {
    uint32_t                             magic;
    uint32_t                             sh_size;
    uint64_t                             start_ms;
    ngx_queue_t                          sessions;
    ngx_queue_t                          recent;
    ngx_uint_t                           nsessions;
    ngx_uint_t                           nrecent;
    size_t                               recent_str;  /* string bytes */
    ngx_stream_dualcam_zone_totals_t     totals;
} ngx_stream_dualcam_zone_sh_t;


typedef struct {
    ngx_stream_dualcam_zone_sh_t        *sh;
    ngx_slab_pool_t                     *shpool;
    ngx_uint_t                           recent;
} ngx_stream_dualcam_zone_ctx_t;


struct ngx_stream_dualcam_zone_sess_s {
    ngx_shm_zone_t                      *zone;
    ngx_stream_dualcam_zone_ctx_t       *ctx;
    ngx_stream_dualcam_zone_snode_t     *node;     /* NULL: no room */
    ngx_stream_session_t                *session;

    uint64_t                             imei;
    ngx_uint_t                           protocol;

    /* the file in flight: the core's, in the same session pool */
    dualcam_file_t                      *file;
    uint64_t                             file_start_ms;

    ngx_msec_t                           rate_msec;
    uint64_t                             rate_bytes;
    uint64_t                             rate;

    unsigned                             has_imei:1;
    unsigned                             file_active:1;
    unsigned                             ended:1;

    size_t                               addr_len;
    u_char                               addr[NGX_STREAM_DUALCAM_ADDR_LEN];

    ngx_str_t                            mp4;      /* of the file ending */
};


static ngx_int_t ngx_stream_dualcam_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_stream_dualcam_zone_log_fresh(ngx_shm_zone_t *shm_zone);
static void *ngx_stream_dualcam_zone_alloc_locked(
    ngx_stream_dualcam_zone_ctx_t *ctx, size_t size);
static void ngx_stream_dualcam_zone_evict_locked(
    ngx_stream_dualcam_zone_ctx_t *ctx);
static void ngx_stream_dualcam_zone_node_locked(
    ngx_stream_dualcam_zone_sess_t *zs, uint64_t now);
static void ngx_stream_dualcam_zone_recent_locked(
    ngx_stream_dualcam_zone_sess_t *zs, ngx_str_t *path,
    dualcam_result_e result, uint64_t now);
static void ngx_stream_dualcam_zone_file_end_locked(
    ngx_stream_dualcam_zone_sess_t *zs, ngx_str_t *path,
    dualcam_result_e result, uint64_t now);
static void ngx_stream_dualcam_zone_reap_locked(
    ngx_stream_dualcam_zone_ctx_t *ctx);
static size_t ngx_stream_dualcam_zone_name_len(dualcam_file_t *file);
static void ngx_stream_dualcam_zone_cleanup(void *data);


extern ngx_module_t  ngx_stream_dualcam_module;


char *
ngx_stream_dualcam_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ssize_t                         size;
    ngx_int_t                       n;
    ngx_str_t                      *value, name;
    ngx_uint_t                      i, recent;
    ngx_shm_zone_t                 *shm_zone;
    ngx_stream_dualcam_zone_ctx_t  *ctx;

    value = cf->args->elts;

    if (cf->args->nelts < 3 || cf->args->nelts > 4) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in \"%V\" directive",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    name = value[1];

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small (at least %uz)",
                           &value[1], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    recent = NGX_STREAM_DUALCAM_RECENT_DEFAULT;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "recent=", 7) == 0) {

            n = ngx_atoi(value[i].data + 7, value[i].len - 7);

            if (n == NGX_ERROR || n > NGX_STREAM_DUALCAM_RECENT_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid number of recent uploads "
                                   "\"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            recent = (ngx_uint_t) n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_zone_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    ctx->recent = recent;

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_stream_dualcam_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_stream_dualcam_init_zone;
    shm_zone->data = ctx;

    return NGX_CONF_OK;
}


ngx_shm_zone_t *
ngx_stream_dualcam_zone_get(ngx_conf_t *cf, ngx_str_t *name)
{
    if (name->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty zone name");
        return NULL;
    }

    return ngx_shared_memory_add(cf, name, 0, &ngx_stream_dualcam_module);
}


static ngx_int_t
ngx_stream_dualcam_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_stream_dualcam_zone_ctx_t  *octx = data;

    size_t                          len;
    ngx_stream_dualcam_zone_sh_t   *sh;
    ngx_stream_dualcam_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx != NULL) {

        /* reload with the same size: keep everything */

        sh = octx->sh;

        if (sh->magic != NGX_STREAM_DUALCAM_ZONE_MAGIC
            || sh->sh_size != sizeof(ngx_stream_dualcam_zone_sh_t))
        {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "dualcam zone \"%V\" was created by an "
                          "incompatible version of the module, change its "
                          "size or restart nginx", &shm_zone->shm.name);
            return NGX_ERROR;
        }

        ctx->sh = sh;
        ctx->shpool = octx->shpool;

        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_alloc(ctx->shpool, sizeof(ngx_stream_dualcam_zone_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(sh, sizeof(ngx_stream_dualcam_zone_sh_t));

    sh->magic = NGX_STREAM_DUALCAM_ZONE_MAGIC;
    sh->sh_size = sizeof(ngx_stream_dualcam_zone_sh_t);
    sh->start_ms = ngx_stream_dualcam_now_ms();
    ngx_queue_init(&sh->sessions);
    ngx_queue_init(&sh->recent);

    ctx->sh = sh;
    ctx->shpool->data = sh;

    len = sizeof(" in dualcam zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in dualcam zone \"%V\"%Z",
                &shm_zone->shm.name);

    ctx->shpool->log_nomem = 0;

    ngx_stream_dualcam_zone_log_fresh(shm_zone);

    return NGX_OK;
}


/*
 * A new zone while the running configuration has one of the same name:
 * its size changed (nginx then maps a fresh zone), and so the totals
 * start over.  ngx_cycle is still the old cycle here.
 */

static void
ngx_stream_dualcam_zone_log_fresh(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *ozone;

    part = (ngx_list_part_t *) &ngx_cycle->shared_memory.part;
    ozone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            ozone = part->elts;
            i = 0;
        }

        if (ozone == NULL || part->nelts == 0) {
            break;
        }

        if (ozone[i].tag != shm_zone->tag
            || ozone[i].shm.name.len != shm_zone->shm.name.len
            || ngx_strncmp(ozone[i].shm.name.data, shm_zone->shm.name.data,
                           shm_zone->shm.name.len)
               != 0)
        {
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "dualcam zone \"%V\" changed size from %uz to %uz, "
                      "it starts fresh: totals and recent uploads are reset",
                      &shm_zone->shm.name, ozone[i].shm.size,
                      shm_zone->shm.size);
        return;
    }
}


ngx_stream_dualcam_zone_sess_t *
ngx_stream_dualcam_zone_session_start(ngx_shm_zone_t *zone,
    ngx_stream_session_t *s)
{
    uint64_t                         now;
    ngx_connection_t                *c;
    ngx_pool_cleanup_t              *cln;
    ngx_stream_dualcam_zone_ctx_t   *ctx;
    ngx_stream_dualcam_zone_sess_t  *zs;

    c = s->connection;

    zs = ngx_pcalloc(c->pool, sizeof(ngx_stream_dualcam_zone_sess_t));
    if (zs == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    zs->zone = zone;
    zs->session = s;
    zs->addr_len = ngx_sock_ntop(c->sockaddr, c->socklen, zs->addr,
                                 NGX_STREAM_DUALCAM_ADDR_LEN, 1);

    ctx = (zone != NULL) ? zone->data : NULL;

    if (ctx == NULL || ctx->sh == NULL) {
        zs->ended = 1;
        return zs;
    }

    zs->ctx = ctx;

    now = ngx_stream_dualcam_now_ms();

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ctx->sh->totals.connections++;
    ctx->sh->totals.sessions_active++;

    ngx_stream_dualcam_zone_node_locked(zs, now);

    if (zs->node == NULL) {
        ctx->sh->totals.dropped++;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    cln->handler = ngx_stream_dualcam_zone_cleanup;
    cln->data = zs;

    return zs;
}


void
ngx_stream_dualcam_zone_hello(ngx_stream_dualcam_zone_sess_t *zs,
    uint64_t imei, ngx_uint_t protocol)
{
    uint64_t                            now;
    ngx_stream_dualcam_zone_session_t  *d;

    if (zs == NULL || zs->ended) {
        return;
    }

    zs->imei = imei;
    zs->protocol = protocol;
    zs->has_imei = 1;

    now = ngx_stream_dualcam_now_ms();

    ngx_shmtx_lock(&zs->ctx->shpool->mutex);

    if (zs->node == NULL) {
        /* a second chance for a session that found no room */
        ngx_stream_dualcam_zone_node_locked(zs, now);
    }

    if (zs->node != NULL) {
        d = &zs->node->data;
        d->imei = imei;
        d->protocol = protocol;
        d->has_imei = 1;
        d->activity_ms = now;
    }

    ngx_shmtx_unlock(&zs->ctx->shpool->mutex);
}


void
ngx_stream_dualcam_zone_file(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file, uint64_t started_ms)
{
    uint64_t                            now;
    ngx_msec_int_t                      ms;
    ngx_stream_dualcam_zone_session_t  *d;

    if (zs == NULL || zs->ended) {
        return;
    }

    now = ngx_stream_dualcam_now_ms();

    if (!zs->file_active || zs->file != file
        || zs->file_start_ms != started_ms)
    {
        zs->file = file;
        zs->file_start_ms = started_ms;
        zs->file_active = 1;

        zs->rate_msec = ngx_current_msec;
        zs->rate_bytes = file->received;
        zs->rate = 0;

    } else {

        if (zs->rate_bytes < file->resume_from) {
            /* the bytes kept from an earlier connection are not a rate */
            zs->rate_bytes = file->resume_from;
        }

        /* bytes per second over the last window of about a second */

        ms = (ngx_msec_int_t) (ngx_current_msec - zs->rate_msec);

        if (ms >= NGX_STREAM_DUALCAM_RATE_WINDOW
            || (zs->rate == 0 && ms >= NGX_STREAM_DUALCAM_RATE_WINDOW / 4))
        {
            if (file->received >= zs->rate_bytes) {
                zs->rate = (file->received - zs->rate_bytes) * 1000
                           / (uint64_t) ms;
            }

            zs->rate_msec = ngx_current_msec;
            zs->rate_bytes = file->received;
        }
    }

    ngx_shmtx_lock(&zs->ctx->shpool->mutex);

    if (zs->node == NULL) {
        /* another chance for a session that found no room */
        ngx_stream_dualcam_zone_node_locked(zs, now);
    }

    if (zs->node != NULL) {
        d = &zs->node->data;

        if (!d->has_file || d->file_start_ms != started_ms) {
            d->has_file = 1;
            d->kind = file->kind;
            d->side = file->side;
            d->total = file->total;
            d->size = file->max_size;
            d->file_start_ms = started_ms;
            d->name_len = ngx_stream_dualcam_zone_name_len(file);
            ngx_memcpy(d->name, file->name, d->name_len);
        }

        d->received = file->received;
        d->resume_from = file->resume_from;
        d->packets = file->packets;
        d->crc_errors = file->crc_errors;
        d->rate = zs->rate;
        d->activity_ms = now;
    }

    ngx_shmtx_unlock(&zs->ctx->shpool->mutex);
}


void
ngx_stream_dualcam_zone_file_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file, ngx_str_t *path, dualcam_result_e result)
{
    uint64_t  now;

    if (zs == NULL || zs->ended || file == NULL) {
        return;
    }

    now = ngx_stream_dualcam_now_ms();

    if (!zs->file_active || zs->file != file) {
        zs->file = file;
        zs->file_start_ms = now;
    }

    ngx_shmtx_lock(&zs->ctx->shpool->mutex);
    ngx_stream_dualcam_zone_file_end_locked(zs, path, result, now);
    ngx_shmtx_unlock(&zs->ctx->shpool->mutex);
}


void
ngx_stream_dualcam_zone_count(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_stream_dualcam_counter_e counter, ngx_uint_t n)
{
    if (zs == NULL || zs->ctx == NULL
        || (ngx_uint_t) counter >= NGX_STREAM_DUALCAM_CNT_LAST)
    {
        return;
    }

    ngx_shmtx_lock(&zs->ctx->shpool->mutex);
    zs->ctx->sh->totals.counters[counter] += n;
    ngx_shmtx_unlock(&zs->ctx->shpool->mutex);
}


void
ngx_stream_dualcam_zone_device_status(ngx_stream_dualcam_zone_sess_t *zs,
    uint32_t code)
{
    ngx_stream_dualcam_zone_totals_t  *t;

    if (zs == NULL || zs->ctx == NULL) {
        return;
    }

    ngx_shmtx_lock(&zs->ctx->shpool->mutex);

    t = &zs->ctx->sh->totals;

    if (code < NGX_STREAM_DUALCAM_STATUS_CODES) {
        t->status[code]++;

    } else {
        t->status_other++;
    }

    ngx_shmtx_unlock(&zs->ctx->shpool->mutex);
}


void
ngx_stream_dualcam_zone_session_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_result_e result)
{
    uint64_t                           now;
    ngx_slab_pool_t                   *shpool;
    ngx_stream_dualcam_zone_sh_t      *sh;
    ngx_stream_dualcam_zone_totals_t  *t;

    if (zs == NULL || zs->ended) {
        return;
    }

    zs->ended = 1;

    now = ngx_stream_dualcam_now_ms();

    shpool = zs->ctx->shpool;
    sh = zs->ctx->sh;
    t = &sh->totals;

    ngx_shmtx_lock(&shpool->mutex);

    if (zs->file_active) {
        /* a file still in flight: it did not make it into the store */
        ngx_stream_dualcam_zone_file_end_locked(zs, NULL,
                                   result != DUALCAM_RESULT_OK
                                   ? result : DUALCAM_RESULT_NONE, now);
    }

    if (t->sessions_active > 0) {
        t->sessions_active--;
    }

    if ((ngx_uint_t) result < DUALCAM_RESULT_LAST) {
        t->sessions[result]++;
    }

    if (zs->node != NULL) {
        ngx_queue_remove(&zs->node->queue);
        sh->nsessions--;
        ngx_slab_free_locked(shpool, zs->node);
        zs->node = NULL;
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


ngx_int_t
ngx_stream_dualcam_zone_snapshot(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    ngx_stream_dualcam_zone_snapshot_t *snap)
{
    u_char                             *p, *strs;
    size_t                              nstr;
    ngx_uint_t                          ns, nr, try;
    ngx_queue_t                        *q;
    ngx_stream_dualcam_zone_sh_t       *sh;
    ngx_stream_dualcam_zone_ctx_t      *ctx;
    ngx_stream_dualcam_zone_rnode_t    *rn;
    ngx_stream_dualcam_zone_snode_t    *sn;
    ngx_stream_dualcam_zone_recent_t   *r;
    ngx_stream_dualcam_zone_session_t  *s;

    ngx_memzero(snap, sizeof(ngx_stream_dualcam_zone_snapshot_t));

    ctx = zone->data;

    if (ctx == NULL || ctx->sh == NULL) {
        return NGX_ERROR;
    }

    sh = ctx->sh;

    snap->name = zone->shm.name;
    snap->size = zone->shm.size;
    snap->recent_max = ctx->recent;

    /*
     * Measure under the lock, allocate without it, copy under it again;
     * if the zone grew in between, measure again.
     */

    for (try = 0; try < 8; try++) {

        ngx_shmtx_lock(&ctx->shpool->mutex);
        ns = sh->nsessions;
        nr = sh->nrecent;
        nstr = sh->recent_str;
        ngx_shmtx_unlock(&ctx->shpool->mutex);

        ns += 16 << try;
        nr += 16 << try;
        nstr += 4096 << try;

        s = ngx_palloc(pool, ns * sizeof(ngx_stream_dualcam_zone_session_t));
        r = ngx_palloc(pool, nr * sizeof(ngx_stream_dualcam_zone_recent_t));
        strs = ngx_pnalloc(pool, nstr);

        if (s == NULL || r == NULL || strs == NULL) {
            return NGX_ERROR;
        }

        ngx_shmtx_lock(&ctx->shpool->mutex);

        if (sh->nsessions > ns || sh->nrecent > nr || sh->recent_str > nstr) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            continue;
        }

        ngx_stream_dualcam_zone_reap_locked(ctx);

        snap->start_ms = sh->start_ms;
        snap->totals = sh->totals;

        snap->sessions = s;
        snap->nsessions = 0;

        for (q = ngx_queue_head(&sh->sessions);
             q != ngx_queue_sentinel(&sh->sessions);
             q = ngx_queue_next(q))
        {
            sn = ngx_queue_data(q, ngx_stream_dualcam_zone_snode_t, queue);
            s[snap->nsessions++] = sn->data;
        }

        snap->recent = r;
        snap->nrecent = 0;
        p = strs;

        for (q = ngx_queue_head(&sh->recent);
             q != ngx_queue_sentinel(&sh->recent);
             q = ngx_queue_next(q))
        {
            rn = ngx_queue_data(q, ngx_stream_dualcam_zone_rnode_t, queue);

            r->imei = rn->imei;
            r->kind = rn->kind;
            r->side = rn->side;
            r->result = rn->result;
            r->size = rn->size;
            r->start_ms = rn->start_ms;
            r->end_ms = rn->end_ms;

            r->name.data = p;
            r->name.len = rn->name_len;
            p = ngx_cpymem(p, rn->data, rn->name_len);

            r->path.data = p;
            r->path.len = rn->path_len;
            p = ngx_cpymem(p, rn->data + rn->name_len, rn->path_len);

            r->addr.data = p;
            r->addr.len = rn->addr_len;
            p = ngx_cpymem(p, rn->data + rn->name_len + rn->path_len,
                           rn->addr_len);

            r->mp4.data = p;
            r->mp4.len = rn->mp4_len;
            p = ngx_cpymem(p, rn->data + rn->name_len + rn->path_len
                              + rn->addr_len, rn->mp4_len);

            r++;
            snap->nrecent++;
        }

        ngx_shmtx_unlock(&ctx->shpool->mutex);

        return NGX_OK;
    }

    return NGX_ERROR;
}


/* the slab mutex is held by the callers of the *_locked functions */

static void *
ngx_stream_dualcam_zone_alloc_locked(ngx_stream_dualcam_zone_ctx_t *ctx,
    size_t size)
{
    void  *p;

    for ( ;; ) {
        p = ngx_slab_alloc_locked(ctx->shpool, size);

        if (p != NULL) {
            return p;
        }

        if (ngx_queue_empty(&ctx->sh->recent)) {
            return NULL;
        }

        ngx_stream_dualcam_zone_evict_locked(ctx);
        ctx->sh->totals.evicted++;
    }
}


static void
ngx_stream_dualcam_zone_evict_locked(ngx_stream_dualcam_zone_ctx_t *ctx)
{
    ngx_queue_t                      *q;
    ngx_stream_dualcam_zone_rnode_t  *rn;

    /* the oldest finished upload */

    q = ngx_queue_last(&ctx->sh->recent);
    rn = ngx_queue_data(q, ngx_stream_dualcam_zone_rnode_t, queue);

    ngx_queue_remove(q);

    ctx->sh->nrecent--;
    ctx->sh->recent_str -= rn->name_len + rn->path_len + rn->addr_len
                           + rn->mp4_len;

    ngx_slab_free_locked(ctx->shpool, rn);
}


static void
ngx_stream_dualcam_zone_node_locked(ngx_stream_dualcam_zone_sess_t *zs,
    uint64_t now)
{
    ngx_stream_session_t               *s;
    ngx_stream_dualcam_zone_ctx_t      *ctx;
    ngx_stream_dualcam_zone_snode_t    *sn;
    ngx_stream_dualcam_zone_session_t  *d;

    ctx = zs->ctx;
    s = zs->session;

    sn = ngx_stream_dualcam_zone_alloc_locked(ctx,
                                     sizeof(ngx_stream_dualcam_zone_snode_t));
    if (sn == NULL) {
        return;
    }

    d = &sn->data;

    ngx_memzero(d, sizeof(ngx_stream_dualcam_zone_session_t));

    d->pid = ngx_pid;
#if (NGX_STREAM_SSL)
    d->ssl = (s->connection->ssl != NULL);
#endif
    d->connected_ms = (uint64_t) s->start_sec * 1000 + s->start_msec;
    d->activity_ms = now;

    d->addr_len = zs->addr_len;
    ngx_memcpy(d->addr, zs->addr, zs->addr_len);

    if (zs->has_imei) {
        d->imei = zs->imei;
        d->protocol = zs->protocol;
        d->has_imei = 1;
    }

    ngx_queue_insert_tail(&ctx->sh->sessions, &sn->queue);
    ctx->sh->nsessions++;

    zs->node = sn;
}


static void
ngx_stream_dualcam_zone_recent_locked(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_str_t *path, dualcam_result_e result, uint64_t now)
{
    u_char                           *p;
    size_t                            nlen, plen, nstr;
    dualcam_file_t                   *file;
    ngx_stream_dualcam_zone_sh_t     *sh;
    ngx_stream_dualcam_zone_ctx_t    *ctx;
    ngx_stream_dualcam_zone_rnode_t  *rn;

    ctx = zs->ctx;
    sh = ctx->sh;

    if (ctx->recent == 0) {
        return;
    }

    /* the ring: the oldest leaves when N are kept */

    while (sh->nrecent >= ctx->recent) {
        ngx_stream_dualcam_zone_evict_locked(ctx);
    }

    file = zs->file;
    nlen = ngx_stream_dualcam_zone_name_len(file);
    plen = (path != NULL) ? path->len : 0;
    nstr = nlen + plen + zs->addr_len + zs->mp4.len;

    rn = ngx_stream_dualcam_zone_alloc_locked(ctx,
                  offsetof(ngx_stream_dualcam_zone_rnode_t, data) + nstr);
    if (rn == NULL) {
        sh->totals.dropped++;
        return;
    }

    rn->imei = zs->has_imei ? zs->imei : 0;
    rn->kind = file->kind;
    rn->side = file->side;
    rn->result = result;
    rn->size = file->received;
    rn->start_ms = zs->file_start_ms;
    rn->end_ms = now;
    rn->name_len = nlen;
    rn->path_len = plen;
    rn->addr_len = zs->addr_len;
    rn->mp4_len = zs->mp4.len;

    p = ngx_cpymem(rn->data, file->name, nlen);

    if (plen) {
        p = ngx_cpymem(p, path->data, plen);
    }

    p = ngx_cpymem(p, zs->addr, zs->addr_len);

    if (zs->mp4.len) {
        ngx_memcpy(p, zs->mp4.data, zs->mp4.len);
        ngx_str_null(&zs->mp4);
    }

    ngx_queue_insert_head(&sh->recent, &rn->queue);
    sh->nrecent++;
    sh->recent_str += nstr;
}


static void
ngx_stream_dualcam_zone_file_end_locked(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_str_t *path, dualcam_result_e result, uint64_t now)
{
    dualcam_file_t                     *file;
    ngx_stream_dualcam_zone_totals_t   *t;
    ngx_stream_dualcam_zone_session_t  *d;

    t = &zs->ctx->sh->totals;
    file = zs->file;

    if (result == DUALCAM_RESULT_OK) {
        t->files[(ngx_uint_t) file->kind % DUALCAM_KIND_LAST]
                [(ngx_uint_t) file->side % DUALCAM_SIDE_LAST]++;
        t->bytes += file->received;

    } else if (result == DUALCAM_RESULT_DUPLICATE) {
        t->files_duplicate++;

    } else {
        t->files_failed++;
    }

    if (zs->node != NULL) {
        d = &zs->node->data;

        if (result == DUALCAM_RESULT_OK) {
            d->files_done++;
            d->bytes_done += file->received;
        }

        d->has_file = 0;
        d->received = file->received;
        d->rate = 0;
        d->activity_ms = now;
    }

    zs->file_active = 0;

    ngx_stream_dualcam_zone_recent_locked(zs, path, result, now);
}


/*
 * A worker that died without running its pool cleanups (a crash) leaves
 * its session entries behind: the status reader removes them.
 */

static void
ngx_stream_dualcam_zone_reap_locked(ngx_stream_dualcam_zone_ctx_t *ctx)
{
    ngx_pid_t                         pids[16];
    ngx_uint_t                        i, n, alive[16];
    ngx_queue_t                      *q, *next;
    ngx_stream_dualcam_zone_sh_t     *sh;
    ngx_stream_dualcam_zone_snode_t  *sn;

    sh = ctx->sh;
    n = 0;

    for (q = ngx_queue_head(&sh->sessions);
         q != ngx_queue_sentinel(&sh->sessions);
         q = next)
    {
        next = ngx_queue_next(q);
        sn = ngx_queue_data(q, ngx_stream_dualcam_zone_snode_t, queue);

        if (sn->data.pid == ngx_pid) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (pids[i] == sn->data.pid) {
                break;
            }
        }

        if (i == n) {
            if (n == 16) {
                /* many workers: the first 16 are enough for a sweep */
                continue;
            }

            pids[n] = sn->data.pid;
            alive[n] = (kill(sn->data.pid, 0) == 0 || ngx_errno != NGX_ESRCH);
            n++;
        }

        if (alive[i]) {
            continue;
        }

        ngx_queue_remove(q);
        sh->nsessions--;

        if (sh->totals.sessions_active > 0) {
            sh->totals.sessions_active--;
        }

        sh->totals.sessions[DUALCAM_RESULT_NONE]++;

        ngx_slab_free_locked(ctx->shpool, sn);
    }
}


static void
ngx_stream_dualcam_zone_cleanup(void *data)
{
    ngx_stream_dualcam_zone_sess_t  *zs = data;

    /* every exit path: the entry goes, the gauge comes down */

    ngx_stream_dualcam_zone_session_end(zs, DUALCAM_RESULT_NONE);
}


/* the device's name of its file, as far as it fits an entry */

static size_t
ngx_stream_dualcam_zone_name_len(dualcam_file_t *file)
{
    return ngx_strnlen((u_char *) file->name, DUALCAM_PATH_MAX);
}


uint64_t
ngx_stream_dualcam_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


/*
 * The notify counters; zone is a server's "dualcam zone=", the events
 * of a receiver count there.  Pending never goes below 0: an event that
 * a killed worker wrote but had not counted yet is still delivered.
 */

void
ngx_stream_dualcam_zone_notify(ngx_shm_zone_t *zone,
    ngx_stream_dualcam_notify_stat_e what, uint64_t created_ms,
    ngx_str_t *error)
{
    uint64_t                           now;
    ngx_stream_dualcam_zone_sh_t      *sh;
    ngx_stream_dualcam_zone_ctx_t     *ctx;
    ngx_stream_dualcam_zone_totals_t  *t;

    if (zone == NULL || zone->data == NULL) {
        return;
    }

    ctx = zone->data;

    if (ctx->sh == NULL) {
        return;
    }

    now = ngx_stream_dualcam_now_ms();

    ngx_shmtx_lock(&ctx->shpool->mutex);

    sh = ctx->sh;
    t = &sh->totals;

    switch (what) {

    case NGX_STREAM_DUALCAM_NOTIFY_WRITTEN:
        t->notify_events++;
        t->notify_pending++;
        break;

    case NGX_STREAM_DUALCAM_NOTIFY_LOADED:
        if (created_ms < sh->start_ms) {
            t->notify_pending++;
        }
        break;

    case NGX_STREAM_DUALCAM_NOTIFY_SENT:
        t->notify_sent++;
        t->notify_last_sent_ms = now;
        if (t->notify_pending) {
            t->notify_pending--;
        }
        break;

    case NGX_STREAM_DUALCAM_NOTIFY_ATTEMPT_FAILED:
        t->notify_failed++;
        t->notify_last_error_ms = now;

        if (error) {
            t->notify_last_error_len = ngx_min(error->len,
                                            NGX_STREAM_DUALCAM_NOTIFY_ERROR);
            ngx_memcpy(t->notify_last_error, error->data,
                       t->notify_last_error_len);
        }
        break;

    case NGX_STREAM_DUALCAM_NOTIFY_DEAD:
        t->notify_dead++;
        /* fall through */

    default: /* NGX_STREAM_DUALCAM_NOTIFY_GONE */
        if (t->notify_pending) {
            t->notify_pending--;
        }
        break;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* the MP4 stored with the file that ends next (its recent entry) */

void
ngx_stream_dualcam_zone_file_mp4(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_str_t *path)
{
    if (zs != NULL) {
        zs->mp4 = *path;
    }
}
