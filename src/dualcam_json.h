
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Bytes a device sent (paths, protocol-6 JSON metadata, driver names), as
 * text that cannot break what it is written into: a JSON string that a
 * strict parser accepts, or an error-log line of printable ASCII.
 * Plain C99, no nginx: the sidecar, the status document and the event
 * notifications all write JSON through these, so there is one definition
 * of what a JSON document of this module holds.
 *
 * JSON strings (RFC 8259, UTF-8 per RFC 3629):
 *   - well-formed UTF-8 is copied as it is (U+0080 and above included);
 *   - '"' and '\' are escaped as \" and \\, the control characters
 *     U+0000..U+001F and DEL as \n \r \t or \u00XX;
 *   - every byte that does not start a well-formed UTF-8 sequence (a
 *     stray continuation byte, an overlong form, a surrogate, a code
 *     point above U+10FFFF, a sequence cut short, 0xC0, 0xC1, 0xF5..0xFF)
 *     is written as \u00XX with XX its value, one byte at a time, and
 *     decoding goes on at the next byte.
 *   Valid UTF-8 is never escaped as \u0080..\u00FF, so a reader can tell
 *   a byte the device sent outside UTF-8 from a character: "J\xfcrgen"
 *   (Latin-1) becomes "J\u00fcrgen", which reads as "Jürgen".
 *
 * Log text: the printable ASCII bytes 0x20..0x7E except '\' as they are,
 * every other byte (controls, DEL, '\', 0x80 and above) as \xHH.
 */


#ifndef _DUALCAM_JSON_H_INCLUDED_
#define _DUALCAM_JSON_H_INCLUDED_


#include <stddef.h>


/* the most one input byte becomes: "\u00XX" and "\xHH" */

#define DUALCAM_JSON_ESCAPE_MAX     6
#define DUALCAM_LOG_ESCAPE_MAX      4


/*
 * The length of the well-formed UTF-8 sequence at p[0 .. n): 1 to 4, or 0
 * when p[0] does not start one (or n is 0).
 */
size_t dualcam_utf8_len(const unsigned char *p, size_t n);

/* the bytes dualcam_json_escape() writes for src[0 .. len) */
size_t dualcam_json_escape_len(const unsigned char *src, size_t len);

/*
 * Writes src[0 .. len) as the inside of a JSON string (no quotes) at dst,
 * which has room for dualcam_json_escape_len() bytes (at most
 * len * DUALCAM_JSON_ESCAPE_MAX); returns the end of what was written.
 */
unsigned char *dualcam_json_escape(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * Writes src[0 .. len) as log text at dst, stopping before an escape that
 * would pass end; returns the end of what was written.  Room for
 * len * DUALCAM_LOG_ESCAPE_MAX bytes is always enough.
 */
unsigned char *dualcam_log_escape(unsigned char *dst, unsigned char *end,
    const unsigned char *src, size_t len);

/*
 * Whether a number may be written as a JSON number: finite (JSON has no
 * NaN or Infinity) and small enough for a fixed-point "%.7f" without
 * overflowing a 64-bit integer part.  Otherwise the writer puts null.
 */
int dualcam_json_number_ok(double v);


#endif /* _DUALCAM_JSON_H_INCLUDED_ */
