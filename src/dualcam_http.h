
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The status line of an HTTP/1.x answer, the one thing the event
 * delivery reads of what a receiver says.  Sans I/O: called again with
 * all the bytes received so far, it decides as soon as it can.
 */


#ifndef _DUALCAM_HTTP_H_INCLUDED_
#define _DUALCAM_HTTP_H_INCLUDED_


#include <stddef.h>


#define DUALCAM_HTTP_AGAIN     0     /* a prefix of a status line */
#define DUALCAM_HTTP_DONE      1     /* *status is set */
#define DUALCAM_HTTP_INVALID  -1     /* not an HTTP/1.x status line */


/* "HTTP/1.<d> <ddd>" followed by a space, CR or LF */
int dualcam_http_status(const unsigned char *p, size_t n, unsigned *status);


#endif /* _DUALCAM_HTTP_H_INCLUDED_ */
