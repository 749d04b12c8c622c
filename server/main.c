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

static enum log_format store_log_format;

/* The store's fault and recovery lines, in the daemon's log format. */
static void store_log(const char *level, const char *msg)
{
	log_msg(store_log_format, level, "%s", msg);
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
	if (store_open(cfg.store, cfg.limits.max_sessions, &store, err,
		       sizeof(err))) {
		log_msg(cfg.log_format, "error", "store %s: %s", cfg.store,
			err);
		goto out;
	}
	/* --session-ttl wins over a redis:// URL's ?ttl= */
	if (cfg.session_ttl)
		store->session_ttl_ms = (int64_t)cfg.session_ttl * 1000;
	store->anonymous_ttl_ms = (int64_t)cfg.anonymous_ttl * 1000;
	store_log_format = cfg.log_format;
	store->log = store_log;
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
