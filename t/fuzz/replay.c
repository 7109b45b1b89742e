
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * A main() for a fuzz target without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once over every regular file of the
 * directories (or files) given, each input in an exactly sized heap
 * block, and prints one line: the target, the number of inputs, the
 * bytes.  Built with gcc and ASan/UBSan, it is how `make test` replays
 * the seed corpus and the crash reproducers; any finding aborts.
 */


#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, unsigned long *n,
    unsigned long long *bytes);
static int replay_dir(const char *path, unsigned long *n,
    unsigned long long *bytes);
static int replay_cmp(const void *a, const void *b);


static int
replay_file(const char *path, unsigned long *n, unsigned long long *bytes)
{
    FILE           *fp;
    long            size;
    unsigned char  *buf;

    fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        return -1;
    }

    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0
        || fseek(fp, 0, SEEK_SET) != 0)
    {
        perror(path);
        fclose(fp);
        return -1;
    }

    /* exactly sized, so a read past the end is a finding */
    buf = malloc(size ? (size_t) size : 1);
    if (buf == NULL
        || (size > 0 && fread(buf, 1, (size_t) size, fp) != (size_t) size))
    {
        fprintf(stderr, "%s: read failed\n", path);
        free(buf);
        fclose(fp);
        return -1;
    }

    fclose(fp);

    if (getenv("REPLAY_VERBOSE") != NULL) {
        fprintf(stderr, "replay %s (%ld bytes)\n", path, size);
    }

    LLVMFuzzerTestOneInput(buf, (size_t) size);

    free(buf);

    (*n)++;
    *bytes += (unsigned long long) size;

    return 0;
}


static int
replay_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


static int
replay_dir(const char *path, unsigned long *n, unsigned long long *bytes)
{
    int             rc;
    DIR            *dir;
    char          **names, *name;
    size_t          i, nnames, cap, len;
    struct stat     st;
    struct dirent  *de;

    if (stat(path, &st) != 0) {
        /* a target without reproducers has no crash directory */
        return 0;
    }

    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path, n, bytes);
    }

    dir = opendir(path);
    if (dir == NULL) {
        perror(path);
        return -1;
    }

    names = NULL;
    nnames = 0;
    cap = 0;
    rc = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        len = strlen(path) + 1 + strlen(de->d_name) + 1;
        name = malloc(len);
        if (name == NULL) {
            rc = -1;
            break;
        }
        snprintf(name, len, "%s/%s", path, de->d_name);

        if (stat(name, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(name);
            continue;
        }

        if (nnames == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(char *));
            if (names == NULL) {
                free(name);
                rc = -1;
                break;
            }
        }

        names[nnames++] = name;
    }

    closedir(dir);

    if (names != NULL) {
        /* the same order on every machine */
        qsort(names, nnames, sizeof(char *), replay_cmp);

        for (i = 0; i < nnames; i++) {
            if (rc == 0 && replay_file(names[i], n, bytes) != 0) {
                rc = -1;
            }
            free(names[i]);
        }

        free(names);
    }

    return rc;
}


int
main(int argc, char **argv)
{
    int                  i;
    const char          *name;
    unsigned long        n;
    unsigned long long   bytes;

    if (argc < 2) {
        fprintf(stderr, "usage: %s dir-or-file ...\n", argv[0]);
        return 2;
    }

    name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];

    n = 0;
    bytes = 0;

    for (i = 1; i < argc; i++) {
        if (replay_dir(argv[i], &n, &bytes) != 0) {
            return 1;
        }
    }

    printf("%s: %lu inputs replayed (%llu bytes), no finding\n",
           name, n, bytes);

    return 0;
}
