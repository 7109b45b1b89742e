
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-mp4: a DualCam recording (PTMF or plain H.265 Annex B) into a
 * playable MP4 without re-encoding, on the module's own remuxer, for the
 * archives operators already have.
 *
 *   dualcam-mp4 [--info] [--fps N[/D]] [--no-audio] IN [OUT]
 *
 * OUT defaults to IN with its extension replaced by .mp4; an existing OUT
 * is never overwritten (the MP4 is written to OUT.tmp, then linked).
 * --info prints what the sidecar's "mp4" object would say and writes
 * nothing.  Exit status: 0 done, 1 the recording is refused (the reason
 * on stderr, and as {"error": ...} with --info), 2 usage or I/O error.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dualcam_mp4.h"


#define DUALCAM_CLI_BUF  (1 << 20)


static int dualcam_cli_usage(void);
static int dualcam_cli_help(void);
static int dualcam_cli_read(int fd, unsigned char *buf, off_t off,
    size_t *n, const char *name);
static int dualcam_cli_write(int fd, const unsigned char *p, size_t n,
    const char *name);
static void dualcam_cli_json_string(const char *s);


static int
dualcam_cli_usage(void)
{
    fprintf(stderr, "usage: dualcam-mp4 [--info] [--fps N[/D]] [--no-audio] "
            "IN [OUT]\n       dualcam-mp4 --help\n");
    return 2;
}


static int
dualcam_cli_help(void)
{
    printf("usage: dualcam-mp4 [options] IN [OUT]\n"
           "\n"
           "A DualCam recording (PTMF records or plain H.265 Annex B)\n"
           "into an MP4 without re-encoding: hvc1 video, FLAC audio, moov\n"
           "first.  "
           "OUT defaults to IN with the extension .mp4; it is never\n"
           "overwritten.\n"
           "\n"
           "  --info        print what the sidecar's \"mp4\" object would\n"
           "                say (JSON), write nothing\n"
           "  --fps N[/D]   the frame rate of plain Annex B (default 20)\n"
           "  --no-audio    leave the audio out\n"
           "  --help        this text\n"
           "\n"
           "Exit status: 0 done, 1 the recording is refused (the reason on\n"
           "stderr), 2 usage or I/O error.\n");
    return 0;
}


static int
dualcam_cli_read(int fd, unsigned char *buf, off_t off, size_t *n,
    const char *name)
{
    ssize_t  r;

    for ( ;; ) {
        r = pread(fd, buf, DUALCAM_CLI_BUF, off);

        if (r >= 0) {
            *n = (size_t) r;
            return 0;
        }

        if (errno != EINTR) {
            fprintf(stderr, "dualcam-mp4: %s: %s\n", name, strerror(errno));
            return -1;
        }
    }
}


static int
dualcam_cli_write(int fd, const unsigned char *p, size_t n, const char *name)
{
    ssize_t  w;

    while (n) {
        w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }

            fprintf(stderr, "dualcam-mp4: %s: %s\n", name, strerror(errno));
            return -1;
        }

        p += w;
        n -= (size_t) w;
    }

    return 0;
}


static void
dualcam_cli_json_string(const char *s)
{
    putchar('"');

    for ( ; *s; s++) {
        if (*s == '"' || *s == '\\') {
            printf("\\%c", *s);

        } else if ((unsigned char) *s < 0x20) {
            printf("\\u%04x", (unsigned char) *s);

        } else {
            putchar(*s);
        }
    }

    putchar('"');
}


int
main(int argc, char **argv)
{
    int                        in, out, info, rc, i;
    char                      *name, *tmp, *dot, *slash;
    char                       json[DUALCAM_MP4_JSON_MAX];
    off_t                      off;
    size_t                     n;
    unsigned                   num, den;
    unsigned char             *buf, *obuf;
    const char                *src, *dst;
    dualcam_mp4_t             *m;
    dualcam_mp4_io_t           io;
    dualcam_mp4_conf_t         conf;
    const dualcam_mp4_info_t  *mi;

    info = 0;
    src = NULL;
    dst = NULL;
    memset(&conf, 0, sizeof(conf));
    conf.audio = 1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            return dualcam_cli_help();

        } else if (strcmp(argv[i], "--info") == 0) {
            info = 1;

        } else if (strcmp(argv[i], "--no-audio") == 0) {
            conf.audio = 0;

        } else if (strcmp(argv[i], "--fps") == 0 && i + 1 < argc) {
            den = 1;
            if (sscanf(argv[++i], "%u/%u", &num, &den) < 1 || num == 0
                || den == 0)
            {
                return dualcam_cli_usage();
            }

            conf.fps_num = num;
            conf.fps_den = den;

        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return dualcam_cli_usage();

        } else if (src == NULL) {
            src = argv[i];

        } else if (dst == NULL) {
            dst = argv[i];

        } else {
            return dualcam_cli_usage();
        }
    }

    if (src == NULL) {
        return dualcam_cli_usage();
    }

    name = NULL;

    if (dst == NULL) {
        name = malloc(strlen(src) + sizeof(".mp4"));
        if (name == NULL) {
            return 2;
        }

        strcpy(name, src);
        dot = strrchr(name, '.');
        slash = strrchr(name, '/');

        if (dot != NULL && (slash == NULL || dot > slash)) {
            *dot = '\0';
        }

        strcat(name, ".mp4");
        dst = name;
    }

    in = open(src, O_RDONLY);
    if (in == -1) {
        fprintf(stderr, "dualcam-mp4: %s: %s\n", src, strerror(errno));
        return 2;
    }

    buf = malloc(DUALCAM_CLI_BUF);
    obuf = malloc(DUALCAM_CLI_BUF);
    m = dualcam_mp4_create(&conf);

    if (buf == NULL || obuf == NULL || m == NULL) {
        fprintf(stderr, "dualcam-mp4: out of memory\n");
        return 2;
    }

    /* the planning pass */

    for (off = 0; ; off += n) {
        if (dualcam_cli_read(in, buf, off, &n, src) != 0) {
            return 2;
        }

        if (n == 0) {
            break;
        }

        if (dualcam_mp4_plan(m, buf, n) != DUALCAM_MP4_OK) {
            break;
        }
    }

    if (dualcam_mp4_error(m) == NULL) {
        (void) dualcam_mp4_plan_end(m);
    }

    if (dualcam_mp4_error(m) != NULL) {
        fprintf(stderr, "dualcam-mp4: %s: %s\n", src, dualcam_mp4_error(m));

        if (info) {
            printf("{\"error\": ");
            dualcam_cli_json_string(dualcam_mp4_error(m));
            printf("}\n");
        }

        return 1;
    }

    mi = dualcam_mp4_info(m);

    if (info) {
        slash = strrchr(dst, '/');
        printf("{\"file\": ");
        dualcam_cli_json_string(slash ? slash + 1 : dst);
        (void) dualcam_mp4_json(mi, json, sizeof(json));
        printf(", %s}\n", json);
        return 0;
    }

    /* the copy pass, into OUT.tmp, then linked as OUT: never overwrites */

    tmp = malloc(strlen(dst) + sizeof(".tmp"));
    if (tmp == NULL) {
        return 2;
    }

    sprintf(tmp, "%s.tmp", dst);

    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (out == -1) {
        fprintf(stderr, "dualcam-mp4: %s: %s\n", tmp, strerror(errno));
        return 2;
    }

    rc = DUALCAM_MP4_AGAIN;
    off = 0;
    io.in_len = 0;
    io.out = obuf;
    io.out_len = DUALCAM_CLI_BUF;

    while (rc == DUALCAM_MP4_AGAIN) {

        if (io.in_len == 0) {
            if (dualcam_cli_read(in, buf, off, &n, src) != 0) {
                goto failed;
            }

            io.in = buf;
            io.in_len = n;
            off += n;
        }

        rc = dualcam_mp4_copy(m, &io);

        if (rc == DUALCAM_MP4_ERROR
            || (rc == DUALCAM_MP4_AGAIN && io.in_len == 0 && n == 0
                && io.out_len > 0))
        {
            fprintf(stderr, "dualcam-mp4: %s: %s\n", src,
                    rc == DUALCAM_MP4_ERROR ? dualcam_mp4_error(m)
                                            : "the file got shorter");
            goto failed;
        }

        if (io.out_len == 0 || rc == DUALCAM_MP4_DONE) {
            if (dualcam_cli_write(out, obuf, io.out - obuf, tmp) != 0) {
                goto failed;
            }

            io.out = obuf;
            io.out_len = DUALCAM_CLI_BUF;
        }
    }

    if (fsync(out) != 0 || close(out) != 0) {
        fprintf(stderr, "dualcam-mp4: %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        return 2;
    }

    if (link(tmp, dst) != 0) {
        fprintf(stderr, "dualcam-mp4: %s: %s\n", dst, strerror(errno));
        unlink(tmp);
        return 2;
    }

    unlink(tmp);

    fprintf(stderr, "dualcam-mp4: %s: %llu frames, %.3f s, %llu bytes\n",
            dst, (unsigned long long) mi->frames, mi->duration_us / 1e6,
            (unsigned long long) mi->size);

    dualcam_mp4_destroy(m);
    free(buf);
    free(obuf);
    free(tmp);
    free(name);
    close(in);

    return 0;

failed:

    close(out);
    unlink(tmp);

    return 2;
}
