/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_metrics - Prometheus metrics over HTTP (libmicrohttpd)
 * DESCRIPTION
 *	Serves GET (and HEAD) /metrics on one address and port, from
 *	libmicrohttpd's own thread, with the Prometheus text exposition
 *	format (version 0.0.4). Other paths get 404, other methods 405.
 *	The text comes from the caller's fill(arg, out) callback, written
 *	into a memory stream per request; this module knows no counter.
 *	The address must be a loopback address (127.0.0.0/8, ::1,
 *	::ffff:127.0.0.0/104) unless the caller allows remote scrapes.
 *	Also: writers of valid exposition text (HELP/TYPE lines, samples,
 *	histograms, label value escaping) for the fill callbacks, and the
 *	parser of smtpscreen_metrics_listen ("addr:port", "[v6]:port").
 *
 *	The families the daemons publish are listed, with type and labels,
 *	in docs/operations.md "Metrics" (tests/e2e/metrics_test.sh checks
 *	a live scrape against that table).
 * CONTRACT
 *	ctl_metrics_start(addr, port, allow_remote, fill, arg, err, errlen):
 *	  addr is a numeric IPv4 or IPv6 address; port 0 picks a free port
 *	  (ctl_metrics_port() tells which). Returns the server, or NULL
 *	  with errno and a message in err: EINVAL (addr not numeric, fill
 *	  NULL), EPERM (addr not loopback and !allow_remote), EADDRINUSE,
 *	  EADDRNOTAVAIL, other errno from socket/bind/listen, ELIBACC when
 *	  libmicrohttpd cannot be loaded (it is opened by the first call,
 *	  ctl_dl.h), EIO when it cannot start. fill must stay valid, and arg with
 *	  it, until ctl_metrics_stop() returns.
 *	ctl_metrics_port(m): the bound port (host order).
 *	ctl_metrics_requests(m): GET/HEAD /metrics requests answered 200.
 *	ctl_metrics_stop(m): closes the listening socket and every client
 *	  connection, waits for a fill in progress to end, frees. NULL is
 *	  fine.
 *	ctl_metrics_listen_parse(text, addr, addrlen, &port): "a.b.c.d:p",
 *	  "[v6]:p" (port 1..65535, no trailing junk) into addr (brackets
 *	  removed) and port; 0 or -EINVAL (bad syntax, address not
 *	  numeric), -ENAMETOOLONG (addrlen too small).
 *	ctl_metrics_family(out, name, type, help): "# HELP name help" and
 *	  "# TYPE name type"; call once per family, before its samples.
 *	  help is escaped (backslash, newline). type: counter, gauge,
 *	  histogram, summary or untyped.
 *	ctl_metrics_value(out, name, labels, v): one sample line
 *	  "name{labels} v"; labels is `a="b",c="d"` already escaped, or
 *	  NULL/"" for none. v: integers exactly (below 2^53), others with
 *	  17 significant digits, NaN, +Inf, -Inf.
 *	ctl_metrics_counter(out, name, labels, u): the same for a uint64_t,
 *	  exact over the full range.
 *	ctl_metrics_histogram(out, name, labels, bounds, counts, n, sum):
 *	  the samples of one histogram: name_bucket{labels,le="bound"} for
 *	  each of the n upper bounds (ascending) and le="+Inf", cumulative;
 *	  name_sum, name_count. counts[] has n + 1 entries: observations
 *	  <= bounds[0], in (bounds[0], bounds[1]], ..., > bounds[n-1].
 *	ctl_metrics_label_escape(in, out, len): label value escaping
 *	  (\ to \\, " to \", newline to \n) into out, NUL-terminated;
 *	  returns the length written (>= 0), or -ENOSPC when it does not
 *	  fit (out then holds "").
 * THREADING
 *	start/stop: the control thread. fill runs in libmicrohttpd's
 *	thread, one request at a time: it must read only snapshots the
 *	other threads publish (atomics, per-worker counters summed), never
 *	take a lock a worker holds. The writers: any thread, own FILE.
 */
#ifndef CTL_METRICS_H
#define CTL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_METRICS_PATH	"/metrics"
#define CTL_METRICS_CTYPE	"text/plain; version=0.0.4; charset=utf-8"
#define CTL_METRICS_CONNS	16	/* concurrent scrapers */
#define CTL_METRICS_TIMEOUT_S	10	/* idle client connection */

struct ctl_metrics;

struct ctl_metrics *ctl_metrics_start(const char *addr, unsigned port,
				      bool allow_remote,
				      void (*fill)(void *arg, FILE *out),
				      void *arg, char *err, size_t errlen);
void ctl_metrics_stop(struct ctl_metrics *m);
/* A server that answers with the last text the owner published: the
 * owner's thread renders (reading its own state without locks), the
 * server's thread only copies. Until the first publish: an empty body. */
struct ctl_metrics *ctl_metrics_start_text(const char *addr, unsigned port,
					   bool allow_remote, char *err,
					   size_t errlen);
/* ctl_metrics_publish - serve text[0..len) from now on (takes text,
 * malloc'ed, e.g. from open_memstream) */
void ctl_metrics_publish(struct ctl_metrics *m, char *text, size_t len);
unsigned ctl_metrics_port(const struct ctl_metrics *m);
uint64_t ctl_metrics_requests(const struct ctl_metrics *m);
int ctl_metrics_listen_parse(const char *text, char *addr, size_t addrlen,
			     unsigned *port);

/* Writers of Prometheus text format (HELP/TYPE once per family). */
void ctl_metrics_family(FILE *out, const char *name, const char *type,
			const char *help);
void ctl_metrics_value(FILE *out, const char *name,
		       const char *labels /* `a="b",c="d"` or NULL */,
		       double v);
void ctl_metrics_counter(FILE *out, const char *name, const char *labels,
			 uint64_t u);
void ctl_metrics_histogram(FILE *out, const char *name, const char *labels,
			   const double *bounds, const uint64_t *counts,
			   size_t n, double sum);
int ctl_metrics_label_escape(const char *in, char *out, size_t len);

/* Families every daemon publishes the same way (docs/operations.md,
 * Metrics): the engine's flows, verdicts and test failures; the XDP
 * program's counters; the DNSBL client's. */
struct scr_stats;
struct ctl_maps;
struct ctl_dnsbl;
void ctl_metrics_engine(FILE *out, const struct scr_stats *es,
			uint64_t flows_active);
void ctl_metrics_xdp(FILE *out, struct ctl_maps *m);
void ctl_metrics_dnsbl(FILE *out, const struct ctl_dnsbl *d);
/* smtpscreen_build_info{version=,mode=} 1 and process_start_time_seconds
 * (Unix seconds). */
void ctl_metrics_process(FILE *out, const char *version, const char *mode,
			 double start_s);
/* One counter family with one unlabeled value. */
void ctl_metrics_counter1(FILE *out, const char *name, const char *help,
			  uint64_t v);

#endif
