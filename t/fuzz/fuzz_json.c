
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * fuzz_json: the escaper of device bytes on arbitrary input.  The JSON
 * text must be what dualcam_json_escape_len() said, inside its bound,
 * well-formed UTF-8 with no raw control character, quote or stray
 * backslash, and must read back to the input byte for byte; the log text
 * must be printable ASCII, never pass its end, and read back too.
 */


#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "dualcam_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static unsigned
fz_hex(unsigned char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}


static void
fz_json(const unsigned char *in, size_t size)
{
    size_t          len, i, n, k;
    unsigned char  *out, *back, *end;

    len = dualcam_json_escape_len(in, size);
    fz_assert(len <= size * DUALCAM_JSON_ESCAPE_MAX);

    /* exactly sized: a write past the end is an ASan report */
    out = malloc(len + 1);
    back = malloc(size + 1);
    fz_assert(out != NULL && back != NULL);

    end = dualcam_json_escape(out, in, size);
    fz_assert((size_t) (end - out) == len);

    k = 0;

    for (i = 0; i < len; /* void */) {
        fz_assert(out[i] >= 0x20 && out[i] != '"');

        if (out[i] >= 0x80) {
            n = dualcam_utf8_len(out + i, len - i);
            fz_assert(n >= 2);
            memcpy(back + k, out + i, n);
            k += n;
            i += n;
            continue;
        }

        if (out[i] != '\\') {
            back[k++] = out[i++];
            continue;
        }

        fz_assert(i + 1 < len);

        switch (out[i + 1]) {
        case '"':
        case '\\':
            back[k++] = out[i + 1];
            i += 2;
            continue;
        case 'n':
            back[k++] = '\n';
            i += 2;
            continue;
        case 'r':
            back[k++] = '\r';
            i += 2;
            continue;
        case 't':
            back[k++] = '\t';
            i += 2;
            continue;
        }

        fz_assert(out[i + 1] == 'u' && i + 6 <= len);
        fz_assert(out[i + 2] == '0' && out[i + 3] == '0');
        fz_assert(strchr("0123456789abcdef", out[i + 4]) != NULL
                  && strchr("0123456789abcdef", out[i + 5]) != NULL);
        back[k++] = (unsigned char) (fz_hex(out[i + 4]) << 4
                                     | fz_hex(out[i + 5]));
        i += 6;
    }

    fz_assert(k == size);
    fz_assert(size == 0 || memcmp(back, in, size) == 0);

    free(out);
    free(back);
}


static void
fz_log(const unsigned char *in, size_t size, size_t room)
{
    size_t          i, k;
    unsigned char  *out, *end;

    out = malloc(room + 1);
    fz_assert(out != NULL);

    end = dualcam_log_escape(out, out + room, in, size);
    fz_assert(end >= out && (size_t) (end - out) <= room);

    k = 0;

    for (i = 0; i < (size_t) (end - out); /* void */) {
        fz_assert(out[i] >= 0x20 && out[i] < 0x7f);

        if (out[i] == '\\') {
            fz_assert(i + 4 <= (size_t) (end - out) && out[i + 1] == 'x');
            fz_assert(k < size
                      && in[k] == (fz_hex(out[i + 2]) << 4
                                   | fz_hex(out[i + 3])));
            i += 4;

        } else {
            fz_assert(k < size && in[k] == out[i]);
            i++;
        }

        k++;
    }

    /* all of it when there was room for the worst case */
    fz_assert(room < size * DUALCAM_LOG_ESCAPE_MAX || k == size);

    free(out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_json(data, size);
    fz_log(data, size, size * DUALCAM_LOG_ESCAPE_MAX);
    fz_log(data, size, size > 0 ? data[0] % (size * 2 + 1) : 0);

    return 0;
}
