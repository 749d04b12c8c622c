/* The browser playground at GET /ui/: ui/index.html, ui/app.js,
 * ui/style.css and ui/icon.svg (the page's icon), embedded at build time
 * (mk/ui.mk generates the arrays into $(BUILD)/gen/ui_assets.c) and served
 * with a strict CSP. */
#ifndef GRADGUARD_UI_H
#define GRADGUARD_UI_H

#include <stddef.h>

#include "handlers/handler.h"

/* The embedded files, each NUL-terminated; *_len excludes the NUL. */
extern const unsigned char ui_index_html[];
extern const size_t ui_index_html_len;
extern const unsigned char ui_app_js[];
extern const size_t ui_app_js_len;
extern const unsigned char ui_style_css[];
extern const size_t ui_style_css_len;
extern const unsigned char ui_icon_svg[];
extern const size_t ui_icon_svg_len;

/* GET /ui/, /ui/app.js, /ui/style.css, /ui/icon.svg: the file with its
 * Content-Type, Cache-Control: no-cache, Content-Security-Policy: default-src 'self' and
 * X-Content-Type-Options: nosniff. */
handler_fn handle_ui_index;
handler_fn handle_ui_app_js;
handler_fn handle_ui_style_css;
/* GET /ui/icon.svg: the icon the page links (rel=icon), image/svg+xml. */
handler_fn handle_ui_icon_svg;
/* GET /ui: 308 to /ui/ (relative URLs in the page need the slash). */
handler_fn handle_ui_redirect;

#endif
