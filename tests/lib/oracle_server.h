/* A cost oracle for tests: libmicrohttpd on a free 127.0.0.1 port serving
 * J(theta) = sum w_i theta_i^2 + sum sin theta_i (w_i = 1 + (i mod 3)/2)
 * in the /gradcheck oracle protocol, plus misbehaving paths:
 *   /ok        correct answers
 *   /slow      correct answers after 700 ms
 *   /lag       correct answers after 40 ms (to see calls overlap)
 *   /close     promises 1000 bytes, sends 20, closes the connection
 *   /short     one cost too few          /null    first cost null
 *   /inf       first cost 1e999          /bigstr  first cost a long string
 *   /html      an HTML page (200)        /500     HTTP 500 with JSON
 *   /redirect  302 to /ok                /huge    a 5 MB answer
 *   /chunked   a 5 MB chunked answer (no Content-Length)
 *   /secret    OS_SECRET as text/plain (200); /secret_500 the same as a 500;
 *   /secret_cost  {"costs": [OS_SECRET]} */
#ifndef GRADGUARD_TEST_ORACLE_SERVER_H
#define GRADGUARD_TEST_ORACLE_SERVER_H

#include <stddef.h>

/* What a private loopback service answers; must never reach a client. */
#define OS_SECRET "SECRET-7f3a9c token=hunter2-e41b"

struct oracle_server;

struct oracle_stats {
	unsigned long requests;     /* answered POSTs on any path */
	unsigned long connections;  /* TCP connections accepted */
	unsigned long max_items;    /* most perturbations/points in one POST */
	unsigned long items;        /* all perturbations/points */
	unsigned long max_inflight; /* most requests being answered at once */
};

/* Starts the server; *port is its port. Returns 0 or -1. */
int oracle_server_start(struct oracle_server **out, unsigned *port);
void oracle_server_stats(struct oracle_server *s, struct oracle_stats *st);
/* Stops and frees (NULL is fine). */
void oracle_server_stop(struct oracle_server *s);

double oracle_test_cost(const double *theta, size_t n);
void oracle_test_grad(const double *theta, size_t n, double *g);

#endif
