/* gradguard's entry point: configuration, store, daemon, then waits for
 * SIGTERM/SIGINT on the main thread (sigwait) and shuts down gracefully. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "core/alloc.h"
#include "handlers/store.h"
#include "server/config.h"
#include "server/log.h"
#include "server/server.h"
#include "server/version.h"

/* mkdir -p of the directory part of path ("./var/x.db" -> "./var"). */
static int dir_prepare(const char *path)
{
	char dir[CONFIG_STR_MAX];
	size_t len = strlen(path);
	char *slash;

	if (len >= sizeof(dir))
		return -1;
	memcpy(dir, path, len + 1);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* --session-ttl reaches the Redis store as the URL's ?ttl=SECONDS; the
 * other stores cannot expire sessions, so the flag is refused for them. */
static int store_url_ttl(struct config *cfg, char *err, size_t errlen)
{
	size_t len = strlen(cfg->store);
	int n;

	if (!cfg->session_ttl)
		return 0;
	if (strncmp(cfg->store, "redis://", 8) != 0) {
		snprintf(err, errlen, "--session-ttl needs a redis:// store");
		return -1;
	}
	if (strstr(cfg->store, "ttl=")) {
		snprintf(err, errlen, "--session-ttl and a ttl in the store "
			 "URL: give one");
		return -1;
	}
	n = snprintf(cfg->store + len, sizeof(cfg->store) - len, "%cttl=%u",
		     strchr(cfg->store, '?') ? '&' : '?', cfg->session_ttl);
	if (n < 0 || (size_t)n >= sizeof(cfg->store) - len) {
		snprintf(err, errlen, "store URL too long");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct store *store = NULL;
	struct server *srv = NULL;
	sigset_t sigs;
	char err[1024];
	unsigned drain_ms;
	int sig = 0, rc = 1;
	/* cJSON's allocations go through core/alloc.h too; the hooks are
	 * process-global, so they are set once, before any thread starts. */
	cJSON_Hooks hooks = { .malloc_fn = gg_malloc, .free_fn = gg_free };

	cJSON_InitHooks(&hooks);
	signal(SIGPIPE, SIG_IGN);
	/* a file-size limit (or quota) must fail the write with EFBIG, which
	 * the store reports as 503, not kill the process */
	signal(SIGXFSZ, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	/* Before any thread starts, so that every thread inherits the mask
	 * and only sigwait below sees the signals. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (config_load(&cfg, argc, argv, environ, err, sizeof(err))) {
		fprintf(stderr, "gradguard: %s\n", err);
		config_usage(stderr, "gradguard");
		return 2;
	}
	if (cfg.help) {
		config_usage(stdout, "gradguard");
		return 0;
	}
	if (cfg.version) {
		printf("gradguard %s\n", GRADGUARD_VERSION);
		return 0;
	}
	if (!strncmp(cfg.store, "sqlite:", 7) && dir_prepare(cfg.store + 7))
		log_msg(cfg.log_format, "error", "cannot create the directory "
			"of %s: %s", cfg.store + 7, strerror(errno));
	if (store_url_ttl(&cfg, err, sizeof(err))) {
		fprintf(stderr, "gradguard: %s\n", err);
		return 2;
	}
	if (store_open(cfg.store, cfg.limits.max_sessions, &store, err,
		       sizeof(err))) {
		log_msg(cfg.log_format, "error", "store %s: %s", cfg.store,
			err);
		goto out;
	}
	if (server_start(&cfg, store, &srv, err, sizeof(err))) {
		log_msg(cfg.log_format, "error", "%s", err);
		goto out;
	}
	printf("listening on %s\n", srv->url);
	fflush(stdout);
	log_msg(cfg.log_format, "info", "gradguard %s listening on %s "
		"(threads %u, workers %u, queue %u, store %s)",
		GRADGUARD_VERSION, srv->url, cfg.threads, cfg.workers,
		cfg.queue, cfg.store);
	while (sigwait(&sigs, &sig) != 0)
		;
	log_msg(cfg.log_format, "info", "%s: draining requests in flight",
		strsignal(sig));
	drain_ms = (cfg.limits.deadline_ms < 60000u ? cfg.limits.deadline_ms
						    : 60000u) + 5000u;
	server_stop(srv, drain_ms);
	rc = 0;
out:
	store_close(store);
	log_msg(cfg.log_format, "info", "stopped");
	return rc;
}
