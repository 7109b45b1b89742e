
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The disk's durable small-file rate, the reference of the "small"
 * benchmark (issue 9, item 1): a plain loop that for each of --files
 * files writes --size bytes to a temporary name, fsync(2)s it, closes it
 * and rename(2)s it into place, one file after the other, in --dir.
 * With --dir-fsync it also fsyncs the directory after every rename (the
 * strict form; the module shares that fsync among the files of a batch).
 *
 *   fsyncloop --dir DIR [--files N] [--size BYTES] [--dir-fsync]
 *
 * Prints one JSON line: files, bytes, seconds, files per second.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static double
loop_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
loop_write(int fd, const unsigned char *p, size_t n)
{
    ssize_t  w;

    while (n) {
        w = write(fd, p, n);

        if (w == -1) {
            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        p += w;
        n -= (size_t) w;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int             i, n, fd, dfd, dir_fsync;
    char            tmp[4096], name[4096];
    size_t          size, k;
    double          start, dt;
    uint32_t        x;
    const char     *dir;
    unsigned char  *buf;

    dir = NULL;
    n = 1000;
    size = 50000;
    dir_fsync = 0;

    for (i = 1; i < argc; i++) {

        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];

        } else if (strcmp(argv[i], "--files") == 0 && i + 1 < argc) {
            n = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = strtoul(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--dir-fsync") == 0) {
            dir_fsync = 1;

        } else {
            dir = NULL;
            break;
        }
    }

    if (dir == NULL || n < 1 || size == 0) {
        fprintf(stderr, "usage: fsyncloop --dir DIR [--files N] "
                "[--size BYTES] [--dir-fsync]\n");
        return 2;
    }

    buf = malloc(size);
    if (buf == NULL) {
        perror("malloc");
        return 1;
    }

    x = 2463534242u;

    for (k = 0; k < size; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[k] = (unsigned char) x;
    }

    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1) {
        perror(dir);
        return 1;
    }

    start = loop_now();

    for (i = 0; i < n; i++) {
        snprintf(tmp, sizeof(tmp), "%s/.tmp-%d", dir, i);
        snprintf(name, sizeof(name), "%s/file-%d.jpg", dir, i);

        /* every file its own bytes, as every photo is */
        memcpy(buf, &i, sizeof(int));

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd == -1 || loop_write(fd, buf, size) != 0 || fsync(fd) != 0
            || close(fd) != 0 || rename(tmp, name) != 0
            || (dir_fsync && fsync(dfd) != 0))
        {
            perror(tmp);
            return 1;
        }
    }

    dt = loop_now() - start;

    printf("{\"files\": %d, \"bytes\": %llu, \"seconds\": %.6f, "
           "\"files_per_s\": %.1f, \"dir_fsync\": %s}\n",
           n, (unsigned long long) size * (unsigned long long) n, dt,
           n / dt, dir_fsync ? "true" : "false");

    close(dfd);
    free(buf);

    return 0;
}
