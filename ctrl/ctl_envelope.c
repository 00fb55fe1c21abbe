/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_envelope - envelope checks: the engine's commands to a decision
 * DESCRIPTION
 *	See ctl_envelope.h. Sessions (HELO name, protocol, sender) live in a
 *	chained hash table keyed by the flow key, allocated per session on
 *	the owner thread and freed at the session's END event. Domains live
 *	in a second table with their answer and its expiry. A domain lookup
 *	is three c-ares queries at most: MX first; NODATA for MX asks A and
 *	AAAA.
 * THREADING
 *	One owner thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef SCR_HAVE_DNSBL
#include <ares.h>

#include "ctl_ares.h"
#endif

#include "ctl_cidr.h"
#include "ctl_envelope.h"
#include "scr_engine.h"

#define SESS_BUCKETS	65536
#define DOM_BUCKETS	4096
#define DOM_MAX		65536	/* domains cached at most */
#define NS_PER_MS	1000000ull

struct sess {
	struct sess *next;
	struct scr_flow_key key;
	bool esmtp;
	bool have_helo, have_sender;
	char helo[SCR_ENV_ARG_MAX];
	char sender[SCR_ENV_ARG_MAX];
};

struct dom {
	struct dom *next;
	struct ctl_envelope *v;
	uint64_t expires_s;
	enum ctl_domain_state st;
	uint8_t asked;		/* queries still out */
	bool fail;		/* a query failed (SERVFAIL, timeout, ...) */
	char name[256];
};

/* A RCPT TO whose domain answers are not all in (live modes). */
struct pend {
	struct pend *next;
	uint64_t deadline_ns;
	unsigned tag;
	struct scr_event ev;
};

struct ctl_envelope {
	struct ctl_restrict *r;
	struct ctl_acl *mynet;
	enum scr_action act;
	bool blocking;
	uint64_t timeout_ns;
	struct sess **sb;
	uint32_t nsess;
	struct dom **db;
	uint32_t ndom;
	struct ctl_envelope_stats st;
	struct pend *ph, **pt;		/* FIFO of RCPTs waiting for DNS */
	unsigned npend;
#ifdef SCR_HAVE_DNSBL
	ares_channel ch;
	bool have_ch;
#endif
};

/* mono_ns - monotonic clock */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* addr_text - a client address as smtpd logs it */
static void addr_text(const struct scr_addr *a, char *buf, size_t len)
{
	if (scr_addr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
}

/* str_hash - a name's bucket (FNV-1a, caseless: domains) */
static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)(*s | 0x20)) * 16777619u;
	return h;
}

/* ctl_envelope_create - the lists, mynetworks, the resolver */
struct ctl_envelope *ctl_envelope_create(const struct ctl_conf *conf,
					 bool blocking, char *err,
					 size_t errlen)
{
	const char *list[CTL_RS_MAX], *where[CTL_RS_MAX];
	char wbuf[CTL_RS_MAX][256];
	struct ctl_envelope *v;
	unsigned long long t;
	const char *s;
	int a, i;

	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		snprintf(err, errlen, "envelope checks: out of memory");
		return NULL;
	}
	v->blocking = blocking;
	v->pt = &v->ph;
	for (i = 0; i < CTL_RS_MAX; i++) {
		const char *name = ctl_restrict_param((enum ctl_restrict_stage)i);

		list[i] = ctl_conf_get(conf, name);
		where[i] = ctl_conf_where(conf, name, wbuf[i], sizeof(wbuf[i]));
	}
	v->r = ctl_restrict_create(conf, list, where, err, errlen);
	if (v->r == NULL)
		goto fail;
	if (ctl_restrict_empty(v->r))
		return v;
	s = ctl_conf_get(conf, "smtpscreen_envelope_action");
	if (ctl_conf_parse_action(s ? s : "enforce", &a) != 0) {
		snprintf(err, errlen, "smtpscreen_envelope_action: bad value \"%s\"",
			 s ? s : "");
		goto fail;
	}
	v->act = (enum scr_action)a;
	s = ctl_conf_get(conf, "smtpscreen_envelope_timeout");
	if (ctl_conf_parse_time(s ? s : "5s", 's', &t) != 0 || t == 0) {
		snprintf(err, errlen, "smtpscreen_envelope_timeout: bad value \"%s\"",
			 s ? s : "");
		goto fail;
	}
	v->timeout_ns = (t > 3600 ? 3600 : t) * 1000000000ull;
	s = ctl_conf_get(conf, "mynetworks");
	v->mynet = ctl_acl_compile("permit_mynetworks", s ? s : "",
				   ctl_conf_dir(conf), err, errlen);
	v->sb = calloc(SESS_BUCKETS, sizeof(*v->sb));
	v->db = calloc(DOM_BUCKETS, sizeof(*v->db));
	if (v->mynet == NULL || v->sb == NULL || v->db == NULL) {
		if (v->mynet != NULL)
			snprintf(err, errlen, "envelope checks: out of memory");
		goto fail;
	}
#ifdef SCR_HAVE_DNSBL
	{
		struct ares_options o;
		const char *servers = ctl_conf_get(conf, "smtpscreen_dnsbl_servers");
		int e;

		memset(&o, 0, sizeof(o));
		o.timeout = (int)(v->timeout_ns / NS_PER_MS / 2);
		o.tries = 2;
		o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_STAYOPEN;
		if ((e = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS ||
		    (e = ares_init_options(&v->ch, &o, ARES_OPT_TIMEOUTMS |
					   ARES_OPT_TRIES | ARES_OPT_FLAGS)) !=
		    ARES_SUCCESS) {
			snprintf(err, errlen, "envelope checks: c-ares: %s",
				 ares_strerror(e));
			goto fail;
		}
		v->have_ch = true;
		if (servers != NULL && servers[0] != '\0' &&
		    ares_set_servers_ports_csv(v->ch, servers) != ARES_SUCCESS) {
			snprintf(err, errlen, "smtpscreen_dnsbl_servers: bad DNS "
				 "server list \"%s\" (IP[:port][,IP[:port]])", servers);
			goto fail;
		}
	}
#endif
	return v;
fail:
	ctl_envelope_destroy(v);
	return NULL;
}

/* ctl_envelope_destroy - sessions, domains, resolver */
void ctl_envelope_destroy(struct ctl_envelope *v)
{
	uint32_t i;

	if (v == NULL)
		return;
#ifdef SCR_HAVE_DNSBL
	if (v->have_ch) {
		ares_destroy(v->ch);	/* callbacks run with ARES_EDESTRUCTION */
		ares_library_cleanup();
	}
#endif
	for (i = 0; v->sb != NULL && i < SESS_BUCKETS; i++)
		while (v->sb[i] != NULL) {
			struct sess *n = v->sb[i]->next;

			free(v->sb[i]);
			v->sb[i] = n;
		}
	for (i = 0; v->db != NULL && i < DOM_BUCKETS; i++)
		while (v->db[i] != NULL) {
			struct dom *n = v->db[i]->next;

			free(v->db[i]);
			v->db[i] = n;
		}
	while (v->ph != NULL) {
		struct pend *n = v->ph->next;

		free(v->ph);
		v->ph = n;
	}
	free(v->sb);
	free(v->db);
	ctl_acl_destroy(v->mynet);
	ctl_restrict_destroy(v->r);
	free(v);
}

/* ctl_envelope_on - a restriction list is set */
bool ctl_envelope_on(const struct ctl_envelope *v)
{
	return v != NULL && !ctl_restrict_empty(v->r);
}

/* ctl_envelope_stats - counters */
void ctl_envelope_stats(const struct ctl_envelope *v,
			struct ctl_envelope_stats *out)
{
	*out = v->st;
}

/* sess_slot - the link that points at key's session (or at NULL) */
static struct sess **sess_slot(struct ctl_envelope *v,
			       const struct scr_flow_key *k)
{
	struct sess **pp = &v->sb[scr_engine_key_hash(k) & (SESS_BUCKETS - 1)];

	while (*pp != NULL && memcmp(&(*pp)->key, k, sizeof(*k)) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* dom_settle - d's answer is in: kept CTL_ENVELOPE_DOMAIN_TTL (a transient
 * failure CTL_ENVELOPE_TEMPFAIL_TTL: the domains a bot names are not asked
 * again and again), counted */
static void dom_settle(struct dom *d, enum ctl_domain_state st)
{
	struct ctl_envelope *v = d->v;

	if (d->st != CTL_DOMAIN_PENDING)
		return;
	d->st = st;
	d->expires_s = (uint64_t)time(NULL) + (st == CTL_DOMAIN_TEMPFAIL ?
		       CTL_ENVELOPE_TEMPFAIL_TTL : CTL_ENVELOPE_DOMAIN_TTL);
	if (st == CTL_DOMAIN_FOUND)
		v->st.dns_found++;
	else if (st == CTL_DOMAIN_NOT_FOUND)
		v->st.dns_not_found++;
	else
		v->st.dns_tempfail++;
}

#ifdef SCR_HAVE_DNSBL
/* dom_answer - one c-ares answer of a domain's lookup */
static void dom_answer(struct dom *d, int status)
{
	d->asked--;
	if (status == ARES_EDESTRUCTION)
		return;			/* the channel is going: d with it */
	if (status == ARES_SUCCESS) {
		dom_settle(d, CTL_DOMAIN_FOUND);
		return;
	}
	if (status != ARES_ENOTFOUND && status != ARES_ENODATA)
		d->fail = true;		/* SERVFAIL, timeout, refused, cancelled */
	if (d->asked == 0)
		dom_settle(d, d->fail ? CTL_DOMAIN_TEMPFAIL : CTL_DOMAIN_NOT_FOUND);
}

/* dom_on_a - an A or AAAA answer */
static void dom_on_a(void *arg, int status, int timeouts, unsigned char *abuf,
		     int alen)
{
	(void)timeouts; (void)abuf; (void)alen;
	dom_answer(arg, status);
}

/* dom_ask - send a query for d */
static void dom_ask(struct dom *d, int type, ares_callback cb)
{
	d->asked++;
	d->v->st.dns_queries++;
	ares_query(d->v->ch, d->name, 1 /* C_IN */, type, cb, d);
}

/* dom_on_mx - the MX answer: NODATA asks A and AAAA */
static void dom_on_mx(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen)
{
	struct dom *d = arg;

	(void)timeouts; (void)abuf; (void)alen;
	if (status == ARES_ENODATA && d->st == CTL_DOMAIN_PENDING) {
		d->asked--;
		dom_ask(d, 1 /* A */, dom_on_a);
		dom_ask(d, 28 /* AAAA */, dom_on_a);
		return;
	}
	dom_answer(d, status);	/* NXDOMAIN for MX: no A either */
}

/* res_fds - c-ares's sockets as pollfds; the count */
static int res_fds(struct ctl_envelope *v, struct pollfd *fds, int max)
{
	return ctl_ares_fds(v->ch, fds, max);
}

/* res_run - answers on the ready fds, then c-ares's timers */
static void res_run(struct ctl_envelope *v, const struct pollfd *fds, int n)
{
	int i;

	for (i = 0; fds != NULL && i < n; i++)
		if (fds[i].revents)
			ares_process_fd(v->ch,
					fds[i].revents & (POLLIN | POLLERR | POLLHUP) ?
					fds[i].fd : ARES_SOCKET_BAD,
					fds[i].revents & POLLOUT ? fds[i].fd :
					ARES_SOCKET_BAD);
	ares_process_fd(v->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

/* res_wait_ms - c-ares's next timer, at most max_ms */
static int res_wait_ms(struct ctl_envelope *v, int max_ms)
{
	struct timeval tv, *tp = ares_timeout(v->ch, NULL, &tv);
	long ms;

	if (tp == NULL)
		return max_ms;
	ms = tp->tv_sec * 1000 + (tp->tv_usec + 999) / 1000;
	return max_ms >= 0 && ms > max_ms ? max_ms : (int)ms;
}

/* dom_wait - blocking mode: run c-ares until d is answered or the
 * timeout passes (then its queries are cancelled: a timeout decides
 * nothing) */
static void dom_wait(struct ctl_envelope *v, struct dom *d)
{
	uint64_t end = mono_ns() + v->timeout_ns;

	while (d->st == CTL_DOMAIN_PENDING) {
		struct pollfd fds[ARES_GETSOCK_MAXNUM];
		uint64_t now = mono_ns();
		int n;

		if (now >= end)
			break;
		n = res_fds(v, fds, ARES_GETSOCK_MAXNUM);
		if (poll(fds, (nfds_t)n, res_wait_ms(v, (int)((end - now) / NS_PER_MS) + 1)) < 0 &&
		    errno != EINTR)
			break;
		res_run(v, fds, n);
	}
	if (d->asked != 0)
		ares_cancel(v->ch);	/* its callbacks run now */
	dom_settle(d, CTL_DOMAIN_TEMPFAIL);	/* no-op once answered */
}
#endif

/* dom_state - ctl_domain_fn: what DNS says of a domain (PENDING: asked,
 * the answer is not in; blocking mode waits for it) */
static enum ctl_domain_state dom_state(void *arg, const char *name)
{
	struct ctl_envelope *v = arg;
	uint64_t now_s = (uint64_t)time(NULL);
	uint32_t b = str_hash(name) & (DOM_BUCKETS - 1);
	struct dom **pp = &v->db[b], *d;

	while ((d = *pp) != NULL) {
		if (strcasecmp(d->name, name) == 0)
			break;
		pp = &d->next;
	}
	if (d != NULL) {
		if (d->st == CTL_DOMAIN_PENDING || d->expires_s > now_s ||
		    d->asked != 0)
			return d->st;
		*pp = d->next;		/* expired: asked again */
		free(d);
		v->ndom--;
	}
#ifdef SCR_HAVE_DNSBL
	if (strlen(name) >= sizeof(d->name) || v->ndom >= DOM_MAX) {
		v->st.dns_tempfail++;
		return CTL_DOMAIN_TEMPFAIL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return CTL_DOMAIN_TEMPFAIL;
	d->v = v;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->st = CTL_DOMAIN_PENDING;
	d->next = v->db[b];
	v->db[b] = d;
	v->ndom++;
	dom_ask(d, 15 /* MX */, dom_on_mx);
	if (v->blocking)
		dom_wait(v, d);
	return d->st;
#else
	(void)b; (void)now_s;
	v->st.dns_tempfail++;
	return CTL_DOMAIN_TEMPFAIL;
#endif
}

#define WARN_MAX 4	/* reject_warning lines one evaluation keeps */

struct warn_ctx {
	struct ctl_envelope *v;
	struct ctl_log *const *logs;
	unsigned nlogs;
	const struct scr_event *ev;
	const struct sess *s;
	unsigned nwarn;		/* warn_if_reject/WARN met, logged at the end */
	char warn[WARN_MAX][CTL_RESTRICT_REPLY_MAX];
};

/* log_noqueue - smtpd's NOQUEUE line for a reply */
static void log_noqueue(const struct warn_ctx *w, const char *what,
			const char *reply)
{
	char c[64], esc[4][4 * SCR_ENV_ARG_MAX + 1], line[5 * sizeof(esc[0])];
	const struct scr_event *ev = w->ev;
	const struct sess *s = w->s;
	unsigned i;

	if (w->nlogs == 0)
		return;
	addr_text(&ev->key.client, c, sizeof(c));
	ctl_log_escape((const uint8_t *)reply, strlen(reply), esc[0], sizeof(esc[0]));
	ctl_log_escape((const uint8_t *)(s && s->have_sender ? s->sender : ""),
		       s && s->have_sender ? strlen(s->sender) : 0,
		       esc[1], sizeof(esc[1]));
	ctl_log_escape((const uint8_t *)ev->arg, ev->arg_len, esc[2], sizeof(esc[2]));
	ctl_log_escape((const uint8_t *)(s && s->have_helo ? s->helo : ""),
		       s && s->have_helo ? strlen(s->helo) : 0,
		       esc[3], sizeof(esc[3]));
	snprintf(line, sizeof(line), "NOQUEUE: %s: RCPT from [%s]:%u: %s; "
		 "from=<%s> to=<%s> proto=%s helo=<%s>", what, c,
		 ev->key.client_port, esc[0], esc[1], esc[2],
		 s && s->esmtp ? "ESMTP" : "SMTP", esc[3]);
	for (i = 0; i < w->nlogs; i++)
		if (w->logs[i] != NULL)
			ctl_log_line(w->logs[i], ev->ts_ns, "envelope", line);
}

/* on_warn - warn_if_reject or WARN: a reject_warning once the evaluation
 * is complete (one waiting for DNS runs again) */
static void on_warn(void *arg, const char *reply, const char *restriction)
{
	struct warn_ctx *w = arg;

	(void)restriction;
	if (w->nwarn < WARN_MAX)
		snprintf(w->warn[w->nwarn++], sizeof(w->warn[0]), "%s", reply);
}

/* remember - HELO/EHLO or MAIL FROM for the session's later RCPTs */
static void remember(struct ctl_envelope *v, const struct scr_event *ev)
{
	struct sess **pp = sess_slot(v, &ev->key), *s = *pp;

	if (s == NULL) {
		if (v->nsess >= CTL_ENVELOPE_SESSIONS ||
		    (s = calloc(1, sizeof(*s))) == NULL) {
			v->st.sessions_full++;
			return;
		}
		s->key = ev->key;
		*pp = s;
		v->nsess++;
	}
	switch ((enum scr_env_cmd)ev->env) {
	case SCR_ENV_HELO:
	case SCR_ENV_EHLO:
		s->esmtp = ev->env == SCR_ENV_EHLO;
		s->have_helo = true;
		memcpy(s->helo, ev->arg, ev->arg_len);
		s->helo[ev->arg_len] = '\0';
		/* HELO/EHLO resets the transaction (RFC 5321 4.1.4) */
		s->have_sender = false;
		return;
	case SCR_ENV_MAIL:
		s->have_sender = true;
		memcpy(s->sender, ev->arg, ev->arg_len);
		s->sender[ev->arg_len] = '\0';
		return;
	case SCR_ENV_RCPT:
	case SCR_ENV_MAX:
	default:
		return;
	}
}

/* rcpt_eval - the three lists for a RCPT TO event; logs and counts only
 * a complete result (not PENDING) */
static enum ctl_env_result rcpt_eval(struct ctl_envelope *v,
				     const struct scr_event *ev,
				     struct ctl_log *const *logs, unsigned nlogs,
				     struct ctl_env_reject *out)
{
	struct ctl_restrict_req req = {0};
	struct ctl_restrict_out ro;
	struct warn_ctx w = {.v = v, .logs = logs, .nlogs = nlogs, .ev = ev};
	enum ctl_env_result res = CTL_ENV_NONE;
	char caddr[64];
	unsigned i;
	int stage;

	w.s = *sess_slot(v, &ev->key);
	addr_text(&ev->key.client, caddr, sizeof(caddr));
	req.client_addr = caddr;
	req.mynetworks = ctl_acl_lookup(v->mynet, &ev->key.client) == CTL_ACL_PERMIT;
	req.helo = w.s && w.s->have_helo ? w.s->helo : NULL;
	req.sender = w.s && w.s->have_sender ? w.s->sender : NULL;
	req.recipient = ev->arg;
	for (stage = 0; stage < CTL_RS_MAX; stage++) {
		enum ctl_restrict_verdict r =
			ctl_restrict_eval(v->r, (enum ctl_restrict_stage)stage, &req,
					  dom_state, v, on_warn, &w, &ro);

		if (r == CTL_R_PENDING)
			return CTL_ENV_PENDING;
		if (r == CTL_R_REJECT) {
			res = CTL_ENV_REJECT;
			break;
		}
		/* DUNNO, PERMIT: as smtpd, a permit ends its own list only */
	}
	v->st.rcpts++;
	for (i = 0; i < w.nwarn; i++) {
		v->st.warnings++;
		log_noqueue(&w, "reject_warning", w.warn[i]);
	}
	if (res != CTL_ENV_REJECT)
		return res;
	v->st.rejects++;
	out->act = v->act;
	out->code = ro.code;
	snprintf(out->reply, sizeof(out->reply), "%s", ro.reply);
	log_noqueue(&w, v->act == SCR_ACT_IGNORE ? "reject_warning" : "reject",
		    ro.reply);
	return CTL_ENV_REJECT;
}

/* ctl_envelope_event - an engine event: remember, or decide at RCPT */
enum ctl_env_result ctl_envelope_event(struct ctl_envelope *v,
				       const struct scr_event *ev, unsigned tag,
				       struct ctl_log *const *logs, unsigned nlogs,
				       struct ctl_env_reject *out)
{
	enum ctl_env_result r;
	struct pend *p;

	if (!ctl_envelope_on(v))
		return CTL_ENV_NONE;
	if (ev->type == SCR_EV_END) {
		struct sess **pp = sess_slot(v, &ev->key), *s = *pp;

		if (s != NULL) {
			*pp = s->next;
			free(s);
			v->nsess--;
		}
		return CTL_ENV_NONE;
	}
	if (ev->type != SCR_EV_ENVELOPE || ev->arg_len >= SCR_ENV_ARG_MAX)
		return CTL_ENV_NONE;
	if (ev->env != SCR_ENV_RCPT) {
		remember(v, ev);
		return CTL_ENV_NONE;
	}
	r = rcpt_eval(v, ev, logs, nlogs, out);
	if (r != CTL_ENV_PENDING)
		return r;
	if (v->npend >= CTL_ENVELOPE_PENDING || (p = malloc(sizeof(*p))) == NULL) {
		v->st.pending_full++;	/* decides nothing */
		return CTL_ENV_NONE;
	}
	p->next = NULL;
	p->deadline_ns = mono_ns() + v->timeout_ns;
	p->tag = tag;
	p->ev = *ev;
	*v->pt = p;
	v->pt = &p->next;
	v->npend++;
	return CTL_ENV_PENDING;
}

/* ctl_envelope_pollfds - the resolver's sockets, the next deadline */
int ctl_envelope_pollfds(struct ctl_envelope *v, struct pollfd *fds, int max,
			 int *timeout_ms)
{
	*timeout_ms = -1;
#ifdef SCR_HAVE_DNSBL
	if (v == NULL || !v->have_ch || v->ph == NULL)
		return 0;
	{
		uint64_t now = mono_ns(), dl = v->ph->deadline_ns;

		*timeout_ms = res_wait_ms(v, dl > now ?
					   (int)((dl - now) / NS_PER_MS) + 1 : 0);
	}
	return res_fds(v, fds, max);
#else
	(void)v; (void)fds; (void)max;
	return 0;
#endif
}

/* ctl_envelope_process - answers in: the waiting RCPTs decided now, or
 * past their deadline (then nothing is decided), through done */
void ctl_envelope_process(struct ctl_envelope *v, const struct pollfd *fds,
			  int n, struct ctl_log *const *logs, unsigned nlogs,
			  ctl_envelope_done_fn done, void *arg)
{
	struct pend **pp, *p;
	uint64_t now;

	if (v == NULL || v->ph == NULL)
		return;
#ifdef SCR_HAVE_DNSBL
	if (v->have_ch)
		res_run(v, fds, n);
#else
	(void)fds; (void)n;
#endif
	now = mono_ns();
	for (pp = &v->ph; (p = *pp) != NULL;) {
		struct ctl_env_reject rej;
		enum ctl_env_result r = rcpt_eval(v, &p->ev, logs, nlogs, &rej);

		if (r == CTL_ENV_PENDING && now < p->deadline_ns) {
			pp = &p->next;
			continue;
		}
		if (r == CTL_ENV_PENDING) {
			v->st.pending_late++;
			r = CTL_ENV_NONE;
		}
		*pp = p->next;
		if (v->pt == &p->next)
			v->pt = pp;
		v->npend--;
		done(arg, p->tag, &p->ev, r, &rej);
		free(p);
	}
}
