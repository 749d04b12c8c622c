/* Fuzzes /sessions/{id}: PUT (import) the body, then GET, then DELETE, then
 * GET again, through the handlers with a memory: store. An input starting
 * with '/' names the id itself: "/<id>\n<body>"; otherwise the id is
 * "fuzz". Invariants: a PUT that succeeds is read back identically by GET,
 * DELETE then answers 204 and the next GET 404; a PUT that fails leaves no
 * session behind. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define ID_MAX 128

static void same_field(const cJSON *a, const cJSON *b, const char *name)
{
	if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(a, name),
			   cJSON_GetObjectItemCaseSensitive(b, name), 1))
		fuzz_fail("sessions: GET %s differs from PUT", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fields[] = {
		"session", "n_samples_seen", "n_features", "mean", "var",
		"scale", "created_at"
	};
	char id[ID_MAX + 1] = "fuzz";
	const uint8_t *nl;
	cJSON *body, *put, *get, *del;
	unsigned put_st, get_st, del_st;
	size_t n, i;

	if (size && data[0] == '/') {
		nl = memchr(data, '\n', size < ID_MAX + 2 ? size : ID_MAX + 2);
		if (!nl)
			return 0;
		n = (size_t)(nl - data) - 1;
		memcpy(id, data + 1, n);
		id[n] = '\0';
		if (strlen(id) != n)
			return 0;  /* a NUL in the id: not a URL path */
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	body = fuzz_parse_request(data, size);
	if (!body)
		return 0;
	put = fuzz_call(handle_session_put, id, body, &put_st);
	get = fuzz_call(handle_session_get, id, NULL, &get_st);
	if (put) {
		if (put_st != 200 && put_st != 201)
			fuzz_fail("sessions: PUT succeeded with %u", put_st);
		if (get_st != 200 || !get)
			fuzz_fail("sessions: GET after PUT answered %u", get_st);
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			same_field(put, get, fields[i]);
	} else if (get) {
		fuzz_fail("sessions: GET found a session after a failed PUT "
			  "(%u)", put_st);
	}
	del = fuzz_call(handle_session_delete, id, NULL, &del_st);
	if (del)
		fuzz_fail("sessions: DELETE returned a body");
	if (put && del_st != 204)
		fuzz_fail("sessions: DELETE after PUT answered %u", del_st);
	cJSON_Delete(get);
	get = fuzz_call(handle_session_get, id, NULL, &get_st);
	if (get || (put && get_st != 404))
		fuzz_fail("sessions: GET after DELETE answered %u", get_st);
	cJSON_Delete(put);
	cJSON_Delete(body);
	return 0;
}
