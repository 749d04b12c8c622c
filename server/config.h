/* Daemon configuration: defaults, then GRADGUARD_<FLAG> environment
 * variables, then command-line flags (the flag wins). One table of options
 * drives parsing, the environment names and the usage text. */
#ifndef GRADGUARD_CONFIG_H
#define GRADGUARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "handlers/limits.h"

#define CONFIG_STR_MAX 1024

enum log_format { LOG_TEXT = 0, LOG_JSON };

struct config {
	unsigned port;
	char bind[64];
	unsigned threads;        /* MHD polling threads */
	unsigned workers;        /* compute pool */
	unsigned queue;          /* bounded work queue: jobs waiting */
	unsigned conn_timeout;   /* seconds of silence before a connection is cut */
	unsigned max_conn_per_ip; /* open connections from one address; 0: any */
	unsigned header_timeout; /* seconds to receive a request's headers; 0: none */
	unsigned min_body_rate;  /* body bytes/s on average after the grace; 0: none */
	size_t max_memory;       /* bytes of request bodies held at once */
	char store[CONFIG_STR_MAX];
	uint32_t session_ttl;    /* seconds; 0: sessions never expire */
	uint32_t anonymous_ttl;  /* seconds a generated session id lives */
	char api_keys_file[CONFIG_STR_MAX]; /* "": no authentication */
	struct limits limits;
	enum log_format log_format;
	char oracle_allow[CONFIG_STR_MAX]; /* /gradcheck oracle hosts, "" default */
	bool help;
	bool version;
};

/* Fills c from the defaults, then envp ("NAME=value" strings, NULL-ended;
 * NULL means none), then argv[1..argc-1] ("--flag N" or "--flag=N").
 * Returns 0, or -1 with a one-line message in err (the caller prints usage
 * and exits 2). Numbers are decimal, range-checked, no sign or junk. */
int config_load(struct config *c, int argc, char *const argv[],
		char *const envp[], char *err, size_t errlen);
/* Prints the usage text, one line per option with its env name. */
void config_usage(FILE *f, const char *prog);

#endif
