/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_log - postscreen-format log lines from engine events
 * DESCRIPTION
 *	Owns the text of every line smtpscreen logs about a client, in
 *	postscreen's formats (Postfix 3.7-3.9 postscreen*.c), and the JSON
 *	lines alternative. Escaping is Postfix's escape(): printable ASCII
 *	as is with backslash doubled, \a \b \f \n \r \t \v, everything else
 *	\ooo. Delays are formatted as psc_format_delta_time() does (two
 *	significant digits, at most two decimals: "0", "0.07", "2.5", "13").
 *
 *	Event -> line:
 *	CONNECT			CONNECT from [c]:p to [s]:p
 *	LISTED PERMIT/REJECT	ALLOWLISTED/DENYLISTED [c]:p, or WHITELISTED/
 *				BLACKLISTED when respectful_logging = no; with
 *				respectful_logging unset and compatibility_level
 *				< 3.6, postscreen's reminder line follows once.
 *	LISTED BLOCKED		BLOCKED [c]:p (ours: temporary block map hit)
 *	FAIL pregreet		PREGREET n after t from [c]:p: text
 *	FAIL bare newline	BARE NEWLINE from [c]:p after text
 *	FAIL pipelining		COMMAND PIPELINING from [c]:p after cmd: text
 *	FAIL non-SMTP		NON-SMTP COMMAND from [c]:p after cmd: word rest
 *	FAIL HELO (ours)	HELO VIOLATION from [c]:p after cmd: text
 *	FAIL DNSBL		DNSBL rank n for [c]:p
 *	FAIL access		nothing (the LISTED line said it)
 *	SMUGGLING (ours)	SMTP SMUGGLING from [c]:p after DATA: text
 *				(text: the sequence and what follows it)
 *	VERDICT pass		PASS NEW [c]:p / PASS OLD [c]:p
 *	END			see ctl_log_end below; the limits as
 *				postscreen: COMMAND TIME/COUNT/LENGTH LIMIT
 *				from [c]:p after cmd
 *
 *	END decisions (postscreen logs HANGUP when a client closes during the
 *	tests and DISCONNECT when a dummy-engine session ends; a passive
 *	screener must infer both). The engine fills ev->after on END with the
 *	last client command ("CONNECT" if none) once the server's final 220
 *	greeting was seen, and leaves it empty before that. Then:
 *	- verdict unknown, no failed test, ended by FIN/RST:
 *	  HANGUP after t from [c]:p in tests before SMTP handshake (after empty)
 *	  HANGUP after t from [c]:p in tests after SMTP handshake (after set)
 *	- verdict PASS NEW or FAIL, greeting seen: DISCONNECT [c]:p
 *	- otherwise (allowlisted, denylisted, PASS OLD, timeout/eviction/end
 *	  of input without a verdict): nothing.
 * CONTRACT
 *	See ctl_log.h.
 *	Severity lines (ctl_log_sev) and reopening: see ctl_log.h. The FILE
 *	pointer and the writes to it are under the log's mutex, so a line
 *	from another thread, or a reopen, never meets a half-switched FILE.
 * THREADING
 *	Events: one thread per ctl_log (control thread, or replay's engine
 *	thread). Severity lines, reopen, the error count: any thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ctl_log.h"

#define CTL_LOG_LINE	2048

struct ctl_log {
	pthread_mutex_t lock;	/* out and the writes to it */
	FILE *out;		/* NULL: syslog */
	char *path;		/* ctl_log_open_file: out is ours, reopenable */
	enum ctl_log_fmt fmt;
	char host[256];		/* short host name for the file prefix */
	long pid;
	bool respectful;	/* respectful_logging */
	bool remind;		/* log the backwards-compatibility reminder */
	bool reminded;
	_Atomic uint64_t write_errors;
};

static const char *const ctl_ev_name[SCR_EV_MAX] = {
	"connect", "listed", "fail", "verdict", "end", "too_many", "stress",
	"reply", "ban",
	"smuggling", "envelope",
};
static const char *const ctl_end_name[SCR_END_MAX] = {
	"close", "timeout", "evicted", "flush", "command_time", "command_count",
	"command_length",
};

/* ctl_compat_below - is the compatibility level below major.minor */
static bool ctl_compat_below(const char *level, long major, long minor)
{
	char *end;
	long a = strtol(level, &end, 10), b = 0;

	if (*end == '.')
		b = strtol(end + 1, NULL, 10);
	return a < major || (a == major && b < minor);
}

/* ctl_log_create - a logger */
struct ctl_log *ctl_log_create(const struct ctl_conf *conf, FILE *out,
			       enum ctl_log_fmt fmt)
{
	struct ctl_log *log = calloc(1, sizeof(*log));
	const char *h = NULL;

	if (log == NULL)
		return NULL;
	pthread_mutex_init(&log->lock, NULL);
	log->out = out;
	log->fmt = fmt;
	log->pid = (long)getpid();
	log->respectful = true;
	if (conf != NULL) {
		const char *rl = ctl_conf_get(conf, "respectful_logging");
		const char *cl = ctl_conf_get(conf, "compatibility_level");
		char w[64];

		log->respectful = rl != NULL && strcasecmp(rl, "yes") == 0;
		log->remind = !log->respectful && cl != NULL &&
			strcmp(ctl_conf_where(conf, "respectful_logging", w,
					      sizeof(w)), "default") == 0 &&
			ctl_compat_below(cl, 3, 6);
		h = ctl_conf_get(conf, "myhostname");
	}
	if (h != NULL && h[0] != 0)
		snprintf(log->host, sizeof(log->host), "%s", h);
	else if (gethostname(log->host, sizeof(log->host)) < 0)
		snprintf(log->host, sizeof(log->host), "localhost");
	log->host[sizeof(log->host) - 1] = 0;
	log->host[strcspn(log->host, ".")] = 0;	/* syslog: short name */
	if (out == NULL)
		openlog("postfix/smtpscreen", LOG_PID | LOG_NDELAY, LOG_MAIL);
	return log;
}

/* ctl_log_open_file - a logger that owns its file, opened by path */
struct ctl_log *ctl_log_open_file(const struct ctl_conf *conf,
				  const char *path, enum ctl_log_fmt fmt)
{
	struct ctl_log *log;
	char *copy = strdup(path);
	FILE *f = copy ? fopen(path, "a") : NULL;
	int e;

	if (f == NULL)
		goto out;
	setvbuf(f, NULL, _IOLBF, 0);
	log = ctl_log_create(conf, f, fmt);
	if (log == NULL)
		goto out;
	log->path = copy;
	return log;
out:
	e = errno;
	if (f != NULL)
		fclose(f);
	free(copy);
	errno = e;
	return NULL;
}

/* ctl_log_reopen - open the path again (logrotate); keep the old on error */
int ctl_log_reopen(struct ctl_log *log)
{
	FILE *f, *old;

	if (log->out == NULL)
		return 0;		/* syslog: nothing to reopen */
	if (log->path == NULL)
		return -EINVAL;		/* the caller's FILE */
	f = fopen(log->path, "a");
	if (f == NULL)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log->lock);
	old = log->out;
	log->out = f;
	pthread_mutex_unlock(&log->lock);
	if (fclose(old) != 0)
		atomic_fetch_add(&log->write_errors, 1);
	return 0;
}

/* ctl_log_destroy - free a logger */
void ctl_log_destroy(struct ctl_log *log)
{
	if (log == NULL)
		return;
	if (log->out == NULL)
		closelog();
	if (log->path != NULL)
		fclose(log->out);	/* nobody is left to count an error */
	free(log->path);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

/* ctl_log_escape - Postfix escape() of p[0..n) into buf */
size_t ctl_log_escape(const uint8_t *p, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char tmp[8];
		size_t k;
		unsigned c = p[i];

		switch (c) {
		case '\a': memcpy(tmp, "\\a", 3); break;
		case '\b': memcpy(tmp, "\\b", 3); break;
		case '\f': memcpy(tmp, "\\f", 3); break;
		case '\n': memcpy(tmp, "\\n", 3); break;
		case '\r': memcpy(tmp, "\\r", 3); break;
		case '\t': memcpy(tmp, "\\t", 3); break;
		case '\v': memcpy(tmp, "\\v", 3); break;
		case '\\': memcpy(tmp, "\\\\", 3); break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				tmp[0] = (char)c;
				tmp[1] = 0;
			} else {
				snprintf(tmp, sizeof(tmp), "\\%03o", c);
			}
		}
		k = strlen(tmp);
		if (o + k >= len)
			break;		/* never split an escape */
		memcpy(buf + o, tmp, k);
		o += k;
	}
	buf[o] = 0;
	return o;
}

/* ctl_printable - Postfix printable(s, '?') for a command word */
static void ctl_printable(const uint8_t *p, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++)
		buf[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	buf[o] = 0;
}

/* ctl_log_delta - psc_format_delta_time(): format_tv(sec, usec, 2, 2) */
static void ctl_log_delta(uint64_t ns, char *buf, size_t len)
{
	static const long pow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };
	long sec = (long)(ns / 1000000000ull);
	long usec = (long)(ns % 1000000000ull / 1000);
	const int sig = 2, maxd = 2;
	long ures = 1000000 / pow10[maxd], wid = pow10[sig];
	size_t o;

	if (ures < 1000000) {
		if (sec > 0) {
			long n;

			for (n = 1; sec >= n && n <= wid / 10; n *= 10)
				;
			ures = (1000000 / wid) * n;
		} else {
			while (usec >= wid * ures)
				ures *= 10;
		}
	}
	if (ures > 1) {
		usec += ures / 2;
		if (usec >= 1000000) {
			sec += 1;
			usec -= 1000000;
		}
	}
	o = (size_t)snprintf(buf, len, "%ld", sec);
	if (usec >= ures && o + 1 < len) {
		long rem = usec, n;

		buf[o++] = '.';
		for (n = 100000; rem >= ures && n > 0 && o + 1 < len; n /= 10) {
			buf[o++] = "0123456789"[rem / n];
			rem %= n;
		}
		buf[o] = 0;
	}
}

/* ctl_log_addr - "1.2.3.4" for v4-mapped, RFC 5952 text otherwise */
static void ctl_log_addr(const struct scr_addr *a, char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };

	if (memcmp(a->b, mapped, 12) == 0)
		inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
}

/* ctl_log_after - the event's "after" text as a C string */
static void ctl_log_after(const struct scr_event *ev, char *buf, size_t len)
{
	size_t n = strnlen(ev->after, sizeof(ev->after));

	ctl_printable((const uint8_t *)ev->after, n, buf, len);
}

/* ctl_log_text_len - bounded text length of the event */
static size_t ctl_log_text_len(const struct scr_event *ev)
{
	return ev->text_len < SCR_EV_TEXT_MAX ? ev->text_len : SCR_EV_TEXT_MAX;
}

/* The reason bits that are not tests, in the CSV's order after them. */
static const struct {
	scr_reasons bit;
	const char *name;
} ctl_log_other_reasons[] = {
	{ SCR_REASON_SMUGGLING, "smuggling" },
	{ SCR_REASON_ENVELOPE, "envelope" },
	{ SCR_REASON_COMMAND_LIMIT, "command_limit" },
};

/* ctl_log_reasons - the names of the reason bits into buf: "a|b" for the
 * verdict CSV, or json: "\"a\",\"b\"". Returns the length written. */
static size_t ctl_log_reasons(char *buf, size_t len, scr_reasons reasons, bool json)
{
	const size_t nother = sizeof(ctl_log_other_reasons) /
			      sizeof(ctl_log_other_reasons[0]);
	size_t n = 0;
	unsigned t;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (t = 0; t < SCR_TEST_MAX + nother; t++) {
		const char *name = t < SCR_TEST_MAX ? scr_test_name[t] :
				   ctl_log_other_reasons[t - SCR_TEST_MAX].name;
		unsigned bit = t < SCR_TEST_MAX ? SCR_TEST_BIT(t) :
			       ctl_log_other_reasons[t - SCR_TEST_MAX].bit;

		if (!(reasons & bit) || n >= len)
			continue;
		n += (size_t)snprintf(buf + n, len - n, json ? "%s\"%s\"" : "%s%s",
				      n ? (json ? "," : "|") : "", name);
	}
	return n < len ? n : len - 1;
}

/* ctl_log_fail - text of a FAIL event; 0 when nothing is logged */
static int ctl_log_fail(const struct ctl_log *log, const struct scr_event *ev,
			const char *c, const char *cp, char *buf, size_t len)
{
	char esc[4 * SCR_EV_TEXT_MAX + 1], after[SCR_EV_AFTER_MAX + 1], t[32];
	size_t n = ctl_log_text_len(ev);

	(void)log;
	ctl_log_after(ev, after, sizeof(after));
	switch (ev->test) {
	case SCR_TEST_PREGREET:
		ctl_log_escape(ev->text, n, esc, sizeof(esc));
		ctl_log_delta(ev->elapsed_ns, t, sizeof(t));
		return snprintf(buf, len, "PREGREET %u after %s from [%s]:%s: %.100s",
				ev->count, t, c, cp, esc);
	case SCR_TEST_BARE_NEWLINE:
		if (n > 0 && ev->text[n - 1] == '\n')
			n--;	/* postscreen logs the line without its LF */
		ctl_log_escape(ev->text, n, esc, sizeof(esc));
		return snprintf(buf, len, "BARE NEWLINE from [%s]:%s after %s",
				c, cp, esc);
	case SCR_TEST_PIPELINING:
		ctl_log_escape(ev->text, n, esc, sizeof(esc));
		return snprintf(buf, len, "COMMAND PIPELINING from [%s]:%s after "
				"%.100s: %s", c, cp, after, esc);
	case SCR_TEST_NON_SMTP: {
		/* postscreen: command word (printable) then the escaped rest of
		 * the line, "%.100s %s", the line without CRLF read as a C
		 * string (up to a NUL); the word is its first token between
		 * spaces, and the rest begins after the one space that ended it */
		char word[SCR_EV_TEXT_MAX + 1];
		const uint8_t *nul = memchr(ev->text, '\0', n);
		size_t e = nul != NULL ? (size_t)(nul - ev->text) : n, w = 0, r;

		if (nul == NULL && e > 0 && ev->text[e - 1] == '\n')
			e--;
		if (nul == NULL && e > 0 && ev->text[e - 1] == '\r')
			e--;
		while (w < e && ev->text[w] == ' ')
			w++;
		r = w;
		while (r < e && ev->text[r] != ' ')
			r++;
		ctl_printable(ev->text + w, r - w, word, sizeof(word));
		if (r < e)
			r++;
		ctl_log_escape(ev->text + r, e - r, esc, sizeof(esc));
		return snprintf(buf, len, "NON-SMTP COMMAND from [%s]:%s after %s: "
				"%.100s %s", c, cp, after, word, esc);
	}
	case SCR_TEST_HELO:
		if (n > 0 && ev->text[n - 1] == '\n')
			n--;
		if (n > 0 && ev->text[n - 1] == '\r')
			n--;
		ctl_log_escape(ev->text, n, esc, sizeof(esc));
		return snprintf(buf, len, "HELO VIOLATION from [%s]:%s after %s: %s",
				c, cp, after, esc);
	case SCR_TEST_ACCESS:
		return 0;
	case SCR_TEST_DNSBL:
		return snprintf(buf, len, "DNSBL rank %u for [%s]:%s", ev->count,
				c, cp);
	case SCR_TEST_REPLY_BAN:
		return 0;	/* the BAN line (SCR_EV_BAN) says it */
	default:
		ctl_msg_panic("ctl_log_fail: FAIL event test %d out of range",
			      (int)ev->test);
	}
}

/* ctl_log_end - text of an END event; 0 when nothing is logged */
static int ctl_log_end(const struct scr_event *ev, const char *c,
		       const char *cp, char *buf, size_t len)
{
	bool greeted = ev->after[0] != 0;
	char t[32];

	if (ev->end == SCR_END_COMMAND_TIME || ev->end == SCR_END_COMMAND_COUNT ||
	    ev->end == SCR_END_COMMAND_LENGTH)
		return snprintf(buf, len, "COMMAND %s LIMIT from [%s]:%s after %s",
				ev->end == SCR_END_COMMAND_TIME ? "TIME" :
				ev->end == SCR_END_COMMAND_COUNT ? "COUNT" : "LENGTH",
				c, cp, greeted ? ev->after : "CONNECT");
	if (ev->verdict == SCR_V_UNKNOWN && ev->reasons == 0) {
		if (ev->end != SCR_END_CLOSE)
			return 0;
		ctl_log_delta(ev->elapsed_ns, t, sizeof(t));
		return snprintf(buf, len, "HANGUP after %s from [%s]:%s in tests "
				"%s SMTP handshake", t, c, cp,
				greeted ? "after" : "before");
	}
	if (greeted && ((ev->verdict == SCR_V_PASS && !ev->pass_old) ||
			ev->verdict == SCR_V_FAIL))
		return snprintf(buf, len, "DISCONNECT [%s]:%s", c, cp);
	return 0;
}

/* ctl_log_ban - "BAN [a]:p reason=K count=N window=Ws ttl=Ts action=A",
 * and " net=[prefix]/plen" when an IPv6 prefix is banned */
static int ctl_log_ban(const struct scr_event *ev, const char *c,
		       const char *cp, char *buf, size_t len)
{
	char net[INET6_ADDRSTRLEN + 16] = "";

	if (ev->reply >= SCR_REPLY_MAX || (unsigned)ev->action >= SCR_ACT_MAX)
		ctl_msg_panic("ctl_log_ban: reply kind %u or action %d out of range",
			      ev->reply, (int)ev->action);
	if (ev->plen < 128) {
		struct scr_addr k = scr_addr_client_key(&ev->key.client, ev->plen);
		char a[INET6_ADDRSTRLEN];

		ctl_log_addr(&k, a, sizeof(a));
		snprintf(net, sizeof(net), " net=[%s]/%u", a, ev->plen);
	}
	return snprintf(buf, len, "BAN [%s]:%s reason=%s count=%u window=%us "
			"ttl=%us action=%s%s", c, cp, scr_reply_name[ev->reply],
			ev->count, ev->window_s, ev->ttl_s,
			scr_action_name[ev->action], net);
}

/* ctl_log_postfix - postscreen-format text; 0 when nothing is logged */
static int ctl_log_postfix(struct ctl_log *log, const struct scr_event *ev,
			   char *buf, size_t len)
{
	char c[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN], cp[8], sp[8];

	ctl_log_addr(&ev->key.client, c, sizeof(c));
	ctl_log_addr(&ev->key.server, s, sizeof(s));
	snprintf(cp, sizeof(cp), "%u", ev->key.client_port);
	snprintf(sp, sizeof(sp), "%u", ev->key.server_port);
	switch (ev->type) {
	case SCR_EV_CONNECT:
		return snprintf(buf, len, "CONNECT from [%s]:%s to [%s]:%s", c, cp,
				s, sp);
	case SCR_EV_LISTED:
		switch (ev->cls) {
		case SCR_CLIENT_PERMIT:
			return snprintf(buf, len, "%sLISTED [%s]:%s",
					log->respectful ? "ALLOW" : "WHITE", c, cp);
		case SCR_CLIENT_REJECT:
			return snprintf(buf, len, "%sLISTED [%s]:%s",
					log->respectful ? "DENY" : "BLACK", c, cp);
		case SCR_CLIENT_BLOCKED:
			return snprintf(buf, len, "BLOCKED [%s]:%s", c, cp);
		case SCR_CLIENT_NEW:
			return 0;
		default:
			ctl_msg_panic("ctl_log_postfix: LISTED event client class "
				      "%d out of range", (int)ev->cls);
		}
	case SCR_EV_FAIL:
		return ctl_log_fail(log, ev, c, cp, buf, len);
	case SCR_EV_VERDICT:
		if (ev->verdict != SCR_V_PASS)
			return 0;
		return snprintf(buf, len, "PASS %s [%s]:%s",
				ev->pass_old ? "OLD" : "NEW", c, cp);
	case SCR_EV_END:
		return ctl_log_end(ev, c, cp, buf, len);
	case SCR_EV_TOO_MANY:
		return snprintf(buf, len, "NOQUEUE: reject: CONNECT from [%s]:%s: "
				"too many connections", c, cp);
	case SCR_EV_STRESS:
		return snprintf(buf, len, "%s STRESS mode with %u connections",
				ev->stress ? "entering" : "leaving", ev->count);
	case SCR_EV_REPLY:
	case SCR_EV_ENVELOPE:	/* ctl_envelope logs its decisions */
		return 0;
	case SCR_EV_BAN:
		return ctl_log_ban(ev, c, cp, buf, len);
	case SCR_EV_SMUGGLING: {
		char esc[4 * SCR_EV_TEXT_MAX + 1], after[SCR_EV_AFTER_MAX + 1];

		ctl_log_after(ev, after, sizeof(after));
		ctl_log_escape(ev->text, ctl_log_text_len(ev), esc, sizeof(esc));
		return snprintf(buf, len, "SMTP SMUGGLING from [%s]:%s after %s: %s",
				c, cp, after, esc);
	}
	default:
		ctl_msg_panic("ctl_log_postfix: event type %d out of range",
			      (int)ev->type);
	}
}

/* ctl_json_str - append a JSON string of p[0..n) (bytes >= 0x7f as \u00XX) */
static size_t ctl_json_str(char *buf, size_t len, size_t o, const char *key,
			   const uint8_t *p, size_t n)
{
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, ",\"%s\":\"", key);
	for (size_t i = 0; i < n && o + 8 < len; i++) {
		unsigned ch = p[i];

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (o + 1 < len)
		buf[o++] = '"';
	if (o < len)
		buf[o] = 0;
	return o;
}

/* ctl_log_json - one JSON object with the event's facts */
static int ctl_log_json(struct ctl_log *log, const struct scr_event *ev,
			char *buf, size_t len)
{
	char text[CTL_LOG_LINE], c[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];
	int tl = ctl_log_postfix(log, ev, text, sizeof(text));
	size_t o;
	struct timespec ts = { (time_t)(ev->ts_ns / 1000000000ull),
			       (long)(ev->ts_ns % 1000000000ull) };
	struct tm tm;
	char tbuf[40];

	if (tl <= 0)
		return 0;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	ctl_log_addr(&ev->key.client, c, sizeof(c));
	ctl_log_addr(&ev->key.server, s, sizeof(s));
	o = (size_t)snprintf(buf, len, "{\"time\":\"%s.%06ldZ\",\"event\":\"%s\","
			     "\"client\":\"%s\",\"client_port\":%u,\"server\":\"%s\","
			     "\"server_port\":%u,\"pkt\":%llu,\"elapsed_ns\":%llu",
			     tbuf, ts.tv_nsec / 1000, ctl_ev_name[ev->type], c,
			     ev->key.client_port, s, ev->key.server_port,
			     (unsigned long long)ev->pkt_no,
			     (unsigned long long)ev->elapsed_ns);
	if (o >= len)
		return (int)o;
	switch (ev->type) {
	case SCR_EV_LISTED:
		o += (size_t)snprintf(buf + o, len - o, ",\"class\":\"%s\"",
				      ev->cls == SCR_CLIENT_PERMIT ? "permit" :
				      ev->cls == SCR_CLIENT_REJECT ? "reject" :
				      ev->cls == SCR_CLIENT_BLOCKED ? "blocked" :
				      "new");
		break;
	case SCR_EV_FAIL:
		if (ev->test < SCR_TEST_MAX && ev->action < SCR_ACT_MAX)
			o += (size_t)snprintf(buf + o, len - o,
					      ",\"test\":\"%s\",\"action\":\"%s\","
					      "\"count\":%u", scr_test_name[ev->test],
					      scr_action_name[ev->action], ev->count);
		if (o < len)
			o = ctl_json_str(buf, len, o, "after", (const uint8_t *)ev->after,
					 strnlen(ev->after, sizeof(ev->after)));
		if (o < len)
			o = ctl_json_str(buf, len, o, "text", ev->text,
					 ctl_log_text_len(ev));
		break;
	case SCR_EV_VERDICT:
		if (ev->verdict < SCR_V_MAX)
			o += (size_t)snprintf(buf + o, len - o,
					      ",\"verdict\":\"%s\",\"pass_old\":%s,"
					      "\"stop_pkt\":%llu,\"reasons\":[",
					      scr_verdict_name[ev->verdict],
					      ev->pass_old ? "true" : "false",
					      (unsigned long long)ev->stop_pkt);
		if (o < len)
			o += ctl_log_reasons(buf + o, len - o, ev->reasons, true);
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "]%s",
					      ev->amend ? ",\"amend\":true" : "");
		break;
	case SCR_EV_SMUGGLING:
		if (ev->action < SCR_ACT_MAX)
			o += (size_t)snprintf(buf + o, len - o,
					      ",\"action\":\"%s\",\"commands\":%s",
					      scr_action_name[ev->action],
					      ev->count ? "true" : "false");
		if (o < len)
			o = ctl_json_str(buf, len, o, "after", (const uint8_t *)ev->after,
					 strnlen(ev->after, sizeof(ev->after)));
		if (o < len)
			o = ctl_json_str(buf, len, o, "text", ev->text,
					 ctl_log_text_len(ev));
		break;
	case SCR_EV_END:
		if (ev->end < SCR_END_MAX)
			o += (size_t)snprintf(buf + o, len - o, ",\"end\":\"%s\"",
					      ctl_end_name[ev->end]);
		break;
	case SCR_EV_TOO_MANY:
		o += (size_t)snprintf(buf + o, len - o, ",\"count\":%u", ev->count);
		break;
	case SCR_EV_STRESS:
		o += (size_t)snprintf(buf + o, len - o,
				      ",\"stress\":%s,\"connections\":%u",
				      ev->stress ? "true" : "false", ev->count);
		break;
	case SCR_EV_BAN:
		if (ev->reply < SCR_REPLY_MAX && ev->action < SCR_ACT_MAX)
			o += (size_t)snprintf(buf + o, len - o,
					      ",\"reason\":\"%s\",\"count\":%u,"
					      "\"window_s\":%u,\"ttl_s\":%u,"
					      "\"action\":\"%s\",\"plen\":%u",
					      scr_reply_name[ev->reply], ev->count,
					      ev->window_s, ev->ttl_s,
					      scr_action_name[ev->action], ev->plen);
		break;
	case SCR_EV_CONNECT:
	case SCR_EV_REPLY:
	case SCR_EV_ENVELOPE:
		break;
	default:
		ctl_msg_panic("ctl_log_json: event type %d out of range",
			      (int)ev->type);
	}
	if (o < len)
		o = ctl_json_str(buf, len, o, "message", (const uint8_t *)text,
				 (size_t)tl);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "}");
	return (int)o;
}

/* ctl_log_format - the text after "tag[pid]: " */
size_t ctl_log_format(struct ctl_log *log, const struct scr_event *ev,
		      char *buf, size_t len)
{
	int n;

	if (len == 0)
		return 0;
	buf[0] = 0;
	if ((unsigned)ev->type >= SCR_EV_MAX)
		ctl_msg_panic("ctl_log_format: event type %d out of range",
			      (int)ev->type);
	n = log->fmt == CTL_LOG_JSON ? ctl_log_json(log, ev, buf, len)
				     : ctl_log_postfix(log, ev, buf, len);
	if (n <= 0) {
		buf[0] = 0;
		return 0;
	}
	return (size_t)n < len ? (size_t)n : len - 1;
}

/* ctl_log_write - one line with the syslog-style prefix; priority for
 * syslog output */
static void ctl_log_write(struct ctl_log *log, uint64_t ts_ns, int priority,
			  const char *text)
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ts_ns / 1000000000ull);
	struct tm tm;
	int rc;

	if (log->out == NULL) {		/* never changes: no lock */
		ctl_msg_syslog_write(priority, text);
		return;
	}
	if (log->fmt != CTL_LOG_JSON)
		localtime_r(&t, &tm);
	pthread_mutex_lock(&log->lock);
	if (log->fmt == CTL_LOG_JSON)
		rc = fprintf(log->out, "%s\n", text);
	else
		rc = fprintf(log->out, "%s %2d %02d:%02d:%02d %s "
			     "postfix/smtpscreen[%ld]: %s\n", mon[tm.tm_mon],
			     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     log->host, log->pid, text);
	pthread_mutex_unlock(&log->lock);
	if (rc < 0)
		atomic_fetch_add(&log->write_errors, 1);
}

/* ctl_log_line - a line ctrl made itself (envelope checks' NOQUEUE),
 * with an event's time: as is, or in JSON {"time","event","message"} */
void ctl_log_line(struct ctl_log *log, uint64_t ts_ns, const char *event,
		  const char *text)
{
	char buf[2 * CTL_LOG_LINE];
	struct timespec ts = { (time_t)(ts_ns / 1000000000ull),
			       (long)(ts_ns % 1000000000ull) };
	struct tm tm;
	char tbuf[40];
	size_t o;

	if (log->fmt != CTL_LOG_JSON) {
		ctl_log_write(log, ts_ns, LOG_INFO, text);
		return;
	}
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	o = (size_t)snprintf(buf, sizeof(buf), "{\"time\":\"%s.%06ldZ\",\"event\":\"%s\"",
			     tbuf, ts.tv_nsec / 1000, event);
	if (o < sizeof(buf))
		o = ctl_json_str(buf, sizeof(buf), o, "message", (const uint8_t *)text,
				 strlen(text));
	if (o < sizeof(buf))
		snprintf(buf + o, sizeof(buf) - o, "}");
	ctl_log_write(log, ts_ns, LOG_INFO, buf);
}

/* ctl_log_event - log one engine event */
void ctl_log_event(struct ctl_log *log, const struct scr_event *ev)
{
	char buf[CTL_LOG_LINE];

	if (ctl_log_format(log, ev, buf, sizeof(buf)) == 0)
		return;
	ctl_log_write(log, ev->ts_ns, LOG_INFO, buf);
	/* postscreen ends a session it does not hand to smtpd with
	 * DISCONNECT, also after HANGUP (postscreen_misc.c) */
	if (ev->type == SCR_EV_END && log->fmt == CTL_LOG_POSTFIX &&
	    strncmp(buf, "HANGUP ", 7) == 0) {
		char c[INET6_ADDRSTRLEN];

		ctl_log_addr(&ev->key.client, c, sizeof(c));
		snprintf(buf, sizeof(buf), "DISCONNECT [%s]:%u", c,
			 ev->key.client_port);
		ctl_log_write(log, ev->ts_ns, LOG_INFO, buf);
	}
	if (ev->type == SCR_EV_LISTED && log->remind && !log->reminded &&
	    (ev->cls == SCR_CLIENT_PERMIT || ev->cls == SCR_CLIENT_REJECT) &&
	    log->fmt == CTL_LOG_POSTFIX) {
		char c[INET6_ADDRSTRLEN];

		ctl_log_addr(&ev->key.client, c, sizeof(c));
		snprintf(buf, sizeof(buf), "using backwards-compatible default "
			 "setting respectful_logging=no for client [%s]:%u", c,
			 ev->key.client_port);
		ctl_log_write(log, ev->ts_ns, LOG_INFO, buf);
		log->reminded = true;
	}
}

/* ctl_log_vsev - free-form line with a severity (current time) */
static void ctl_log_vsev(struct ctl_log *log, enum ctl_msg_sev sev,
			 const char *fmt, va_list ap)
{
	static const char *const sev_name[CTL_MSG_SEV_MAX] = {
		"info", "warning", "error", "fatal", "panic",
	};
	const char *pfx = ctl_msg_prefix(sev);	/* panics when out of range */
	char buf[CTL_LOG_LINE];
	struct timespec now;
	size_t o;

	if (log->fmt == CTL_LOG_JSON && log->out != NULL) {
		char j[2 * CTL_LOG_LINE];

		vsnprintf(buf, sizeof(buf), fmt, ap);
		o = (size_t)snprintf(j, sizeof(j), "{\"event\":\"msg\","
				     "\"severity\":\"%s\"", sev_name[sev]);
		o = ctl_json_str(j, sizeof(j), o, "message", (const uint8_t *)buf,
				 strlen(buf));
		if (o + 2 < sizeof(j))
			memcpy(j + o, "}", 2);
		ctl_log_write(log, 0, LOG_INFO, j);
		return;
	}
	o = (size_t)snprintf(buf, sizeof(buf), "%s", pfx);
	vsnprintf(buf + o, sizeof(buf) - o, fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	ctl_log_write(log, (uint64_t)now.tv_sec * 1000000000ull +
		      (uint64_t)now.tv_nsec, ctl_msg_priority(sev), buf);
}

/* ctl_log_sev - free-form line with a severity's prefix and priority */
void ctl_log_sev(struct ctl_log *log, enum ctl_msg_sev sev,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_log_vsev(log, sev, fmt, ap);
	va_end(ap);
}

/* ctl_log_msg - free-form info line with the same prefix (current time) */
void ctl_log_msg(struct ctl_log *log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_log_vsev(log, CTL_MSG_INFO, fmt, ap);
	va_end(ap);
}

/* ctl_log_write_errors - count of failed writes */
uint64_t ctl_log_write_errors(const struct ctl_log *log)
{
	return atomic_load(&log->write_errors);
}

/* ctl_log_verdict_row - one row of the verdict CSV; fprintf's result */
int ctl_log_verdict_row(FILE *f, const struct scr_flow_key *key,
			enum scr_verdict v, scr_reasons reasons)
{
	char c[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN], rs[160];

	ctl_log_reasons(rs, sizeof(rs), reasons, false);
	if (key->family == 4) {
		inet_ntop(AF_INET, key->client.b + 12, c, sizeof(c));
		inet_ntop(AF_INET, key->server.b + 12, s, sizeof(s));
	} else {
		inet_ntop(AF_INET6, key->client.b, c, sizeof(c));
		inet_ntop(AF_INET6, key->server.b, s, sizeof(s));
	}
	return fprintf(f, "%s,%u,%s,%u,%s,%s\n", c, key->client_port, s,
		       key->server_port, scr_verdict_name[v], rs);
}
