/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_shared - a verdict store shared by the screeners of a mail farm
 * DESCRIPTION
 *	See ctl_shared.h. Our own non-blocking sockets; Redis commands are
 *	built and answers parsed with hiredis (redisFormatCommandArgv,
 *	redisReader), memcache's text protocol (set/get) is parsed here.
 *	Redis uses two connections: commands (writes, reads, the block set
 *	re-read) and a subscriber. Every command on the command connection
 *	has a slot in a FIFO (answers come in order); a write keeps its
 *	record there until answered, so writes lost with a connection go
 *	back to the pending table and are replayed.
 * CONTRACT
 *	See ctl_shared.h.
 * THREADING
 *	One thread.
 */
#include "ctl_shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_msg.h"

#define SH_FIFO_MAX	1024		/* commands awaiting an answer */
#define SH_OBUF_MAX	(4u << 20)	/* bytes queued on one connection */
#define SH_IBUF_MAX	(1u << 20)	/* memcache: one answer at most */
#define SH_BACKOFF_MIN_MS 50
#define SH_BACKOFF_MAX_MS 2000
#define SH_PREFIX_MAX	64
#define SH_ADDR_STR	INET6_ADDRSTRLEN
#define SH_ARRAY_MAX	(4u << 20)	/* redis: elements of one array */

const char *const ctl_shared_state_name[] = {
	[CTL_SHARED_UP] = "up",
	[CTL_SHARED_DOWN] = "down",
	[CTL_SHARED_CONNECTING] = "connecting",
};

enum sh_backend { SH_REDIS, SH_MEMCACHE };

enum sh_req {
	SH_REQ_SELECT,		/* redis SELECT db */
	SH_REQ_PUT,		/* a write; e kept for replay */
	SH_REQ_GET,		/* a read; seq tells whether anyone waits */
	SH_REQ_CATCHUP,		/* redis: the block set re-read */
};

struct sh_slot {
	enum sh_req type;
	uint64_t seq;
	uint64_t token;		/* GET of ctl_shared_get_async: its token; 0 none */
	struct ctl_cache_entry e;
};

/* One TCP connection to the store. */
struct sh_conn {
	int fd;
	enum ctl_shared_state st;
	bool subscribed;	/* subscriber: confirmation seen */
	bool broken;		/* a send failed: closed at the next step
				 * (not inside a caller's call or callback) */
	char *obuf;
	size_t olen, ooff, ocap;
	char *ibuf;		/* memcache */
	size_t ilen, icap;
	redisReader *rd;	/* redis */
	uint64_t retry_ms;	/* monotonic: next connect attempt */
	uint32_t backoff_ms;
};

/* Writes waiting: open addressing over addr, linear probing. */
struct sh_pending {
	struct ctl_cache_entry *ent;
	uint8_t *used;
	uint32_t mask;		/* capacity - 1 (power of two >= 2 * max) */
	uint32_t count, max;
	uint32_t cursor;	/* where the next flush starts looking */
};

struct ctl_shared {
	enum sh_backend be;
	struct sockaddr_storage sa;
	socklen_t salen;
	unsigned db;
	char prefix[SH_PREFIX_MAX + 1];
	char node[17];		/* our origin id (hex) */
	struct sh_conn cmd, sub;
	struct sh_slot *fifo;	/* ring of SH_FIFO_MAX */
	uint32_t fhead, fcount;
	struct sh_pending pend;
	uint64_t seq;		/* last GET sequence number */
	uint64_t wait_seq;	/* the GET ctl_shared_get waits for; 0 none */
	int wait_rc;
	struct ctl_cache_entry *wait_e;
	bool catchup_needed;
	uint64_t now_s;
	struct ctl_cache_entry *blocks;	/* to deliver in process() */
	size_t nblocks, cblocks;
	void (*on_block)(void *arg, const struct ctl_cache_entry *e);
	void *on_block_arg;
	void (*on_get)(void *arg, uint64_t token, int rc,
		       const struct ctl_cache_entry *e);
	void *on_get_arg;
	struct ctl_shared_stats st;
};

/* The write: merge each time forward, expire at the latest, and announce
 * a new block. KEYS: client hash, block set. ARGV: addr, origin, channel,
 * now, block, reasons, then field/time pairs. */
static const char sh_put_lua[] =
	"local now = tonumber(ARGV[4])\n"
	"local maxt = 0\n"
	"for i = 7, #ARGV - 1, 2 do\n"
	"  local v = tonumber(ARGV[i + 1])\n"
	"  local o = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')\n"
	"  if v > o then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
	"end\n"
	"local b = tonumber(ARGV[5])\n"
	"local ob = tonumber(redis.call('HGET', KEYS[1], 'block') or '0')\n"
	"if b > ob then\n"
	"  redis.call('HSET', KEYS[1], 'block', ARGV[5], 'reasons', ARGV[6], 'origin', ARGV[2])\n"
	"  if b > now then\n"
	"    redis.call('ZADD', KEYS[2], b, ARGV[1])\n"
	"    local r = ARGV[6]\n"
	"    if r == '' then r = '-' end\n"
	"    redis.call('PUBLISH', ARGV[3], ARGV[2] .. ' ' .. ARGV[1] .. ' ' .. ARGV[5] .. ' ' .. r)\n"
	"  end\n"
	"end\n"
	"local all = redis.call('HGETALL', KEYS[1])\n"
	"for i = 1, #all - 1, 2 do\n"
	"  if all[i] ~= 'reasons' and all[i] ~= 'origin' then\n"
	"    local v = tonumber(all[i + 1]) or 0\n"
	"    if v > maxt then maxt = v end\n"
	"  end\n"
	"end\n"
	"if maxt > now then redis.call('EXPIREAT', KEYS[1], maxt)\n"
	"else redis.call('DEL', KEYS[1]) end\n"
	"return maxt\n";

/* The re-read: drop expired members, return addr, until, reasons, origin
 * of the others. KEYS: block set. ARGV: now, client key prefix. */
static const char sh_catchup_lua[] =
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])\n"
	"local m = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')\n"
	"local out = {}\n"
	"for i = 1, #m, 2 do\n"
	"  local h = redis.call('HMGET', ARGV[2] .. m[i], 'block', 'reasons', 'origin')\n"
	"  out[#out + 1] = m[i]\n"
	"  out[#out + 1] = h[1] or m[i + 1]\n"
	"  out[#out + 1] = h[2] or ''\n"
	"  out[#out + 1] = h[3] or ''\n"
	"end\n"
	"return out\n";

/* The postscreen record's fields, in its order. */
static const enum scr_test sh_psc_tests[5] = {
	SCR_TEST_PREGREET, SCR_TEST_DNSBL, SCR_TEST_PIPELINING,
	SCR_TEST_NON_SMTP, SCR_TEST_BARE_NEWLINE,
};

/* mono_ms - monotonic milliseconds */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* addr_str - the key text of an address: dotted quad for v4-mapped */
static const char *addr_str(const struct scr_addr *a, char *buf, size_t len)
{
	static const uint8_t v4p[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a->b, v4p, sizeof(v4p)) == 0)
		return inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
}

/* addr_parse - key text back to an address; 0 or -EINVAL */
static int addr_parse(const char *s, size_t len, struct scr_addr *a)
{
	char buf[SH_ADDR_STR];

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->b + 12) == 1) {
		a->b[10] = a->b[11] = 0xff;
		return 0;
	}
	return inet_pton(AF_INET6, buf, a->b) == 1 ? 0 : -EINVAL;
}

/* parse_u64 - a decimal number filling [s, s+len) exactly; 0 or -EINVAL */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* reasons_format - '|'-joined test names of a bit set */
static void reasons_format(scr_reasons reasons, char *buf, size_t len)
{
	size_t off = 0;
	unsigned t;

	buf[0] = 0;
	for (t = 0; t < SCR_TEST_MAX; t++) {
		if (!(reasons & SCR_TEST_BIT(t)))
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? "|" : "", scr_test_name[t]);
		if (off >= len)
			break;
	}
}

/* reasons_parse - names back to bits ("" and "-" are none); 0 or -EINVAL */
static int reasons_parse(const char *s, size_t len, scr_reasons *out)
{
	size_t i = 0, j;
	unsigned t;

	*out = 0;
	if (len == 1 && s[0] == '-')
		return 0;
	while (i < len) {
		for (j = i; j < len && s[j] != '|'; j++)
			;
		for (t = 0; t < SCR_TEST_MAX; t++)
			if (strlen(scr_test_name[t]) == j - i &&
			    memcmp(scr_test_name[t], s + i, j - i) == 0)
				break;
		if (t == SCR_TEST_MAX)
			return -EINVAL;
		*out |= (scr_reasons)SCR_TEST_BIT(t);
		i = j + 1;
	}
	return 0;
}

/* ctl_shared_format_psc - postscreen's record for the passes of e */
size_t ctl_shared_format_psc(const struct ctl_cache_entry *e, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%" PRIu64 ";%" PRIu64 ";%" PRIu64 ";%" PRIu64 ";%" PRIu64,
		     e->pass_until[sh_psc_tests[0]], e->pass_until[sh_psc_tests[1]],
		     e->pass_until[sh_psc_tests[2]], e->pass_until[sh_psc_tests[3]],
		     e->pass_until[sh_psc_tests[4]]);
	return n < 0 ? 0 : (size_t)n;
}

/* ctl_shared_parse_psc - postscreen's record: five decimal times; more
 * ';' fields after them are ignored, as postscreen does */
int ctl_shared_parse_psc(const char *val, size_t len, struct ctl_cache_entry *e)
{
	size_t i = 0, j;
	uint64_t v;
	unsigned f;

	memset(e->pass_until, 0, sizeof(e->pass_until));
	e->block_until = 0;
	e->block_reasons = 0;
	for (f = 0; f < 5; f++) {
		if (i > len)
			return -EBADMSG;
		for (j = i; j < len && val[j] != ';'; j++)
			;
		if (parse_u64(val + i, j - i, &v) != 0)
			return -EBADMSG;
		if (f < 4 && j == len)
			return -EBADMSG;
		e->pass_until[sh_psc_tests[f]] = v > 1 ? v : 0;
		i = j + 1;
	}
	return 0;
}

/* --- pending writes ------------------------------------------------------- */

/* pend_slot - the slot of a, or the empty slot where it goes */
static uint32_t pend_slot(const struct sh_pending *p, const struct scr_addr *a)
{
	uint32_t i = (uint32_t)scr_mix64(ctl_cache_addr_hash(a)) & p->mask;

	while (p->used[i] && memcmp(&p->ent[i].addr, a, sizeof(*a)) != 0)
		i = (i + 1) & p->mask;
	return i;
}

/* pend_add - queue or merge a write; 0 or -ENOBUFS (full) */
static int pend_add(struct sh_pending *p, const struct ctl_cache_entry *e)
{
	uint32_t i = pend_slot(p, &e->addr);

	if (p->used[i]) {
		ctl_cache_entry_merge(&p->ent[i], e);
		return 0;
	}
	if (p->count >= p->max)
		return -ENOBUFS;
	p->ent[i] = *e;
	p->used[i] = 1;
	p->count++;
	return 0;
}

/* pend_take - remove one queued write into *e; false when none */
static bool pend_take(struct sh_pending *p, struct ctl_cache_entry *e)
{
	uint32_t i, j, k;

	if (p->count == 0)
		return false;
	for (i = p->cursor; !p->used[i]; i = (i + 1) & p->mask)
		;
	*e = p->ent[i];
	p->used[i] = 0;
	p->count--;
	p->cursor = i;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	j = i;
	for (;;) {
		j = (j + 1) & p->mask;
		if (!p->used[j])
			break;
		k = (uint32_t)scr_mix64(ctl_cache_addr_hash(&p->ent[j].addr)) & p->mask;
		/* Move j to the hole i unless its home k lies in (i, j]. */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			p->ent[i] = p->ent[j];
			p->used[i] = 1;
			p->used[j] = 0;
			i = j;
		}
	}
	return true;
}

/* --- connections ------------------------------------------------------------ */

/* conn_init - a connection that is down and due for a first attempt */
static void conn_init(struct sh_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->st = CTL_SHARED_DOWN;
	c->backoff_ms = SH_BACKOFF_MIN_MS;
}

/* obuf_add - append bytes to a connection's output; 0 or -ENOBUFS */
static int obuf_add(struct sh_conn *c, const char *p, size_t n)
{
	char *nb;
	size_t cap;

	if (c->ooff > 0 && c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if (c->olen + n > c->ocap) {
		if (c->olen - c->ooff + n > SH_OBUF_MAX)
			return -ENOBUFS;
		if (c->ooff > 0) {
			memmove(c->obuf, c->obuf + c->ooff, c->olen - c->ooff);
			c->olen -= c->ooff;
			c->ooff = 0;
		}
		cap = c->ocap ? c->ocap : 4096;
		while (cap < c->olen + n)
			cap *= 2;
		if (cap != c->ocap) {
			nb = realloc(c->obuf, cap);
			if (nb == NULL)
				return -ENOMEM;
			c->obuf = nb;
			c->ocap = cap;
		}
	}
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
	return 0;
}

/* fifo_push - a slot for the command just queued on the command connection */
static struct sh_slot *fifo_push(struct ctl_shared *s, enum sh_req type)
{
	struct sh_slot *sl = &s->fifo[(s->fhead + s->fcount) % SH_FIFO_MAX];

	s->fcount++;
	sl->type = type;
	sl->seq = 0;
	sl->token = 0;
	return sl;
}

/* fifo_pop - the oldest slot (its answer arrived) */
static struct sh_slot *fifo_pop(struct ctl_shared *s)
{
	struct sh_slot *sl;

	if (s->fcount == 0)
		return NULL;
	sl = &s->fifo[s->fhead];
	s->fhead = (s->fhead + 1) % SH_FIFO_MAX;
	s->fcount--;
	return sl;
}

/* conn_down - close after an error; writes not answered go back to the
 * pending table, the next attempt comes after the backoff */
static void conn_down(struct ctl_shared *s, struct sh_conn *c)
{
	struct sh_slot *sl;
	uint64_t now = mono_ms();

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->st == CTL_SHARED_UP)
		s->st.disconnects++;
	c->st = CTL_SHARED_DOWN;
	c->subscribed = false;
	c->broken = false;
	c->olen = c->ooff = c->ilen = 0;
	if (c->rd) {
		redisReaderFree(c->rd);
		c->rd = NULL;
	}
	c->retry_ms = now + c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > SH_BACKOFF_MAX_MS ? SH_BACKOFF_MAX_MS
							      : c->backoff_ms * 2;
	if (c == &s->cmd) {
		while ((sl = fifo_pop(s)) != NULL) {
			if (sl->type == SH_REQ_PUT) {
				if (pend_add(&s->pend, &sl->e) == 0)
					s->st.replayed++;
				else
					s->st.put_dropped++;
			} else if (sl->type == SH_REQ_CATCHUP) {
				s->catchup_needed = true;
			} else if (sl->type == SH_REQ_GET && sl->token &&
				   s->on_get) {
				s->st.get_unavail++;
				s->on_get(s->on_get_arg, sl->token, -EAGAIN, NULL);
			}
		}
		if (s->wait_seq) {
			s->wait_rc = -EAGAIN;
			s->wait_seq = 0;
		}
	} else {
		/* Messages published while unsubscribed: re-read the set. */
		s->catchup_needed = true;
	}
}

/* conn_up - connected: reset the backoff, send what opens a session */
static void conn_up(struct ctl_shared *s, struct sh_conn *c)
{
	char db[16];
	char chan[SH_PREFIX_MAX + 8];
	const char *argv[2];
	size_t argl[2];
	char *cmd;
	int n;

	c->st = CTL_SHARED_UP;
	c->backoff_ms = SH_BACKOFF_MIN_MS;
	s->st.connects++;
	if (s->be != SH_REDIS)
		return;
	if (c == &s->cmd && s->db) {
		snprintf(db, sizeof(db), "%u", s->db);
		argv[0] = "SELECT";
		argv[1] = db;
	} else if (c == &s->sub) {
		snprintf(chan, sizeof(chan), "%sblocks", s->prefix);
		argv[0] = "SUBSCRIBE";
		argv[1] = chan;
	} else {
		return;
	}
	argl[0] = strlen(argv[0]);
	argl[1] = strlen(argv[1]);
	n = redisFormatCommandArgv(&cmd, 2, argv, argl);
	if (n < 0 || obuf_add(c, cmd, (size_t)n) != 0) {
		if (n >= 0)
			redisFreeCommand(cmd);
		conn_down(s, c);
		return;
	}
	redisFreeCommand(cmd);
	if (c == &s->cmd)
		fifo_push(s, SH_REQ_SELECT);
}

#if HIREDIS_MAJOR < 1
/* hiredis 0.14 allocates an array's element pointers from the count in
 * its header ("*2147483647": 16 GiB) and has no maxelements: its own
 * createArray, behind a bound. Filled once, by the one thread. */
static redisReplyObjectFunctions sh_reply_fn;
static void *(*sh_create_array)(const redisReadTask *, int);

/* sh_array - createArray with at most SH_ARRAY_MAX elements (NULL:
 * hiredis fails the reply, and the connection goes) */
static void *sh_array(const redisReadTask *task, int elements)
{
	if (elements < 0 || (unsigned)elements > SH_ARRAY_MAX)
		return NULL;
	return sh_create_array(task, elements);
}
#endif

/* reader_create - hiredis' reply reader, arrays bounded */
static redisReader *reader_create(void)
{
	redisReader *rd = redisReaderCreate();

	if (rd == NULL)
		return NULL;
#if HIREDIS_MAJOR < 1
	if (sh_create_array == NULL) {
		sh_reply_fn = *rd->fn;
		sh_create_array = sh_reply_fn.createArray;
		sh_reply_fn.createArray = sh_array;
	}
	rd->fn = &sh_reply_fn;
#else
	rd->maxelements = SH_ARRAY_MAX;
#endif
	return rd;
}

/* conn_start - a non-blocking connect attempt */
static void conn_start(struct ctl_shared *s, struct sh_conn *c)
{
	int one = 1;
	int fd;

	fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		conn_down(s, c);
		return;
	}
	c->fd = fd;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->be == SH_REDIS) {
		c->rd = reader_create();
		if (c->rd == NULL) {
			conn_down(s, c);
			return;
		}
	}
	if (connect(fd, (struct sockaddr *)&s->sa, s->salen) == 0) {
		conn_up(s, c);
	} else if (errno == EINPROGRESS) {
		c->st = CTL_SHARED_CONNECTING;
	} else {
		s->st.disconnects++;
		conn_down(s, c);
	}
}

/* conn_connected - a connect in progress finished: up or down */
static void conn_connected(struct ctl_shared *s, struct sh_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pf = {.fd = c->fd, .events = POLLOUT};

	if (poll(&pf, 1, 0) <= 0)
		return;		/* still connecting */
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		s->st.disconnects++;
		conn_down(s, c);
		return;
	}
	conn_up(s, c);
}

/* conn_flush - write what the socket takes; 0 or -EPIPE (then broken:
 * conn_down would answer the waiting reads from inside the caller, who
 * may be ctl_shared_get_async, ctl_shared_put or an on_get callback in
 * the middle of conn_read) */
static int conn_flush(struct ctl_shared *s, struct sh_conn *c)
{
	ssize_t n;

	(void)s;
	while (c->st == CTL_SHARED_UP && !c->broken && c->ooff < c->olen) {
		n = send(c->fd, c->obuf + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			c->broken = true;
			return -EPIPE;
		}
		c->ooff += (size_t)n;
	}
	return 0;
}

/* --- answers ---------------------------------------------------------------- */

/* block_queue - a block to hand to on_block from process() */
static void block_queue(struct ctl_shared *s, const struct ctl_cache_entry *e)
{
	struct ctl_cache_entry *nb;
	size_t cap;

	if (s->nblocks == s->cblocks) {
		cap = s->cblocks ? s->cblocks * 2 : 64;
		nb = realloc(s->blocks, cap * sizeof(*nb));
		if (nb == NULL) {
			s->st.bad_records++;	/* lost: no memory */
			return;
		}
		s->blocks = nb;
		s->cblocks = cap;
	}
	s->blocks[s->nblocks++] = *e;
}

/* block_in - one block of another node (message or re-read) */
static void block_in(struct ctl_shared *s, const char *origin, size_t olen,
		     const char *addr, size_t alen, const char *until, size_t ulen,
		     const char *reasons, size_t rlen)
{
	struct ctl_cache_entry e;

	if (olen == strlen(s->node) && memcmp(origin, s->node, olen) == 0)
		return;		/* our own */
	memset(&e, 0, sizeof(e));
	if (addr_parse(addr, alen, &e.addr) != 0 ||
	    parse_u64(until, ulen, &e.block_until) != 0 ||
	    reasons_parse(reasons, rlen, &e.block_reasons) != 0) {
		s->st.bad_records++;
		return;
	}
	block_queue(s, &e);
}

/* redis_get_reply - HMGET block reasons <tests...> into *e; 0, -ENOENT,
 * -EBADMSG */
static int redis_get_reply(struct ctl_shared *s, const redisReply *r,
			   struct ctl_cache_entry *e)
{
	bool any = false;
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 + SCR_TEST_MAX)
		return -EBADMSG;
	memset(e, 0, sizeof(*e));
	for (i = 0; i < r->elements; i++) {
		const redisReply *f = r->element[i];
		uint64_t v;

		if (f->type == REDIS_REPLY_NIL)
			continue;
		if (f->type != REDIS_REPLY_STRING)
			return -EBADMSG;
		any = true;
		if (i == 1) {
			if (reasons_parse(f->str, f->len, &e->block_reasons) != 0)
				return -EBADMSG;
			continue;
		}
		if (parse_u64(f->str, f->len, &v) != 0)
			return -EBADMSG;
		if (i == 0)
			e->block_until = v;
		else
			e->pass_until[i - 2] = v;
	}
	(void)s;
	return any ? 0 : -ENOENT;
}

/* answer_get - the answer to a GET slot: hand it to the waiting get */
static void answer_get(struct ctl_shared *s, const struct sh_slot *sl, int rc,
		       const struct ctl_cache_entry *e)
{
	if (rc == -EBADMSG)
		s->st.bad_records++;
	if (sl->token) {
		struct ctl_cache_entry a;

		if (rc == 0) {
			a = *e;
			a.addr = sl->e.addr;
			s->st.get_hits++;
		} else {
			s->st.get_misses++;
		}
		if (s->on_get)
			s->on_get(s->on_get_arg, sl->token,
				  rc == 0 ? 0 : -ENOENT, rc == 0 ? &a : NULL);
		return;
	}
	if (s->wait_seq == 0 || sl->seq != s->wait_seq)
		return;		/* given up on: too late */
	s->wait_rc = rc == -EBADMSG ? -ENOENT : rc;
	if (rc == 0)
		*s->wait_e = *e;
	s->wait_seq = 0;
}

/* answer_put - the answer to a write */
static void answer_put(struct ctl_shared *s, bool ok)
{
	if (ok)
		s->st.write_acked++;
	else
		s->st.write_errors++;
}

/* redis_cmd_reply - one answer on the command connection */
static void redis_cmd_reply(struct ctl_shared *s, redisReply *r)
{
	struct sh_slot *sl = fifo_pop(s);
	struct ctl_cache_entry e;
	size_t i;
	int rc;

	if (sl == NULL) {
		s->st.bad_records++;	/* an answer nobody asked for */
		return;
	}
	switch (sl->type) {
	case SH_REQ_SELECT:
		if (r->type == REDIS_REPLY_ERROR)
			s->st.write_errors++;
		break;
	case SH_REQ_PUT:
		answer_put(s, r->type != REDIS_REPLY_ERROR);
		break;
	case SH_REQ_GET:
		rc = redis_get_reply(s, r, &e);
		answer_get(s, sl, rc, &e);
		break;
	case SH_REQ_CATCHUP:
		if (r->type != REDIS_REPLY_ARRAY || r->elements % 4) {
			s->st.bad_records++;
			break;
		}
		for (i = 0; i + 3 < r->elements; i += 4) {
			redisReply **f = &r->element[i];

			if (f[0]->type != REDIS_REPLY_STRING ||
			    f[1]->type != REDIS_REPLY_STRING ||
			    f[2]->type != REDIS_REPLY_STRING ||
			    f[3]->type != REDIS_REPLY_STRING) {
				s->st.bad_records++;
				continue;
			}
			block_in(s, f[3]->str, f[3]->len, f[0]->str, f[0]->len,
				 f[1]->str, f[1]->len, f[2]->str, f[2]->len);
		}
		break;
	default:
		ctl_msg_panic("redis_cmd_reply: request type %d out of range",
			      (int)sl->type);
	}
}

/* redis_sub_reply - one message on the subscriber connection */
static void redis_sub_reply(struct ctl_shared *s, redisReply *r)
{
	const char *p, *f[4];
	size_t fl[4], len;
	unsigned n = 0;
	size_t i, j;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		s->st.bad_records++;
		return;
	}
	if (strcmp(r->element[0]->str, "subscribe") == 0) {
		s->sub.subscribed = true;
		s->catchup_needed = true;	/* what we missed meanwhile */
		return;
	}
	if (strcmp(r->element[0]->str, "message") != 0 ||
	    r->element[2]->type != REDIS_REPLY_STRING) {
		s->st.bad_records++;
		return;
	}
	/* "ORIGIN ADDR UNTIL REASONS" */
	p = r->element[2]->str;
	len = r->element[2]->len;
	for (i = 0; i < len && n < 4; i = j + 1) {
		for (j = i; j < len && p[j] != ' '; j++)
			;
		f[n] = p + i;
		fl[n++] = j - i;
	}
	if (n != 4 || i < len) {
		s->st.bad_records++;
		return;
	}
	block_in(s, f[0], fl[0], f[1], fl[1], f[2], fl[2], f[3], fl[3]);
}

/* mc_line - the length of the first line of [p, p+len) with its CRLF, 0
 * if not complete */
static size_t mc_line(const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);

	return nl ? (size_t)(nl - p) + 1 : 0;
}

/* mc_answer - parse one memcache answer from the input; its length, 0
 * when incomplete, -1 when the stream is broken */
static ssize_t mc_answer(struct ctl_shared *s)
{
	struct sh_conn *c = &s->cmd;
	struct sh_slot *sl;
	struct ctl_cache_entry e;
	size_t l1, vlen, need;
	char key[SH_PREFIX_MAX + SH_ADDR_STR + 2], line[256];
	unsigned flags;
	unsigned long bytes;
	int rc;

	if (s->fcount == 0)
		return c->ilen ? -1 : 0;
	l1 = mc_line(c->ibuf, c->ilen);
	if (l1 == 0)
		return c->ilen >= SH_IBUF_MAX ? -1 : 0;
	sl = &s->fifo[s->fhead];
	if (sl->type == SH_REQ_PUT) {
		answer_put(s, l1 >= 8 && memcmp(c->ibuf, "STORED\r\n", 8) == 0);
		fifo_pop(s);
		return (ssize_t)l1;
	}
	if (sl->type != SH_REQ_GET)	/* memcache: no SELECT, no CATCHUP */
		ctl_msg_panic("mc_answer: request type %d in a memcache queue",
			      (int)sl->type);
	if (l1 == 5 && memcmp(c->ibuf, "END\r\n", 5) == 0) {
		answer_get(s, sl, -ENOENT, NULL);
		fifo_pop(s);
		return 5;
	}
	if (l1 < 6 || l1 >= sizeof(line) || memcmp(c->ibuf, "VALUE ", 6) != 0)
		return -1;
	memcpy(line, c->ibuf, l1);
	line[l1] = 0;
	if (sscanf(line, "VALUE %111s %u %lu", key, &flags, &bytes) != 3 ||
	    bytes > SH_IBUF_MAX)
		return -1;
	vlen = bytes;
	need = l1 + vlen + 2 + 5;	/* data CRLF END CRLF */
	if (c->ilen < need)
		return 0;
	if (memcmp(c->ibuf + l1 + vlen, "\r\nEND\r\n", 7) != 0)
		return -1;
	memset(&e, 0, sizeof(e));
	rc = ctl_shared_parse_psc(c->ibuf + l1, vlen, &e);
	answer_get(s, sl, rc, &e);
	fifo_pop(s);
	return (ssize_t)need;
}

/* conn_read - read what is there and handle every complete answer */
static void conn_read(struct ctl_shared *s, struct sh_conn *c)
{
	char buf[16384];
	void *rep;
	ssize_t n, used;
	char *nb;

	while (c->st == CTL_SHARED_UP) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_down(s, c);
			return;
		}
		if (s->be == SH_REDIS) {
			if (redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK) {
				conn_down(s, c);
				return;
			}
			for (;;) {
				rep = NULL;
				if (redisReaderGetReply(c->rd, &rep) != REDIS_OK) {
					s->st.bad_records++;
					conn_down(s, c);
					return;
				}
				if (rep == NULL)
					break;
				if (c == &s->cmd)
					redis_cmd_reply(s, rep);
				else
					redis_sub_reply(s, rep);
				freeReplyObject(rep);
			}
			continue;
		}
		if (c->ilen + (size_t)n > c->icap) {
			size_t cap = c->icap ? c->icap : 16384;

			while (cap < c->ilen + (size_t)n)
				cap *= 2;
			if (cap > 2 * SH_IBUF_MAX) {
				conn_down(s, c);
				return;
			}
			nb = realloc(c->ibuf, cap);
			if (nb == NULL) {
				conn_down(s, c);
				return;
			}
			c->ibuf = nb;
			c->icap = cap;
		}
		memcpy(c->ibuf + c->ilen, buf, (size_t)n);
		c->ilen += (size_t)n;
		while ((used = mc_answer(s)) > 0) {
			memmove(c->ibuf, c->ibuf + used, c->ilen - (size_t)used);
			c->ilen -= (size_t)used;
		}
		if (used < 0) {
			s->st.bad_records++;
			conn_down(s, c);
			return;
		}
	}
}

/* --- commands ---------------------------------------------------------------- */

/* redis_send - format argv onto the command connection with a slot */
static struct sh_slot *redis_send(struct ctl_shared *s, enum sh_req type, int argc,
				  const char **argv, const size_t *argl)
{
	char *cmd;
	int n, rc;

	n = redisFormatCommandArgv(&cmd, argc, argv, argl);
	if (n < 0)
		return NULL;
	rc = obuf_add(&s->cmd, cmd, (size_t)n);
	redisFreeCommand(cmd);
	if (rc != 0)
		return NULL;
	return fifo_push(s, type);
}

/* send_put - queue the write of e on the command connection; false if
 * it cannot take more now */
static bool send_put(struct ctl_shared *s, const struct ctl_cache_entry *e)
{
	char addr[SH_ADDR_STR], key[SH_PREFIX_MAX + SH_ADDR_STR + 4];
	char zkey[SH_PREFIX_MAX + 8], chan[SH_PREFIX_MAX + 8], now[24], block[24];
	char reasons[128], times[SCR_TEST_MAX][24], val[CTL_SHARED_PSC_MAX];
	char hdr[SH_PREFIX_MAX + SH_ADDR_STR + 64];
	/* EVAL script 2 key zkey addr node chan now block reasons: 11
	 * words, then a field/time pair per test */
	const char *argv[11 + 2 * SCR_TEST_MAX];
	size_t argl[11 + 2 * SCR_TEST_MAX];
	struct sh_slot *sl;
	uint64_t maxt = 0;
	size_t vlen;
	unsigned t;
	int argc = 0, n;

	addr_str(&e->addr, addr, sizeof(addr));
	if (s->be == SH_MEMCACHE) {
		for (t = 0; t < 5; t++)
			if (e->pass_until[sh_psc_tests[t]] > maxt)
				maxt = e->pass_until[sh_psc_tests[t]];
		vlen = ctl_shared_format_psc(e, val, sizeof(val));
		n = snprintf(hdr, sizeof(hdr), "set %s%s 0 %" PRIu64 " %zu\r\n",
			     s->prefix, addr, maxt, vlen);
		if (obuf_add(&s->cmd, hdr, (size_t)n) != 0)
			return false;
		if (obuf_add(&s->cmd, val, vlen) != 0 ||
		    obuf_add(&s->cmd, "\r\n", 2) != 0) {
			/* A half command would break the stream. */
			s->cmd.broken = true;
			return false;
		}
		sl = fifo_push(s, SH_REQ_PUT);
		sl->e = *e;
		s->st.writes++;
		return true;
	}
	snprintf(key, sizeof(key), "%sc:%s", s->prefix, addr);
	snprintf(zkey, sizeof(zkey), "%sblocked", s->prefix);
	snprintf(chan, sizeof(chan), "%sblocks", s->prefix);
	snprintf(now, sizeof(now), "%" PRIu64, s->now_s);
	snprintf(block, sizeof(block), "%" PRIu64, e->block_until);
	reasons_format(e->block_reasons, reasons, sizeof(reasons));
	argv[argc++] = "EVAL";
	argv[argc++] = sh_put_lua;
	argv[argc++] = "2";
	argv[argc++] = key;
	argv[argc++] = zkey;
	argv[argc++] = addr;
	argv[argc++] = s->node;
	argv[argc++] = chan;
	argv[argc++] = now;
	argv[argc++] = block;
	argv[argc++] = reasons;
	for (t = 0; t < SCR_TEST_MAX; t++) {
		if (e->pass_until[t] == 0)
			continue;
		snprintf(times[t], sizeof(times[t]), "%" PRIu64, e->pass_until[t]);
		argv[argc++] = scr_test_name[t];
		argv[argc++] = times[t];
	}
	for (n = 0; n < argc; n++)
		argl[n] = strlen(argv[n]);
	sl = redis_send(s, SH_REQ_PUT, argc, argv, argl);
	if (sl == NULL)
		return false;
	sl->e = *e;
	s->st.writes++;
	return true;
}

/* send_catchup - the block set re-read */
static bool send_catchup(struct ctl_shared *s)
{
	char zkey[SH_PREFIX_MAX + 8], ckey[SH_PREFIX_MAX + 4], now[24];
	const char *argv[6];
	size_t argl[6];
	int i;

	snprintf(zkey, sizeof(zkey), "%sblocked", s->prefix);
	snprintf(ckey, sizeof(ckey), "%sc:", s->prefix);
	snprintf(now, sizeof(now), "%" PRIu64, s->now_s);
	argv[0] = "EVAL";
	argv[1] = sh_catchup_lua;
	argv[2] = "1";
	argv[3] = zkey;
	argv[4] = now;
	argv[5] = ckey;
	for (i = 0; i < 6; i++)
		argl[i] = strlen(argv[i]);
	if (redis_send(s, SH_REQ_CATCHUP, 6, argv, argl) == NULL)
		return false;
	s->st.catchups++;
	return true;
}

/* pump - move queued writes (and a due re-read) onto the command
 * connection and write what the socket takes */
static void pump(struct ctl_shared *s)
{
	struct ctl_cache_entry e;

	if (s->cmd.st != CTL_SHARED_UP || s->cmd.broken)
		return;
	if (s->be == SH_REDIS && s->catchup_needed && s->sub.subscribed &&
	    s->fcount < SH_FIFO_MAX && send_catchup(s))
		s->catchup_needed = false;
	while (s->fcount < SH_FIFO_MAX && s->cmd.st == CTL_SHARED_UP &&
	       !s->cmd.broken && pend_take(&s->pend, &e)) {
		if (!send_put(s, &e)) {
			(void)pend_add(&s->pend, &e);	/* its slot is free */
			break;
		}
	}
	(void)conn_flush(s, &s->cmd);
}

/* --- url ---------------------------------------------------------------------- */

/* url_param - one "name=value" of the query; 0 or -EINVAL */
static int url_param(struct ctl_shared *s, const char *p, size_t len, char *err,
		     size_t errlen)
{
	const char *eq = memchr(p, '=', len);
	size_t nl, vl, i;
	uint64_t v;

	if (eq == NULL) {
		snprintf(err, errlen, "parameter \"%.*s\": want name=value", (int)len, p);
		return -EINVAL;
	}
	nl = (size_t)(eq - p);
	vl = len - nl - 1;
	if (nl == 6 && memcmp(p, "prefix", 6) == 0) {
		if (vl > SH_PREFIX_MAX) {
			snprintf(err, errlen, "prefix longer than %d", SH_PREFIX_MAX);
			return -EINVAL;
		}
		for (i = 0; i < vl; i++)
			if ((unsigned char)eq[1 + i] <= ' ' || eq[1 + i] == 0x7f) {
				snprintf(err, errlen, "prefix: no spaces or "
					 "control characters");
				return -EINVAL;
			}
		memcpy(s->prefix, eq + 1, vl);
		s->prefix[vl] = 0;
		return 0;
	}
	if (nl == 7 && memcmp(p, "pending", 7) == 0) {
		if (parse_u64(eq + 1, vl, &v) != 0 || v < 1 || v > 1000000) {
			snprintf(err, errlen, "pending: bad value \"%.*s\" "
				 "(1..1000000)", (int)vl, eq + 1);
			return -EINVAL;
		}
		s->pend.max = (uint32_t)v;
		return 0;
	}
	snprintf(err, errlen, "unknown parameter \"%.*s\" (prefix, pending)",
		 (int)nl, p);
	return -EINVAL;
}

/* url_parse - scheme, address, db, query; 0 or -EINVAL with err */
static int url_parse(struct ctl_shared *s, const char *url, char *err, size_t errlen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&s->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s->sa;
	const char *p, *h, *he, *q, *end;
	char host[SH_ADDR_STR];
	uint64_t port, v;
	size_t hl;

	if (strncmp(url, "redis://", 8) == 0) {
		s->be = SH_REDIS;
		p = url + 8;
		port = 6379;
		strcpy(s->prefix, "smtpscreen:");
	} else if (strncmp(url, "memcache://", 11) == 0) {
		s->be = SH_MEMCACHE;
		p = url + 11;
		port = 11211;
		strcpy(s->prefix, "postscreen:");
	} else {
		snprintf(err, errlen, "want redis://HOST[:PORT][/DB] or "
			 "memcache://HOST[:PORT]");
		return -EINVAL;
	}
	if (*p == '[') {
		h = p + 1;
		he = strchr(h, ']');
		if (he == NULL) {
			snprintf(err, errlen, "no ']' after the IPv6 address");
			return -EINVAL;
		}
		p = he + 1;
	} else {
		h = p;
		he = p + strcspn(p, ":/?");
		p = he;
	}
	hl = (size_t)(he - h);
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "no host");
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	if (*p == ':') {
		p++;
		end = p + strcspn(p, "/?");
		if (parse_u64(p, (size_t)(end - p), &port) != 0 || port == 0 ||
		    port > 65535) {
			snprintf(err, errlen, "bad port \"%.*s\" (1..65535)",
				 (int)(end - p), p);
			return -EINVAL;
		}
		p = end;
	}
	if (*p == '/') {
		p++;
		end = p + strcspn(p, "?");
		if (s->be != SH_REDIS) {
			snprintf(err, errlen, "memcache has no database number");
			return -EINVAL;
		}
		if (end > p && (parse_u64(p, (size_t)(end - p), &v) != 0 || v > 65535)) {
			snprintf(err, errlen, "bad database \"%.*s\" (0..65535)",
				 (int)(end - p), p);
			return -EINVAL;
		}
		s->db = end > p ? (unsigned)v : 0;
		p = end;
	}
	if (*p == '?') {
		p++;
		while (*p) {
			q = p + strcspn(p, "&");
			if (url_param(s, p, (size_t)(q - p), err, errlen) != 0)
				return -EINVAL;
			p = *q ? q + 1 : q;
		}
	} else if (*p) {
		snprintf(err, errlen, "unexpected \"%s\"", p);
		return -EINVAL;
	}
	memset(&s->sa, 0, sizeof(s->sa));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s->salen = sizeof(*s6);
	} else {
		snprintf(err, errlen, "host \"%s\": want a numeric IPv4 address "
			 "or [IPv6] (no name lookups)", host);
		return -EINVAL;
	}
	return 0;
}

/* --- public ------------------------------------------------------------------- */

/* ctl_shared_create - parse the url; connecting comes later */
struct ctl_shared *ctl_shared_create(const char *url, char *err, size_t errlen)
{
	struct ctl_shared *s = NULL;
	char why[192] = "";
	uint32_t cap;
	int e = EINVAL;
	uint64_t r;

	if (url == NULL) {
		snprintf(err, errlen, "no url");
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		goto out;
	}
	s->pend.max = CTL_SHARED_PENDING_DEF;
	conn_init(&s->cmd);
	conn_init(&s->sub);
	if (url_parse(s, url, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "bad url \"%s\": %s", url, why);
		goto out;
	}
	for (cap = 2; cap < 2 * s->pend.max; cap *= 2)
		;
	s->pend.mask = cap - 1;
	s->pend.ent = calloc(cap, sizeof(*s->pend.ent));
	s->pend.used = calloc(cap, 1);
	s->fifo = calloc(SH_FIFO_MAX, sizeof(*s->fifo));
	if (s->pend.ent == NULL || s->pend.used == NULL || s->fifo == NULL) {
		e = ENOMEM;
		snprintf(err, errlen, "%s", strerror(e));
		goto out;
	}
	r = scr_mix64(mono_ms() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)s);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r ^= scr_mix64((uint64_t)ts.tv_nsec);
	}
	snprintf(s->node, sizeof(s->node), "%016" PRIx64, r);
	return s;
out:
	ctl_shared_destroy(s);
	errno = e;
	return NULL;
}

/* ctl_shared_destroy - close, free; queued writes are lost */
void ctl_shared_destroy(struct ctl_shared *s)
{
	struct sh_conn *cs[2];
	unsigned i;

	if (s == NULL)
		return;
	cs[0] = &s->cmd;
	cs[1] = &s->sub;
	for (i = 0; i < 2; i++) {
		if (cs[i]->fd >= 0)
			close(cs[i]->fd);
		if (cs[i]->rd)
			redisReaderFree(cs[i]->rd);
		free(cs[i]->obuf);
		free(cs[i]->ibuf);
	}
	free(s->pend.ent);
	free(s->pend.used);
	free(s->fifo);
	free(s->blocks);
	free(s);
}

/* ctl_shared_put - queue a write; sent at once when the store is up */
int ctl_shared_put(struct ctl_shared *s, const struct ctl_cache_entry *e,
		   uint64_t now_s)
{
	unsigned t;

	s->st.puts++;
	if (now_s > s->now_s)
		s->now_s = now_s;
	if (s->be == SH_MEMCACHE) {
		for (t = 0; t < 5; t++)
			if (e->pass_until[sh_psc_tests[t]] > now_s)
				break;
		if (t == 5) {
			s->st.put_skipped++;	/* a block or HELO only: local */
			return 0;
		}
	}
	if (pend_add(&s->pend, e) != 0) {
		s->st.put_dropped++;
		return -ENOBUFS;
	}
	pump(s);
	return 0;
}

/* get_send - queue the read of a's record (counted in gets); its slot,
 * or NULL when the store is down or too many requests wait */
static struct sh_slot *get_send(struct ctl_shared *s, const struct scr_addr *a)
{
	char addr[SH_ADDR_STR], key[SH_PREFIX_MAX + SH_ADDR_STR + 4];
	char line[SH_PREFIX_MAX + SH_ADDR_STR + 8];
	const char *argv[4 + SCR_TEST_MAX];
	size_t argl[4 + SCR_TEST_MAX];
	unsigned t;
	int argc = 0, n;

	s->st.gets++;
	if (s->cmd.st != CTL_SHARED_UP || s->cmd.broken ||
	    s->fcount >= SH_FIFO_MAX)
		return NULL;
	addr_str(a, addr, sizeof(addr));
	if (s->be == SH_MEMCACHE) {
		n = snprintf(line, sizeof(line), "get %s%s\r\n", s->prefix, addr);
		if (obuf_add(&s->cmd, line, (size_t)n) != 0)
			return NULL;
		return fifo_push(s, SH_REQ_GET);
	}
	snprintf(key, sizeof(key), "%sc:%s", s->prefix, addr);
	argv[argc++] = "HMGET";
	argv[argc++] = key;
	argv[argc++] = "block";
	argv[argc++] = "reasons";
	for (t = 0; t < SCR_TEST_MAX; t++)
		argv[argc++] = scr_test_name[t];
	for (n = 0; n < argc; n++)
		argl[n] = strlen(argv[n]);
	return redis_send(s, SH_REQ_GET, argc, argv, argl);
}

/* ctl_shared_get - ask the store, wait at most timeout_ms for the answer */
int ctl_shared_get(struct ctl_shared *s, const struct scr_addr *a,
		   struct ctl_cache_entry *e, unsigned timeout_ms)
{
	struct sh_slot *sl;
	uint64_t deadline, now;
	struct pollfd pf;

	sl = get_send(s, a);
	if (sl == NULL)
		goto unavail;
	sl->seq = ++s->seq;
	s->wait_seq = sl->seq;
	s->wait_e = e;
	s->wait_rc = -EAGAIN;
	deadline = mono_ms() + timeout_ms;
	for (;;) {
		(void)conn_flush(s, &s->cmd);
		conn_read(s, &s->cmd);
		if (s->cmd.broken)
			conn_down(s, &s->cmd);
		if (s->wait_seq == 0)
			break;		/* answered, or the connection went */
		now = mono_ms();
		if (now >= deadline) {
			s->wait_seq = 0;	/* its answer is dropped when it comes */
			break;
		}
		pf.fd = s->cmd.fd;
		pf.events = POLLIN | (s->cmd.ooff < s->cmd.olen ? POLLOUT : 0);
		pf.revents = 0;
		(void)poll(&pf, 1, (int)(deadline - now));
	}
	if (s->wait_rc == 0) {
		e->addr = *a;
		s->st.get_hits++;
		return 0;
	}
	if (s->wait_rc == -ENOENT) {
		s->st.get_misses++;
		return -ENOENT;
	}
unavail:
	s->st.get_unavail++;
	return -EAGAIN;
}

/* ctl_shared_get_async - ask for a's record; the answer comes to the
 * on_get callback with token from ctl_shared_process */
int ctl_shared_get_async(struct ctl_shared *s, const struct scr_addr *a,
			 uint64_t token)
{
	struct sh_slot *sl;

	if (token == 0)
		return -EINVAL;
	sl = get_send(s, a);
	if (sl == NULL)
		goto unavail;
	sl->seq = ++s->seq;
	sl->token = token;
	sl->e.addr = *a;
	(void)conn_flush(s, &s->cmd);
	return 0;
unavail:
	s->st.get_unavail++;
	return -EAGAIN;
}

/* ctl_shared_on_get - who hears the answers of ctl_shared_get_async */
void ctl_shared_on_get(struct ctl_shared *s,
		       void (*cb)(void *arg, uint64_t token, int rc,
				  const struct ctl_cache_entry *e),
		       void *arg)
{
	s->on_get = cb;
	s->on_get_arg = arg;
}

/* ctl_shared_on_block - who hears of other nodes' blocks */
void ctl_shared_on_block(struct ctl_shared *s,
			 void (*cb)(void *arg, const struct ctl_cache_entry *e),
			 void *arg)
{
	s->on_block = cb;
	s->on_block_arg = arg;
}

/* conn_pollfd - one connection's pollfd, or its retry time */
static int conn_pollfd(const struct ctl_shared *s, const struct sh_conn *c,
		       struct pollfd *fd, int *timeout_ms, uint64_t now)
{
	int wait;

	(void)s;
	if (c->st == CTL_SHARED_DOWN) {
		wait = c->retry_ms > now ? (int)(c->retry_ms - now) : 0;
		if (*timeout_ms < 0 || wait < *timeout_ms)
			*timeout_ms = wait;
		return 0;
	}
	fd->fd = c->fd;
	fd->events = c->st == CTL_SHARED_CONNECTING ? POLLOUT
		: (short)(POLLIN | (c->ooff < c->olen ? POLLOUT : 0));
	fd->revents = 0;
	return 1;
}

/* ctl_shared_pollfds - what to wait for */
int ctl_shared_pollfds(struct ctl_shared *s, struct pollfd *fds, int max,
		       int *timeout_ms)
{
	uint64_t now = mono_ms();
	int n = 0;

	if (n < max)
		n += conn_pollfd(s, &s->cmd, &fds[n], timeout_ms, now);
	if (s->be == SH_REDIS && n < max)
		n += conn_pollfd(s, &s->sub, &fds[n], timeout_ms, now);
	if (s->nblocks && (*timeout_ms < 0 || *timeout_ms > 0))
		*timeout_ms = 0;
	return n;
}

/* conn_step - connect when due, finish a connect, read */
static void conn_step(struct ctl_shared *s, struct sh_conn *c, uint64_t now)
{
	if (c->st == CTL_SHARED_DOWN && now >= c->retry_ms)
		conn_start(s, c);
	if (c->st == CTL_SHARED_CONNECTING)
		conn_connected(s, c);
	if (c->st == CTL_SHARED_UP) {
		(void)conn_flush(s, c);
		conn_read(s, c);	/* answers sent before it broke */
	}
	if (c->broken)
		conn_down(s, c);
}

/* ctl_shared_process - after poll: the connections, then on_block */
void ctl_shared_process(struct ctl_shared *s, const struct pollfd *fds, int n,
			uint64_t now_s)
{
	uint64_t now = mono_ms();
	size_t i;

	(void)fds;
	(void)n;
	if (now_s > s->now_s)
		s->now_s = now_s;
	conn_step(s, &s->cmd, now);
	if (s->be == SH_REDIS)
		conn_step(s, &s->sub, now);
	pump(s);
	for (i = 0; i < s->nblocks; i++) {
		s->st.blocks_in++;
		if (s->on_block)
			s->on_block(s->on_block_arg, &s->blocks[i]);
	}
	s->nblocks = 0;
}

/* ctl_shared_state - up only when every connection is */
enum ctl_shared_state ctl_shared_state(const struct ctl_shared *s)
{
	enum ctl_shared_state a = s->cmd.st;
	enum ctl_shared_state b = s->be == SH_REDIS ? s->sub.st : CTL_SHARED_UP;

	if (a == CTL_SHARED_DOWN || b == CTL_SHARED_DOWN)
		return CTL_SHARED_DOWN;
	if (a == CTL_SHARED_CONNECTING || b == CTL_SHARED_CONNECTING)
		return CTL_SHARED_CONNECTING;
	return CTL_SHARED_UP;
}

/* ctl_shared_stats - counters and the current queue sizes */
void ctl_shared_stats(const struct ctl_shared *s, struct ctl_shared_stats *out)
{
	*out = s->st;
	out->pending = s->pend.count;
	out->inflight = s->fcount;
}
