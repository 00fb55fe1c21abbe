/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_envcap - the client's HELO/EHLO, MAIL FROM and RCPT TO arguments
 * DESCRIPTION
 *	See scr_envcap.h. A line is looked at in three ways: skipped to its
 *	LF (memchr) once its first bytes rule out every verb of interest;
 *	parsed in place when its LF is in the same segment as its start;
 *	else copied, while its head may still be such a verb, into a pool
 *	buffer until its LF comes.
 * THREADING
 *	One worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scr_envcap.h"

enum scr_envcap_st {
	ST_OFF = 0,	/* not followed (never, or ended) */
	ST_LINE,	/* in a line that may matter (len bytes so far) */
	ST_SKIP,	/* the rest of the line does not matter */
};

struct scr_envcap_pool {
	uint8_t (*line)[SCR_ENVCAP_LINE];
	uint32_t *next;		/* free list links: index + 1 */
	uint32_t free_head;	/* index + 1, 0 empty */
	uint32_t n;
};

/* The verbs a line is matched against, and what each one is. */
enum verb_kind { V_HELO, V_EHLO, V_MAIL, V_RCPT, V_DATA, V_BDAT, V_TLS, V_MAX };
static const char verb_text[V_MAX][12] = {
	[V_HELO] = "helo ", [V_EHLO] = "ehlo ", [V_MAIL] = "mail from:",
	[V_RCPT] = "rcpt to:", [V_DATA] = "data", [V_BDAT] = "bdat ",
	[V_TLS] = "starttls",
};

/* scr_envcap_pool_create - n line buffers */
struct scr_envcap_pool *scr_envcap_pool_create(uint32_t n)
{
	struct scr_envcap_pool *pool;

	if (n == 0) {
		errno = EINVAL;
		return NULL;
	}
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->n = n;
	pool->line = malloc((size_t)n * sizeof(*pool->line));
	pool->next = malloc((size_t)n * sizeof(*pool->next));
	if (pool->line == NULL || pool->next == NULL) {
		scr_envcap_pool_destroy(pool);
		errno = ENOMEM;
		return NULL;
	}
	scr_envcap_pool_clear(pool);
	return pool;
}

/* scr_envcap_pool_destroy - free the pool */
void scr_envcap_pool_destroy(struct scr_envcap_pool *pool)
{
	if (pool == NULL)
		return;
	free(pool->line);
	free(pool->next);
	free(pool);
}

/* scr_envcap_pool_clear - every buffer free (the flows are gone) */
void scr_envcap_pool_clear(struct scr_envcap_pool *pool)
{
	uint32_t i;

	for (i = 0; i < pool->n; i++)
		pool->next[i] = i + 2 <= pool->n ? i + 2 : 0;
	pool->free_head = 1;
}

/* buf_put - c's buffer back to the pool */
static void buf_put(struct scr_envcap *c, struct scr_envcap_pool *pool)
{
	if (c->buf == 0)
		return;
	pool->next[c->buf - 1] = pool->free_head;
	pool->free_head = c->buf;
	c->buf = 0;
}

/* buf_get - a buffer for c; false when the pool is empty */
static bool buf_get(struct scr_envcap *c, struct scr_envcap_pool *pool)
{
	if (c->buf != 0)
		return true;
	if (pool->free_head == 0)
		return false;
	c->buf = pool->free_head;
	pool->free_head = pool->next[c->buf - 1];
	return true;
}

/* scr_envcap_start - a new session: its next client byte is seq */
void scr_envcap_start(struct scr_envcap *c, struct scr_envcap_pool *pool,
		      uint32_t seq)
{
	buf_put(c, pool);
	c->seq = seq;
	c->len = 0;
	c->st = ST_LINE;
	c->wait = 0;
}

/* scr_envcap_stop - the session is over */
void scr_envcap_stop(struct scr_envcap *c, struct scr_envcap_pool *pool)
{
	buf_put(c, pool);
	c->len = 0;
	c->st = ST_OFF;
}

/* scr_envcap_active - the session is followed */
bool scr_envcap_active(const struct scr_envcap *c)
{
	return c->st != ST_OFF;
}

/* fold_eq - byte c of a line equals t, a verb's lower-case byte (letters
 * caseless) */
static inline bool fold_eq(uint8_t c, char t)
{
	return (t >= 'a' && t <= 'z' ? (uint8_t)(c | 0x20) : c) == (uint8_t)t;
}

/* head_may - the first n bytes of a line may still begin a verb of
 * interest */
static bool head_may(const uint8_t *p, uint32_t n)
{
	unsigned v;
	uint32_t i;

	for (v = 0; v < V_MAX; v++) {
		const char *t = verb_text[v];

		for (i = 0; i < n && t[i] != '\0'; i++)
			if (!fold_eq(p[i], t[i]))
				break;
		if (i == n || t[i] == '\0')
			return true;
	}
	return false;
}

/* verb_of - the verb a whole line begins with, V_MAX none */
static unsigned verb_of(const uint8_t *p, uint32_t n)
{
	unsigned v;

	for (v = 0; v < V_MAX; v++) {
		uint32_t k = (uint32_t)strlen(verb_text[v]), i;

		if (n < k)
			continue;
		for (i = 0; i < k; i++)
			if (!fold_eq(p[i], verb_text[v][i]))
				break;
		if (i < k)
			continue;
		/* DATA and STARTTLS take no argument: end of line or blanks */
		if ((v == V_DATA || v == V_TLS) && n > k && p[k] != ' ' &&
		    p[k] != '\t')
			continue;
		return v;
	}
	return V_MAX;
}

/* is_blank - space or tab */
static inline bool is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* scr_envcap_parse - one command line (no LF): its command and argument */
int scr_envcap_parse(const uint8_t *line, uint32_t len, enum scr_env_cmd *cmd,
		     const uint8_t **a, uint32_t *a_len)
{
	static const uint8_t cmd_of[V_MAX] = {
		[V_HELO] = SCR_ENV_HELO, [V_EHLO] = SCR_ENV_EHLO,
		[V_MAIL] = SCR_ENV_MAIL, [V_RCPT] = SCR_ENV_RCPT,
	};
	const uint8_t *nul;
	unsigned v;
	uint32_t i, s;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	/* smtpd takes the line without its CRLF as a C string: for it the
	 * command ends at a NUL ("DATA\0x" is DATA, "RCPT TO:<a\0b>" has no
	 * closing bracket), and an argument never holds one */
	nul = memchr(line, '\0', len);
	if (nul != NULL)
		len = (uint32_t)(nul - line);
	v = verb_of(line, len);
	if (v == V_MAX)
		return 0;
	if (v == V_DATA || v == V_BDAT || v == V_TLS)
		return 2;
	*cmd = (enum scr_env_cmd)cmd_of[v];
	i = (uint32_t)strlen(verb_text[v]);
	while (i < len && is_blank(line[i]))
		i++;
	if (v == V_HELO || v == V_EHLO || i == len || line[i] != '<') {
		/* a word: HELO's hostname, an address without brackets */
		s = i;
		while (i < len && !is_blank(line[i]))
			i++;
		if (i == s)
			return -1;
	} else {
		const uint8_t *gt;

		s = ++i;
		gt = memchr(line + s, '>', len - s);
		if (gt == NULL)
			return -1;
		i = (uint32_t)(gt - line);
		/* a source route, @a,@b:user@domain: its mailbox only */
		if (i > s && line[s] == '@') {
			const uint8_t *colon = memchr(line + s, ':', i - s);

			if (colon != NULL)
				s = (uint32_t)(colon - line) + 1;
		}
		if (i == s && v == V_RCPT)
			return -1;
	}
	if (i - s >= SCR_ENV_ARG_MAX)
		return -1;
	*a = line + s;
	*a_len = i - s;
	return 1;
}

/* on_line - a whole line: report it; non-zero ends the capture (DATA,
 * BDAT, STARTTLS, or cb asked) */
static int on_line(struct scr_envcap *c, const uint8_t *line, uint32_t len,
		   unsigned *res, scr_envcap_fn cb, void *arg)
{
	enum scr_env_cmd cmd;
	const uint8_t *a;
	uint32_t a_len;
	int r = scr_envcap_parse(line, len, &cmd, &a, &a_len);

	if (r < 0)
		*res |= SCR_ENVCAP_R_BAD;
	if (r == 2 || (r == 1 && cb(arg, cmd, a, a_len) != 0)) {
		c->st = ST_OFF;
		return 1;
	}
	return 0;
}

/* scr_envcap_feed - one client segment */
unsigned scr_envcap_feed(struct scr_envcap *c, struct scr_envcap_pool *pool,
			 uint32_t seq, const uint8_t *p, uint32_t len,
			 scr_envcap_fn cb, void *arg)
{
	unsigned res = 0;
	int32_t d;
	uint32_t i;

	if (c->st == ST_OFF || len == 0)
		return 0;
	d = (int32_t)(seq - c->seq);
	if (d > 0) {
		scr_envcap_stop(c, pool);
		return SCR_ENVCAP_R_LOST;
	}
	if ((uint32_t)-d >= len)
		return 0;		/* all seen before */
	i = (uint32_t)-d;
	c->seq = seq + len;
	while (i < len && c->st != ST_OFF) {
		const uint8_t *lf = memchr(p + i, '\n', len - i);
		uint32_t n = (uint32_t)((lf != NULL ? lf : p + len) - (p + i));
		uint8_t *b;

		if (c->st == ST_SKIP) {
			if (lf == NULL)
				break;
			i += n + 1;
			c->st = ST_LINE;
			continue;
		}
		if (c->len == 0 && lf != NULL) {
			/* the whole line is here: parsed in place */
			i += n + 1;
			(void)on_line(c, p + i - n - 1, n, &res, cb, arg);
			continue;
		}
		if (c->len == 0 && !head_may(p + i, n)) {
			c->st = ST_SKIP;
			break;		/* no LF in this segment */
		}
		if ((uint32_t)c->len + n > SCR_ENVCAP_LINE) {
			res |= SCR_ENVCAP_R_BAD;	/* too long to read whole */
			buf_put(c, pool);
			c->len = 0;
			c->st = ST_SKIP;
			continue;
		}
		if (!buf_get(c, pool)) {
			res |= SCR_ENVCAP_R_NOBUF | SCR_ENVCAP_R_BAD;
			c->st = ST_SKIP;
			continue;
		}
		b = pool->line[c->buf - 1];
		memcpy(b + c->len, p + i, n);
		c->len = (uint16_t)(c->len + n);
		i += n + (lf != NULL);
		if (lf == NULL && head_may(b, c->len))
			break;		/* the line goes on in the next segment */
		n = c->len;
		c->len = 0;
		if (lf == NULL)
			c->st = ST_SKIP;
		else
			(void)on_line(c, b, n, &res, cb, arg);
		buf_put(c, pool);
	}
	if (c->st == ST_OFF)
		buf_put(c, pool);
	return res;
}
