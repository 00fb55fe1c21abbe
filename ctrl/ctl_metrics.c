/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_metrics - Prometheus metrics over HTTP (libmicrohttpd)
 * DESCRIPTION
 *	See ctl_metrics.h. We make the listening socket ourselves (so a
 *	port in use or a bad address is reported with its errno and port
 *	0 can be asked back with getsockname()) and hand it to
 *	libmicrohttpd, which runs one internal thread polling every
 *	connection: requests are answered one at a time, so fill never
 *	runs twice at once. Each answer is built in a memory stream and
 *	given to libmicrohttpd, which frees it after sending.
 * CONTRACT
 *	See ctl_metrics.h.
 * THREADING
 *	start/stop: control thread. handler/fill: libmicrohttpd's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <pthread.h>

#include "ctl_dl.h"
#include "ctl_metrics.h"
#include "scr_engine.h"
#ifdef SCR_HAVE_BPF
#include "ctl_maps.h"
#endif
#ifdef SCR_HAVE_DNSBL
#include "ctl_dnsbl.h"
#endif

struct ctl_metrics {
	struct MHD_Daemon *daemon;
	void (*fill)(void *arg, FILE *out);
	void *arg;
	unsigned port;
	atomic_uint_fast64_t requests;
	struct ctl_metrics_text *box;	/* ctl_metrics_start_text */
};

/* The last published text (ctl_metrics_start_text). */
struct ctl_metrics_text {
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

/* libmicrohttpd, opened by the first listener (ctl_dl.h: the commands
 * and modes without metrics start without it and GnuTLS's libraries) */
static struct {
	CTL_DL_FN(MHD_start_daemon);
	CTL_DL_FN(MHD_stop_daemon);
	CTL_DL_FN(MHD_create_response_from_buffer);
	CTL_DL_FN(MHD_add_response_header);
	CTL_DL_FN(MHD_queue_response);
	CTL_DL_FN(MHD_destroy_response);
} M;

static const struct ctl_dl_sym mhd_syms[] = {
	CTL_DL_SYM(M, MHD_start_daemon),
	CTL_DL_SYM(M, MHD_stop_daemon),
	CTL_DL_SYM(M, MHD_create_response_from_buffer),
	CTL_DL_SYM(M, MHD_add_response_header),
	CTL_DL_SYM(M, MHD_queue_response),
	CTL_DL_SYM(M, MHD_destroy_response),
};
static const char *const mhd_sonames[] = {
	"libmicrohttpd.so.12", "libmicrohttpd.so", NULL
};
static struct ctl_dl mhd_lib = CTL_DL_INIT("libmicrohttpd", mhd_sonames, mhd_syms);

/* Marks a connection whose first handler call was seen. */
static int seen_marker;

static const char not_found[] = "not found: the metrics are at "
	CTL_METRICS_PATH "\n";
static const char not_allowed[] = "method not allowed\n";
static const char fill_failed[] = "cannot build the metrics text\n";

/* is_loopback - true for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 */
static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		const struct in6_addr *a = &sin6->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

/* parse_addr - numeric IPv4/IPv6 address and port into ss; 0 or -EINVAL */
static int parse_addr(const char *addr, unsigned port,
		      struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *sin = (void *)ss;
	struct sockaddr_in6 *sin6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

/* listen_socket - bound, listening socket for ss; fd or -errno */
static int listen_socket(const struct sockaddr_storage *ss, socklen_t sslen,
			 unsigned *port)
{
	struct sockaddr_storage got;
	socklen_t gotlen = sizeof(got);
	int one = 1;
	int fd, ret = 0;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) < 0 ||
	    listen(fd, CTL_METRICS_CONNS) < 0 ||
	    getsockname(fd, (struct sockaddr *)&got, &gotlen) < 0) {
		ret = -errno;
		goto out;
	}
	if (got.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	else
		*port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
out:
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/* queue_static - answer with a constant text body and status */
static enum MHD_Result queue_static(struct MHD_Connection *c,
				    unsigned status, const char *text,
				    bool allow_header)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = M.MHD_create_response_from_buffer(strlen(text), (void *)text,
					      MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	if (M.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				      "text/plain; charset=utf-8") != MHD_YES ||
	    (allow_header &&
	     M.MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
				       "GET, HEAD") != MHD_YES))
		ret = MHD_NO;
	else
		ret = M.MHD_queue_response(c, status, r);
	M.MHD_destroy_response(r);
	return ret;
}

/* queue_metrics - run fill into a memory stream and answer 200 with it */
static enum MHD_Result queue_metrics(struct ctl_metrics *m,
				     struct MHD_Connection *c)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	bool bad;

	out = open_memstream(&buf, &len);
	if (out == NULL)
		return queue_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    fill_failed, false);
	m->fill(m->arg, out);
	bad = ferror(out) != 0;
	if (fclose(out) != 0)
		bad = true;
	if (bad) {
		free(buf);
		return queue_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    fill_failed, false);
	}
	r = M.MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		return MHD_NO;
	}
	if (M.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				      CTL_METRICS_CTYPE) != MHD_YES)
		ret = MHD_NO;
	else
		ret = M.MHD_queue_response(c, MHD_HTTP_OK, r);
	M.MHD_destroy_response(r);
	if (ret == MHD_YES)
		atomic_fetch_add_explicit(&m->requests, 1,
					  memory_order_relaxed);
	return ret;
}

/* handler - libmicrohttpd access handler: /metrics, 404, 405 */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct ctl_metrics *m = cls;

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		/* First call: headers only. Answer on the next one, after
		 * any body (which we ignore) has been read. */
		*con_cls = &seen_marker;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return queue_static(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				    not_allowed, true);
	if (strcmp(url, CTL_METRICS_PATH) != 0)
		return queue_static(c, MHD_HTTP_NOT_FOUND, not_found, false);
	return queue_metrics(m, c);
}

/* ctl_metrics_start - serve GET /metrics on addr:port in MHD's thread */
struct ctl_metrics *ctl_metrics_start(const char *addr, unsigned port,
				      bool allow_remote,
				      void (*fill)(void *arg, FILE *out),
				      void *arg, char *err, size_t errlen)
{
	struct ctl_metrics *m = NULL;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD;
	char why[256];
	socklen_t sslen;
	int fd = -1;
	int ret;

	if (addr == NULL || fill == NULL ||
	    parse_addr(addr, port, &ss, &sslen) < 0) {
		snprintf(err, errlen, "metrics: bad listen address \"%s\" "
			 "port %u: need a numeric IPv4 or IPv6 address and "
			 "a port 0..65535", addr ? addr : "(null)", port);
		ret = -EINVAL;
		goto out;
	}
	if (!allow_remote && !is_loopback(&ss)) {
		snprintf(err, errlen, "metrics: listen address %s is not a "
			 "loopback address (127.0.0.0/8, ::1)", addr);
		ret = -EPERM;
		goto out;
	}
	if (ctl_dl_load(&mhd_lib, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "metrics: %s", why);
		ret = -ELIBACC;
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		ret = -ENOMEM;
		snprintf(err, errlen, "metrics: %s", strerror(-ret));
		goto out;
	}
	m->fill = fill;
	m->arg = arg;
	atomic_init(&m->requests, 0);
	fd = listen_socket(&ss, sslen, &m->port);
	if (fd < 0) {
		ret = fd;
		snprintf(err, errlen, "metrics: listen on %s%s%s:%u: %s",
			 ss.ss_family == AF_INET6 ? "[" : "", addr,
			 ss.ss_family == AF_INET6 ? "]" : "", port,
			 strerror(-ret));
		goto out;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->daemon = M.MHD_start_daemon(flags, 0, NULL, NULL, handler, m,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CTL_METRICS_CONNS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CTL_METRICS_TIMEOUT_S,
		MHD_OPTION_END);
	if (m->daemon == NULL) {
		ret = -EIO;
		snprintf(err, errlen, "metrics: libmicrohttpd could not start "
			 "on port %u", m->port);
		goto out;
	}
	fd = -1;		/* the daemon owns it now */
	ret = 0;
out:
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		free(m);
		errno = -ret;
		return NULL;
	}
	return m;
}

/* ctl_metrics_stop - close the listener and all clients, free */
void ctl_metrics_stop(struct ctl_metrics *m)
{
	if (m == NULL)
		return;
	/* Joins the thread, closes every connection and the listener. */
	M.MHD_stop_daemon(m->daemon);
	if (m->box) {
		pthread_mutex_destroy(&m->box->lock);
		free(m->box->text);
		free(m->box);
	}
	free(m);
}

/* text_fill - the server thread copies the last published text */
static void text_fill(void *arg, FILE *out)
{
	struct ctl_metrics_text *b = arg;

	pthread_mutex_lock(&b->lock);
	if (b->text)
		fwrite(b->text, 1, b->len, out);
	pthread_mutex_unlock(&b->lock);
}

/* ctl_metrics_start_text - a server of published text */
struct ctl_metrics *ctl_metrics_start_text(const char *addr, unsigned port,
					   bool allow_remote, char *err,
					   size_t errlen)
{
	struct ctl_metrics_text *b = calloc(1, sizeof(*b));
	struct ctl_metrics *m;

	if (b == NULL) {
		snprintf(err, errlen, "metrics: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	m = ctl_metrics_start(addr, port, allow_remote, text_fill, b, err,
			      errlen);
	if (m == NULL) {
		pthread_mutex_destroy(&b->lock);
		free(b);
		return NULL;
	}
	m->box = b;
	return m;
}

/* ctl_metrics_publish - replace the served text (ownership of text) */
void ctl_metrics_publish(struct ctl_metrics *m, char *text, size_t len)
{
	struct ctl_metrics_text *b = m->box;
	char *old;

	pthread_mutex_lock(&b->lock);
	old = b->text;
	b->text = text;
	b->len = len;
	pthread_mutex_unlock(&b->lock);
	free(old);
}

/* ctl_metrics_port - the bound port */
unsigned ctl_metrics_port(const struct ctl_metrics *m)
{
	return m->port;
}

/* ctl_metrics_requests - /metrics requests answered 200 */
uint64_t ctl_metrics_requests(const struct ctl_metrics *m)
{
	return atomic_load_explicit(&m->requests, memory_order_relaxed);
}

/* ctl_metrics_listen_parse - "a.b.c.d:port" or "[v6]:port" */
int ctl_metrics_listen_parse(const char *text, char *addr, size_t addrlen,
			     unsigned *port)
{
	struct sockaddr_storage ss;
	const char *host, *colon, *p;
	socklen_t sslen;
	size_t hlen;
	unsigned long v;
	char *end;

	if (text[0] == '[') {
		host = text + 1;
		p = strchr(host, ']');
		if (p == NULL || p[1] != ':')
			return -EINVAL;
		hlen = (size_t)(p - host);
		colon = p + 1;
	} else {
		host = text;
		colon = strrchr(text, ':');
		if (colon == NULL || memchr(text, ':', (size_t)(colon - text)))
			return -EINVAL;	/* IPv6 needs brackets */
		hlen = (size_t)(colon - host);
	}
	p = colon + 1;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -EINVAL;
	if (hlen == 0)
		return -EINVAL;
	if (hlen >= addrlen)
		return -ENAMETOOLONG;
	memcpy(addr, host, hlen);
	addr[hlen] = '\0';
	if (parse_addr(addr, (unsigned)v, &ss, &sslen) < 0)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

/* format_double - Prometheus text for v: shortest exact form */
static void format_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	} else if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
		snprintf(buf, len, "%.0f", v == 0 ? 0.0 : v);
	} else {
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

/* put_escaped - write s with backslash and newline escaped (+ quote) */
static void put_escaped(FILE *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* ctl_metrics_family - HELP and TYPE lines of one family */
void ctl_metrics_family(FILE *out, const char *name, const char *type,
			const char *help)
{
	fprintf(out, "# HELP %s ", name);
	put_escaped(out, help, false);
	fprintf(out, "\n# TYPE %s %s\n", name, type);
}

/* put_sample - "name{labels} text" */
static void put_sample(FILE *out, const char *name, const char *labels,
		       const char *text)
{
	if (labels != NULL && labels[0] != '\0')
		fprintf(out, "%s{%s} %s\n", name, labels, text);
	else
		fprintf(out, "%s %s\n", name, text);
}

/* ctl_metrics_value - one sample of a double */
void ctl_metrics_value(FILE *out, const char *name, const char *labels,
		       double v)
{
	char buf[40];

	format_double(buf, sizeof(buf), v);
	put_sample(out, name, labels, buf);
}

/* ctl_metrics_counter - one sample of a uint64_t, exact */
void ctl_metrics_counter(FILE *out, const char *name, const char *labels,
			 uint64_t u)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u);
	put_sample(out, name, labels, buf);
}

/* ctl_metrics_histogram - buckets (cumulative), sum and count */
void ctl_metrics_histogram(FILE *out, const char *name, const char *labels,
			   const double *bounds, const uint64_t *counts,
			   size_t n, double sum)
{
	bool has = labels != NULL && labels[0] != '\0';
	uint64_t cum = 0;
	char le[40], num[40];
	size_t i;

	for (i = 0; i <= n; i++) {
		cum += counts[i];
		if (i < n)
			format_double(le, sizeof(le), bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		fprintf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name,
			has ? labels : "", has ? "," : "", le,
			(unsigned long long)cum);
	}
	format_double(num, sizeof(num), sum);
	fprintf(out, "%s_sum%s%s%s %s\n", name, has ? "{" : "",
		has ? labels : "", has ? "}" : "", num);
	fprintf(out, "%s_count%s%s%s %llu\n", name, has ? "{" : "",
		has ? labels : "", has ? "}" : "", (unsigned long long)cum);
}

/* ctl_metrics_label_escape - escape a label value: \\ \" \n */
int ctl_metrics_label_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;
	const char *rep;
	char one[2] = { 0, 0 };

	if (len == 0)
		return -ENOSPC;
	for (; *in; in++) {
		if (*in == '\\')
			rep = "\\\\";
		else if (*in == '"')
			rep = "\\\"";
		else if (*in == '\n')
			rep = "\\n";
		else {
			one[0] = *in;
			rep = one;
		}
		if (o + strlen(rep) >= len) {
			out[0] = '\0';
			return -ENOSPC;
		}
		memcpy(out + o, rep, strlen(rep));
		o += strlen(rep);
	}
	out[o] = '\0';
	return (int)o;
}

/* ctl_metrics_counter1 - one counter family with one unlabeled value */
void ctl_metrics_counter1(FILE *out, const char *name, const char *help,
			  uint64_t v)
{
	ctl_metrics_family(out, name, "counter", help);
	ctl_metrics_counter(out, name, NULL, v);
}

/* counters_by - one counter family with a label over a name table */
static void counters_by(FILE *out, const char *name, const char *help,
			const char *label, const char *const *names,
			const uint64_t *v, unsigned n)
{
	char lb[64];
	unsigned t;

	ctl_metrics_family(out, name, "counter", help);
	for (t = 0; t < n; t++) {
		snprintf(lb, sizeof(lb), "%s=\"%s\"", label, names[t]);
		ctl_metrics_counter(out, name, lb, v[t]);
	}
}

/* ctl_metrics_process - build info and start time of this daemon */
void ctl_metrics_process(FILE *out, const char *version, const char *mode,
			 double start_s)
{
	char lb[160], v[64], md[32];

	if (ctl_metrics_label_escape(version, v, sizeof(v)) < 0 ||
	    ctl_metrics_label_escape(mode, md, sizeof(md)) < 0)
		v[0] = md[0] = '\0';
	snprintf(lb, sizeof(lb), "version=\"%s\",mode=\"%s\"", v, md);
	ctl_metrics_family(out, "smtpscreen_build_info", "gauge",
			   "Always 1; the labels say which build runs in which mode");
	ctl_metrics_value(out, "smtpscreen_build_info", lb, 1);
	ctl_metrics_family(out, "process_start_time_seconds", "gauge",
			   "Start time of the daemon since the Unix epoch");
	ctl_metrics_value(out, "process_start_time_seconds", NULL, start_s);
}

/* ctl_metrics_engine - flows, verdicts, test failures, load */
void ctl_metrics_engine(FILE *out, const struct scr_stats *es,
			uint64_t flows_active)
{
	ctl_metrics_family(out, "smtpscreen_flows_active", "gauge",
			   "SMTP flows in the engines' tables");
	ctl_metrics_value(out, "smtpscreen_flows_active", NULL,
			  (double)flows_active);
	ctl_metrics_counter1(out, "smtpscreen_flows_total", "SMTP flows started",
			     es->flows);
	counters_by(out, "smtpscreen_verdicts_total", "Verdicts given, by verdict",
		    "verdict", scr_verdict_name, es->verdict, SCR_V_MAX);
	counters_by(out, "smtpscreen_test_failures_total",
		    "Sessions that failed each test", "test", scr_test_name,
		    es->failed, SCR_TEST_MAX);
	ctl_metrics_counter1(out, "smtpscreen_sessions_stopped_total",
			     "Sessions stopped by enforce, drop or a block",
			     es->stopped);
	counters_by(out, "smtpscreen_flows_evicted_total",
		    "Flows evicted for a new SYN, by kind", "kind", scr_evict_name,
		    es->evicted, SCR_EVICT_MAX);
	ctl_metrics_counter1(out, "smtpscreen_overload_total",
			     "SYNs that found the flow table full of clients in "
			     "their tests (smtpscreen_overload_policy)", es->overload);
	ctl_metrics_counter1(out, "smtpscreen_client_limit_total",
			     "SYNs over postscreen_client_connection_count_limit",
			     es->client_limit);
	ctl_metrics_counter1(out, "smtpscreen_command_time_limit_total",
			     "Flows ended by postscreen_command_time_limit",
			     es->command_time);
	ctl_metrics_counter1(out, "smtpscreen_command_count_limit_total",
			     "Sessions ended by postscreen_command_count_limit",
			     es->ended[SCR_END_COMMAND_COUNT]);
	ctl_metrics_counter1(out, "smtpscreen_command_length_limit_total",
			     "Sessions ended by line_length_limit (COMMAND LENGTH LIMIT)",
			     es->ended[SCR_END_COMMAND_LENGTH]);
	ctl_metrics_counter1(out, "smtpscreen_smuggling_total",
			     "Sessions with an end-of-data sequence in DATA/BDAT "
			     "(SMTP smuggling guard)", es->smuggling);
	ctl_metrics_counter1(out, "smtpscreen_smuggling_commands_total",
			     "... with SMTP commands after the sequence",
			     es->smuggling_cmds);
	ctl_metrics_counter1(out, "smtpscreen_smuggling_stopped_total",
			     "Sessions the smuggling guard stopped",
			     es->smuggling_stopped);
	ctl_metrics_counter1(out, "smtpscreen_smuggling_lost_total",
			     "Sessions the smuggling guard stopped following "
			     "(a stream gap after the verdict)", es->smuggling_lost);
	ctl_metrics_counter1(out, "smtpscreen_smuggling_bytes_total",
			     "Bytes the smuggling guard read after the verdict",
			     es->smuggling_bytes);
	ctl_metrics_counter1(out, "smtpscreen_envelope_commands_total",
			     "HELO/EHLO, MAIL FROM and RCPT TO read for the "
			     "envelope checks", es->envelope[SCR_ENV_HELO] +
			     es->envelope[SCR_ENV_EHLO] + es->envelope[SCR_ENV_MAIL] +
			     es->envelope[SCR_ENV_RCPT]);
	ctl_metrics_counter1(out, "smtpscreen_envelope_rejected_total",
			     "Sessions an envelope restriction rejected",
			     es->envelope_rejected);
	ctl_metrics_counter1(out, "smtpscreen_envelope_stopped_total",
			     "Sessions stopped for an envelope reject",
			     es->envelope_stopped);
	ctl_metrics_counter1(out, "smtpscreen_envelope_unread_total",
			     "Envelope commands not read (too long, malformed, "
			     "no line buffer)", es->envelope_unread);
	ctl_metrics_counter1(out, "smtpscreen_envelope_lost_total",
			     "Sessions whose envelope capture ended at a stream gap",
			     es->envelope_lost);
	ctl_metrics_counter1(out, "smtpscreen_stress_entered_total",
			     "Times a worker entered stress mode", es->stress_enter);
	ctl_metrics_counter1(out, "smtpscreen_no_server_total",
			     "Sessions unknown: the client talked, the server "
			     "side was never seen (asymmetric routing)",
			     es->no_server);
	ctl_metrics_counter1(out, "smtpscreen_undecided_total",
			     "Sessions unknown: the client spoke while the "
			     "server's greeting or reply was incomplete",
			     es->undecided);
	ctl_metrics_counter1(out, "smtpscreen_contradicted_total",
			     "Sessions unknown: a client segment came again "
			     "with other bytes (an evasion attempt, or a copy "
			     "the server never got)", es->contradicted);
}

/* ctl_metrics_xdp - the XDP program's per-reason packet counters */
void ctl_metrics_xdp(FILE *out, struct ctl_maps *m)
{
#ifdef SCR_HAVE_BPF
	struct scr_xdp_ctr_val x[SCR_XDP_C_MAX];
	char lb[64];
	unsigned t;

	if (m == NULL || ctl_maps_stats(m, x) != 0)
		return;
	ctl_metrics_family(out, "smtpscreen_xdp_packets_total", "counter",
			   "Packets seen by the XDP program, by reason");
	for (t = 0; t < SCR_XDP_C_MAX; t++) {
		snprintf(lb, sizeof(lb), "reason=\"%s\"", ctl_maps_ctr_name[t]);
		ctl_metrics_counter(out, "smtpscreen_xdp_packets_total", lb,
				    x[t].packets);
	}
#else
	(void)out;
	(void)m;
#endif
}

/* ctl_metrics_dnsbl - lookups, cache hits, latency, per-site outcomes */
void ctl_metrics_dnsbl(FILE *out, const struct ctl_dnsbl *d)
{
#ifdef SCR_HAVE_DNSBL
	static struct ctl_dnsbl_stats s;
	static const double bound[CTL_DNSBL_LAT_N] = CTL_DNSBL_LAT_BOUNDS;
	static const char *const oc[] = {"listed", "unlisted", "timeout", "error",
					  "refused"};
	char lb[192], dom[128];
	unsigned i, k;

	if (d == NULL)
		return;
	ctl_dnsbl_stats(d, &s);
	ctl_metrics_counter1(out, "smtpscreen_dnsbl_lookups_total",
			     "DNSBL lookups", s.lookups);
	ctl_metrics_counter1(out, "smtpscreen_dnsbl_cache_hits_total",
			     "DNSBL lookups answered from the cache", s.cache_hits);
	ctl_metrics_family(out, "smtpscreen_dnsbl_latency_seconds", "histogram",
			   "Time from the first query to the last answer");
	ctl_metrics_histogram(out, "smtpscreen_dnsbl_latency_seconds", NULL,
			      bound, s.latency_le, CTL_DNSBL_LAT_N,
			      (double)s.latency_sum_ns / 1e9);
	ctl_metrics_family(out, "smtpscreen_dnsbl_site_queries_total", "counter",
			   "DNSBL queries per site, by outcome");
	for (i = 0; i < s.nsites; i++) {
		uint64_t v[5] = {s.site[i].listed, s.site[i].unlisted,
				 s.site[i].timeouts, s.site[i].errors,
				 s.site[i].refused};

		if (ctl_metrics_label_escape(s.site[i].domain, dom, sizeof(dom)) < 0)
			continue;
		for (k = 0; k < 5; k++) {
			snprintf(lb, sizeof(lb), "site=\"%s\",outcome=\"%s\"", dom,
				 oc[k]);
			ctl_metrics_counter(out, "smtpscreen_dnsbl_site_queries_total",
					    lb, v[k]);
		}
	}
#else
	(void)out;
	(void)d;
#endif
}
