/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_replay - `smtpscreen replay`: the engine over capture files
 * DESCRIPTION
 *	Streams the packets of the given files (pcap or pcapng, "-" for
 *	standard input; several files merged by time stamp, ties in the
 *	order of the files) through the engine in bursts, with memory that
 *	does not grow with the capture: dp_pcapin reads into a ring of
 *	buffers (classic pcap with large read()s, packets judged where they
 *	lie; the rest through libpcap), and a buffer is given back once every
 *	worker is done with its packets. --threads N splits the packets over
 *	N workers by a symmetric hash of the address pair (both directions
 *	and every connection between the same two hosts reach the same
 *	worker, so each worker's verdict cache sees all of a client's
 *	sessions with one server): the main thread reads and hands each
 *	packet to its worker's ring, waiting when a ring is full.
 *	--loop N loads every packet into memory first and replays them N
 *	times (engine benchmarks: the timing excludes file I/O).
 *	Verdict rows and log lines are written while the replay runs, each
 *	worker through a bounded buffer of whole lines flushed to the file
 *	under a lock: in the order the engine makes them, with --threads in
 *	blocks per worker. "-" as --verdicts or --log is standard output (the
 *	summary then goes to standard error). On a terminal, standard error
 *	shows progress a few times a second.
 *	The hashes (flow table, caches, the split) are keyed with a random
 *	key per run; --hash-key HEX32 fixes it, so the split over workers is
 *	the same on every run. A truncated or corrupt capture stops the
 *	reading of that file with a message naming the packet number; the
 *	packets before it are judged. A write error on an output is reported
 *	at the end; the summary is printed and the exit status is 1.
 *	SIGINT or SIGTERM ends the input where the reading is (a read of a
 *	pipe waiting for data is cut short): the flows are ended as at the
 *	end of the files, every verdict row and log line made is written, the
 *	summary is printed, and the exit status is 128 + the signal. A
 *	second signal ends the process at once. With --loop the passes are
 *	whole: a worker stops after the pass it is in, and the summary
 *	covers the passes every worker made (loop_cut).
 * THREADING
 *	Main thread reads, dispatches and reports (and is the one worker
 *	when --threads is 1); each worker thread owns its engine, cache, log
 *	stream and output buffers. Outputs are shared under their locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl_cache.h"
#include "ctl_cidr.h"
#include "ctl_conf.h"
#include "ctl_log.h"
#include "ctl_envelope.h"
#include "ctl_file.h"
#include "ctl_rban.h"
#include "ctl_setup.h"
#include "dp_pcapin.h"
#include "dp_replay.h"
#include "ctl_msg.h"
#include "scr_engine.h"
#include "scr_mem.h"
#include "scr_hash.h"

#define MAX_THREADS 64
#define CACHE_MIN 65536
#define RING_SIZE 4096		/* frames per worker ring (power of two) */
#define CKPT_MAX 16		/* chunks handed out and not yet given back */
#define OBUF_SIZE 65536		/* a worker's buffer in front of an output */
#define PROGRESS_NS 250000000ull

/* --loop: every packet in memory */
struct rp_pkt {
	uint64_t off;		/* into the data arena */
	uint64_t ts_ns;
	uint32_t caplen;
	uint32_t wirelen;
	uint8_t link;
};

struct rp_input {
	struct rp_pkt *pkt;
	size_t npkt, pkt_cap;
	uint8_t *data;
	size_t data_len, data_cap;
};

/* the input files, merged by time */
enum rp_head { RP_HEAD, RP_REFILL, RP_END };

struct rp_src {
	char **path;
	struct dp_pcapin **in;
	struct dp_pcapin_pkt *head;	/* next packet of each input */
	uint8_t *state;			/* enum rp_head */
	unsigned n;
	uint64_t seq;			/* packets handed out */
	uint64_t cut;			/* of them shorter in the file than on
					 * the wire (the snapshot length) */
	uint64_t size;			/* of all inputs; 0 if one is unknown */
	int errors;			/* files that could not be read to the end */
};

/* an output file the workers share */
struct rp_out {
	const char *name;	/* path, or "standard output" */
	int fd;
	bool own;		/* close at the end */
	pthread_mutex_t lock;
	int err;		/* first write error (errno) */
};

/* a worker's buffer of whole lines in front of an rp_out */
struct rp_obuf {
	struct rp_out *out;
	char *buf;
	size_t len;
};

/* a worker's ring of frames: the main thread fills, the worker judges
 * them in place and then moves tail past them */
struct rp_ring {
	struct scr_frame *slot;
	uint64_t phead;			/* producer's, not yet published */
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;
	_Alignas(64) atomic_bool eof;
};

struct rp_worker {
	pthread_t tid;
	unsigned id;
	struct rp_opts *o;
	struct scr_engine *eng;
	struct ctl_cache *cache;
	struct ctl_rban *rban;	/* smtpscreen_reply_ban_enable: the worker's
				 * counts (a client's flows share a worker) */
	struct ctl_envelope *envck;	/* smtpscreen_*_restrictions: the
					 * worker's sessions, blocking DNS */
	struct ctl_log *log;
	struct rp_obuf vbuf, lbuf;
	FILE *vf, *lf;		/* over vbuf and lbuf */
	struct rp_ring *ring;	/* streaming with --threads > 1 */
	uint32_t *idx;		/* --loop with --threads > 1: packet indices */
	size_t nidx;
	uint64_t last_ts;
	bool record;		/* first loop: write verdicts and log lines */
	unsigned passes;	/* --loop: whole passes made */
	struct scr_stats st;
	size_t flow_bytes;
	uint32_t flow_cap;
};

struct lab_table;

struct rp_opts {
	const char *conf_path;
	const char *verdicts;
	const char *labels;
	const char *log;
	unsigned threads;
	unsigned loops;
	bool in_memory;		/* --loop given */
	struct ctl_setup s;	/* conf, policy, patterns, access list */
	struct rp_input in;
	struct rp_src src;
	struct rp_out vout, lout;
	struct lab_table *lab;
	bool progress;		/* standard error is a terminal */
	struct timespec t_start, t_shown;
	bool shown;
};

/* The signal that ends the input (SIGINT, SIGTERM), 0 while none came:
 * the loops that read or replay look at it between packets or bursts. */
static volatile sig_atomic_t rp_signal;

/* on_signal - end the input here (SA_RESETHAND: a second one kills) */
static void on_signal(int sig)
{
	rp_signal = sig;
}

/* catch_signals - SIGINT and SIGTERM end the input. No SA_RESTART: a read
 * of a pipe that waits for data returns, and the reader stops there. A
 * signal ignored when we started stays ignored (a shell's background job:
 * Ctrl-C at the terminal is not for it). */
static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	struct sigaction sa, old;
	unsigned i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

/* die_oom - allocation failure at load time is fatal */
static void die_oom(void)
{
	fprintf(stderr, "smtpscreen replay: out of memory\n");
	exit(2);
}

/* ns_between - nanoseconds from a to b */
static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000ull +
	       (uint64_t)b->tv_nsec - (uint64_t)a->tv_nsec;
}

/* pause_a_little - a waiting thread: spin briefly, then sleep 20 us */
static void pause_a_little(unsigned *spins)
{
	static const struct timespec nap = {0, 20000};

	if ((*spins)++ < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	nanosleep(&nap, NULL);
}

/* --- outputs ------------------------------------------------------- */

/* out_open - path, or "-" for standard output; -1 with a message. The
 * file is not emptied yet: out_clash looks at it first. */
static int out_open(struct rp_out *out, const char *path)
{
	pthread_mutex_init(&out->lock, NULL);
	if (strcmp(path, "-") == 0) {
		out->name = "standard output";
		out->fd = STDOUT_FILENO;
		return 0;
	}
	out->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (out->fd < 0) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, strerror(errno));
		pthread_mutex_destroy(&out->lock);
		return -1;
	}
	out->name = path;
	out->own = true;
	return 0;
}

/* out_is - the output (stat so) is the file path names (a capture "-":
 * standard input); a file that cannot be looked at is not (its reader
 * says why) */
static bool out_is(const struct stat *so, const char *path, bool capture)
{
	struct stat si;

	if (capture && strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, &si) != 0 :
						 stat(path, &si) != 0)
		return false;
	return ctl_file_same(so, &si);
}

/* out_clash - an output (opened, not yet emptied) that is a file this
 * replay reads (a capture, standard input, a configuration file read, the
 * labels) or the other output: emptying it would destroy what the user
 * gave us to read. -1 with a message naming both; else the outputs are
 * emptied, 0. */
static int out_clash(struct rp_opts *o, char **files, unsigned nfiles)
{
	struct rp_out *out[2] = {&o->vout, &o->lout};
	static const char *const opt[2] = {"--verdicts", "--log"};
	struct stat so[2];
	bool reg[2] = {false, false};
	unsigned i, f;

	for (i = 0; i < 2; i++) {
		const char *in = NULL, *what = NULL, *c;

		if (out[i]->name == NULL || fstat(out[i]->fd, &so[i]) != 0)
			continue;
		reg[i] = S_ISREG(so[i].st_mode);
		if (i == 1 && out[0]->name != NULL &&
		    ctl_file_same(&so[0], &so[1])) {
			fprintf(stderr, "smtpscreen replay: --verdicts %s and "
				"--log %s are the same file\n", out[0]->name,
				out[1]->name);
			return -1;
		}
		for (f = 0; in == NULL && f < nfiles; f++)
			if (out_is(&so[i], files[f], true)) {
				in = strcmp(files[f], "-") == 0 ?
				     "on standard input" : files[f];
				what = "the capture";
			}
		for (f = 0; in == NULL &&
		     (c = ctl_conf_file_at(o->s.conf, f)) != NULL; f++)
			if (out_is(&so[i], c, false)) {
				in = c;
				what = "the config";
			}
		if (in == NULL && o->labels != NULL &&
		    out_is(&so[i], o->labels, false)) {
			in = o->labels;
			what = "the labels";
		}
		if (in != NULL) {
			fprintf(stderr, "smtpscreen replay: %s %s is %s %s: an "
				"output cannot be a file the replay reads\n",
				opt[i], out[i]->own ? out[i]->name : "- (standard "
				"output)", what, in);
			return -1;
		}
	}
	for (i = 0; i < 2; i++)	/* as O_TRUNC: files only (/dev/full...) */
		if (out[i]->own && reg[i] && ftruncate(out[i]->fd, 0) != 0) {
			fprintf(stderr, "smtpscreen replay: %s: %s\n",
				out[i]->name, strerror(errno));
			return -1;
		}
	return 0;
}

/* out_write - n bytes under the lock; the first error is kept and later
 * bytes are dropped */
static void out_write(struct rp_out *out, const char *p, size_t n)
{
	pthread_mutex_lock(&out->lock);
	while (n > 0 && out->err == 0) {
		ssize_t k = write(out->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			out->err = k < 0 ? errno : EIO;
			break;
		}
		p += k;
		n -= (size_t)k;
	}
	pthread_mutex_unlock(&out->lock);
}

/* out_close - close; -1 (with a message) if any write failed */
static int out_close(struct rp_out *out)
{
	if (out->name == NULL)
		return 0;
	if (out->own && close(out->fd) != 0 && out->err == 0)
		out->err = errno;
	pthread_mutex_destroy(&out->lock);
	if (out->err != 0) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", out->name,
			strerror(out->err));
		return -1;
	}
	return 0;
}

/* obuf_flush - write the buffer's whole lines (all of it if all) */
static void obuf_flush(struct rp_obuf *ob, bool all)
{
	size_t n = ob->len;

	if (!all)
		while (n > 0 && ob->buf[n - 1] != '\n')
			n--;
	if (n == 0)
		return;
	out_write(ob->out, ob->buf, n);
	memmove(ob->buf, ob->buf + n, ob->len - n);
	ob->len -= n;
}

/* obuf_write - stdio's write hook: keep, flush whole lines past half */
static ssize_t obuf_write(void *cookie, const char *p, size_t n)
{
	struct rp_obuf *ob = cookie;

	if (ob->len + n > OBUF_SIZE) {
		obuf_flush(ob, false);
		if (ob->len + n > OBUF_SIZE) {
			obuf_flush(ob, true);
			out_write(ob->out, p, n);
			return (ssize_t)n;
		}
	}
	memcpy(ob->buf + ob->len, p, n);
	ob->len += n;
	if (ob->len >= OBUF_SIZE / 2)
		obuf_flush(ob, false);
	return (ssize_t)n;
}

/* obuf_open - a FILE writing through ob to out; NULL + errno */
static FILE *obuf_open(struct rp_obuf *ob, struct rp_out *out)
{
	static const cookie_io_functions_t io = { .write = obuf_write };

	ob->out = out;
	ob->buf = malloc(OBUF_SIZE);
	if (ob->buf == NULL)
		return NULL;
	return fopencookie(ob, "w", io);
}

/* obuf_close - flush everything, close the FILE, free */
static void obuf_close(FILE *f, struct rp_obuf *ob)
{
	if (f != NULL)
		fclose(f);
	if (ob->buf != NULL)
		obuf_flush(ob, true);
	free(ob->buf);
	ob->buf = NULL;
}

/* --- inputs -------------------------------------------------------- */

/* src_refill - read input i's next packet into its head */
static void src_refill(struct rp_src *src, unsigned i)
{
	int r = dp_pcapin_next(src->in[i], &src->head[i]);
	uint64_t n;

	switch (r) {
	case 1:
		src->state[i] = RP_HEAD;
		return;
	case -EAGAIN:
		src->state[i] = RP_REFILL;
		return;
	case 0:
		src->state[i] = RP_END;
		return;
	default:
		src->state[i] = RP_END;
		if (rp_signal)		/* a read cut short by the signal */
			return;
		n = dp_pcapin_count(src->in[i]);
		fprintf(stderr, "smtpscreen replay: %s: packet %" PRIu64
			": %s; replaying the %" PRIu64 " packets before it\n",
			src->path[i], n + 1, dp_pcapin_error(src->in[i]), n);
		src->errors++;
		return;
	}
}

/* src_open - open every input and read its first packet; an input that
 * cannot be opened is reported, counted and left out */
static void src_open(struct rp_src *src, char **path, unsigned n)
{
	char err[1024];
	unsigned i;
	bool sized = true;

	src->path = path;
	src->n = n;
	src->in = calloc(n, sizeof(*src->in));
	src->head = calloc(n, sizeof(*src->head));
	src->state = calloc(n, sizeof(*src->state));
	if (src->in == NULL || src->head == NULL || src->state == NULL)
		die_oom();
	for (i = 0; i < n; i++) {
		src->in[i] = dp_pcapin_open(path[i], err, sizeof(err));
		if (src->in[i] == NULL) {
			fprintf(stderr, "smtpscreen replay: %s\n", err);
			src->errors++;
			src->state[i] = RP_END;
			continue;
		}
		if (dp_pcapin_size(src->in[i]) == 0)
			sized = false;
		src->size += dp_pcapin_size(src->in[i]);
		src_refill(src, i);
	}
	if (!sized)
		src->size = 0;
}

/* src_close - close every input */
static void src_close(struct rp_src *src)
{
	unsigned i;

	for (i = 0; i < src->n; i++)
		dp_pcapin_close(src->in[i]);
	free(src->in);
	free(src->head);
	free(src->state);
}

/* src_next - the earliest packet of all inputs as a frame: 1, 0 at the
 * end, -EAGAIN while an input waits for its buffers (src_release, or
 * give back chunks, then call again). *inp and *chunk say where its
 * data lives. */
static int src_next(struct rp_src *src, struct scr_frame *fr, unsigned *inp,
		    uint64_t *chunk)
{
	const struct dp_pcapin_pkt *p;
	unsigned i, best = src->n;

	for (i = 0; i < src->n; i++) {
		if (src->state[i] == RP_REFILL) {
			src_refill(src, i);
			if (src->state[i] == RP_REFILL)
				return -EAGAIN;
		}
		if (src->state[i] == RP_HEAD &&
		    (best == src->n || src->head[i].ts_ns < src->head[best].ts_ns))
			best = i;
	}
	if (best == src->n)
		return 0;
	p = &src->head[best];
	fr->data = p->data;
	fr->caplen = p->caplen;
	fr->wirelen = p->wirelen;
	fr->ts_ns = p->ts_ns;
	fr->pkt_no = ++src->seq;
	fr->link = p->link;
	fr->flags = 0;
	src->cut += p->caplen < p->wirelen;
	*inp = best;
	*chunk = p->chunk;
	src_refill(src, best);
	return 1;
}

/* src_more - one input: its next packet and the packets whose records
 * follow it whole in the reader's buffer, up to max frames, without the
 * merge's work per packet; how many (0: none waits, or max < 2) */
static unsigned src_more(struct rp_src *src, struct scr_frame *fr, unsigned max)
{
	struct dp_pcapin_pkt pk[SCR_BURST];
	unsigned k, i;

	if (src->n != 1 || max < 2 || src->state[0] != RP_HEAD)
		return 0;
	pk[0] = src->head[0];
	k = 1 + dp_pcapin_many(src->in[0], pk + 1,
			       (max < SCR_BURST ? max : SCR_BURST) - 1);
	for (i = 0; i < k; i++) {
		fr[i].data = pk[i].data;
		fr[i].caplen = pk[i].caplen;
		fr[i].wirelen = pk[i].wirelen;
		fr[i].ts_ns = pk[i].ts_ns;
		fr[i].pkt_no = ++src->seq;
		fr[i].link = pk[i].link;
		fr[i].flags = 0;
		src->cut += pk[i].caplen < pk[i].wirelen;
	}
	src_refill(src, 0);
	return k;
}

/* src_release - every packet handed out is done: give back all chunks
 * before each input's next packet */
static void src_release(struct rp_src *src)
{
	unsigned i;

	for (i = 0; i < src->n; i++) {
		if (src->in[i] == NULL)
			continue;
		dp_pcapin_release(src->in[i], src->state[i] == RP_HEAD ?
				  src->head[i].chunk : UINT64_MAX);
	}
}

/* src_pos - bytes of the inputs read so far */
static uint64_t src_pos(const struct rp_src *src)
{
	uint64_t pos = 0;
	unsigned i;

	for (i = 0; i < src->n; i++)
		if (src->in[i] != NULL)
			pos += dp_pcapin_pos(src->in[i]);
	return pos;
}

/* --- progress ------------------------------------------------------ */

/* progress - one line on the terminal, at most every PROGRESS_NS */
static void progress(struct rp_opts *o, uint64_t pkts)
{
	struct timespec now;
	uint64_t pos, el;
	double secs;

	if (!o->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (o->shown && ns_between(&o->t_shown, &now) < PROGRESS_NS)
		return;
	if (!o->shown && ns_between(&o->t_start, &now) < PROGRESS_NS)
		return;
	o->t_shown = now;
	o->shown = true;
	el = ns_between(&o->t_start, &now);
	secs = (double)el / 1e9;
	pos = src_pos(&o->src);
	fprintf(stderr, "\rreplay: %" PRIu64 " packets, %.2f Mpps", pkts,
		(double)pkts / secs / 1e6);
	if (o->src.size > 0 && pos > 0) {
		double left = secs * (double)(o->src.size - pos) / (double)pos;

		fprintf(stderr, ", %.1f%% of %.1f MB, ETA %um%02us",
			100.0 * (double)pos / (double)o->src.size,
			(double)o->src.size / 1e6, (unsigned)left / 60,
			(unsigned)left % 60);
	}
	fputs("\033[K", stderr);
}

/* progress_end - clear the progress line */
static void progress_end(struct rp_opts *o)
{
	if (o->shown)
		fputs("\r\033[K", stderr);
}

/* label classes, in the labels contract's order */
enum rp_class { C_GOOD, C_PREGREET, C_BARE_NEWLINE, C_PIPELINING, C_NON_SMTP,
		C_HELO, C_BLOCKLISTED, C_REPLY_BAN, C_SMUGGLING, C_ENVELOPE, C_MAX };
static const char *const class_name[C_MAX] = {
	"good", "pregreet", "bare_newline", "pipelining", "non_smtp_command",
	"helo", "blocklisted", "reply_ban", "smuggling", "envelope",
};
/* the reason a failed flow of the class must carry */
static const scr_reasons class_reason[C_MAX] = {
	[C_PREGREET] = SCR_TEST_BIT(SCR_TEST_PREGREET),
	[C_BARE_NEWLINE] = SCR_TEST_BIT(SCR_TEST_BARE_NEWLINE),
	[C_PIPELINING] = SCR_TEST_BIT(SCR_TEST_PIPELINING),
	[C_NON_SMTP] = SCR_TEST_BIT(SCR_TEST_NON_SMTP),
	[C_HELO] = SCR_TEST_BIT(SCR_TEST_HELO),
	[C_REPLY_BAN] = SCR_TEST_BIT(SCR_TEST_REPLY_BAN),
	[C_SMUGGLING] = SCR_REASON_SMUGGLING,
	[C_ENVELOPE] = SCR_REASON_ENVELOPE,
};

struct lab_slot {
	struct scr_flow_key key;
	int8_t cls;		/* -1 empty */
	int8_t seen;		/* verdict: -1 none, else correct 0/1 */
	uint32_t line;		/* of the labels file */
};

/* parse_addr - text address to scr_addr; family out */
static int parse_addr(const char *s, struct scr_addr *a, uint8_t *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b + 12) == 1) {
		a->b[10] = a->b[11] = 0xff;
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

/* parse_port - decimal port, no junk */
static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* lab_find - slot of key in the open-addressing label table */
static struct lab_slot *lab_find(struct lab_slot *tab, size_t mask,
				 const struct scr_flow_key *k)
{
	size_t i = scr_engine_key_hash(k) & mask;

	while (tab[i].cls >= 0 &&
	       memcmp(&tab[i].key, k, sizeof(*k)) != 0)
		i = (i + 1) & mask;
	return &tab[i];
}

struct lab_table {
	struct lab_slot *tab;
	size_t mask;
	bool bad;		/* a bad row was reported */
};

/* lab_load - read the labels file before the replay; NULL (with a
 * message) if it cannot be read; a bad row is reported and skipped */
/* lab_open - the labels file, for two passes (count, then parse): a pipe
 * (--labels <(zcat labels.csv.gz)) is copied to a temporary file first,
 * where the second pass found nothing; NULL with errno (a directory:
 * EISDIR, from the copy's read) */
static FILE *lab_open(const char *path)
{
	FILE *f = fopen(path, "r"), *t;
	struct stat st;
	char buf[65536];
	size_t k;
	int e;

	if (f == NULL || (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)))
		return f;
	t = tmpfile();
	while (t != NULL && (k = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, k, t) != k)
			break;
	if (t == NULL || ferror(f) || ferror(t) || fflush(t) != 0) {
		e = errno ? errno : EIO;
		fclose(f);
		if (t != NULL)
			fclose(t);
		errno = e;
		return NULL;
	}
	fclose(f);
	rewind(t);
	return t;
}

static struct lab_table *lab_load(const char *path)
{
	size_t n = 0, cap = 1024, i, lineno = 0, rows = 0;
	struct lab_table *lt;
	char line[512];
	FILE *f = lab_open(path);

	if (f == NULL) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	/* Size the table from the file's line count. */
	while (fgets(line, sizeof(line), f))
		n++;
	while (cap < 2 * n + 2)
		cap <<= 1;
	lt = calloc(1, sizeof(*lt));
	if (lt == NULL || (lt->tab = malloc(cap * sizeof(*lt->tab))) == NULL)
		die_oom();
	lt->mask = cap - 1;
	for (i = 0; i < cap; i++)
		lt->tab[i].cls = -1;
	rewind(f);
	while (!ferror(f) && fgets(line, sizeof(line), f)) {
		char *fld[6], *s = line;
		struct scr_flow_key k;
		struct lab_slot *sl;
		uint8_t fam1, fam2;
		int nf = 0, c, ch;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			fprintf(stderr, "smtpscreen replay: %s:%zu: labels row "
				"longer than %zu bytes\n", path, lineno,
				sizeof(line) - 2);
			lt->bad = true;
			while ((ch = getc(f)) != EOF && ch != '\n')
				;	/* the rest of the row */
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (lineno == 1 && strncmp(line, "client,", 7) == 0)
			continue;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		while (nf < 6 && (fld[nf] = strsep(&s, ",")) != NULL)
			nf++;
		memset(&k, 0, sizeof(k));
		for (c = 0; nf == 5 && c < C_MAX; c++)
			if (strcmp(fld[4], class_name[c]) == 0)
				break;
		if (nf != 5 || c == C_MAX ||
		    parse_addr(fld[0], &k.client, &fam1) ||
		    parse_port(fld[1], &k.client_port) ||
		    parse_addr(fld[2], &k.server, &fam2) ||
		    parse_port(fld[3], &k.server_port) || fam1 != fam2) {
			fprintf(stderr, "smtpscreen replay: %s:%zu: bad labels row "
				"(want client,client_port,server,server_port,class "
				"with class one of good, pregreet, bare_newline, "
				"pipelining, non_smtp_command, helo, blocklisted, "
				"reply_ban, smuggling, envelope)\n",
				path, lineno);
			lt->bad = true;
			continue;
		}
		k.family = fam1;
		sl = lab_find(lt->tab, lt->mask, &k);
		if (sl->cls >= 0) {
			fprintf(stderr, "smtpscreen replay: %s:%zu: this flow "
				"is labelled at line %" PRIu32 " already (kept: "
				"%s)\n", path, lineno, sl->line,
				class_name[sl->cls]);
			lt->bad = true;
			continue;
		}
		sl->key = k;
		sl->cls = (int8_t)c;
		sl->seen = -1;
		sl->line = (uint32_t)lineno;
		rows++;
	}
	if (ferror(f)) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path,
			strerror(errno ? errno : EIO));
		goto fail;
	}
	if (rows == 0 && !lt->bad)	/* a capture with nothing labelled */
		fprintf(stderr, "smtpscreen replay: %s: no labels rows: no "
			"accuracy to report\n", path);
	fclose(f);
	return lt;
fail:
	fclose(f);
	free(lt->tab);
	free(lt);
	return NULL;
}

/* lab_mark - a verdict for a labelled flow: right or wrong. A flow's
 * packets all reach one worker, so each slot has one writer. */
static void lab_mark(struct lab_table *lt, const struct scr_flow_key *key,
		     enum scr_verdict v, scr_reasons reasons)
{
	struct lab_slot *sl = lab_find(lt->tab, lt->mask, key);
	int ok;

	if (sl->cls < 0)
		return;
	if (sl->cls == C_GOOD)
		ok = v == SCR_V_PASS;
	else if (sl->cls == C_BLOCKLISTED)
		ok = v == SCR_V_BLOCKLISTED;
	else
		ok = v == SCR_V_FAIL &&
		     (reasons & class_reason[sl->cls]);
	sl->seen = (int8_t)ok;
}

/* lab_report - the accuracy lines; frees the table */
static void lab_report(struct lab_table *lt, FILE *out)
{
	unsigned long total[C_MAX] = {0}, correct[C_MAX] = {0}, missing[C_MAX] = {0};
	size_t i;
	unsigned c;

	for (i = 0; i <= lt->mask; i++) {
		if (lt->tab[i].cls < 0)
			continue;
		total[lt->tab[i].cls]++;
		if (lt->tab[i].seen > 0)
			correct[lt->tab[i].cls]++;
		else if (lt->tab[i].seen < 0)
			missing[lt->tab[i].cls]++;
	}
	for (c = 0; c < C_MAX; c++) {
		if (total[c] == 0)
			continue;
		fprintf(out, "accuracy class=%s flows=%lu correct=%lu pct=%.2f "
			"missing=%lu\n", class_name[c], total[c], correct[c],
			100.0 * (double)correct[c] / (double)total[c], missing[c]);
	}
	free(lt->tab);
	free(lt);
}

/* --- workers ------------------------------------------------------- */

/* hook_client - access list, then the worker's cache */
static void hook_client(void *arg, const struct scr_flow_key *key,
			uint64_t now_ns, struct scr_client_info *out)
{
	struct rp_worker *w = arg;

	ctl_setup_client(&w->o->s, w->cache, &key->client, now_ns / 1000000000u,
			 out);
}

/* hook_client_ahead - a client SYN is coming: load its cache entry */
static void hook_client_ahead(void *arg, const struct scr_addr *client,
			      unsigned step)
{
	struct rp_worker *w = arg;

	ctl_cache_ahead(w->cache, client, step);
}

/* on_reply - a server reply for the reply bans: a ban is logged, blocks
 * the client in the cache and fails its flow (the flow is in the middle
 * of the engine's burst: scr_engine_reply_ban allows that) */
static void on_reply(struct rp_worker *w, const struct scr_event *ev)
{
	const struct scr_policy *pol = &w->o->s.pol;
	enum scr_action act = (enum scr_action)pol->action[SCR_TEST_REPLY_BAN];
	uint64_t t = ev->ts_ns / 1000000000u;
	struct ctl_rban_ban b;
	struct scr_event bev;

	if (w->rban == NULL ||
	    !ctl_rban_hit(w->rban, &ev->key.client, (enum scr_reply_kind)ev->reply,
			  t, &b))
		return;
	if (w->record && w->log != NULL) {
		ctl_rban_event(ev, &b, act, &bev);
		ctl_log_event(w->log, &bev);
	}
	if (act != SCR_ACT_IGNORE)
		ctl_cache_block(w->cache, &ev->key.client, t, b.ttl_s,
				(uint8_t)SCR_TEST_BIT(SCR_TEST_REPLY_BAN));
	(void)scr_engine_reply_ban(w->eng, &ev->key, b.count, ev->ts_ns);
}

/* on_envelope - a command for the envelope checks, decided now (domain
 * lookups wait here: replay reads a capture, nothing waits on it); a
 * reject fails the flow from inside the engine's burst, and drop blocks
 * the client for smtpscreen_envelope_ttl */
static void on_envelope(struct rp_worker *w, const struct scr_event *ev)
{
	const struct scr_policy *pol = &w->o->s.pol;
	struct ctl_env_reject rej;

	if (w->envck == NULL ||
	    ctl_envelope_event(w->envck, ev, 0, &w->log, w->record && w->log, &rej) !=
	    CTL_ENV_REJECT)
		return;
	if (rej.act == SCR_ACT_DROP && pol->envelope_ttl_s > 0)
		ctl_cache_block(w->cache, &ev->key.client, ev->ts_ns / 1000000000u,
				pol->envelope_ttl_s, SCR_REASON_ENVELOPE);
	(void)scr_engine_envelope(w->eng, &ev->key, rej.act, ev->ts_ns);
}

/* hook_event - log, write the verdict row, update the cache */
static void hook_event(void *arg, const struct scr_event *ev)
{
	struct rp_worker *w = arg;
	const struct scr_policy *pol = &w->o->s.pol;

	if (ev->type == SCR_EV_REPLY) {
		on_reply(w, ev);
		return;
	}
	if (ev->type == SCR_EV_ENVELOPE) {
		on_envelope(w, ev);
		return;
	}
	if (ev->type == SCR_EV_END && w->envck != NULL)
		(void)ctl_envelope_event(w->envck, ev, 0, NULL, 0, NULL);
	if (w->record && w->log != NULL)
		ctl_log_event(w->log, ev);
	if (ev->type == SCR_EV_VERDICT)
		ctl_cache_verdict(w->cache, ev, pol);
	/* One row per flow, with its last verdict: at the flow's end (the
	 * smuggling guard may amend a verdict given at DATA). */
	if (ev->type != SCR_EV_END || !w->record)
		return;
	if (w->vf != NULL)
		ctl_log_verdict_row(w->vf, &ev->key, ev->verdict, ev->reasons);
	if (w->o->lab != NULL)
		lab_mark(w->o->lab, &ev->key, ev->verdict, ev->reasons);
}

/* judge - one burst through the worker's engine */
static void judge(struct rp_worker *w, struct scr_frame *fr, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (fr[i].ts_ns > w->last_ts)
			w->last_ts = fr[i].ts_ns;
	scr_engine_burst(w->eng, fr, n);
}

/* sym_hash - worker of a frame: symmetric in the two addresses (the
 * ordered pair under the process key: --hash-key fixes the split) */
static unsigned sym_hash(const struct scr_frame *fr, unsigned n)
{
	struct scr_pkt pk;

	if (scr_decode((enum scr_link)fr->link, fr->data, fr->caplen, &pk) !=
	    SCR_DEC_TCP)
		return 0;
	return (unsigned)(scr_hash_addr_pair(&pk.src, &pk.dst) % n);
}

/* --- --loop: from memory ------------------------------------------- */

/* grow - the arena p of len bytes moved to one of cap bytes (huge pages:
 * the passes over it walk gigabytes, and every 4 KiB page was a TLB miss) */
static void *grow(void *p, size_t len, size_t cap)
{
	void *q = scr_mem_zalloc(cap);

	if (q == NULL)
		die_oom();
	if (p != NULL)
		memcpy(q, p, len);
	scr_mem_free(p, len);
	return q;
}

/* load_all - every packet of the inputs into the arena, merged by time */
static void load_all(struct rp_opts *o)
{
	struct rp_input *in = &o->in;
	struct scr_frame fr;
	uint64_t chunk;
	unsigned inp;
	int r;

	/* The packets' bytes are fewer than the files' (each record has a
	 * header): an arena of that size is never moved. Pages not written
	 * cost nothing. A pipe (size unknown) grows it by doubling. */
	if (o->src.size > 0) {
		in->data = grow(NULL, 0, o->src.size);
		in->data_cap = o->src.size;
	}
	while (!rp_signal && (r = src_next(&o->src, &fr, &inp, &chunk)) != 0) {
		struct rp_pkt *p;

		if (r == -EAGAIN) {
			src_release(&o->src);
			continue;
		}
		if (in->npkt == in->pkt_cap) {
			size_t cap = in->pkt_cap ? in->pkt_cap * 2 : 65536;

			in->pkt = grow(in->pkt, in->pkt_cap * sizeof(*in->pkt),
				       cap * sizeof(*in->pkt));
			in->pkt_cap = cap;
		}
		if (in->data_len + fr.caplen > in->data_cap) {
			size_t cap = in->data_cap ? in->data_cap * 2 : (1u << 24);

			while (in->data_len + fr.caplen > cap)
				cap *= 2;
			in->data = grow(in->data, in->data_cap, cap);
			in->data_cap = cap;
		}
		p = &in->pkt[in->npkt++];
		p->off = in->data_len;
		p->caplen = fr.caplen;
		p->wirelen = fr.wirelen;
		p->ts_ns = fr.ts_ns;
		p->link = fr.link;
		memcpy(in->data + in->data_len, fr.data, fr.caplen);
		in->data_len += fr.caplen;
		src_release(&o->src);
	}
}

/* mem_frame - the arena's packet k as a frame */
static void mem_frame(const struct rp_input *in, size_t k, struct scr_frame *fr)
{
	const struct rp_pkt *p = &in->pkt[k];

	fr->data = in->data + p->off;
	fr->caplen = p->caplen;
	fr->wirelen = p->wirelen;
	fr->ts_ns = p->ts_ns;
	fr->pkt_no = k + 1;
	fr->link = p->link;
	fr->flags = 0;
}

/* run_pass - one pass over the worker's packets in memory */
static void run_pass(struct rp_worker *w)
{
	const struct rp_input *in = &w->o->in;
	struct scr_frame fr[SCR_BURST];
	size_t n = w->o->threads > 1 ? w->nidx : in->npkt, i = 0;

	w->last_ts = 0;
	while (i < n) {
		unsigned m = 0;

		while (m < SCR_BURST && i < n) {
			mem_frame(in, w->o->threads > 1 ? w->idx[i] : i, &fr[m]);
			m++;
			i++;
		}
		judge(w, fr, m);
	}
	scr_engine_flush(w->eng, w->last_ts);
}

/* mem_worker - all loops of one worker */
static void *mem_worker(void *arg)
{
	struct rp_worker *w = arg;
	unsigned l;

	for (l = 0; l < w->o->loops; l++) {
		if (l > 0 && rp_signal)	/* passes are whole: the unit of --loop */
			break;
		w->record = l == 0;
		if (l > 0) {
			scr_engine_reset(w->eng);
			ctl_cache_clear(w->cache);
			if (w->rban != NULL)
				ctl_rban_clear(w->rban);
		}
		run_pass(w);
		w->passes = l + 1;
	}
	return NULL;
}

/* split - give every packet in memory to its worker */
static int split(struct rp_opts *o, struct rp_worker *w)
{
	struct scr_frame fr;
	size_t i;
	unsigned t;

	for (t = 0; t < o->threads; t++) {
		w[t].idx = malloc((o->in.npkt ? o->in.npkt : 1) * sizeof(uint32_t));
		if (w[t].idx == NULL)
			return -ENOMEM;
	}
	if (o->in.npkt > UINT32_MAX)
		return -E2BIG;
	for (i = 0; i < o->in.npkt; i++) {
		mem_frame(&o->in, i, &fr);
		t = sym_hash(&fr, o->threads);
		w[t].idx[w[t].nidx++] = (uint32_t)i;
	}
	return 0;
}

/* --- streaming ----------------------------------------------------- */

/* stream_one - one worker on the main thread: read a burst, judge it,
 * give back what it used */
static void stream_one(struct rp_opts *o, struct rp_worker *w)
{
	struct scr_frame fr[SCR_BURST];
	uint64_t chunk, bursts = 0;
	unsigned inp;
	int r;

	do {
		unsigned m = 0;

		while (m < SCR_BURST &&
		       (r = src_next(&o->src, &fr[m], &inp, &chunk)) == 1) {
			m++;
			m += src_more(&o->src, fr + m, SCR_BURST - m);
		}
		if (m > 0)
			judge(w, fr, m);
		src_release(&o->src);
		if ((++bursts & 63) == 0)
			progress(o, o->src.seq);
	} while (r != 0 && !rp_signal);
	scr_engine_flush(w->eng, w->last_ts);
}

/* stream_worker - a worker thread: judge the frames of its ring in
 * place until the main thread says the end */
static void *stream_worker(void *arg)
{
	struct rp_worker *w = arg;
	struct rp_ring *rg = w->ring;
	uint64_t tail = atomic_load_explicit(&rg->tail, memory_order_relaxed);
	unsigned spins = 0;

	for (;;) {
		uint64_t head = atomic_load_explicit(&rg->head, memory_order_acquire);
		uint64_t n = head - tail, room = RING_SIZE - (tail & (RING_SIZE - 1));

		if (n == 0) {
			if (atomic_load_explicit(&rg->eof, memory_order_acquire) &&
			    atomic_load_explicit(&rg->head, memory_order_acquire) == tail)
				break;
			pause_a_little(&spins);
			continue;
		}
		spins = 0;
		if (n > SCR_BURST)
			n = SCR_BURST;
		if (n > room)
			n = room;
		judge(w, &rg->slot[tail & (RING_SIZE - 1)], (unsigned)n);
		tail += n;
		atomic_store_explicit(&rg->tail, tail, memory_order_release);
	}
	scr_engine_flush(w->eng, w->last_ts);
	return NULL;
}

/* The chunks handed out to the workers, oldest first: chunk c of input
 * inp is given back once every worker's tail has passed given[], the
 * frames it had been handed when the input moved on to chunk c. */
struct rp_ckpt {
	unsigned n, first;
	unsigned inp[CKPT_MAX];
	uint64_t chunk[CKPT_MAX];
	uint64_t given[CKPT_MAX][MAX_THREADS];
};

/* publish - let the workers see every frame put in their rings */
static void publish(struct rp_worker *w, unsigned nw)
{
	unsigned t;

	for (t = 0; t < nw; t++)
		atomic_store_explicit(&w[t].ring->head, w[t].ring->phead,
				      memory_order_release);
}

/* retire - give back the chunks every worker is done with; true if any */
static bool retire(struct rp_opts *o, struct rp_worker *w, struct rp_ckpt *ck)
{
	bool any = false;
	unsigned t;

	while (ck->n > 0) {
		for (t = 0; t < o->threads; t++)
			if (atomic_load_explicit(&w[t].ring->tail, memory_order_acquire) <
			    ck->given[ck->first][t])
				return any;
		dp_pcapin_release(o->src.in[ck->inp[ck->first]],
				  ck->chunk[ck->first]);
		ck->first = (ck->first + 1) % CKPT_MAX;
		ck->n--;
		any = true;
	}
	return any;
}

/* wait_for_workers - publish, then give back what can be given back,
 * pausing if nothing could */
static void wait_for_workers(struct rp_opts *o, struct rp_worker *w,
			     struct rp_ckpt *ck, unsigned *spins)
{
	publish(w, o->threads);
	if (retire(o, w, ck))
		*spins = 0;
	else
		pause_a_little(spins);
}

/* stream_dispatch - the main thread with --threads > 1: read, hand each
 * frame to its worker's ring, give back chunks the workers are done with */
static void stream_dispatch(struct rp_opts *o, struct rp_worker *w,
			    struct rp_ckpt *ck, uint64_t *last_chunk)
{
	struct scr_frame fr;
	uint64_t chunk;
	unsigned inp, t, spins = 0;
	int r;

	while (!rp_signal && (r = src_next(&o->src, &fr, &inp, &chunk)) != 0) {
		struct rp_ring *rg;

		if (r == -EAGAIN) {
			wait_for_workers(o, w, ck, &spins);
			continue;
		}
		if (chunk != last_chunk[inp]) {
			unsigned k;

			while (ck->n == CKPT_MAX)
				wait_for_workers(o, w, ck, &spins);
			k = (ck->first + ck->n) % CKPT_MAX;
			ck->inp[k] = inp;
			ck->chunk[k] = chunk;
			for (t = 0; t < o->threads; t++)
				ck->given[k][t] = w[t].ring->phead;
			ck->n++;
			last_chunk[inp] = chunk;
		}
		rg = w[sym_hash(&fr, o->threads)].ring;
		while (rg->phead - atomic_load_explicit(&rg->tail,
				memory_order_acquire) == RING_SIZE)
			wait_for_workers(o, w, ck, &spins);
		rg->slot[rg->phead & (RING_SIZE - 1)] = fr;
		rg->phead++;
		if ((fr.pkt_no & (SCR_BURST - 1)) == 0) {
			publish(w, o->threads);
			retire(o, w, ck);
			if ((fr.pkt_no & 2047) == 0)
				progress(o, fr.pkt_no);
		}
	}
	publish(w, o->threads);
	for (t = 0; t < o->threads; t++)
		atomic_store_explicit(&w[t].ring->eof, true, memory_order_release);
}

/* ring_create - an empty ring */
static struct rp_ring *ring_create(void)
{
	struct rp_ring *rg = aligned_alloc(64, sizeof(*rg));

	if (rg == NULL)
		return NULL;
	memset(rg, 0, sizeof(*rg));
	rg->slot = calloc(RING_SIZE, sizeof(*rg->slot));
	if (rg->slot == NULL) {
		free(rg);
		return NULL;
	}
	atomic_init(&rg->head, 0);
	atomic_init(&rg->tail, 0);
	atomic_init(&rg->eof, false);
	return rg;
}

/* ring_destroy - free; NULL is fine */
static void ring_destroy(struct rp_ring *rg)
{
	if (rg == NULL)
		return;
	free(rg->slot);
	free(rg);
}

/* run_threads - start the workers on fn, return when all are done; -1
 * if one could not start */
static int run_threads(struct rp_opts *o, struct rp_worker *w,
		       void *(*fn)(void *))
{
	struct rp_ckpt *ck = NULL;
	uint64_t *last_chunk = NULL;
	sigset_t sigs, old;
	unsigned t, started;
	int ret = 0;

	if (fn == stream_worker) {
		ck = calloc(1, sizeof(*ck));
		last_chunk = malloc((o->src.n ? o->src.n : 1) * sizeof(*last_chunk));
		if (ck == NULL || last_chunk == NULL)
			die_oom();
		for (t = 0; t < o->src.n; t++)
			last_chunk[t] = UINT64_MAX;
	}
	/* the signals go to the main thread, which reads: workers block them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	for (started = 0; started < o->threads; started++)
		if (pthread_create(&w[started].tid, NULL, fn, &w[started]) != 0) {
			fprintf(stderr, "smtpscreen replay: cannot start worker %u\n",
				started);
			ret = -1;
			break;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret == 0 && fn == stream_worker)
		stream_dispatch(o, w, ck, last_chunk);
	if (ret != 0 && fn == stream_worker)
		for (t = 0; t < started; t++)
			atomic_store_explicit(&w[t].ring->eof, true,
					      memory_order_release);
	for (t = 0; t < started; t++)
		pthread_join(w[t].tid, NULL);
	free(ck);
	free(last_chunk);
	return ret;
}

/* parse_count - a positive count option with a range */
static int parse_count(const char *opt, const char *s, unsigned max,
		       unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "smtpscreen replay: %s: bad value \"%s\" (1..%u)\n",
			opt, s, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* setup - config, policy, scanner, access list */
static int setup(struct rp_opts *o)
{
	char err[512];

	if (ctl_setup_load(&o->s, o->conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen replay: %s\n", err);
		return -1;
	}
	/* a capture may show a copy of a segment the server never got: a
	 * failure waits for the server's ACK of its bytes (the live modes
	 * judge the very copy the server gets) */
	o->s.pol.ack_confirm = true;
	return 0;
}

/* usage - replay's options */
static int usage(FILE *out)
{
	fprintf(out,
		"usage: smtpscreen replay [-c main.cf] [--verdicts out.csv] "
		"[--labels labels.csv]\n"
		"                         [--log out.log] [--threads N] [--loop N]\n"
		"                         [--hash-key HEX32] FILE...\n"
		"  FILE: pcap or pcapng, - for standard input; several files are\n"
		"    merged by time stamp. The packets stream through the engine:\n"
		"    memory does not grow with the capture. --loop N loads them\n"
		"    into memory first and replays them N times (benchmarks).\n"
		"  --verdicts, --log: written while the replay runs, - for standard\n"
		"    output (the summary then goes to standard error); rows in the\n"
		"    order verdicts are made, with --threads N in blocks of rows\n"
		"    per worker (sort to compare runs).\n");
	return 2;
}

/* worker_init - engine, cache, output buffers and log of one worker */
static int worker_init(struct rp_opts *o, struct rp_worker *w, unsigned id)
{
	struct scr_engine_hooks hooks = {
		.arg = w, .client = hook_client, .event = hook_event,
		.client_ahead = hook_client_ahead,
	};
	uint32_t cache_cap = o->s.pol.flow_table_size < CACHE_MIN ?
			     CACHE_MIN : o->s.pol.flow_table_size;

	w->id = id;
	w->o = o;
	w->record = true;
	w->eng = scr_engine_create(&o->s.pol, o->s.db, &hooks);
	if (w->eng == NULL) {
		fprintf(stderr, "smtpscreen replay: worker %u: engine: %s\n", id,
			strerror(errno));
		return -1;
	}
	/* the arena of --loop is cold in cache, a streamed chunk was just
	 * read: whole frames measured +9.7% from memory, nothing streaming */
	if (o->in_memory)
		scr_engine_set_prefetch(w->eng, SCR_PREFETCH_FRAME);
	w->cache = ctl_cache_create(cache_cap);
	if (w->cache == NULL) {
		fprintf(stderr, "smtpscreen replay: worker %u: cache: %s\n", id,
			strerror(errno));
		return -1;
	}
	ctl_cache_set_v6_prefix(w->cache, o->s.pol.client_v6_plen);
	if (o->s.pol.reply_ban) {
		struct ctl_rban_conf rc;

		ctl_conf_reply_ban(o->s.conf, &rc);
		w->rban = ctl_rban_create(rc.table_size, &rc);
		if (w->rban == NULL) {
			fprintf(stderr, "smtpscreen replay: worker %u: reply "
				"bans: %s\n", id, strerror(errno));
			return -1;
		}
	}
	if (o->s.pol.envelope) {
		char err[1024];

		w->envck = ctl_envelope_create(o->s.conf, true, err, sizeof(err));
		if (w->envck == NULL) {
			fprintf(stderr, "smtpscreen replay: %s\n", err);
			return -1;
		}
	}
	if ((o->verdicts && (w->vf = obuf_open(&w->vbuf, &o->vout)) == NULL) ||
	    (o->log && (w->lf = obuf_open(&w->lbuf, &o->lout)) == NULL) ||
	    (o->log && (w->log = ctl_log_create(o->s.conf, w->lf,
						 o->s.log_fmt)) == NULL) ||
	    (!o->in_memory && o->threads > 1 && (w->ring = ring_create()) == NULL)) {
		fprintf(stderr, "smtpscreen replay: worker %u: %s\n", id,
			strerror(errno));
		return -1;
	}
	w->flow_bytes = scr_engine_flow_bytes(w->eng);
	w->flow_cap = o->s.pol.flow_table_size;
	return 0;
}

/* worker_fini - flush the worker's output, free what it owns */
static void worker_fini(struct rp_worker *w)
{
	ctl_log_destroy(w->log);
	obuf_close(w->lf, &w->lbuf);
	obuf_close(w->vf, &w->vbuf);
	scr_engine_destroy(w->eng);
	ctl_cache_destroy(w->cache);
	ctl_rban_destroy(w->rban);
	ctl_envelope_destroy(w->envck);
	ring_destroy(w->ring);
	free(w->idx);
}

/* loop_cut - an interrupted --loop: the workers made whole passes, not
 * as many as asked and not all as many. Each worker's counts (the same in
 * every pass: the engine and caches start anew) are cut to the passes of
 * the one that made the fewest, which the summary then divides by (the
 * rate is taken before: it counts every frame judged). */
static void loop_cut(struct rp_opts *o, struct rp_worker *w)
{
	unsigned t, k, least = UINT_MAX;

	for (t = 0; t < o->threads; t++)
		if (w[t].passes < least)
			least = w[t].passes;
	if (least == o->loops)
		return;
	for (t = 0; t < o->threads; t++) {
		uint64_t *a = (uint64_t *)(void *)&w[t].st;

		for (k = 0; k < sizeof(w[t].st) / sizeof(uint64_t); k++)
			a[k] = w[t].passes ? a[k] / w[t].passes * least : 0;
	}
	o->loops = least ? least : 1;
}

/* print_summary - the key=value summary lines */
static void print_summary(FILE *out, struct rp_opts *o, struct rp_worker *w,
			  double secs, uint64_t frames, uint64_t bytes)
{
	struct scr_stats s = {0};
	uint64_t malformed = 0, frames_per_loop;
	unsigned t, k;
	double pps;

	for (t = 0; t < o->threads; t++) {
		const struct scr_stats *x = &w[t].st;
		const uint64_t *a = (const uint64_t *)(const void *)x;
		uint64_t *b = (uint64_t *)(void *)&s;

		for (k = 0; k < sizeof(s) / sizeof(uint64_t); k++)
			b[k] += a[k];
	}
	for (k = SCR_DEC_TRUNC_L2; k < SCR_DEC_MAX; k++)
		malformed += s.dec[k];
	frames_per_loop = s.frames / o->loops;
	pps = secs > 0 ? (double)frames / secs : 0;
	fprintf(out, "packets total=%" PRIu64 " decoded=%" PRIu64 " smtp=%" PRIu64
		     " other=%" PRIu64 " malformed=%" PRIu64 " fragments=%" PRIu64 "\n",
		     frames_per_loop, s.dec[SCR_DEC_TCP] / o->loops,
		     s.smtp_pkts / o->loops,
		     (s.frames - s.smtp_pkts) / o->loops, malformed / o->loops,
		     s.dec[SCR_DEC_FRAGMENT] / o->loops);
	fprintf(out, "decode");
	for (k = 0; k < SCR_DEC_MAX; k++)
		fprintf(out, " %s=%" PRIu64, scr_dec_status_name[k], s.dec[k] / o->loops);
	fprintf(out, "\n");
	fprintf(out, "flows total=%" PRIu64 " pass=%" PRIu64 " fail=%" PRIu64
		     " allowlisted=%" PRIu64 " blocklisted=%" PRIu64 " unknown=%" PRIu64
		     "\n", s.flows / o->loops, s.verdict[SCR_V_PASS] / o->loops,
		     s.verdict[SCR_V_FAIL] / o->loops,
		     s.verdict[SCR_V_ALLOWLISTED] / o->loops,
		     s.verdict[SCR_V_BLOCKLISTED] / o->loops,
		     s.verdict[SCR_V_UNKNOWN] / o->loops);
	fprintf(out, "tests");
	for (t = 0; t < SCR_TEST_MAX; t++)
		fprintf(out, " %s=%" PRIu64, scr_test_name[t], s.failed[t] / o->loops);
	fprintf(out, "\n");
	if (o->s.pol.reply_ban) {
		fprintf(out, "replies");
		for (t = 0; t < SCR_REPLY_MAX; t++)
			fprintf(out, " %s=%" PRIu64, scr_reply_name[t],
				s.replies[t] / o->loops);
		fprintf(out, " bans=%" PRIu64 "\n", s.reply_bans / o->loops);
	}
	fprintf(out, "engine stopped=%" PRIu64 " gaps=%" PRIu64 " reordered=%" PRIu64
		     " retransmitted_bytes=%" PRIu64 " no_flow=%" PRIu64
		     " scan_pool_empty=%" PRIu64 " no_server=%" PRIu64
		     " undecided=%" PRIu64 " contradicted=%" PRIu64 "\n",
		     s.stopped / o->loops, s.gaps / o->loops,
		     s.reorder_stashed / o->loops, s.dup_bytes / o->loops,
		     s.no_flow / o->loops, s.scan_pool_empty / o->loops,
		     s.no_server / o->loops, s.undecided / o->loops,
		     s.contradicted / o->loops);
	fprintf(out, "smuggling flows=%" PRIu64 " commands=%" PRIu64
		     " stopped=%" PRIu64 " lost=%" PRIu64 " bytes=%" PRIu64 "\n",
		     s.smuggling / o->loops, s.smuggling_cmds / o->loops,
		     s.smuggling_stopped / o->loops, s.smuggling_lost / o->loops,
		     s.smuggling_bytes / o->loops);
	if (o->s.pol.envelope)
		fprintf(out, "envelope helo=%" PRIu64 " ehlo=%" PRIu64 " mail=%" PRIu64
			     " rcpt=%" PRIu64 " rejected=%" PRIu64 " stopped=%" PRIu64
			     " unread=%" PRIu64 " nobuf=%" PRIu64 " lost=%" PRIu64 "\n",
			     s.envelope[SCR_ENV_HELO] / o->loops,
			     s.envelope[SCR_ENV_EHLO] / o->loops,
			     s.envelope[SCR_ENV_MAIL] / o->loops,
			     s.envelope[SCR_ENV_RCPT] / o->loops,
			     s.envelope_rejected / o->loops, s.envelope_stopped / o->loops,
			     s.envelope_unread / o->loops, s.envelope_nobuf / o->loops,
			     s.envelope_lost / o->loops);
	fprintf(out, "load evicted_half_open=%" PRIu64 " evicted_closing=%" PRIu64
		     " evicted_failed=%" PRIu64 " evicted_passed=%" PRIu64
		     " overload=%" PRIu64 " client_limit=%" PRIu64
		     " command_time=%" PRIu64 " command_count=%" PRIu64
		     " command_length=%" PRIu64 " stress_entered=%" PRIu64 "\n",
		     s.evicted[SCR_EVICT_HALF_OPEN] / o->loops,
		     s.evicted[SCR_EVICT_CLOSING] / o->loops,
		     s.evicted[SCR_EVICT_FAILED] / o->loops,
		     s.evicted[SCR_EVICT_PASSED] / o->loops, s.overload / o->loops,
		     s.client_limit / o->loops, s.command_time / o->loops,
		     s.ended[SCR_END_COMMAND_COUNT] / o->loops,
		     s.ended[SCR_END_COMMAND_LENGTH] / o->loops,
		     s.stress_enter / o->loops);
	fprintf(out, "rate seconds=%.6f pps=%.0f mpps=%.3f gbps=%.3f threads=%u loops=%u\n",
		     secs, pps, pps / 1e6,
		     secs > 0 ? (double)bytes * 8 / secs / 1e9 : 0.0,
		     o->threads, o->loops);
	fprintf(out, "memory flows=%u flow_bytes=%zu total_mib=%.1f\n",
		     w[0].flow_cap * o->threads, w[0].flow_bytes,
		     (double)w[0].flow_bytes * w[0].flow_cap * o->threads / 1048576.0);
}

/* dp_replay_main - `smtpscreen replay` */
int dp_replay_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"verdicts", required_argument, NULL, 'V'},
		{"labels", required_argument, NULL, 'L'},
		{"log", required_argument, NULL, 'l'},
		{"threads", required_argument, NULL, 't'},
		{"loop", required_argument, NULL, 'n'},
		{"hash-key", required_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct rp_opts o = {.threads = 1, .loops = 1};
	struct rp_worker *w = NULL;
	struct timespec t0, t1;
	FILE *sum = stdout;
	uint8_t key[16];
	bool fixed_key = false;
	int c, status = 2, stdin_files = 0;
	uint64_t frames = 0, bytes = 0;
	unsigned t, nw = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.conf_path = optarg; break;
		case 'V': o.verdicts = optarg; break;
		case 'L': o.labels = optarg; break;
		case 'l': o.log = optarg; break;
		case 't':
			if (parse_count("--threads", optarg, MAX_THREADS, &o.threads))
				return 2;
			break;
		case 'n':
			if (parse_count("--loop", optarg, 1000000, &o.loops))
				return 2;
			o.in_memory = true;
			break;
		case 'K':
			if (scr_hash_key_parse(optarg, key) != 0) {
				fprintf(stderr, "smtpscreen replay: --hash-key: bad "
					"value \"%s\" (32 hex digits)\n", optarg);
				return 2;
			}
			fixed_key = true;
			break;
		case 'h': usage(stdout); return 0;
		default: return usage(stderr);
		}
	}
	if (optind >= argc)
		return usage(stderr);
	for (c = optind; c < argc; c++)
		stdin_files += strcmp(argv[c], "-") == 0;
	if (stdin_files > 1) {
		fprintf(stderr, "smtpscreen replay: standard input (-) given "
			"%d times\n", stdin_files);
		return 2;
	}
	if (o.verdicts && o.log && strcmp(o.verdicts, "-") == 0 &&
	    strcmp(o.log, "-") == 0) {
		fprintf(stderr, "smtpscreen replay: --verdicts - and --log - "
			"cannot both be standard output\n");
		return 2;
	}
	if ((o.verdicts && strcmp(o.verdicts, "-") == 0) ||
	    (o.log && strcmp(o.log, "-") == 0))
		sum = stderr;
	/* before any table exists: every hash of this run uses it */
	if (fixed_key)
		scr_hash_set_key(key);
	{
		char hex[33];

		scr_hash_get_key(key);
		for (t = 0; t < 16; t++)
			snprintf(hex + 2 * t, 3, "%02x", key[t]);
		ctl_msg_debug("hash key %s (%s)", hex,
			      fixed_key ? "--hash-key" : "random");
	}
	if (setup(&o) != 0)
		return 2;
	if (o.labels && (o.lab = lab_load(o.labels)) == NULL)
		goto out;
	if ((o.verdicts && out_open(&o.vout, o.verdicts) != 0) ||
	    (o.log && out_open(&o.lout, o.log) != 0) ||
	    out_clash(&o, argv + optind, (unsigned)(argc - optind)) != 0)
		goto out;
	w = calloc(o.threads, sizeof(*w));
	if (w == NULL)
		die_oom();
	for (nw = 0; nw < o.threads; nw++)
		if (worker_init(&o, &w[nw], nw) != 0) {
			nw++;
			goto out;
		}
	{
		char mem[160];

		ctl_setup_memory(mem, sizeof(mem), w[0].flow_cap,
				 w[0].flow_bytes, o.threads);
		fprintf(stderr, "smtpscreen replay: %s\n", mem);
	}
	if (o.verdicts)
		out_write(&o.vout, CTL_LOG_VERDICT_HEADER,
			  strlen(CTL_LOG_VERDICT_HEADER));
	catch_signals();
	src_open(&o.src, argv + optind, (unsigned)(argc - optind));
	if (o.in_memory) {
		load_all(&o);
		if (o.threads > 1 && split(&o, w) != 0) {
			fprintf(stderr, "smtpscreen replay: cannot split %zu "
				"packets\n", o.in.npkt);
			goto out;
		}
	}
	o.progress = isatty(STDERR_FILENO) == 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o.t_start = t0;
	if (o.in_memory && o.threads == 1)
		mem_worker(&w[0]);
	else if (o.threads == 1)
		stream_one(&o, &w[0]);
	else if (run_threads(&o, w, o.in_memory ? mem_worker : stream_worker))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	progress_end(&o);
	status = o.src.errors ? 1 : 0;
	for (t = 0; t < o.threads; t++) {
		scr_engine_stats(w[t].eng, &w[t].st);
		frames += w[t].st.frames;
		bytes += w[t].st.bytes;
	}
	if (o.src.cut > 0)
		fprintf(stderr, "smtpscreen replay: %" PRIu64 " of %" PRIu64
			" packets were cut short by the capture's snapshot "
			"length: the tests miss their bytes, and a flow with a "
			"cut segment ends as unknown (capture with tcpdump -s 0)\n",
			o.src.cut, o.src.seq);
	if (rp_signal) {
		const char *sig = rp_signal == SIGINT ? "SIGINT" : "SIGTERM";

		if (o.in_memory) {
			loop_cut(&o, w);
			fprintf(stderr, "smtpscreen replay: interrupted (%s): the "
				"summary covers %u whole passes over %" PRIu64
				" packets\n", sig, o.loops, o.src.seq);
		} else {
			fprintf(stderr, "smtpscreen replay: interrupted (%s) after "
				"%" PRIu64 " packets: the verdicts, log and summary "
				"cover those\n", sig, o.src.seq);
		}
		status = 128 + rp_signal;
	}
	print_summary(sum, &o, w, (double)ns_between(&t0, &t1) / 1e9, frames,
		      bytes);
	if (o.lab != NULL) {
		if (o.lab->bad)
			status = 1;
		lab_report(o.lab, sum);
		o.lab = NULL;
	}
out:
	for (t = 0; t < nw; t++)
		worker_fini(&w[t]);
	if (out_close(&o.vout) != 0 && status == 0)
		status = 1;
	if (out_close(&o.lout) != 0 && status == 0)
		status = 1;
	if (fflush(sum) != 0 && status == 0)
		status = 1;
	free(w);
	if (o.lab != NULL) {
		free(o.lab->tab);
		free(o.lab);
	}
	src_close(&o.src);
	ctl_setup_fini(&o.s);
	scr_mem_free(o.in.pkt, o.in.pkt_cap * sizeof(*o.in.pkt));
	scr_mem_free(o.in.data, o.in.data_cap);
	return status;
}
