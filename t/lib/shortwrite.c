
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * An LD_PRELOAD shim for t/test_sim.py: the moment of back-pressure that
 * a loaded server produces only now and then, on demand.  Every
 * DUALCAM_SHORTWRITE_EVERY-th send(2) of 8 KiB or more is cut to 200
 * bytes (the socket had room for no more), the next send(2) on that
 * socket fails with EAGAIN (it is full), and then the socket becomes
 * writable again with plenty of room, as when the server drains it.
 *
 * The wake-up is the kernel's own: setting SO_SNDBUF runs the socket's
 * write-space callback, which gives an edge-triggered epoll its EPOLLOUT
 * event, exactly as the ACKs of a draining server do.
 */


#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>


typedef ssize_t (*send_pt)(int fd, const void *buf, size_t len, int flags);


ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
    int              v;
    socklen_t        l;
    const char      *e;
    static int       full = -1;
    static long      every = -1;
    static send_pt   real;
    static unsigned long  calls;

    if (real == NULL) {
        real = (send_pt) dlsym(RTLD_NEXT, "send");
    }

    if (every < 0) {
        e = getenv("DUALCAM_SHORTWRITE_EVERY");
        every = e ? strtol(e, NULL, 10) : 0;
    }

    if (fd == full) {
        full = -1;

        l = sizeof(int);

        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0) {
            /* the kernel doubles what it is given */
            v /= 2;
            (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(int));
        }

        errno = EAGAIN;
        return -1;
    }

    if (every > 0 && len >= 8192 && ++calls % (unsigned long) every == 0) {
        full = fd;
        len = 200;
    }

    return real(fd, buf, len, flags);
}
