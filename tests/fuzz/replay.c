/* A standalone driver for the fuzz targets without libFuzzer: calls
 * LLVMFuzzerTestOneInput once per file named on the command line or found
 * (non-recursively) in a directory named there, and prints
 * "<name>: N passed, 0 failed". An invariant violation aborts, a sanitizer
 * report ends the process; either way the file being replayed is named on
 * stderr first. A missing or unreadable path counts as failed. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define REPLAY_SANITIZER 1
#endif
#endif
#ifdef REPLAY_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

static const char *current;  /* the file being replayed, for crash reports */

static void name_current(void)
{
	const char *pre = "replay: crashed on ", *p = current;

	if (!p)
		return;
	/* write(2) is async-signal-safe; fputs is not */
	if (write(2, pre, strlen(pre)) < 0 || write(2, p, strlen(p)) < 0 ||
	    write(2, "\n", 1) < 0)
		return;
}

static void on_abort(int sig)
{
	name_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int run_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	long len;
	int rc = -1;

	if (!f) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	/* malloc'd to exactly len bytes so ASan sees reads past the input */
	data = malloc(len ? (size_t)len : 1);
	if (!data || fread(data, 1, (size_t)len, f) != (size_t)len)
		goto out;
	current = path;
	LLVMFuzzerTestOneInput(data, (size_t)len);
	current = NULL;
	(*n)++;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "replay: cannot read %s\n", path);
	free(data);
	fclose(f);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of a directory in name order (deterministic replays). */
static int run_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, **grown, path[4096];
	size_t count = 0, cap = 0, i;
	struct stat st;
	int rc = 0;

	if (!d) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;  /* ., .., .gitkeep */
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				rc = -1;
				break;
			}
			names = grown;
		}
		names[count] = strdup(e->d_name);
		if (!names[count]) {
			rc = -1;
			break;
		}
		count++;
	}
	closedir(d);
	if (count)
		qsort(names, count, sizeof(*names), cmp_names);
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(path, n) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = 0;
	int i, failed = 0;
	struct stat st;

	signal(SIGABRT, on_abort);
#ifdef REPLAY_SANITIZER
	__sanitizer_set_death_callback(name_current);
#else
	signal(SIGSEGV, on_abort);  /* sanitizers report SEGV themselves */
#endif
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			failed++;
		} else if (S_ISDIR(st.st_mode)) {
			failed += run_dir(argv[i], &n) != 0;
		} else {
			failed += run_file(argv[i], &n) != 0;
		}
	}
	printf("%s: %zu passed, %d failed\n", argc ? argv[0] : "replay", n,
	       failed);
	return failed ? 1 : 0;
}
