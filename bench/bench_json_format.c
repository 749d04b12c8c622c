/* Times json_format_double and jw_matrix on 2M doubles (a 2M-parameter /init
 * response). With --verify N: checks N random finite bit patterns against
 * glibc's correctly rounded printf (the digits must be the shortest that
 * read back, and of those the closest: Python's repr rule) and strtod.
 * Build: make build/libgradguard.a && cc -O2 -I. $(pkg-config --cflags
 * libcjson) bench/bench_json_format.c build/libgradguard.a -lcjson -lz -lm */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/json.h"

#define N 2000000

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);  /* CPU time: the machine is shared */
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* xorshift64 (Marsaglia 2003). */
static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Significant digits of a formatted number: "0.00120" -> "12". */
static void sig_digits(const char *s, char *out)
{
	size_t n = 0;

	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && (n || *s != '0'))
			out[n++] = *s;
	while (n > 1 && out[n - 1] == '0')
		n--;
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
}

/* n random finite bit patterns: shortest, closest, round trip. */
static int verify(long n)
{
	uint64_t s = 0x9E3779B97F4A7C15ull, b;
	char out[32], ref[40], a[32], r[40];
	double v, t0 = now_ns();
	long bad = 0, done = 0;
	int prec;

	while (done < n) {
		b = next(&s);
		memcpy(&v, &b, sizeof(v));
		if (!isfinite(v))
			continue;
		done++;
		json_format_double(out, v);
		/* the shortest correctly rounded form is at most as long as
		 * ours: start one digit shorter than ours */
		sig_digits(out, a);
		prec = (int)strlen(a) - 1;
		if (prec >= 1) {
			snprintf(ref, sizeof(ref), "%.*e", prec - 1, v);
			if (strtod(ref, NULL) == v) {
				printf("not shortest: %s for %.17g (%s)\n", out, v, ref);
				bad++;
			}
		}
		snprintf(ref, sizeof(ref), "%.*e", prec, v);
		sig_digits(ref, r);
		if (strcmp(a, r) || strtod(out, NULL) != v) {
			printf("not closest or no round trip: %s for %.17g (%s)\n",
			       out, v, ref);
			bad++;
		}
	}
	printf("verified %ld random bit patterns in %.1f s: %ld wrong\n", done,
	       (now_ns() - t0) / 1e9, bad);
	return bad != 0;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"random bit patterns",
		"uniform [-2, 2)", "He-scaled weights (~N(0, 2/512))"};
	double *v = malloc(N * sizeof(*v)), t0, sink = 0;
	uint64_t s = 88172645463325252ull, b;
	char out[32];
	struct buf buf;
	struct jw w;
	int kind;
	size_t i;

	if (argc > 2 && !strcmp(argv[1], "--verify"))
		return verify(atol(argv[2]));
	if (!v)
		return 1;
	for (kind = 0; kind < 3; kind++) {
		for (i = 0; i < N; i++) {
			if (kind == 0) {
				do {
					b = next(&s);
					memcpy(&v[i], &b, sizeof(b));
				} while (!isfinite(v[i]));
			} else if (kind == 1) {
				v[i] = (double)(next(&s) >> 11) * 0x1p-53 * 4 - 2;
			} else {
				/* sum of 12 uniforms - 6 ~ N(0, 1) (Irwin-Hall) */
				double g = -6;
				int k;

				for (k = 0; k < 12; k++)
					g += (double)(next(&s) >> 11) * 0x1p-53;
				v[i] = g * sqrt(2.0 / 512);
			}
		}
		t0 = now_ns();
		for (i = 0; i < N; i++)
			sink += (double)json_format_double(out, v[i]);
		printf("%-34s json_format_double %6.1f ns/number", names[kind],
		       (now_ns() - t0) / N);
		buf_init(&buf, 0);
		jw_init(&w, &buf);
		t0 = now_ns();
		jw_matrix(&w, v, 1000, N / 1000, false);
		printf("   jw_matrix %6.1f ns/number (%zu bytes)\n",
		       (now_ns() - t0) / N, buf.len);
		buf_free(&buf);
	}
	free(v);
	return sink < 0;
}
