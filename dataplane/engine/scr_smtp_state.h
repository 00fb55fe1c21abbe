/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_smtp_state - compact per-flow SMTP state (lives in the flow entry)
 * DESCRIPTION
 *	The fields of struct scr_smtp are private to scr_smtp.c; they are in
 *	a header only so that the flow table can embed the struct. There is
 *	no line buffer: client command words, HELO names and server reply
 *	codes are parsed one byte at a time, so a line may be split across
 *	any number of segments. The Hyperscan stream is taken from the
 *	worker's pool only while a client line is split across segments
 *	(see scr_smtp.c), so most flows hold none.
 * CONTRACT
 *	sizeof(struct scr_smtp) <= 40 (DESIGN: 192 B per flow in total).
 *	Initialise with scr_smtp_init() only.
 * THREADING
 *	One worker.
 */
#ifndef SCR_SMTP_STATE_H
#define SCR_SMTP_STATE_H

#include <stdint.h>

struct scr_scan_stream;

struct scr_smtp {
	struct scr_scan_stream *ss;	/* scanner stream of the current client
					 * line, NULL between lines */
	uint32_t flags;		/* SCR_SMTP_F_* (scr_smtp.c) */
	uint32_t cand;		/* command word: known verbs still matching */
	uint16_t outq;		/* client lines awaiting a final reply (sat.) */
	uint16_t cmds;		/* commands seen (saturating) */
	uint16_t cli_len;	/* bytes in the current client line (sat.) */
	uint16_t srv_code;	/* reply code of the current server line */
	uint16_t h_flags;	/* HELO name check: SCR_SMTP_H_* */
	uint16_t h_num;		/* HELO name: value of the current octet */
	uint8_t todo;		/* SCR_TEST bits to run */
	uint8_t failed;		/* SCR_TEST bits failed (sticky) */
	uint8_t last_cmd;	/* verb of the last client command */
	uint8_t cli_st;		/* client line state */
	uint8_t wlen;		/* command word length (saturating) */
	uint8_t hits;		/* SCR_SCAN_* flags seen in the current line */
	uint8_t srv_pos;	/* position in the server line (saturating) */
	uint8_t srv_kw;		/* EHLO keyword match position, 0xff: none */
	uint8_t h_label;	/* HELO name: length of the current label */
	uint8_t h_total;	/* HELO name: length (saturating at 255) */
	uint8_t h_parts;	/* HELO name: labels / octets / groups */
	uint8_t wpos;		/* where the command word began in its line
				 * (saturating) */
};

_Static_assert(sizeof(struct scr_smtp) <= 40,
	       "struct scr_smtp must stay within its 40-byte flow budget");

#endif
