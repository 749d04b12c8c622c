/* PLACEHOLDER: replaced by the store dispatcher (memory:, sqlite:PATH). */
#include "handlers/store.h"

#include <stdio.h>

int store_open(const char *url, size_t max_sessions, struct store **out,
	       char *err, size_t errlen)
{
	(void)max_sessions;
	*out = NULL;
	snprintf(err, errlen, "no store back end for '%s' yet", url);
	return -1;
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_status_str(enum store_status st)
{
	(void)st;
	return "?";
}
