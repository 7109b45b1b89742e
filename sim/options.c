
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: the command line.
 */


#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim.h"


static const char  sim_usage[] =
"usage: dualcam-sim [options]\n"
"\n"
"Simulates Teltonika DualCam / ADAS / DSM trackers uploading camera files\n"
"to a camera server (the TCP client side of the protocol), many at once:\n"
"one process, one epoll loop, thousands of devices.  Every device is the\n"
"project's device core (src/dualcam_device.c) behind a real socket.\n"
"\n"
"Where to connect:\n"
"  -H, --host HOST          server address (default 127.0.0.1)\n"
"  -p, --port PORT          server port (default 5232)\n"
"      --tls                speak TLS (no certificate check unless --tls-ca)\n"
"      --tls-ca FILE        verify the server against these CA certificates\n"
"\n"
"Who connects:\n"
"  -n, --devices N          number of devices (default 1)\n"
"      --imei-base N        device i has IMEI N+i (default 352093080000000)\n"
"      --imei X             every device uses this one IMEI\n"
"      --protocol 5|6       protocol id in the init packet (default 5); with\n"
"                           6 every camera file goes through the path\n"
"                           procedure with JSON metadata\n"
"  -c, --concurrency N      at most N connects/handshakes in flight: the ramp\n"
"                           (default 64)\n"
"\n"
"What each device holds:\n"
"  -f, --files SPEC         comma-separated files (default photof:50000):\n"
"                             photof:SIZE photor:SIZE videof:SIZE videor:SIZE\n"
"                             KIND:@FILE: the bytes of FILE, as that kind\n"
"                             path:PATH:SIZE  (ADAS/DSM path procedure;\n"
"                             'dsm' in PATH: DSM metadata, else ADAS;\n"
"                             protocol 6: JSON)\n"
"                           SIZE takes k, M, G suffixes (powers of 1024)\n"
"      --file-from FILE     photos carry the bytes of FILE (their size is\n"
"                           FILE's size)\n"
"      --seed N             content seed (default 1).  Content is a pure\n"
"                           function of (seed, IMEI, index in --files), so\n"
"                           a verifier can recompute every byte; photos\n"
"                           start FF D8 and end FF D9, videos start\n"
"                           00 00 00 01\n"
"      --enhanced           send DATA as 0x000E (with byte offsets)\n"
"\n"
"How they send:\n"
"  -r, --rate BYTES/S       per-device token bucket (0: unlimited, default);\n"
"                           a GSM tracker does 3000-20000\n"
"      --sndbuf BYTES       the socket's send buffer (SO_SNDBUF; the kernel\n"
"                           doubles it): a modem holds a few KiB, loopback\n"
"                           grows to MBs, so a slow server is felt sooner\n"
"      --reconnects N       per device, retry a failed connect or handshake,\n"
"                           or reconnect after the server closed with files\n"
"                           pending, up to N times (default 0)\n"
"      --reconnect-delay MS wait before any reconnect (default 200): the\n"
"                           server should see the close before the resume\n"
"\n"
"Faults (for tests of the server):\n"
"      --crc-error-at K     packet K of every file goes out once with a bad\n"
"                           CRC (the server must RESUME from K)\n"
"      --crc-error-rate P   every packet has a bad CRC with probability P\n"
"      --drop-after K       close the socket after packet K of every file,\n"
"                           reconnect and continue (once per file)\n"
"      --drop-rate P        each file drops with probability P per\n"
"                           connection, at a random packet (<= 10 times)\n"
"      --status CODE[:AT]   answer the request with STATUS CODE instead;\n"
"                           AT is file (default), meta or resume\n"
"      --stall-after K      stop sending after packet K without closing:\n"
"                           the server must time the connection out\n"
"      --no-metadata-answer never answer a metadata query (0x000A)\n"
"      --expect-refused     success means every device was refused (CLOSE\n"
"                           answered its first init)\n"
"\n"
"Run and report:\n"
"  -t, --timeout S          give up after S seconds (default: never)\n"
"      --verify-store DIR   afterwards, check that every delivered file is in\n"
"                           DIR/<IMEI>/ byte for byte (any name not ending\n"
"                           .json); report missing and corrupt files.\n"
"                           DIR1:DIR2:...: in any of them (a cluster's nodes)\n"
"      --json               print the summary as one JSON object on stdout\n"
"      --log-resumes        print every RESUME received on stderr as\n"
"                           'resume imei=I file=F unit=U' (U as on the\n"
"                           wire: a packet number, or bytes in path mode)\n"
"  -v, --verbose            log every device event on stderr\n"
"  -q, --quiet              no summary (the exit status still tells)\n"
"\n"
"Raw mode (bad-input tests):\n"
"      --raw                connect, send the --send-hex bytes, print what\n"
"                           comes back in hex until the server closes or is\n"
"                           silent for 2 s (or --timeout)\n"
"      --send-hex HEX|@FILE bytes to send: hex digits (spaces, commas and\n"
"                           colons ignored) or the content of FILE\n"
"\n"
"  -h, --help               this text\n"
"\n"
"The summary: devices and TCP connections (reconnects included); files\n"
"offered (devices x --files), delivered (the device heard 00 09 after\n"
"its last DATA), empty (size 0: the server skips them); file bytes\n"
"delivered, sent in DATA (resends included) and all bytes written; wall\n"
"time and MB/s of delivered bytes; per-file time from START to 00 09\n"
"(p50/p90/p99/max, drops and resumes included); faults injected and\n"
"RESUMEs beyond the start; errors by kind: refused (CLOSE answered the\n"
"first init), closed (the server ended the connection with files\n"
"pending), timeouts (--timeout hit), connect, tls, protocol (the server\n"
"sent something a device cannot take), status (files answered with\n"
"--status), skipped (00 09 before the last DATA).\n"
"\n"
"Exit status: 0 when every offered file was delivered (files answered\n"
"with --status, empty files and stalled connections closed by the server\n"
"count as expected; with --expect-refused: when every device was refused)\n"
"and --verify-store found nothing missing; 1 otherwise; 2 on bad usage.\n"
"\n"
"Examples:\n"
"  dualcam-sim -p 5232 -f photof:50000,videof:6M -n 1000 -r 3000 -t 900\n"
"  dualcam-sim --crc-error-at 3 --log-resumes --verify-store /srv/dualcam\n"
"  dualcam-sim --protocol 6 -f path:dsm/picture/231020/231452.jpg:30000\n"
"  dualcam-sim --raw --send-hex '00 00 00 05 00 03 11 8c 43 db 07 7f 44 00 "
"04 00'\n";


enum {
    OPT_TLS = 256, OPT_TLS_CA, OPT_IMEI_BASE, OPT_IMEI, OPT_PROTOCOL,
    OPT_FILE_FROM, OPT_SEED, OPT_ENHANCED, OPT_RECONNECTS,
    OPT_RECONNECT_DELAY, OPT_CRC_AT, OPT_CRC_RATE, OPT_DROP_AFTER,
    OPT_DROP_RATE, OPT_STATUS, OPT_STALL, OPT_NO_META, OPT_REFUSED,
    OPT_VERIFY, OPT_JSON, OPT_LOG_RESUMES, OPT_RAW, OPT_SEND_HEX,
    OPT_SNDBUF
};


static const struct option  sim_long[] = {
    { "host", required_argument, NULL, 'H' },
    { "port", required_argument, NULL, 'p' },
    { "tls", no_argument, NULL, OPT_TLS },
    { "tls-ca", required_argument, NULL, OPT_TLS_CA },
    { "devices", required_argument, NULL, 'n' },
    { "imei-base", required_argument, NULL, OPT_IMEI_BASE },
    { "imei", required_argument, NULL, OPT_IMEI },
    { "protocol", required_argument, NULL, OPT_PROTOCOL },
    { "concurrency", required_argument, NULL, 'c' },
    { "files", required_argument, NULL, 'f' },
    { "file-from", required_argument, NULL, OPT_FILE_FROM },
    { "seed", required_argument, NULL, OPT_SEED },
    { "enhanced", no_argument, NULL, OPT_ENHANCED },
    { "rate", required_argument, NULL, 'r' },
    { "sndbuf", required_argument, NULL, OPT_SNDBUF },
    { "reconnects", required_argument, NULL, OPT_RECONNECTS },
    { "reconnect-delay", required_argument, NULL, OPT_RECONNECT_DELAY },
    { "crc-error-at", required_argument, NULL, OPT_CRC_AT },
    { "crc-error-rate", required_argument, NULL, OPT_CRC_RATE },
    { "drop-after", required_argument, NULL, OPT_DROP_AFTER },
    { "drop-rate", required_argument, NULL, OPT_DROP_RATE },
    { "status", required_argument, NULL, OPT_STATUS },
    { "stall-after", required_argument, NULL, OPT_STALL },
    { "no-metadata-answer", no_argument, NULL, OPT_NO_META },
    { "expect-refused", no_argument, NULL, OPT_REFUSED },
    { "timeout", required_argument, NULL, 't' },
    { "verify-store", required_argument, NULL, OPT_VERIFY },
    { "json", no_argument, NULL, OPT_JSON },
    { "log-resumes", no_argument, NULL, OPT_LOG_RESUMES },
    { "verbose", no_argument, NULL, 'v' },
    { "quiet", no_argument, NULL, 'q' },
    { "raw", no_argument, NULL, OPT_RAW },
    { "send-hex", required_argument, NULL, OPT_SEND_HEX },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
};


static int sim_parse_files(sim_opts_t *o, const char *spec);
static unsigned char *sim_read_file(const char *path, size_t *len);
static int sim_load_from(sim_opts_t *o, const char *path);
static uint64_t sim_num(const char *opt, const char *s);
static double sim_prob(const char *opt, const char *s);


uint64_t
sim_parse_size(const char *s, int *ok)
{
    char                *end;
    unsigned long long   v;

    errno = 0;
    v = strtoull(s, &end, 10);

    *ok = (errno == 0 && end != s);

    switch (*end) {
    case 'k': case 'K':
        v <<= 10;
        end++;
        break;
    case 'm': case 'M':
        v <<= 20;
        end++;
        break;
    case 'g': case 'G':
        v <<= 30;
        end++;
        break;
    default:
        break;
    }

    if (*end != '\0' || s[0] == '-') {
        *ok = 0;
    }

    return v;
}


static uint64_t
sim_num(const char *opt, const char *s)
{
    int       ok;
    uint64_t  v;

    v = sim_parse_size(s, &ok);

    if (!ok) {
        fprintf(stderr, "dualcam-sim: --%s: not a number: \"%s\"\n", opt, s);
        exit(2);
    }

    return v;
}


static double
sim_prob(const char *opt, const char *s)
{
    char    *end;
    double   v;

    v = strtod(s, &end);

    if (end == s || *end != '\0' || v < 0 || v > 1) {
        fprintf(stderr, "dualcam-sim: --%s: want a probability 0..1: "
                "\"%s\"\n", opt, s);
        exit(2);
    }

    return v;
}


int
sim_options(sim_opts_t *o, int argc, char **argv)
{
    int          c, i;
    char        *colon;
    const char  *files;

    memset(o, 0, sizeof(sim_opts_t));
    o->host = "127.0.0.1";
    o->port = "5232";
    o->devices = 1;
    o->imei_base = 352093080000000ULL;
    o->protocol = 5;
    o->concurrency = 64;
    o->seed = 1;
    o->reconnect_delay = 200;
    files = "photof:50000";

    while ((c = getopt_long(argc, argv, "H:p:n:c:f:r:t:vqh", sim_long, &i))
           != -1)
    {
        switch (c) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            o->port = optarg;
            break;
        case OPT_TLS:
            o->tls = 1;
            break;
        case OPT_TLS_CA:
            o->tls = 1;
            o->tls_ca = optarg;
            break;
        case 'n':
            o->devices = (unsigned) sim_num("devices", optarg);
            break;
        case OPT_IMEI_BASE:
            o->imei_base = sim_num("imei-base", optarg);
            break;
        case OPT_IMEI:
            o->imei = sim_num("imei", optarg);
            o->one_imei = 1;
            break;
        case OPT_PROTOCOL:
            o->protocol = (unsigned) sim_num("protocol", optarg);
            break;
        case 'c':
            o->concurrency = (unsigned) sim_num("concurrency", optarg);
            break;
        case 'f':
            files = optarg;
            break;
        case OPT_FILE_FROM:
            if (sim_load_from(o, optarg) != 0) {
                return -1;
            }
            break;
        case OPT_SEED:
            o->seed = sim_num("seed", optarg);
            break;
        case OPT_ENHANCED:
            o->enhanced = 1;
            break;
        case 'r':
            o->rate = sim_num("rate", optarg);
            break;
        case OPT_SNDBUF:
            o->sndbuf = sim_num("sndbuf", optarg);

            if (o->sndbuf > 0x7fffffff) {
                fprintf(stderr, "dualcam-sim: --sndbuf: too large\n");
                return -1;
            }

            break;
        case OPT_RECONNECTS:
            o->reconnects = (unsigned) sim_num("reconnects", optarg);
            break;
        case OPT_RECONNECT_DELAY:
            o->reconnect_delay = (unsigned) sim_num("reconnect-delay",
                                                    optarg);
            break;
        case OPT_CRC_AT:
            o->crc_error_at = (uint32_t) sim_num("crc-error-at", optarg);
            break;
        case OPT_CRC_RATE:
            o->crc_error_rate = sim_prob("crc-error-rate", optarg);
            break;
        case OPT_DROP_AFTER:
            o->drop_after = (uint32_t) sim_num("drop-after", optarg);
            break;
        case OPT_DROP_RATE:
            o->drop_rate = sim_prob("drop-rate", optarg);
            break;
        case OPT_STATUS:
            o->status_on = DUALCAM_CMD_FILE_REQUEST;
            colon = strchr(optarg, ':');

            if (colon != NULL) {
                *colon++ = '\0';

                if (strcmp(colon, "meta") == 0) {
                    o->status_on = DUALCAM_CMD_METADATA_QUERY;

                } else if (strcmp(colon, "resume") == 0) {
                    o->status_on = DUALCAM_CMD_RESUME;

                } else if (strcmp(colon, "file") != 0) {
                    fprintf(stderr, "dualcam-sim: --status: AT is file, "
                            "meta or resume, not \"%s\"\n", colon);
                    return -1;
                }
            }

            o->status = (uint32_t) sim_num("status", optarg);
            break;
        case OPT_STALL:
            o->stall_after = (uint32_t) sim_num("stall-after", optarg);
            break;
        case OPT_NO_META:
            o->no_meta = 1;
            break;
        case OPT_REFUSED:
            o->expect_refused = 1;
            break;
        case 't':
            o->timeout = strtod(optarg, NULL);
            break;
        case OPT_VERIFY:
            o->verify_dir = optarg;
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_LOG_RESUMES:
            o->log_resumes = 1;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case OPT_RAW:
            o->raw = 1;
            break;
        case OPT_SEND_HEX:
            o->send_hex = optarg;
            break;
        case 'h':
            fputs(sim_usage, stdout);
            exit(0);
        default:
            fputs("try dualcam-sim --help\n", stderr);
            return -1;
        }
    }

    if (optind < argc) {
        fprintf(stderr, "dualcam-sim: unexpected argument \"%s\"\n",
                argv[optind]);
        return -1;
    }

    if (o->raw) {
        if (o->send_hex == NULL) {
            fputs("dualcam-sim: --raw needs --send-hex\n", stderr);
            return -1;
        }

        return 0;
    }

    if (o->devices == 0 || o->concurrency == 0) {
        fputs("dualcam-sim: --devices and --concurrency must be > 0\n",
              stderr);
        return -1;
    }

    if (o->protocol < 5 || o->protocol > 65535) {
        fputs("dualcam-sim: --protocol: 5, or 6 and above\n", stderr);
        return -1;
    }

    if (o->imei_base + o->devices - 1 > DUALCAM_IMEI_MAX && !o->one_imei) {
        fputs("dualcam-sim: warning: IMEIs above 15 digits; the server "
              "should refuse them\n", stderr);
    }

    return sim_parse_files(o, files);
}


static int
sim_load_from(sim_opts_t *o, const char *path)
{
    FILE         *fp;
    struct stat   st;

    fp = fopen(path, "rb");

    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        fprintf(stderr, "dualcam-sim: --file-from %s: %s\n", path,
                strerror(errno));
        return -1;
    }

    o->from_len = (size_t) st.st_size;
    o->from = malloc(o->from_len ? o->from_len : 1);

    if (o->from == NULL
        || fread(o->from, 1, o->from_len, fp) != o->from_len)
    {
        fprintf(stderr, "dualcam-sim: --file-from %s: read failed\n", path);
        fclose(fp);
        return -1;
    }

    fclose(fp);

    return 0;
}


static int
sim_parse_files(sim_opts_t *o, const char *spec)
{
    int          ok;
    char        *copy, *item, *save, *colon, *path;
    size_t       n;
    unsigned     i;
    sim_file_t  *f;
    static const struct {
        const char      *name;
        dualcam_kind_e   kind;
        dualcam_side_e   side;
    } idents[] = {
        { "photof", DUALCAM_KIND_PHOTO, DUALCAM_SIDE_FRONT },
        { "photor", DUALCAM_KIND_PHOTO, DUALCAM_SIDE_REAR },
        { "videof", DUALCAM_KIND_VIDEO, DUALCAM_SIDE_FRONT },
        { "videor", DUALCAM_KIND_VIDEO, DUALCAM_SIDE_REAR },
    };

    copy = strdup(spec);

    for (item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save))
    {
        if (o->nfiles == SIM_FILES_MAX) {
            fprintf(stderr, "dualcam-sim: at most %d files\n", SIM_FILES_MAX);
            goto failed;
        }

        f = &o->files[o->nfiles];
        colon = strrchr(item, ':');

        if (colon == NULL) {
            fprintf(stderr, "dualcam-sim: --files: \"%s\" has no size\n",
                    item);
            goto failed;
        }

        *colon = '\0';

        if (colon[1] == '@') {
            /* a real recording (or photo) as the content: KIND:@PATH */
            f->data = sim_read_file(colon + 2, &n);
            if (f->data == NULL) {
                goto failed;
            }

            f->size = n;
            f->from_file = 1;
            ok = 1;

        } else {
            f->size = sim_parse_size(colon + 1, &ok);
        }

        if (!ok || f->size > 0xffffffffULL) {
            fprintf(stderr, "dualcam-sim: --files: bad size \"%s\"\n",
                    colon + 1);
            goto failed;
        }

        if (strncmp(item, "path:", 5) == 0) {
            path = item + 5;
            n = strlen(path);

            if (n == 0 || n >= DUALCAM_PATH_MAX) {
                fprintf(stderr, "dualcam-sim: --files: bad path \"%s\"\n",
                        path);
                goto failed;
            }

            f->kind = DUALCAM_KIND_PATH;
            memcpy(f->path, path, n + 1);
            f->path_len = n + 1;    /* the NUL, as real units send it */
            snprintf(f->name, sizeof(f->name), "%s", path);
            f->meta_type = o->protocol >= 6 ? DUALCAM_META_JSON
                           : strstr(path, "dsm") ? DUALCAM_META_DSM
                           : DUALCAM_META_ADAS;
            f->jpeg = strstr(path, ".jp") != NULL;
            f->h265 = strstr(path, ".h265") != NULL;
            o->nfiles++;
            continue;
        }

        for (i = 0; i < sizeof(idents) / sizeof(idents[0]); i++) {
            if (strcmp(item, idents[i].name) == 0) {
                break;
            }
        }

        if (i == sizeof(idents) / sizeof(idents[0])) {
            fprintf(stderr, "dualcam-sim: --files: unknown kind \"%s\" "
                    "(photof, photor, videof, videor, path:PATH)\n", item);
            goto failed;
        }

        f->kind = idents[i].kind;
        f->side = idents[i].side;
        f->jpeg = f->kind == DUALCAM_KIND_PHOTO;
        f->h265 = f->kind == DUALCAM_KIND_VIDEO;
        f->meta_type = DUALCAM_META_DUALCAM;
        snprintf(f->name, sizeof(f->name), "%s", idents[i].name);

        if (f->kind == DUALCAM_KIND_PHOTO && o->from != NULL
            && f->data == NULL)
        {
            f->from_file = 1;
            f->size = o->from_len;
        }

        if (o->protocol >= 6) {
            /* unified protocol: every camera uses the path procedure */
            n = (size_t) snprintf((char *) f->path, sizeof(f->path),
                        "dualcam_%s/%s/%u.%s",
                        f->side == DUALCAM_SIDE_REAR ? "rear" : "front",
                        f->kind == DUALCAM_KIND_VIDEO ? "video" : "picture",
                        o->nfiles, f->kind == DUALCAM_KIND_VIDEO ? "h265"
                                                                 : "jpg");
            f->path_len = n + 1;
            f->kind = DUALCAM_KIND_PATH;
            f->meta_type = DUALCAM_META_JSON;
        }

        o->nfiles++;
    }

    free(copy);

    if (o->nfiles == 0) {
        fputs("dualcam-sim: --files: no file\n", stderr);
        return -1;
    }

    return 0;

failed:

    free(copy);
    return -1;
}


/* KIND:@PATH: the whole file, read once at start */

static unsigned char *
sim_read_file(const char *path, size_t *len)
{
    FILE           *fp;
    long            size;
    unsigned char  *buf;

    fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "dualcam-sim: --files: %s: %s\n", path,
                strerror(errno));
        return NULL;
    }

    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0
        || fseek(fp, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "dualcam-sim: --files: %s: cannot seek\n", path);
        fclose(fp);
        return NULL;
    }

    buf = malloc(size ? (size_t) size : 1);

    if (buf == NULL || fread(buf, 1, (size_t) size, fp) != (size_t) size) {
        fprintf(stderr, "dualcam-sim: --files: %s: cannot read\n", path);
        free(buf);
        fclose(fp);
        return NULL;
    }

    fclose(fp);
    *len = (size_t) size;

    return buf;
}
