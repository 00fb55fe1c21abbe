/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_types - types shared by the engine, the front ends and ctrl
 * DESCRIPTION
 *	Addresses, flow keys, the tests a client goes through, actions,
 *	verdicts, the policy the engine applies (built by ctrl from main.cf)
 *	and the events the engine emits (ctrl logs them in postscreen's
 *	format). No behaviour lives here; the name tables are in scr_verdict.c.
 * CONTRACT
 *	Plain data. struct scr_event is filled by the engine and only valid
 *	during the event callback.
 * THREADING
 *	Any thread.
 */
#ifndef SCR_TYPES_H
#define SCR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 address. IPv4 is stored as ::ffff:a.b.c.d (v4-mapped),
 * network byte order, so one compare covers both families. */
struct scr_addr {
	uint8_t b[16];
};

/* One SMTP connection, oriented client -> server. Ports in host order. */
struct scr_flow_key {
	struct scr_addr client;
	struct scr_addr server;
	uint16_t client_port;
	uint16_t server_port;
	uint8_t family;		/* 4 or 6 */
	uint8_t _pad[3];
};

/* The tests, in the order of the verdict CSV's reason names. */
enum scr_test {
	SCR_TEST_PREGREET = 0,
	SCR_TEST_BARE_NEWLINE,
	SCR_TEST_PIPELINING,
	SCR_TEST_NON_SMTP,
	SCR_TEST_HELO,
	SCR_TEST_ACCESS,	/* access list reject */
	SCR_TEST_DNSBL,
	SCR_TEST_REPLY_BAN,	/* bans from the server's own replies (ctrl
				 * counts SCR_EV_REPLY; never a cached pass) */
	SCR_TEST_MAX
};
#define SCR_TEST_BIT(t)	(1u << (t))
/* A reason in the verdict's reasons that is not a cached test: end-of-data
 * sequences in DATA/BDAT (scr_smug; CSV name "smuggling"). It is judged
 * per message, never remembered as passed. */
#define SCR_REASON_SMUGGLING	0x100u
_Static_assert(SCR_TEST_MAX <= 8, "SCR_REASON_SMUGGLING takes reason bit 8");
/* A reason that is not a cached test either: an envelope restriction
 * (smtpscreen_{helo,sender,recipient}_restrictions) rejected the client's
 * HELO, sender or recipient (ctrl decides; CSV name "envelope"). */
#define SCR_REASON_ENVELOPE 0x200u
/* Not a failure, a note in the VERDICT event (CSV name "command_limit"):
 * postscreen_command_count_limit or line_length_limit ended the session
 * (postscreen: COMMAND COUNT/LENGTH LIMIT, 421). The verdict is what the
 * tests the client had time for say; never in a flow's own reasons. */
#define SCR_REASON_COMMAND_LIMIT 0x400u
/* A set of reasons: SCR_TEST bits and the SCR_REASON_* bits above. */
typedef uint16_t scr_reasons;
/* Tests the SMTP machine runs on the byte streams. */
#define SCR_TESTS_STREAM (SCR_TEST_BIT(SCR_TEST_PREGREET) | \
	SCR_TEST_BIT(SCR_TEST_BARE_NEWLINE) | SCR_TEST_BIT(SCR_TEST_PIPELINING) | \
	SCR_TEST_BIT(SCR_TEST_NON_SMTP) | SCR_TEST_BIT(SCR_TEST_HELO))

enum scr_action {
	SCR_ACT_IGNORE = 0,	/* log and count only */
	SCR_ACT_ENFORCE,	/* let the other tests finish, stop before mail */
	SCR_ACT_DROP,		/* stop the session now */
	SCR_ACT_MAX
};

enum scr_verdict {
	SCR_V_UNKNOWN = 0,
	SCR_V_PASS,
	SCR_V_FAIL,
	SCR_V_ALLOWLISTED,
	SCR_V_BLOCKLISTED,
	SCR_V_MAX
};

/* Server replies the engine reports (SCR_EV_REPLY) for reply bans: the
 * final line of a reply (code then space) that starts with
 *   AUTH     535               (authentication failed)
 *   HARVEST  550 5.1.1         (unknown recipient: directory harvest)
 *   RELAY    554 5.7.1         (relay access denied, policy rejection)
 *   HELO     5xx, when the client's last segment began with HELO or EHLO */
enum scr_reply_kind {
	SCR_REPLY_AUTH = 0,
	SCR_REPLY_HARVEST,
	SCR_REPLY_RELAY,
	SCR_REPLY_HELO,
	SCR_REPLY_MAX
};

/* scr_addr_is_v4 - a v4-mapped address */
static inline bool scr_addr_is_v4(const struct scr_addr *a)
{
	static const uint8_t v4p[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return __builtin_memcmp(a->b, v4p, sizeof(v4p)) == 0;
}

/* scr_addr_client_key - the address a client is counted, cached and
 * blocked under: IPv4 whole, IPv6 cut to its first v6_plen bits
 * (smtpscreen_client_ipv6_prefix_length) */
static inline struct scr_addr scr_addr_client_key(const struct scr_addr *a,
						  unsigned v6_plen)
{
	struct scr_addr k = *a;
	unsigned i;

	if (v6_plen >= 128 || scr_addr_is_v4(a))
		return k;
	for (i = v6_plen / 8; i < 16; i++)
		k.b[i] = 0;
	if (v6_plen % 8)
		k.b[v6_plen / 8] = (uint8_t)(a->b[v6_plen / 8] &
					     (0xff00u >> (v6_plen % 8)));
	return k;
}

/* The commands whose arguments envelope checks read (SCR_EV_ENVELOPE). */
enum scr_env_cmd {
	SCR_ENV_HELO = 0,
	SCR_ENV_EHLO,
	SCR_ENV_MAIL,		/* MAIL FROM: the sender ("" the null sender) */
	SCR_ENV_RCPT,		/* RCPT TO: a recipient */
	SCR_ENV_MAX
};
#define SCR_ENV_ARG_MAX 256	/* longest argument reported, NUL included
				 * (RFC 5321: a path is at most 256 octets
				 * with its brackets) */

/* What ctrl knows about a client when its flow starts (scr_engine hooks). */
enum scr_client_class {
	SCR_CLIENT_NEW = 0,	/* run the tests in 'todo' */
	SCR_CLIENT_PERMIT,	/* access list permit: WHITELISTED, fast path */
	SCR_CLIENT_REJECT,	/* access list reject: denylist action */
	SCR_CLIENT_BLOCKED,	/* temporary block from an earlier failure */
};

struct scr_client_info {
	enum scr_client_class cls;
	uint8_t todo;		/* SCR_TEST bits still to run (NEW) */
	scr_reasons reasons;	/* BLOCKED: the tests that failed before */
	uint8_t pass_old;	/* NEW with todo == 0: cache hit, PASS OLD */
};

/* The policy the engine applies; ctrl fills it from main.cf. */
struct scr_policy {
	uint8_t enabled;			/* SCR_TEST bits */
	uint8_t action[SCR_TEST_MAX];		/* enum scr_action */
	uint32_t ttl_s[SCR_TEST_MAX];		/* pass lifetime per test */
	uint32_t block_ttl_s;			/* smtpscreen_block_ttl */
	uint64_t greet_wait_ns;			/* postscreen_greet_wait */
	bool helo_required;			/* postscreen_helo_required */
	bool smtputf8;				/* smtputf8_enable: a command word
						 * that is not UTF-8 is non-SMTP */
	uint32_t command_count_limit;		/* postscreen_command_count_limit */
	uint32_t line_length_limit;		/* line_length_limit */
	bool smuggling_enable;			/* smtpscreen_smuggling_enable */
	uint8_t smuggling_action;		/* smtpscreen_smuggling_action */
	uint32_t smuggling_ttl_s;		/* smtpscreen_smuggling_ttl: block
						 * after a stop; 0 = none */
	/* flow table */
	uint32_t flow_table_size;		/* smtpscreen_flow_table_size */
	uint64_t syn_timeout_ns;		/* smtpscreen_tcp_syn_timeout */
	uint64_t idle_timeout_ns;		/* smtpscreen_tcp_idle_timeout */
	uint64_t close_timeout_ns;		/* smtpscreen_tcp_close_timeout */
	uint64_t syn_timeout_stress_ns;		/* their ${stress?...} values */
	uint64_t idle_timeout_stress_ns;
	uint64_t command_time_ns;		/* postscreen_command_time_limit */
	uint64_t command_time_stress_ns;
	uint32_t client_flow_limit;		/* postscreen_client_connection_
						 * count_limit; 0 = none */
	bool overload_drop;			/* smtpscreen_overload_policy = drop */
	uint32_t reorder_window;		/* bytes; smtpscreen_reorder_window */
	bool ack_confirm;			/* a failure waits for the server's
						 * ACK of its bytes (replay of a
						 * tap: a copy the server never got
						 * is not judged) */
	uint16_t ports[8];			/* smtpscreen_ports, host order */
	uint8_t nports;
	bool reply_ban;				/* smtpscreen_reply_ban_enable:
						 * report SCR_EV_REPLY */
	uint8_t client_v6_plen;			/* smtpscreen_client_ipv6_
						 * prefix_length (0: 128) */
	bool envelope;				/* a smtpscreen_*_restrictions list
						 * is set: report SCR_EV_ENVELOPE */
	uint8_t envelope_action;		/* smtpscreen_envelope_action */
	uint32_t envelope_ttl_s;		/* smtpscreen_envelope_ttl: block
						 * after a drop; 0 = none */
	uint64_t envelope_wait_ns;		/* how long a live front end keeps
						 * frames for an envelope answer:
						 * smtpscreen_envelope_timeout +
						 * 0.5 s */
	bool dnsbl_wait;			/* host mode: a flow notes its
						 * client's DNSBL answer as pending
						 * (scr_engine_dnsbl_pending), and a
						 * listing after the verdict amends
						 * it */
};

enum scr_event_type {
	SCR_EV_CONNECT = 0,	/* first SYN of a new client flow */
	SCR_EV_LISTED,		/* access list decided (PERMIT/REJECT) */
	SCR_EV_FAIL,		/* a test failed: test, detail */
	SCR_EV_VERDICT,		/* final verdict of the flow */
	SCR_EV_END,		/* flow left the table (FIN/RST, timeout, eviction) */
	SCR_EV_TOO_MANY,	/* a SYN over the per-client flow limit (count) */
	SCR_EV_STRESS,		/* stress mode entered (stress) or left; count =
				 * flows in the table (key, pkt_no: none) */
	SCR_EV_REPLY,		/* the server gave the client a reply of kind
				 * 'reply' (reply bans; not logged) */
	SCR_EV_BAN,		/* made by ctrl, not the engine: the client's
				 * replies of kind 'reply' crossed their limit
				 * (count in window_s): banned for ttl_s, under
				 * prefix plen, with 'action' */
	SCR_EV_SMUGGLING,	/* an end-of-data sequence in DATA/BDAT: action,
				 * count = 1 when commands follow it, after =
				 * "DATA" or "BDAT", text = the bytes from it */
	SCR_EV_ENVELOPE,	/* a client command envelope checks read: env
				 * (enum scr_env_cmd), arg (NUL-terminated raw
				 * client bytes, arg_len of them), after = the
				 * verb; ctrl answers scr_engine_envelope() */
	SCR_EV_MAX
};

enum scr_end_reason {
	SCR_END_CLOSE = 0,	/* FIN or RST */
	SCR_END_TIMEOUT,
	SCR_END_EVICTED,
	SCR_END_FLUSH,		/* end of input */
	SCR_END_COMMAND_TIME,	/* no whole client line within
				 * postscreen_command_time_limit */
	SCR_END_COMMAND_COUNT,	/* more than postscreen_command_count_limit
				 * commands during the tests: stopped */
	SCR_END_COMMAND_LENGTH,	/* a command line longer than
				 * line_length_limit during the tests: stopped */
	SCR_END_MAX
};

#define SCR_EV_TEXT_MAX 100	/* postscreen logs %.100s */
#define SCR_EV_AFTER_MAX 32

struct scr_event {
	enum scr_event_type type;
	struct scr_flow_key key;
	uint64_t ts_ns;		/* time of the packet that caused it */
	uint64_t pkt_no;	/* 1-based number of that packet in the input */
	uint64_t elapsed_ns;	/* since the flow's first packet */
	/* SCR_EV_LISTED */
	enum scr_client_class cls;
	/* SCR_EV_FAIL */
	enum scr_test test;
	enum scr_action action;
	uint32_t count;		/* PREGREET: bytes received early */
	char after[SCR_EV_AFTER_MAX];	/* previous command, or "CONNECT" */
	uint16_t text_len;		/* raw peer bytes, ctrl escapes */
	uint8_t text[SCR_EV_TEXT_MAX];
	/* SCR_EV_VERDICT */
	enum scr_verdict verdict;
	scr_reasons reasons;	/* SCR_TEST bits that failed */
	bool pass_old;		/* PASS OLD (cache) rather than PASS NEW */
	bool amend;		/* replaces the flow's earlier verdict (a failure
				 * found after it, in DATA: smuggling) */
	uint64_t stop_pkt;	/* packet at which enforce/drop stops it; 0 none */
	/* SCR_EV_END */
	enum scr_end_reason end;
	/* SCR_EV_STRESS */
	bool stress;
	/* SCR_EV_REPLY, SCR_EV_BAN (and count, action) */
	uint8_t reply;		/* enum scr_reply_kind */
	uint8_t plen;		/* BAN: prefix blocked (128: the address) */
	uint32_t window_s;
	uint32_t ttl_s;
	/* SCR_EV_ENVELOPE */
	uint8_t env;		/* enum scr_env_cmd */
	uint16_t arg_len;
	char arg[SCR_ENV_ARG_MAX];
};

/* scr_mix64 - full-avalanche 64-bit mix (every input bit reaches every
 * output bit). Not for tables a client's addresses and ports fill: those
 * take the keyed hash (scr_hash.h) */
static inline uint64_t scr_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* scr_upper - ASCII upper case (SMTP words and keywords: no locale) */
static inline uint8_t scr_upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

/* Name tables (scr_verdict.c). */
extern const char *const scr_test_name[SCR_TEST_MAX];	/* CSV reason names */
extern const char *const scr_action_name[SCR_ACT_MAX];
extern const char *const scr_verdict_name[SCR_V_MAX];
extern const char *const scr_reply_name[SCR_REPLY_MAX];	/* "auth", ... */

#endif
