/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_smug - SMTP smuggling guard: end-of-data sequences in DATA and BDAT
 * DESCRIPTION
 *	Follows one SMTP session just far enough to know where message
 *	content is: the client's DATA (content until the end-of-data line)
 *	and BDAT n (the next n bytes), the server's final reply codes (354,
 *	or a rejection of DATA; 220 to STARTTLS ends it: TLS follows). In
 *	the content it looks for a line holding a single dot that is bounded
 *	by a bare LF or a bare CR on either side (`\n.\n`, `\n.\r\n`,
 *	`\r.\r\n`, `\r\n.\n`, `\r\n.\r` then not LF, ...): an end-of-data a
 *	conforming client never sends, which a lenient server takes for the
 *	end of the message (CVE-2023-51764/51765/51766). Every line after
 *	such a sequence, up to the message's real end, is matched against
 *	`MAIL FROM:`, `RCPT TO:` and `DATA` (case-insensitive): a command
 *	there is the stronger evidence of a smuggled second message (lines
 *	before it, junk or RSET, only get an error or an answer from a lenient
 *	server). The first line after the sequence that is not one of them is
 *	reported (WEAK) once. BDAT content is counted, not dot-terminated, and
 *	may be binary: there a sequence counts only with a command on the line
 *	right after it (reported SEQ and STRONG together). A bare LF inside
 *	the content is not looked at. Content is searched for dots after a
 *	line break; only the bytes next to such a dot are read, and after a
 *	sequence the line starts. Segment boundaries are carried in the last
 *	four bytes and the line state (no reassembly). It knows no actions,
 *	addresses or time.
 * CONTRACT
 *	scr_smug_init(g): the session starts (command mode).
 *	scr_smug_feed(g, from_client, p, len, out): bytes of one direction,
 *	  in order, once. Returns SCR_SMUG_R_* bits; out (may be NULL) gets
 *	  the detail of a sequence found or judged in this feed.
 *	scr_smug_resume(g, from): take over a session another parser
 *	  followed up to here (scr_smtp_handoff fills from).
 *	scr_smug_off(g): stop following (TLS, a stream gap).
 *	scr_smug_active(g): still following.
 * THREADING
 *	One worker.
 */
#ifndef SCR_SMUG_H
#define SCR_SMUG_H

#include <stdbool.h>
#include <stdint.h>

struct scr_smug {
	uint32_t bdat_left;	/* BDAT: chunk bytes still to come */
	uint32_t num;		/* BDAT: size being parsed */
	uint16_t srv_code;	/* server: code of the current line */
	uint8_t st;		/* enum scr_smug_st (scr_smug.c) */
	uint8_t flags;		/* G_* (scr_smug.c) */
	uint8_t tail[4];	/* content: its last four bytes */
	uint8_t lpos;		/* client command line: bytes seen (sat.) */
	uint8_t verb;		/* ... its verb so far */
	uint8_t outq;		/* client lines awaiting a final reply (sat.) */
	uint8_t srv_pos;	/* server: position in its line (sat.) */
	uint8_t apos;		/* after a sequence: bytes of the next line matched */
	uint8_t acand;		/* ... words still matching */
	uint8_t rep;		/* the owner's: what it reported (SCR_SMUG_R_*) */
	uint8_t aline;		/* after a sequence: the line's state (L_*) */
};

_Static_assert(sizeof(struct scr_smug) == 24, "struct scr_smug: 24 bytes per flow");

/* Feed results. */
#define SCR_SMUG_R_SEQ		0x01u	/* a sequence was completed in this feed */
#define SCR_SMUG_R_STRONG	0x02u	/* a line after it is a command */
#define SCR_SMUG_R_WEAK		0x04u	/* the line after it is not a command */

#define SCR_SMUG_TEXT_MAX 100

struct scr_smug_detail {
	uint32_t off;		/* where the sequence (or, for STRONG/WEAK,
				 * the line after it) begins in this feed */
	bool bdat;		/* found in BDAT content (else DATA) */
};

/* Where a session stands when the guard takes it over. */
enum scr_smug_phase {
	SCR_SMUG_PH_OFF = 0,	/* nothing to follow (TLS, not SMTP) */
	SCR_SMUG_PH_CMD,	/* client command lines */
	SCR_SMUG_PH_DATA,	/* message content after a DATA line */
};

struct scr_smug_from {
	uint8_t phase;		/* enum scr_smug_phase */
	bool data_reply;	/* DATA: its reply is still to come */
	bool tls_reply;		/* CMD: STARTTLS's reply is still to come */
	bool mid_line;		/* CMD: the client is inside a line */
	bool srv_cont;		/* the server's line so far is "NNN-" */
	bool srv_bad;		/* ... is not a reply line */
	uint8_t srv_pos;	/* bytes of the server's current line (sat.) */
	uint16_t srv_code;	/* its code so far */
	uint16_t outq;		/* client lines awaiting a final reply */
	uint32_t off;		/* in the last client feed: where the guard goes
				 * on (UINT32_MAX: with the next feed) */
};

void scr_smug_init(struct scr_smug *g);
void scr_smug_resume(struct scr_smug *g, const struct scr_smug_from *from);
unsigned scr_smug_feed(struct scr_smug *g, bool from_client, const uint8_t *p,
		       uint32_t len, struct scr_smug_detail *out);
void scr_smug_off(struct scr_smug *g);
/* The content scan's vector width: the widest the CPU has (AUTO), or a
 * narrower one for tests; returns the one in use. Process-wide. */
enum { SCR_SMUG_SIMD_AUTO = -1, SCR_SMUG_SIMD_NONE, SCR_SMUG_SIMD_SSE2, SCR_SMUG_SIMD_AVX2,
       SCR_SMUG_SIMD_AVX512 };
int scr_smug_simd(int level);
bool scr_smug_active(const struct scr_smug *g);

#endif
