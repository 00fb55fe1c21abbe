/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_smug - SMTP smuggling guard: end-of-data sequences in DATA and BDAT
 * DESCRIPTION
 *	See scr_smug.h. Three parsers, each reading as little as it can:
 *	  client commands  the verb of each line (DATA, BDAT n, STARTTLS),
 *	                   then memchr to its LF;
 *	  server replies   the code and the final/continuation mark of each
 *	                   line, then memchr to its LF; final replies answer
 *	                   client lines in order (outq), so the reply to DATA
 *	                   is known even when the client pipelined;
 *	  content          dots right after a CR or LF (sixteen bytes at a
 *	                   time), then the bytes around each.
 *	DATA content starts right after the DATA line (a client that does
 *	not wait for 354 sends its content anyway); if the server refuses
 *	the DATA, the guard goes back to commands. A dot line is judged when
 *	its deciding byte arrives (the byte after the dot, or after ".\r"):
 *	dots in the last bytes of a feed are judged in the next one from the
 *	four bytes kept in tail.
 * THREADING
 *	One worker.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "scr_panic.h"
#include "scr_smug.h"
#include "scr_types.h"	/* scr_upper */

enum scr_smug_st {
	ST_OFF = 0,
	ST_CMD,		/* client command lines */
	ST_BODY,	/* DATA content until CRLF.CRLF */
	ST_BDAT,	/* BDAT chunk: bdat_left bytes */
};

/* flags */
#define G_DATA_Q	0x01u	/* DATA awaits its reply */
#define G_TLS_Q		0x02u	/* STARTTLS awaits its reply */
#define G_IN_BDAT	0x04u	/* the last command was BDAT (content goes on) */
#define G_AFTER		0x08u	/* matching the line after a sequence */
#define G_SRV_CONT	0x10u	/* server line is "NNN-" */
#define G_SRV_BAD	0x20u	/* server line is not a reply line */
#define G_QUIET		0x40u	/* the sequence matched in G_AFTER counts only
				 * if commands follow (BDAT content) */

/* verb of a client line (struct scr_smug.verb): candidates while the word
 * comes, then what it was */
#define C_DATA		0x01u
#define C_BDAT		0x02u
#define C_TLS		0x04u
#define C_ALL		(C_DATA | C_BDAT | C_TLS)
#define V_SKIP		0x10u	/* nothing to learn from this line */
#define V_DATA		0x11u
#define V_BDAT		0x12u	/* "BDAT" then space: size to come */
#define V_BDAT_NUM	0x13u	/* in the size */
#define V_BDAT_OK	0x14u	/* size complete */
#define V_TLS		0x15u

static const char *const verb_word[3] = { "DATA", "BDAT", "STARTTLS" };

/* line break kinds around a dot */
enum { K_NONE = 0, K_LF, K_CRLF, K_CR };

/* the lines after a sequence: commands of a smuggled message, and the
 * message's real end (a dot line after CRLF: the last word) */
static const char *const after_word[] = {
	"MAIL FROM:", "RCPT TO:", "DATA\r", "DATA\n", ".\r\n"
};
#define A_CMDS		0x0fu
#define A_END		0x10u
#define W_END		4u
#define NWORDS		(sizeof(after_word) / sizeof(after_word[0]))

/* struct scr_smug.aline: the line after a sequence */
#define L_SKIP		0x01u	/* none of the words: on to its LF */
#define L_WEAK		0x02u	/* WEAK reported for this sequence */

struct smug_cur {
	const uint8_t *p;
	uint32_t n;		/* content bytes in p */
	uint32_t base;		/* offset of p in the feed */
	uint32_t qoff;		/* where a quiet sequence began in the feed */
	unsigned r;
	struct scr_smug_detail *out;
};

/* scr_smug_init - a session starts: command mode */
void scr_smug_init(struct scr_smug *g)
{
	memset(g, 0, sizeof(*g));
	g->st = ST_CMD;
	g->verb = C_ALL;
}

/* scr_smug_off - stop following the session */
void scr_smug_off(struct scr_smug *g)
{
	g->st = ST_OFF;
}

/* scr_smug_active - still following */
bool scr_smug_active(const struct scr_smug *g)
{
	return g->st != ST_OFF;
}

/* content_start - content begins after a line that ended in CRLF */
static void content_start(struct scr_smug *g)
{
	g->tail[0] = 0;
	g->tail[1] = 0;
	g->tail[2] = '\r';
	g->tail[3] = '\n';
	g->flags &= (uint8_t)~G_AFTER;
	g->aline = 0;
}

/* line_reset - the next client byte starts a command line */
static void line_reset(struct scr_smug *g)
{
	g->lpos = 0;
	g->verb = C_ALL;
}

/* scr_smug_resume - take over a session where another parser left it */
void scr_smug_resume(struct scr_smug *g, const struct scr_smug_from *from)
{
	scr_smug_init(g);
	g->outq = from->outq > UINT8_MAX ? UINT8_MAX : (uint8_t)from->outq;
	g->srv_pos = from->srv_pos > 4 ? 4 : from->srv_pos;
	g->srv_code = from->srv_code;
	if (from->srv_cont)
		g->flags |= G_SRV_CONT;
	if (from->srv_bad)
		g->flags |= G_SRV_BAD;
	switch (from->phase) {
	case SCR_SMUG_PH_OFF:
		g->st = ST_OFF;
		break;
	case SCR_SMUG_PH_CMD:
		if (from->mid_line)
			g->verb = V_SKIP;	/* the rest of that line */
		if (from->tls_reply)
			g->flags |= G_TLS_Q;
		break;
	case SCR_SMUG_PH_DATA:
		g->st = ST_BODY;
		content_start(g);
		if (from->data_reply)
			g->flags |= G_DATA_Q;
		break;
	default:
		scr_panic("scr_smug_resume: phase %d out of range", (int)from->phase);
	}
}

/* word_end - the verb of the line is complete: v = the index in verb_word
 * of the candidate that matched it whole, -1 none; c = the byte after it */
static void word_end(struct scr_smug *g, int v, uint8_t c)
{
	g->verb = v == 0 ? V_DATA : v == 1 ? V_BDAT : v == 2 ? V_TLS : V_SKIP;
	if (g->verb == V_BDAT) {
		if (c != ' ')
			g->verb = V_SKIP;
		g->num = 0;
	}
}

/* word_whole - the candidate in verb that is exactly pos bytes long, -1 */
static int word_whole(unsigned verb, unsigned pos)
{
	int v;

	for (v = 0; v < 3; v++)
		if ((verb & (1u << v)) && strlen(verb_word[v]) == pos)
			return v;
	return -1;
}

/* cmd_char - one byte of a client command line (not its LF) */
static void cmd_char(struct scr_smug *g, uint8_t c)
{
	unsigned pos = g->lpos;

	if (g->lpos < UINT8_MAX)
		g->lpos++;
	if (g->verb < V_SKIP) {
		unsigned v, left = g->verb;

		if (c == ' ' || c == '\t' || c == '\r') {
			word_end(g, word_whole(left, pos), c);
			return;
		}
		for (v = 0; v < 3; v++)
			if ((left & (1u << v)) && (pos >= strlen(verb_word[v]) ||
						   (uint8_t)verb_word[v][pos] != scr_upper(c)))
				left &= ~(1u << v);
		g->verb = left ? (uint8_t)left : V_SKIP;
		return;
	}
	switch (g->verb) {
	case V_BDAT:
		if (c >= '0' && c <= '9') {
			g->num = (uint32_t)(c - '0');
			g->verb = V_BDAT_NUM;
		} else if (c != ' ') {
			g->verb = V_SKIP;
		}
		break;
	case V_BDAT_NUM:
		if (c >= '0' && c <= '9') {
			uint64_t n = (uint64_t)g->num * 10 + (uint64_t)(c - '0');

			g->num = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		} else {
			g->verb = (c == ' ' || c == '\r') ? V_BDAT_OK : V_SKIP;
		}
		break;
	case V_DATA:
	case V_TLS:
		if (c != ' ' && c != '\r')
			g->verb = V_SKIP;
		break;
	default:
		break;
	}
}

/* line_end - the LF of a client command line */
static void line_end(struct scr_smug *g)
{
	if (g->verb < V_SKIP) {
		int v = word_whole(g->verb, g->lpos);

		g->verb = v == 0 ? V_DATA : v == 2 ? V_TLS : V_SKIP;
	}
	if (g->outq < UINT8_MAX)
		g->outq++;
	switch (g->verb) {
	case V_DATA:
		g->st = ST_BODY;
		g->flags |= G_DATA_Q;
		g->flags &= (uint8_t)~G_IN_BDAT;
		content_start(g);
		break;
	case V_BDAT_NUM:
	case V_BDAT_OK:
		if (!(g->flags & G_IN_BDAT))
			content_start(g);
		g->flags |= G_IN_BDAT;
		if (g->num > 0) {
			g->st = ST_BDAT;
			g->bdat_left = g->num;
		}
		break;
	case V_TLS:
		g->flags |= G_TLS_Q;
		g->flags &= (uint8_t)~G_IN_BDAT;
		break;
	default:
		g->flags &= (uint8_t)~G_IN_BDAT;
		break;
	}
	line_reset(g);
}

/* cmd_feed - client command bytes; returns where content begins (len if
 * it does not) */
static uint32_t cmd_feed(struct scr_smug *g, const uint8_t *p, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		if (g->verb == V_SKIP) {
			const uint8_t *lf = memchr(p + i, '\n', len - i);

			if (lf == NULL)
				return len;
			i = (uint32_t)(lf - p);
		}
		if (p[i] == '\n') {
			line_end(g);
			i++;
			if (g->st != ST_CMD)
				return i;
			continue;
		}
		cmd_char(g, p[i]);
		i++;
	}
	return len;
}

/* srv_final - a final reply line answers the oldest client line */
static void srv_final(struct scr_smug *g, unsigned code)
{
	if (g->outq > 0)
		g->outq--;
	if ((g->flags & G_TLS_Q) && g->outq == 0) {
		g->flags &= (uint8_t)~G_TLS_Q;
		if (code == 220)
			g->st = ST_OFF;		/* TLS from here on */
		return;
	}
	if ((g->flags & G_DATA_Q) && g->outq == 0) {
		g->flags &= (uint8_t)~G_DATA_Q;
		if (code != 354 && g->st == ST_BODY) {
			/* DATA refused: what followed it were commands */
			g->st = ST_CMD;
			line_reset(g);
		}
	}
}

/* srv_feed - server reply bytes */
static void srv_feed(struct scr_smug *g, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len && g->st != ST_OFF; i++) {
		uint8_t c = p[i];

		if (c == '\n') {
			if (g->srv_pos >= 3 && !(g->flags & (G_SRV_BAD | G_SRV_CONT)))
				srv_final(g, g->srv_code);
			g->srv_pos = 0;
			g->srv_code = 0;
			g->flags &= (uint8_t)~(G_SRV_BAD | G_SRV_CONT);
			continue;
		}
		if (g->srv_pos >= 4) {
			const uint8_t *lf = memchr(p + i, '\n', len - i);

			if (lf == NULL)
				return;
			i = (uint32_t)(lf - p) - 1;
			continue;
		}
		if (g->srv_pos < 3) {
			if (c >= '0' && c <= '9')
				g->srv_code = (uint16_t)(g->srv_code * 10 + (c - '0'));
			else
				g->flags |= G_SRV_BAD;
		} else if (c == '-') {
			g->flags |= G_SRV_CONT;
		}
		g->srv_pos++;
	}
}

/* after_line - the next line after the sequence starts; crlf: after a
 * CRLF (then a dot line is the message's real end) */
static void after_line(struct scr_smug *g, bool crlf)
{
	g->apos = 0;
	g->acand = (uint8_t)(A_CMDS | (crlf ? A_END : 0));
	g->aline &= (uint8_t)~L_SKIP;
}

/* after_end - no more lines after the sequence to look at */
static void after_end(struct scr_smug *g)
{
	g->flags &= (uint8_t)~G_AFTER;
	g->aline = 0;
}

/* after_match - the lines after a sequence, from p[i] up to p[n]: a
 * command on any of them (BDAT: on the first) is STRONG; the first that
 * is not a command is WEAK, once */
static void after_match(struct scr_smug *g, struct smug_cur *c, uint32_t i)
{
	while (i < c->n && (g->flags & G_AFTER)) {
		uint8_t u = scr_upper(c->p[i]);
		unsigned w;

		if (g->aline & L_SKIP) {
			const uint8_t *lf = memchr(c->p + i, '\n', c->n - i);

			if (lf == NULL)
				return;
			i = (uint32_t)(lf - c->p);
			after_line(g, (i > 0 ? c->p[i - 1] : g->tail[3]) == '\r');
			i++;
			continue;
		}
		for (w = 0; w < NWORDS; w++) {
			if (!(g->acand & (1u << w)))
				continue;
			if ((uint8_t)after_word[w][g->apos] != u) {
				g->acand &= (uint8_t)~(1u << w);
			} else if (after_word[w][g->apos + 1] == '\0') {
				if (w == W_END) {	/* the message's real end */
					after_end(g);
					return;
				}
				if (c->out != NULL && !(c->r & SCR_SMUG_R_SEQ)) {
					c->out->off = (g->flags & G_QUIET) ? c->qoff :
						c->base + (i >= g->apos ? i - g->apos : 0);
					c->out->bdat = g->st == ST_BDAT;
				}
				c->r |= SCR_SMUG_R_STRONG |
					((g->flags & G_QUIET) ? SCR_SMUG_R_SEQ : 0);
				after_end(g);
				return;
			}
		}
		g->apos++;
		if (g->acand == 0) {
			if (g->flags & G_QUIET) {	/* BDAT: that line only */
				after_end(g);
				return;
			}
			if (!(g->aline & L_WEAK))
				c->r |= SCR_SMUG_R_WEAK;
			g->aline |= L_WEAK;
			if (u == '\n')		/* the line ended here */
				after_line(g, (i > 0 ? c->p[i - 1] : g->tail[3]) == '\r');
			else
				g->aline |= L_SKIP;
		}
		i++;
	}
}

/* kind_before - the line break before a dot from the two bytes before it */
static unsigned kind_before(uint8_t b1, uint8_t b2)
{
	if (b1 == '\n')
		return b2 == '\r' ? K_CRLF : K_LF;
	return b1 == '\r' ? K_CR : K_NONE;
}

/* judge - a dot line whose terminator ends before p[e] (e may be 0 for a
 * bare CR whose deciding byte is p[0]); start = where its first line
 * break begins in p (0 if earlier). True: CRLF.CRLF in DATA, the end */
static bool judge(struct scr_smug *g, struct smug_cur *c, unsigned k1,
		  unsigned k2, uint32_t start, uint32_t e)
{
	if (k1 == K_CRLF && k2 == K_CRLF) {
		if (g->st != ST_BODY)
			return false;
		if (g->flags & G_AFTER) {	/* the message ended instead */
			if (!(g->flags & G_QUIET) && !(g->aline & L_WEAK))
				c->r |= SCR_SMUG_R_WEAK;
			after_end(g);
		}
		return true;
	}
	g->flags &= (uint8_t)~G_QUIET;
	if (g->st == ST_BDAT) {
		/* BDAT content is counted, not dot-terminated, and may be
		 * binary (BINARYMIME): a sequence there counts only when
		 * commands follow it */
		g->flags |= G_QUIET;
		c->qoff = c->base + start;
	} else {
		if (!(c->r & SCR_SMUG_R_SEQ) && c->out != NULL) {
			c->out->off = c->base + start;
			c->out->bdat = false;
		}
		c->r |= SCR_SMUG_R_SEQ;
	}
	g->flags |= G_AFTER;
	g->aline = 0;
	after_line(g, k2 == K_CRLF);
	after_match(g, c, e);
	return false;
}

/* kind_after - the break after a dot from the bytes a (after it) and b
 * (after that, used only when a is CR); *len = its length */
static unsigned kind_after(uint8_t a, uint8_t b, uint32_t *len)
{
	if (a == '\n') {
		*len = 1;
		return K_LF;
	}
	if (a != '\r')
		return K_NONE;
	*len = b == '\n' ? 2 : 1;
	return b == '\n' ? K_CRLF : K_CR;
}

/* eol_dot - the first dot in p[i..n) (i >= 1) right after a CR or LF; n
 * if none. Only such dots can start a dot line: body text has dots in most
 * lines and line-leading ones are rare, so this finds candidates sixteen
 * bytes at a time (thirty-two with AVX2, sixty-four with AVX-512BW)
 * instead of stopping at every dot. eol_dot_bytes is the plain loop, and
 * the vector ones' tail (AVX-512's: the AVX2 loop, then the bytes). */
static uint32_t eol_dot_bytes(const uint8_t *p, uint32_t i, uint32_t n)
{
	for (; i < n; i++)
		if (p[i] == '.' && (p[i - 1] == '\n' || p[i - 1] == '\r'))
			return i;
	return n;
}

#ifdef __SSE2__
static uint32_t eol_dot_sse2(const uint8_t *p, uint32_t i, uint32_t n)
{
	const __m128i dot = _mm_set1_epi8('.');
	const __m128i lf = _mm_set1_epi8('\n');
	const __m128i cr = _mm_set1_epi8('\r');

	for (; i + 16 <= n; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i - 1));
		__m128i eol = _mm_or_si128(_mm_cmpeq_epi8(b, lf), _mm_cmpeq_epi8(b, cr));
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_and_si128(_mm_cmpeq_epi8(a, dot), eol));

		if (m != 0)
			return i + (uint32_t)__builtin_ctz(m);
	}
	return eol_dot_bytes(p, i, n);
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2")))
static uint32_t eol_dot_avx2(const uint8_t *p, uint32_t i, uint32_t n)
{
	const __m256i dot = _mm256_set1_epi8('.');
	const __m256i lf = _mm256_set1_epi8('\n');
	const __m256i cr = _mm256_set1_epi8('\r');

	for (; i + 32 <= n; i += 32) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i - 1));
		__m256i eol = _mm256_or_si256(_mm256_cmpeq_epi8(b, lf),
					      _mm256_cmpeq_epi8(b, cr));
		unsigned m = (unsigned)_mm256_movemask_epi8(
			_mm256_and_si256(_mm256_cmpeq_epi8(a, dot), eol));

		if (m != 0)
			return i + (uint32_t)__builtin_ctz(m);
	}
	return eol_dot_bytes(p, i, n);
}

__attribute__((target("avx512f,avx512bw")))
static uint32_t eol_dot_avx512(const uint8_t *p, uint32_t i, uint32_t n)
{
	const __m512i dot = _mm512_set1_epi8('.');
	const __m512i lf = _mm512_set1_epi8('\n');
	const __m512i cr = _mm512_set1_epi8('\r');

	for (; i + 64 <= n; i += 64) {
		__m512i a = _mm512_loadu_si512((const void *)(p + i));
		__m512i b = _mm512_loadu_si512((const void *)(p + i - 1));
		__mmask64 m = _mm512_cmpeq_epi8_mask(a, dot) &
			      (_mm512_cmpeq_epi8_mask(b, lf) |
			       _mm512_cmpeq_epi8_mask(b, cr));

		if (m != 0)
			return i + (uint32_t)__builtin_ctzll(m);
	}
	return eol_dot_avx2(p, i, n);
}
#endif

/* The widest scan the CPU has (SCR_SMUG_SIMD_*); -1: not asked yet
 * (workers may ask at once: relaxed atomics). scr_smug_simd() sets it. */
static int simd = -1;

/* scr_smug_simd - the scan to use: SCR_SMUG_SIMD_AUTO, or a narrower one
 * (tests run each); returns the one in use */
int scr_smug_simd(int level)
{
	int best = SCR_SMUG_SIMD_NONE;

#ifdef __SSE2__
	best = SCR_SMUG_SIMD_SSE2;
#endif
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx2"))
		best = SCR_SMUG_SIMD_AVX2;
	if (__builtin_cpu_supports("avx512bw"))
		best = SCR_SMUG_SIMD_AVX512;
#endif
	if (level < 0 || level > best)
		level = best;
	__atomic_store_n(&simd, level, __ATOMIC_RELAXED);
	return level;
}

static uint32_t eol_dot(const uint8_t *p, uint32_t i, uint32_t n)
{
	int level = __atomic_load_n(&simd, __ATOMIC_RELAXED);

	if (level < 0)
		level = scr_smug_simd(SCR_SMUG_SIMD_AUTO);
#if defined(__x86_64__) && defined(__GNUC__)
	if (level == SCR_SMUG_SIMD_AVX512)
		return eol_dot_avx512(p, i, n);
	if (level == SCR_SMUG_SIMD_AVX2)
		return eol_dot_avx2(p, i, n);
#endif
#ifdef __SSE2__
	if (level == SCR_SMUG_SIMD_SSE2)
		return eol_dot_sse2(p, i, n);
#endif
	return eol_dot_bytes(p, i, n);
}

/* content_scan - dot lines in p[0..c->n); returns the bytes that are
 * content (less than n when the end of DATA is in them) */
static uint32_t content_scan(struct scr_smug *g, struct smug_cur *c)
{
	const uint8_t *p = c->p;
	uint32_t n = c->n, i = 0;
	uint8_t buf[8];
	unsigned j, m = n < 4 ? n : 4;

	if (g->flags & G_AFTER)
		after_match(g, c, 0);
	/* dots in the tail whose deciding byte is in p */
	memcpy(buf, g->tail, 4);
	memcpy(buf + 4, p, m);
	for (j = 2; j < 4; j++) {
		unsigned k1, k2;
		uint32_t tl;

		if (buf[j] != '.' || j + 1 >= 4 + m)
			continue;
		if (buf[j + 1] == '\r' && j + 2 >= 4 + m)
			continue;	/* still undecided */
		if (j + (buf[j + 1] == '\r' ? 2u : 1u) < 4)
			continue;	/* decided in an earlier feed */
		k1 = kind_before(buf[j - 1], buf[j - 2]);
		k2 = kind_after(buf[j + 1], j + 2 < 4 + m ? buf[j + 2] : 0, &tl);
		if (k1 == K_NONE || k2 == K_NONE)
			continue;
		if (judge(g, c, k1, k2, 0, j + 1 + tl - 4))
			return j + 1 + tl - 4;
	}
	while (i < n) {
		uint32_t at, tl;
		unsigned k1, k2;
		uint8_t b1, b2;

		if (i == 0 && p[0] == '.' && (g->tail[3] == '\n' || g->tail[3] == '\r'))
			at = 0;
		else if ((at = eol_dot(p, i == 0 ? 1 : i, n)) == n)
			break;
		i = at + 1;
		b1 = at >= 1 ? p[at - 1] : g->tail[3];
		b2 = at >= 2 ? p[at - 2] : g->tail[2 + at];
		k1 = kind_before(b1, b2);
		if (k1 == K_NONE || at + 1 >= n)
			continue;
		if (p[at + 1] == '\r' && at + 2 >= n)
			continue;	/* decided in the next feed */
		k2 = kind_after(p[at + 1], at + 2 < n ? p[at + 2] : 0, &tl);
		if (k2 == K_NONE)
			continue;
		if (judge(g, c, k1, k2, at >= (k1 == K_CRLF ? 2u : 1u) ?
			  at - (k1 == K_CRLF ? 2u : 1u) : 0, at + 1 + tl))
			return at + 1 + tl;
	}
	return n;
}

/* tail_push - the last four content bytes after p[0..n) */
static void tail_push(struct scr_smug *g, const uint8_t *p, uint32_t n)
{
	if (n >= 4) {
		memcpy(g->tail, p + n - 4, 4);
		return;
	}
	memmove(g->tail, g->tail + n, 4 - n);
	memcpy(g->tail + 4 - n, p, n);
}

/* content_feed - content bytes at the start of p; returns how many */
static uint32_t content_feed(struct scr_smug *g, struct smug_cur *c,
			     const uint8_t *p, uint32_t len, uint32_t base)
{
	uint32_t n = len, used;

	if (g->st == ST_BDAT && g->bdat_left < n)
		n = g->bdat_left;
	c->p = p;
	c->n = n;
	c->base = base;
	used = content_scan(g, c);
	tail_push(g, p, used);
	if (g->st == ST_BDAT) {
		g->bdat_left -= used;
		if (g->bdat_left == 0) {
			g->st = ST_CMD;
			line_reset(g);
		}
	} else if (used < n) {		/* CRLF.CRLF: the message is complete */
		g->st = ST_CMD;
		line_reset(g);
		if (g->outq < UINT8_MAX)
			g->outq++;	/* the server answers it */
	}
	return used;
}

/* scr_smug_feed - bytes of one direction, in order, once */
unsigned scr_smug_feed(struct scr_smug *g, bool from_client, const uint8_t *p,
		       uint32_t len, struct scr_smug_detail *out)
{
	struct smug_cur c = { .out = out };
	uint32_t i = 0;

	if (g->st == ST_OFF || p == NULL)
		return 0;
	if (!from_client) {
		srv_feed(g, p, len);
		return 0;
	}
	while (i < len && g->st != ST_OFF) {
		if (g->st == ST_CMD) {
			i += cmd_feed(g, p + i, len - i);
			continue;
		}
		i += content_feed(g, &c, p + i, len - i, i);
	}
	return c.r;
}
