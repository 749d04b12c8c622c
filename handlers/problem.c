/* Problem details: the kinds table and the fill helpers; see problem.h. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	unsigned status;
	const char *type;
	const char *title;
} kinds[] = {
#define PROBLEM_ROW(e, s, t, ti) {s, "/problems/" t, ti},
	PROBLEM_KINDS(PROBLEM_ROW)
#undef PROBLEM_ROW
};

unsigned problem_status(enum problem_kind k)
{
	return k < PROB_COUNT_ ? kinds[k].status : 500;
}

const char *problem_type(enum problem_kind k)
{
	return k < PROB_COUNT_ ? kinds[k].type : "/problems/internal-error";
}

const char *problem_title(enum problem_kind k)
{
	return k < PROB_COUNT_ ? kinds[k].title : "Internal error";
}

void problem_init(struct problem *p)
{
	p->kind = PROB_NONE;
	p->detail[0] = '\0';
	p->n_errors = 0;
	p->n_dropped = 0;
}

void problem_set(struct problem *p, enum problem_kind k, const char *fmt, ...)
{
	va_list ap;

	if (p->kind != PROB_NONE)
		return;
	p->kind = k;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

void problem_add(struct problem *p, enum problem_kind k, const char *pointer,
		 const char *fmt, ...)
{
	struct problem_error *e;
	va_list ap;

	if (p->n_errors == PROBLEM_MAX_ERRORS) {
		p->n_dropped++;
		return;
	}
	e = &p->errors[p->n_errors++];
	snprintf(e->pointer, sizeof(e->pointer), "%s", pointer ? pointer : "");
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	if (p->kind == PROB_NONE) {
		p->kind = k;
		snprintf(p->detail, sizeof(p->detail), "%s: %s",
			 e->pointer[0] ? e->pointer : "body", e->detail);
	}
}
