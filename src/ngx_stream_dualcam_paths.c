
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The store and the temp path are ready before the first device, or
 * nginx does not start.  The store is an nginx path (ngx_add_path), so
 * the master creates it and gives it to the worker user as it does the
 * temp paths.  What nginx cannot fix is refused with one emerg line at
 * "nginx -t", start and reload: a store that is not a directory, a temp
 * path on another file system (files are link()ed into the store), and
 * a directory on the way that the worker user cannot enter.
 *
 * The checks need the worker user, which the core module settles only
 * once the whole configuration is read: hence a core module of our own,
 * whose init_conf runs after ngx_core_module's and before nginx creates
 * the paths.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam.h"


typedef struct {
    ngx_array_t                        stores;  /* store_conf_t * */
} ngx_stream_dualcam_paths_conf_t;


#define NGX_STREAM_DUALCAM_GROUPS  64


typedef struct {
    ngx_uid_t                          uid;
    ngx_gid_t                          gid;
    int                                ngroups;
    gid_t                              groups[NGX_STREAM_DUALCAM_GROUPS];
    u_char                             name[64];
} ngx_stream_dualcam_user_t;


static void *ngx_stream_dualcam_paths_create_conf(ngx_cycle_t *cycle);
static char *ngx_stream_dualcam_paths_init_conf(ngx_cycle_t *cycle,
    void *conf);
static ngx_int_t ngx_stream_dualcam_paths_check(ngx_cycle_t *cycle,
    ngx_stream_dualcam_store_conf_t *sc, ngx_stream_dualcam_user_t *user,
    ngx_uint_t chowned);
static void ngx_stream_dualcam_paths_order(ngx_cycle_t *cycle,
    ngx_path_t *parent, ngx_path_t *child);
static ngx_int_t ngx_stream_dualcam_paths_walk(ngx_cycle_t *cycle,
    const char *what, u_char *path, ngx_stream_dualcam_user_t *user,
    ngx_uint_t chowned, dev_t *dev);
static ngx_uint_t ngx_stream_dualcam_paths_may(ngx_file_info_t *fi,
    ngx_stream_dualcam_user_t *user, mode_t want);
static void ngx_stream_dualcam_paths_user(ngx_cycle_t *cycle,
    ngx_stream_dualcam_user_t *user);


static ngx_core_module_t  ngx_stream_dualcam_paths_module_ctx = {
    ngx_string("dualcam_paths"),
    ngx_stream_dualcam_paths_create_conf,
    ngx_stream_dualcam_paths_init_conf
};


ngx_module_t  ngx_stream_dualcam_paths_module = {
    NGX_MODULE_V1,
    &ngx_stream_dualcam_paths_module_ctx,  /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_int_t
ngx_stream_dualcam_paths_add(ngx_conf_t *cf,
    ngx_stream_dualcam_store_conf_t *sc)
{
    ngx_path_t                        *path;
    ngx_stream_dualcam_paths_conf_t   *pcf;
    ngx_stream_dualcam_store_conf_t  **p;

    pcf = (ngx_stream_dualcam_paths_conf_t *)
              ngx_get_conf(cf->cycle->conf_ctx,
                           ngx_stream_dualcam_paths_module);

    p = pcf->stores.elts;

    for (/* void */; p < (ngx_stream_dualcam_store_conf_t **)
                         pcf->stores.elts + pcf->stores.nelts; p++)
    {
        if (*p == sc) {
            return NGX_OK;
        }
    }

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_ERROR;
    }

    path->name = sc->store;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    sc->store_path = path;

    if (ngx_add_path(cf, &sc->store_path) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_array_push(&pcf->stores);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = sc;

    return NGX_OK;
}


static void *
ngx_stream_dualcam_paths_create_conf(ngx_cycle_t *cycle)
{
    ngx_stream_dualcam_paths_conf_t  *pcf;

    pcf = ngx_pcalloc(cycle->pool, sizeof(ngx_stream_dualcam_paths_conf_t));
    if (pcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pcf->stores, cycle->pool, 4,
                       sizeof(ngx_stream_dualcam_store_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return pcf;
}


static char *
ngx_stream_dualcam_paths_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_stream_dualcam_paths_conf_t *pcf = conf;

    ngx_uint_t                         i, chowned;
    ngx_core_conf_t                   *ccf;
    ngx_stream_dualcam_user_t          user;
    ngx_stream_dualcam_store_conf_t  **sc;

    if (pcf->stores.nelts == 0) {
        return NGX_CONF_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    ngx_memzero(&user, sizeof(ngx_stream_dualcam_user_t));

    /* with a "user" (a root master), ngx_create_paths() chowns them */

    chowned = (ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT);

    if (chowned) {
        user.uid = ccf->user;
        user.gid = ccf->group;
        ngx_cpystrn(user.name, (u_char *) ccf->username, sizeof(user.name));

    } else {
        user.uid = geteuid();
        user.gid = getegid();
        ngx_snprintf(user.name, sizeof(user.name) - 1, "uid %d",
                     (int) user.uid);
    }

    ngx_stream_dualcam_paths_user(cycle, &user);

    sc = pcf->stores.elts;

    for (i = 0; i < pcf->stores.nelts; i++) {

        ngx_stream_dualcam_paths_order(cycle, sc[i]->store_path,
                                       sc[i]->temp_path);

        if (ngx_stream_dualcam_paths_check(cycle, sc[i], &user, chowned)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_dualcam_paths_check(ngx_cycle_t *cycle,
    ngx_stream_dualcam_store_conf_t *sc, ngx_stream_dualcam_user_t *user,
    ngx_uint_t chowned)
{
    dev_t  store_dev, temp_dev;

    if (ngx_stream_dualcam_paths_walk(cycle, "dualcam_store",
                                      sc->store.data, user, chowned,
                                      &store_dev)
        != NGX_OK
        || ngx_stream_dualcam_paths_walk(cycle, "dualcam_temp_path",
                                         sc->temp_path->name.data, user,
                                         chowned, &temp_dev)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (store_dev != temp_dev) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "dualcam_temp_path \"%s\" is on another file system "
                      "than dualcam_store \"%s\": files are linked from "
                      "the one into the other",
                      sc->temp_path->name.data, sc->store.data);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * ngx_create_paths() makes one directory level each, in the order the
 * paths were added: a temp path inside a store that does not exist yet
 * must come after it, whichever directive came first.
 */

static void
ngx_stream_dualcam_paths_order(ngx_cycle_t *cycle, ngx_path_t *parent,
    ngx_path_t *child)
{
    ngx_uint_t    i, pi, ci;
    ngx_path_t  **p;

    p = cycle->paths.elts;
    pi = cycle->paths.nelts;
    ci = cycle->paths.nelts;

    for (i = 0; i < cycle->paths.nelts; i++) {
        if (p[i] == parent) {
            pi = i;

        } else if (p[i] == child) {
            ci = i;
        }
    }

    if (pi < cycle->paths.nelts && ci < pi) {
        p[ci] = parent;
        p[pi] = child;
    }
}


/*
 * Every directory above path must let the worker user in; path itself,
 * if it exists, must be a directory the user may write (or one that
 * ngx_create_paths() will give to the user).  *dev is the file system
 * that path is, or will be created, on.
 */

static ngx_int_t
ngx_stream_dualcam_paths_walk(ngx_cycle_t *cycle, const char *what,
    u_char *path, ngx_stream_dualcam_user_t *user, ngx_uint_t chowned,
    dev_t *dev)
{
    u_char           *p, save;
    size_t            len;
    ngx_err_t         err;
    ngx_file_info_t   fi;

    if (ngx_file_info("/", &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      ngx_file_info_n " \"/\" failed");
        return NGX_ERROR;
    }

    *dev = fi.st_dev;

    len = ngx_strlen(path);

    while (len > 1 && path[len - 1] == '/') {
        len--;
    }

    for (p = path + 1; /* void */; p++) {

        if (p < path + len && *p != '/') {
            continue;
        }

        save = *p;
        *p = '\0';

        if (ngx_file_info(path, &fi) == NGX_FILE_ERROR) {
            err = ngx_errno;
            *p = save;

            if (err == NGX_ENOENT) {
                /* the rest is created on the file system above */
                return NGX_OK;
            }

            ngx_log_error(NGX_LOG_EMERG, cycle->log, err,
                          "%s \"%s\": " ngx_file_info_n " \"%*s\" failed",
                          what, path, (size_t) (p - path), path);
            return NGX_ERROR;
        }

        *p = save;

        if (!ngx_is_dir(&fi)) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "%s \"%s\": \"%*s\" is not a directory",
                          what, path, (size_t) (p - path), path);
            return NGX_ERROR;
        }

        *dev = fi.st_dev;

        if (p >= path + len) {
            break;
        }

        if (!ngx_stream_dualcam_paths_may(&fi, user, S_IXUSR)) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "%s \"%s\": the worker user \"%s\" may not "
                          "enter \"%*s\"",
                          what, path, user->name, (size_t) (p - path), path);
            return NGX_ERROR;
        }
    }

    if (!chowned
        && !ngx_stream_dualcam_paths_may(&fi, user, S_IWUSR|S_IXUSR))
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "%s \"%s\": the worker user \"%s\" may not write it",
                      what, path, user->name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* want is in owner bits: S_IXUSR, S_IWUSR|S_IXUSR */

static ngx_uint_t
ngx_stream_dualcam_paths_may(ngx_file_info_t *fi,
    ngx_stream_dualcam_user_t *user, mode_t want)
{
    int  i;

    if (user->uid == 0) {
        return 1;
    }

    if (fi->st_uid == user->uid) {
        return (fi->st_mode & want) == want;
    }

    if (fi->st_gid == user->gid) {
        return (fi->st_mode & (want >> 3)) == (want >> 3);
    }

    for (i = 0; i < user->ngroups; i++) {
        if (fi->st_gid == user->groups[i]) {
            return (fi->st_mode & (want >> 3)) == (want >> 3);
        }
    }

    return (fi->st_mode & (want >> 6)) == (want >> 6);
}


/* the supplementary groups the workers get from initgroups() */

static void
ngx_stream_dualcam_paths_user(ngx_cycle_t *cycle,
    ngx_stream_dualcam_user_t *user)
{
    int  n;

    n = NGX_STREAM_DUALCAM_GROUPS;

    if (user->uid == geteuid()) {
        n = getgroups(n, user->groups);

    } else if (getgrouplist((char *) user->name, user->gid, user->groups, &n)
               == -1)
    {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "the worker user \"%s\" is in more than %d groups: "
                      "dualcam checks the first ones",
                      user->name, NGX_STREAM_DUALCAM_GROUPS);
        n = NGX_STREAM_DUALCAM_GROUPS;
    }

    user->ngroups = (n < 0) ? 0 : n;
}
