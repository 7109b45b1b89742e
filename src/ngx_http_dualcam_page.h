
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The operator's page: src/dualcam_page.html compiled in.  Its .c is
 * generated at build time by src/dualcam_page.sh (see config.make), so
 * the HTML stays a file one can open and edit.
 */


#ifndef _NGX_HTTP_DUALCAM_PAGE_H_INCLUDED_
#define _NGX_HTTP_DUALCAM_PAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* the document, static: never freed, never written */
void ngx_http_dualcam_page(ngx_str_t *page);


#endif /* _NGX_HTTP_DUALCAM_PAGE_H_INCLUDED_ */
