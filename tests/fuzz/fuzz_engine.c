/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_engine - libFuzzer target: decode + flow + TCP ordering + SMTP
 * DESCRIPTION
 *	Byte 0 picks the mode. Even: the rest is a list of raw frames
 *	(2-byte length, link type byte, bytes) given to the engine as they
 *	are: the decoder's bounds. Odd: the rest is a script of segments of
 *	one TCP session (header byte: direction, flags, sequence jitter;
 *	1-byte length; payload), turned into well-formed frames with
 *	consistent sequence numbers so the input reaches the SMTP machine,
 *	the reorder pool and every verdict path. Every test is enabled.
 *	Load paths: bit 0x40 of byte 0 sets the front end's pressure (stress
 *	mode); in script mode bit 0x80 first fills the flow table with
 *	1000 + 2 x byte 1 half-open flows from distinct clients, so stress
 *	marks, eviction and the overload policy run under the session; the
 *	per-client limit (2) and a short command time limit (3 s) apply.
 *	Bit 0x20 of byte 0 sets replay's ack_confirm (failures wait for the
 *	server's ACK; the script's jitter makes contradicting copies).
 *	Bit 0x02 of byte 0 picks the engine: clear, the one every mode
 *	builds for this main.cf (scr_scan_create_needed: its patterns need
 *	no Hyperscan, the SMTP machine matches them itself); set, one whose
 *	patterns add examples/signatures' three, which only Hyperscan
 *	matches, so every undecided flow scans a stream (opened, fed across
 *	segments, closed; the pool runs dry under the crowd).
 *	Bit 0x04 of byte 0 turns on reply bans and envelope checks, answered
 *	from inside the event as replay answers them: every second server
 *	reply the engine reports bans its client (scr_engine_reply_ban); a
 *	MAIL FROM or RCPT TO argument whose first byte is odd is rejected
 *	(scr_engine_envelope; drop when that byte's bit 1 is set, else
 *	enforce); with it, client frames may wait for the answers
 *	(SCR_FRAME_WAIT_OK) and a flow notes its DNSBL answer pending (host
 *	mode's dnsbl_wait).
 *	In script mode a segment header of 0xff is not a segment: its
 *	length byte is a control-plane message for the session's flow,
 *	applied between bursts as ctl_live_worker_apply applies them: low 3
 *	bits 0-2 a DNSBL answer (FAIL with the score in the top 5 bits,
 *	ALLOW, NEUTRAL), 3 PASS OLD, 4 an envelope answer, 5 the envelope
 *	wait over, 6 an envelope reject (drop with bit 3, else enforce), 7
 *	an expiry sweep (scr_engine_expire).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_conf.h"
#include "scr_engine.h"
#include "scr_hash.h"

static struct scr_policy pol;
static struct scr_scan_db *db[2];	/* words only, with signatures */
static struct scr_engine *engs[2];
static struct scr_engine *eng;		/* this input's */
static unsigned replies;		/* this input's reply events */
static uint64_t events;

/* the scripted session's client and server (198.18.0.10, 198.19.255.1) */
#define CLIENT_IP 0xc612000au
#define SERVER_IP 0xc613ff01u

static const char conf[] =
	"myhostname = mx.example.test\n"
	"compatibility_level = 3.6\n"	/* smtputf8_enable = yes */
	"postscreen_greet_action = enforce\n"
	"postscreen_pipelining_enable = yes\n"
	"postscreen_non_smtp_command_enable = yes\n"
	"postscreen_bare_newline_enable = yes\n"
	"postscreen_bare_newline_action = drop\n"
	"smtpscreen_helo_enable = yes\n"
	"postscreen_helo_required = yes\n"
	"smtpscreen_flow_table_size = 1024\n"
	"postscreen_client_connection_count_limit = 2\n"
	"postscreen_command_time_limit = ${stress?{1}:{3}}s\n";

/* examples/signatures and one forbidden-command expression: patterns that
 * need Hyperscan */
static const struct scr_scan_pattern sigs[] = {
	{"bare_ip_helo", "^(HELO|EHLO) [0-9]{1,3}(\\.[0-9]{1,3}){3}$", 1,
	 SCR_PAT_LINE, SCR_TEST_HELO, "fuzz:1"},
	{"windows_pc_helo", "^(HELO|EHLO) WIN-[A-Z0-9]{11}$", 1,
	 SCR_PAT_LINE, SCR_TEST_HELO, "fuzz:2"},
	{"proxy_probe", "^CONNECT [^ ]+:25 HTTP\\/1\\.[01]$", 1,
	 SCR_PAT_LINE, SCR_TEST_NON_SMTP, "fuzz:3"},
	/* a forbidden-command expression: Hyperscan on the command word */
	{"numbered", "^X-[0-9]+$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "fuzz:4"},
};
#define NSIGS (sizeof(sigs) / sizeof(sigs[0]))

/* on_client - every client is new */
static void on_client(void *arg, const struct scr_flow_key *k, uint64_t now,
		      struct scr_client_info *out)
{
	(void)arg; (void)now;
	memset(out, 0, sizeof(*out));
	out->cls = (k->client_port & 7) == 7 ? SCR_CLIENT_REJECT : SCR_CLIENT_NEW;
	out->todo = 0xff;
}

/* on_event - check the event is well-formed */
static void on_event(void *arg, const struct scr_event *ev)
{
	(void)arg;
	if (ev->type >= SCR_EV_MAX || ev->text_len > SCR_EV_TEXT_MAX ||
	    ev->verdict >= SCR_V_MAX)
		abort();
	if (memchr(ev->after, '\0', sizeof(ev->after)) == NULL)
		abort();
	events++;
	if (ev->type == SCR_EV_REPLY && (++replies & 1) == 0)
		(void)scr_engine_reply_ban(eng, &ev->key, replies, ev->ts_ns);
	if (ev->type == SCR_EV_ENVELOPE) {
		if (ev->arg_len >= SCR_ENV_ARG_MAX || strlen(ev->arg) != ev->arg_len)
			abort();
		if (ev->arg_len > 0 && (ev->arg[0] & 1))
			(void)scr_engine_envelope(eng, &ev->key, (ev->arg[0] & 2) ?
						  SCR_ACT_DROP : SCR_ACT_ENFORCE,
						  ev->ts_ns);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct scr_engine_hooks h = {.client = on_client, .event = on_event};
	struct scr_scan_pattern *pats, *all;
	size_t n;
	char err[256];
	struct ctl_conf *c;

	(void)argc; (void)argv;
	/* a fixed hash key: a crash that depends on the table's chains
	 * replays from its input alone */
	scr_hash_set_key((const uint8_t *)"smtpscreen-fuzz!");
	c = ctl_conf_parse(conf, sizeof(conf) - 1, "fuzz.cf", err, sizeof(err));
	if (c == NULL || ctl_conf_policy(c, &pol, err, sizeof(err)) ||
	    ctl_conf_patterns(c, &pats, &n, err, sizeof(err)))
		abort();
	pol.envelope = true;	/* the engines keep envelope state (bit 0x04) */
	db[0] = scr_scan_create_needed(pats, n, err, sizeof(err));
	all = calloc(n + NSIGS, sizeof(*all));
	if (all == NULL)
		abort();
	memcpy(all, pats, n * sizeof(*all));
	memcpy(all + n, sigs, sizeof(sigs));
	db[1] = scr_scan_create(all, n + NSIGS, err, sizeof(err));
	free(all);
	ctl_conf_patterns_free(pats, n);
	ctl_conf_destroy(c);
	/* the two paths this target is for: no streams, streams */
	if (db[0] == NULL || db[1] == NULL || scr_scan_stream_size(db[0]) != 0 ||
	    scr_scan_stream_size(db[1]) == 0)
		abort();
	for (unsigned k = 0; k < 2; k++) {
		engs[k] = scr_engine_create(&pol, db[k], &h);
		if (engs[k] == NULL)
			abort();
	}
	return 0;
}

/* put16/put32 - big-endian stores */
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* frame - Ethernet/IPv4/TCP frame of one scripted segment */
static uint32_t frame(uint8_t *b, int from_client, uint8_t flags, uint32_t seq,
		      uint32_t ack, uint16_t cport, const uint8_t *p, uint32_t n)
{
	memset(b, 0, 54);
	b[12] = 0x08;
	b[14] = 0x45;
	put16(b + 16, 40 + n);
	b[22] = 64;
	b[23] = 6;
	put32(b + 26, from_client ? CLIENT_IP : SERVER_IP);
	put32(b + 30, from_client ? SERVER_IP : CLIENT_IP);
	put16(b + 34, from_client ? cport : 25);
	put16(b + 36, from_client ? 25 : cport);
	put32(b + 38, seq);
	put32(b + 42, ack);
	b[46] = 0x50;
	b[47] = flags;
	if (n)
		memcpy(b + 54, p, n);
	return 54 + n;
}

/* crowd - 1000 + 2k SYNs from distinct clients 198.18.4.0/22.. */
static void crowd(unsigned k, uint64_t *ts, uint64_t *pkt)
{
	static uint8_t frames[SCR_BURST][64];
	struct scr_frame fr[SCR_BURST];
	unsigned i, n = 1000 + 2 * k, m = 0;

	for (i = 0; i < n; i++) {
		uint8_t *b = frames[m];

		frame(b, 1, 0x02, 77 * i, 0, (uint16_t)(2000 + i), NULL, 0);
		put32(b + 26, 0xc6120400u + i);	/* 198.18.4.0 + i */
		fr[m] = (struct scr_frame){.data = b, .caplen = 54, .wirelen = 54,
			.ts_ns = *ts += 100000, .pkt_no = ++*pkt,
			.link = SCR_LINK_ETH};
		if (++m == SCR_BURST) {
			scr_engine_burst(eng, fr, m);
			m = 0;
		}
	}
	if (m)
		scr_engine_burst(eng, fr, m);
}

/* v4_mapped - ip as the engine keeps an IPv4 address (::ffff:a.b.c.d) */
static void v4_mapped(struct scr_addr *a, uint32_t ip)
{
	memset(a->b, 0, 10);
	a->b[10] = a->b[11] = 0xff;
	put32(a->b + 12, ip);
}

/* control - one control-plane message a for the scripted session */
static void control(uint8_t a, uint16_t cport, uint64_t ts)
{
	struct scr_flow_key k = {.client_port = cport, .server_port = 25, .family = 4};

	v4_mapped(&k.client, CLIENT_IP);
	v4_mapped(&k.server, SERVER_IP);
	switch (a & 7) {
	case 0:
		(void)scr_engine_dnsbl(eng, &k, a >> 3, SCR_DNSBL_FAIL, ts);
		break;
	case 1:
		(void)scr_engine_dnsbl(eng, &k, 0, SCR_DNSBL_ALLOW, ts);
		break;
	case 2:
		(void)scr_engine_dnsbl(eng, &k, 0, SCR_DNSBL_NEUTRAL, ts);
		break;
	case 3:
		(void)scr_engine_pass_old(eng, &k, ts);
		break;
	case 4:
		(void)scr_engine_envelope_answer(eng, &k);
		break;
	case 5:
		(void)scr_engine_envelope_done(eng, &k);
		break;
	case 6:
		(void)scr_engine_envelope(eng, &k, (a & 8) ? SCR_ACT_DROP :
					  SCR_ACT_ENFORCE, ts);
		break;
	default:
		scr_engine_expire(eng, ts);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[2048];
	struct scr_frame fr[SCR_BURST];
	uint64_t ts = 1000000000ull, pkt = 0;
	unsigned nf = 0;
	size_t off = 1;

	if (size < 1)
		return 0;
	eng = engs[(data[0] & 0x02) != 0];
	replies = 0;
	pol.reply_ban = pol.envelope = pol.dnsbl_wait = (data[0] & 0x04) != 0;
	scr_engine_reset(eng);
	pol.ack_confirm = (data[0] & 0x20) != 0;	/* the engine reads pol */
	scr_engine_set_pressure(eng, (data[0] & 0x40) != 0, ts);
	if ((data[0] & 1) == 0) {
		/* raw frames, one per burst (they point into data) */
		while (off + 3 <= size) {
			uint32_t len = (uint32_t)data[off] << 8 | data[off + 1];
			uint8_t link = data[off + 2] % SCR_LINK_MAX;

			off += 3;
			if (len > size - off)
				len = (uint32_t)(size - off);
			fr[0] = (struct scr_frame){.data = data + off, .caplen = len,
				.wirelen = len, .ts_ns = ts += 1000000, .pkt_no = ++pkt,
				.link = link};
			scr_engine_burst(eng, fr, 1);
			off += len;
		}
	} else {
		uint32_t seq[2] = {1000, 5000};
		uint16_t cport = (uint16_t)(1024 + data[0]);
		static uint8_t frames[SCR_BURST][2048];

		if ((data[0] & 0x80) && size > 1)
			crowd(data[1], &ts, &pkt);
		/* handshake */
		frame(frames[0], 1, 0x02, seq[0]++, 0, cport, NULL, 0);
		frame(frames[1], 0, 0x12, seq[1]++, seq[0], cport, NULL, 0);
		for (nf = 0; nf < 2; nf++)
			fr[nf] = (struct scr_frame){.data = frames[nf], .caplen = 54,
				.wirelen = 54, .ts_ns = ts += 1000000, .pkt_no = ++pkt};
		while (off + 2 <= size) {
			uint8_t h = data[off];
			uint32_t n = data[off + 1], d = h & 1, jitter = (h >> 4) & 3;
			uint8_t flags = 0x18 | ((h & 2) ? 0x01 : 0) |
					((h & 0x0c) == 0x0c ? 0x04 : 0);

			off += 2;
			if (h == 0xff) {	/* a control message, between bursts */
				if (nf)
					scr_engine_burst(eng, fr, nf);
				nf = 0;
				control((uint8_t)n, cport, ts);
				continue;
			}
			if (n > size - off)
				n = (uint32_t)(size - off);
			if (nf == SCR_BURST) {
				scr_engine_burst(eng, fr, nf);
				nf = 0;
			}
			fr[nf].caplen = frame(frames[nf], d == 0, flags,
					      seq[d] + jitter * 7 - (jitter == 3 ? 30 : 0),
					      seq[!d], cport, data + off, n);
			fr[nf].data = frames[nf];
			fr[nf].wirelen = fr[nf].caplen;
			fr[nf].ts_ns = ts += (uint64_t)(h >> 6) * 700000000ull;
			fr[nf].pkt_no = ++pkt;
			fr[nf].link = SCR_LINK_ETH;
			/* greeting hold and protected-side flags, as a live
			 * front end sets them (RELEASED out of turn included) */
			fr[nf].flags = (uint8_t)(((h & 0x40) ? SCR_FRAME_HOLD_OK : 0) |
				((h & 0x0c) == 0x04 ? SCR_FRAME_RELEASED : 0) |
				((h & 0x0c) == 0x08 && !d ? SCR_FRAME_INSIDE : 0) |
				(pol.envelope && !d ? SCR_FRAME_WAIT_OK : 0));
			nf++;
			if (jitter == 0)
				seq[d] += n;
			off += n;
		}
		if (nf)
			scr_engine_burst(eng, fr, nf);
	}
	(void)buf;
	scr_engine_flush(eng, ts);
	return 0;
}
