/* GET /ui/ and its assets from the embedded copies; see ui.h. */
#include "ui.h"

#include <stdio.h>

/* The page loads only its own script and style sheet and talks only to
 * this origin; no inline script or style, so the CSP can be strict. */
static const char *const ui_headers[] = {
	"Cache-Control", "no-cache",
	"Content-Security-Policy", "default-src 'self'",
	"X-Content-Type-Options", "nosniff",
	"Referrer-Policy", "no-referrer",
	NULL,
};

static void ui_serve(struct hres *res, const unsigned char *data, size_t len,
		     const char *type)
{
	buf_append(&res->body, data, len);
	res->content_type = type;
	res->headers = ui_headers;
}

void handle_ui_index(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	ui_serve(res, ui_index_html, ui_index_html_len,
		 "text/html; charset=utf-8");
}

void handle_ui_app_js(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	ui_serve(res, ui_app_js, ui_app_js_len,
		 "text/javascript; charset=utf-8");
}

void handle_ui_style_css(struct hctx *ctx, const cJSON *body,
			 struct hres *res)
{
	(void)ctx;
	(void)body;
	ui_serve(res, ui_style_css, ui_style_css_len, "text/css; charset=utf-8");
}

void handle_ui_icon_svg(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	ui_serve(res, ui_icon_svg, ui_icon_svg_len, "image/svg+xml");
}

void handle_ui_redirect(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	res->status = 308;
	snprintf(res->location, sizeof(res->location), "/ui/");
	res->content_type = "text/plain; charset=utf-8";
	buf_puts(&res->body, "see /ui/\n");
}
