/* problem+json printing through the jw_* writer; see reply.h. */
#include "reply.h"

#include "handlers/json.h"

void reply_problem(struct buf *b, const struct problem *p,
		   const char *instance)
{
	struct jw w;

	jw_init(&w, b);
	jw_obj_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, problem_type(p->kind));
	jw_key(&w, "title");
	jw_string(&w, problem_title(p->kind));
	jw_key(&w, "status");
	jw_uint(&w, problem_status(p->kind));
	jw_key(&w, "detail");
	jw_string(&w, p->detail[0] ? p->detail : problem_title(p->kind));
	if (instance) {
		jw_key(&w, "instance");
		jw_string(&w, instance);
	}
	jw_key(&w, "errors");
	jw_arr_begin(&w);
	for (size_t i = 0; i < p->n_errors && i < PROBLEM_MAX_ERRORS; i++) {
		jw_obj_begin(&w);
		jw_key(&w, "pointer");
		jw_string(&w, p->errors[i].pointer);
		jw_key(&w, "detail");
		jw_string(&w, p->errors[i].detail);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	if (p->n_dropped) {
		jw_key(&w, "errors_dropped");
		jw_uint(&w, p->n_dropped);
	}
	jw_obj_end(&w);
}
