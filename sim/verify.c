
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: --verify-store.  The server names stored files itself, so
 * a delivered file is found by content: any file in DIR/<IMEI>/ not
 * ending .json whose bytes equal the generated content.  A delivered
 * file with no such twin is missing, or corrupt when a file of its size
 * is there with other bytes.
 */


#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sim.h"


#define SIM_VERIFY_CHUNK  65536
#define SIM_VERIFY_MAX    256      /* stored files looked at per IMEI */
#define SIM_VERIFY_DIRS   16       /* DIR1:DIR2:...: the stores of a
                                      cluster's nodes */


typedef struct {
    char      name[256];
    uint64_t  size;
    unsigned  dir;
    unsigned  used:1;
} sim_stored_t;


static int
sim_same(sim_t *s, sim_dev_t *d, unsigned file, const char *path,
    unsigned char *a, unsigned char *b)
{
    int       fd, same;
    size_t    n;
    ssize_t   got;
    uint64_t  off, size;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }

    size = s->opts->files[file].size;
    same = 1;

    for (off = 0; off < size && same; off += n) {
        n = size - off < SIM_VERIFY_CHUNK ? (size_t) (size - off)
                                          : SIM_VERIFY_CHUNK;
        got = pread(fd, a, n, (off_t) off);

        if (got != (ssize_t) n) {
            same = 0;
            break;
        }

        sim_content(s->opts, d->imei, file, off, b, n);
        same = memcmp(a, b, n) == 0;
    }

    close(fd);

    return same;
}


void
sim_verify(sim_t *s)
{
    int             found, sized;
    char            path[4096], *dirs[SIM_VERIFY_DIRS], *list, *p;
    size_t          n, nstored, k;
    DIR            *dir;
    unsigned        i, j, ndirs, di;
    sim_dev_t      *d;
    struct stat     st;
    sim_stored_t   *stored;
    unsigned char  *a, *b;
    struct dirent  *de;

    stored = calloc(SIM_VERIFY_MAX, sizeof(sim_stored_t));
    a = malloc(SIM_VERIFY_CHUNK);
    b = malloc(SIM_VERIFY_CHUNK);
    list = strdup(s->opts->verify_dir);

    if (stored == NULL || a == NULL || b == NULL || list == NULL) {
        perror("dualcam-sim: verify");
        exit(1);
    }

    /* a file counts as stored when it is under any of the DIRs */

    ndirs = 0;

    for (p = list; p != NULL && ndirs < SIM_VERIFY_DIRS; ) {
        dirs[ndirs++] = p;
        p = strchr(p, ':');

        if (p != NULL) {
            *p++ = '\0';
        }
    }

    s->stats.verified = 1;

    for (i = 0; i < s->opts->devices; i++) {
        d = &s->devs[i];

        if (d->delivered == 0) {
            continue;
        }

        nstored = 0;

        for (di = 0; di < ndirs; di++) {
            snprintf(path, sizeof(path), "%s/%015llu", dirs[di],
                     (unsigned long long) d->imei);

            dir = opendir(path);

            while (dir != NULL && (de = readdir(dir)) != NULL
                   && nstored < SIM_VERIFY_MAX)
            {
                n = strlen(de->d_name);

                if (de->d_name[0] == '.'
                    || (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
                    || n >= sizeof(stored[0].name))
                {
                    continue;
                }

                snprintf(path, sizeof(path), "%s/%015llu/%s", dirs[di],
                         (unsigned long long) d->imei, de->d_name);

                if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
                    continue;
                }

                memcpy(stored[nstored].name, de->d_name, n + 1);
                stored[nstored].size = (uint64_t) st.st_size;
                stored[nstored].dir = di;
                stored[nstored].used = 0;
                nstored++;
            }

            if (dir != NULL) {
                closedir(dir);
            }
        }

        for (j = 0; j < s->opts->nfiles; j++) {
            if (!(d->delivered & (1u << j))) {
                continue;
            }

            found = 0;
            sized = 0;

            for (k = 0; k < nstored && !found; k++) {
                if (stored[k].used
                    || stored[k].size != s->opts->files[j].size)
                {
                    continue;
                }

                sized = 1;
                snprintf(path, sizeof(path), "%s/%015llu/%s",
                         dirs[stored[k].dir], (unsigned long long) d->imei,
                         stored[k].name);

                if (sim_same(s, d, j, path, a, b)) {
                    stored[k].used = 1;
                    found = 1;
                }
            }

            if (found) {
                s->stats.verify_ok++;
                continue;
            }

            if (sized) {
                s->stats.verify_corrupt++;

            } else {
                s->stats.verify_missing++;
            }

            if (!s->opts->quiet) {
                fprintf(stderr, "verify: imei=%015llu file=%s (%llu bytes) "
                        "%s under %s/%015llu/\n", (unsigned long long) d->imei,
                        s->opts->files[j].name,
                        (unsigned long long) s->opts->files[j].size,
                        sized ? "CORRUPT" : "MISSING", s->opts->verify_dir,
                        (unsigned long long) d->imei);
            }
        }
    }

    free(stored);
    free(list);
    free(a);
    free(b);
}
