/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_dnsbl - DNSBL/DNSWL scoring with c-ares (postscreen_dnsbl_*)
 * DESCRIPTION
 *	Owns the parsed postscreen_dnsbl_sites (domain[=filter][*weight],
 *	the same domain several times, negative weights), the c-ares
 *	channel, the in-flight lookups and a result cache keyed by client
 *	address. One A query per distinct domain, all sent at once; the
 *	answers are scored as postscreen does (every pattern of a domain
 *	whose filter matches any answer address adds its weight once) and
 *	the cache lifetime follows postscreen >= 3.1 (smallest A or SOA TTL
 *	of the deciding side, clamped to postscreen_dnsbl_min_ttl ..
 *	postscreen_dnsbl_max_ttl). A lookup that is not complete after
 *	postscreen_dnsbl_timeout ends with the partial score (the missing
 *	domains counted as timeouts). Does not decide pass/fail (the caller
 *	compares the score with postscreen_dnsbl_threshold and the allowlist
 *	threshold), does not log through ctl_log (see ctl_dnsbl_set_logger).
 * CONTRACT
 *	ctl_dnsbl_create(conf, servers, err, errlen): NULL + errno (EINVAL
 *	  with "main.cf:12: postscreen_dnsbl_sites: bad entry "...": why"
 *	  in err, ENOMEM, EIO for a c-ares failure). No sites: a valid
 *	  object that never looks anything up (lookups answer at once with
 *	  score 0, ttl 0). servers NULL = /etc/resolv.conf, else
 *	  "IP[:port][,IP[:port]]" ("[v6]:port" for IPv6 with a port).
 *	ctl_dnsbl_lookup(d, addr, now_ns, done, arg): 0 or -ENOMEM (too many
 *	  lookups in flight, or out of memory; counted as rejected, done not
 *	  called). A live cached result: done runs before return. The same
 *	  address already in flight: joins it. done runs exactly once per
 *	  successful call, from ctl_dnsbl_process or inside lookup.
 *	ctl_dnsbl_pollfds(d, fds, max, &timeout_ms): number of fds filled
 *	  (POLLIN/POLLOUT as c-ares wants), timeout_ms = time to the next
 *	  c-ares or lookup deadline (-1 none).
 *	ctl_dnsbl_process(d, fds, n, now_ns): reads answers on ready fds,
 *	  runs c-ares timers, ends lookups past their deadline. fds may be
 *	  NULL/0 (timers only).
 *	now_ns is any monotonic nanosecond clock, the same for every call.
 * THREADING
 *	One owner thread (the control thread). Never blocks: sockets are
 *	non-blocking and nothing waits for the network.
 */
#ifndef CTL_DNSBL_H
#define CTL_DNSBL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_conf.h"
#include "scr_types.h"

#define CTL_DNSBL_MAX_DOMAINS	64	/* distinct domains in _sites */
#define CTL_DNSBL_MAX_PATTERNS	256	/* entries in _sites */
#define CTL_DNSBL_MAX_ADDRS	16	/* answer addresses looked at */
/* Upper bounds (seconds) of the latency histogram (/metrics
 * smtpscreen_dnsbl_latency_seconds); the last is postscreen_dnsbl_timeout's
 * default. latency_le[i] counts lookups in (bound[i-1], bound[i]],
 * latency_le[CTL_DNSBL_LAT_N] those over the last bound. */
#define CTL_DNSBL_LAT_BOUNDS \
	{ 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }
#define CTL_DNSBL_LAT_N	13

struct ctl_dnsbl;

struct ctl_dnsbl_result {
	int score;		/* sum of weights (each pattern once per domain) */
	bool complete;		/* false: some sites timed out or failed */
	uint32_t ttl_s;		/* how long this result may be cached */
	char site[256];		/* domain shown in the reply, "" none */
	uint16_t timeouts, errors;	/* domains that timed out / failed */
	uint64_t latency_ns;	/* start to last answer */
};

/* Per distinct domain (a "site" in the stats). */
struct ctl_dnsbl_site_stats {
	const char *domain;	/* owned by the ctl_dnsbl object */
	uint64_t queries;	/* sent */
	uint64_t listed;	/* answered with A records */
	uint64_t unlisted;	/* NXDOMAIN or no A record */
	uint64_t timeouts;	/* no answer by the deadline */
	uint64_t errors;	/* SERVFAIL, REFUSED, garbage, send error */
	uint64_t refused;	/* answered only with error codes
				 * (127.255.255.0/24): over the limit... */
};

struct ctl_dnsbl_stats {
	uint64_t lookups;	/* ctl_dnsbl_lookup calls */
	uint64_t cache_hits;	/* answered from the cache */
	uint64_t joined;	/* joined a lookup in flight */
	uint64_t rejected;	/* -ENOMEM: too many in flight */
	uint64_t completed;	/* lookups ended (DNS work done) */
	uint64_t partial;	/* ... of which with timeouts/errors */
	uint64_t latency_sum_ns, latency_max_ns;	/* over completed */
	uint64_t latency_le[CTL_DNSBL_LAT_N + 1];	/* histogram of completed */
	uint32_t in_flight;	/* lookups waiting for answers */
	uint32_t cached;	/* results held in the cache */
	unsigned nsites;
	struct ctl_dnsbl_site_stats site[CTL_DNSBL_MAX_DOMAINS];
};

/* One parsed postscreen_dnsbl_sites entry (tests, docs, smtpscreenctl). */
struct ctl_dnsbl_pattern {
	char domain[254];
	bool has_filter;
	uint8_t octet[4][32];	/* filter: bit v of octet[i] = value v allowed */
	int weight;
};

struct ctl_dnsbl *ctl_dnsbl_create(const struct ctl_conf *conf,
				   const char *servers, char *err,
				   size_t errlen);
void ctl_dnsbl_destroy(struct ctl_dnsbl *d);
bool ctl_dnsbl_enabled(const struct ctl_dnsbl *d);
int ctl_dnsbl_lookup(struct ctl_dnsbl *d, const struct scr_addr *addr,
		     uint64_t now_ns,
		     void (*done)(void *arg, const struct scr_addr *a,
				  const struct ctl_dnsbl_result *r),
		     void *arg);
int ctl_dnsbl_pollfds(struct ctl_dnsbl *d, struct pollfd *fds, int max,
		      int *timeout_ms);
void ctl_dnsbl_process(struct ctl_dnsbl *d, const struct pollfd *fds, int n,
		       uint64_t now_ns);
void ctl_dnsbl_stats(const struct ctl_dnsbl *d, struct ctl_dnsbl_stats *out);

/* Added by dnsbl: */
/* ctl_dnsbl_parse_entry - one "domain[=filter][*weight]" entry; 0 or
 * -EINVAL with the reason (no file/parameter prefix) in why. */
int ctl_dnsbl_parse_entry(const char *entry, size_t len,
			  struct ctl_dnsbl_pattern *out, char *why,
			  size_t wlen);
/* ctl_dnsbl_filter_match - does the IPv4 answer a (network order bytes)
 * pass the pattern's filter (no filter: always). */
bool ctl_dnsbl_filter_match(const struct ctl_dnsbl_pattern *p,
			    const uint8_t a[4]);
/* ctl_dnsbl_query_name - the query name for addr under domain
 * (reversed IPv4 octets, or 32 reversed IPv6 nibbles); 0 or -ENOSPC. */
int ctl_dnsbl_query_name(const struct scr_addr *addr, const char *domain,
			 char *buf, size_t len);
/* ctl_dnsbl_set_limits - lookups in flight (default 4096) and cached
 * results (default 65536); 0 keeps the current value. */
void ctl_dnsbl_set_limits(struct ctl_dnsbl *d, uint32_t max_inflight,
			  uint32_t max_cached);
/* ctl_dnsbl_set_logger - dnsblog's lines ("addr A listed by domain D as
 * X") and warnings ("dnsblog reply timeout Ns for D") go to fn; NULL:
 * none. fn runs on the owner thread, from lookup/process. */
void ctl_dnsbl_set_logger(struct ctl_dnsbl *d,
			  void (*fn)(void *arg, const char *line), void *arg);
/* ctl_dnsbl_outcome - enum scr_dnsbl_outcome for score: FAIL when
 * score >= postscreen_dnsbl_threshold, ALLOW when the allowlist
 * threshold is < 0 and score <= it, else NEUTRAL. */
int ctl_dnsbl_outcome(const struct ctl_dnsbl *d, int score);
/* ctl_dnsbl_for_conf - the resolver a daemon's main.cf asks for: *out
 * NULL when the DNSBL test is off (enabled false); servers from
 * smtpscreen_dnsbl_servers; max_inflight lookups; dnsblog lines to log.
 * 0, or -EINVAL with err as ctl_dnsbl_create's. */
int ctl_dnsbl_for_conf(const struct ctl_conf *conf, bool enabled,
		       uint32_t max_inflight,
		       void (*log)(void *arg, const char *line), void *arg,
		       struct ctl_dnsbl **out, char *err, size_t errlen);
/* ctl_dnsbl_cache_flush - forget every cached result (not in-flight). */
void ctl_dnsbl_cache_flush(struct ctl_dnsbl *d);
/* ctl_dnsbl_reply - postscreen's reply for a DNSBL reject: drop ? "521"
 * : "550" " 5.7.1 Service unavailable; client [ADDR] blocked using
 * SITE\r\n" (SITE "a DNS blocklist" when r->site is empty). Length as
 * snprintf. */
int ctl_dnsbl_reply(const struct scr_addr *addr,
		    const struct ctl_dnsbl_result *r, bool drop, char *buf,
		    size_t len);
/* ctl_dnsbl_parse_answer - the reply (len bytes, as c-ares hands it)
 * to an A query: 1 listed (the first CTL_DNSBL_MAX_ADDRS IN A addresses
 * of the answer section in addrs, *naddr >= 1, *ttl their smallest TTL),
 * 0 not listed (NXDOMAIN or no IN A record; *ttl the smallest SOA TTL of
 * the authority section, or -1), -1 malformed or a server failure (the
 * reason in why, *naddr 0, *ttl -1). TTLs over 2^31-1 read as 0. */
int ctl_dnsbl_parse_answer(const unsigned char *b, int len,
			   uint8_t addrs[][4], int *naddr, int *ttl, char *why,
			   size_t wlen);

#endif
