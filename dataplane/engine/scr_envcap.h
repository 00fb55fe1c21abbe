/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_envcap - the client's HELO/EHLO, MAIL FROM and RCPT TO arguments
 * DESCRIPTION
 *	Envelope checks (smtpscreen_*_restrictions) need what the client
 *	names: its HELO/EHLO hostname, the MAIL FROM sender and each RCPT TO
 *	recipient. This module follows the client's command lines of one
 *	session in order and reports each such command with its argument:
 *	  HELO/EHLO  the first word after the verb;
 *	  MAIL FROM: / RCPT TO:  the address inside <...> (white space after
 *	             the colon allowed, as Postfix allows it), or the word
 *	             when there are no brackets; "<>" is the null sender "";
 *	             a source route (@a,@b:user@dom) is dropped; parameters
 *	             after it (SIZE=, BODY=) are not part of it.
 *	A line whole in one segment is parsed where it is; a line split
 *	across segments is copied into one of a pool of line buffers, and
 *	only while its verb may still be one of those (nothing is copied for
 *	other lines). A line longer than SCR_ENVCAP_LINE, an argument longer
 *	than SCR_ENV_ARG_MAX, a malformed one (no closing '>', none at all)
 *	and a line that found the pool empty are not reported (counted by
 *	the caller): Postfix's smtpd answers those itself, and an envelope
 *	check never rejects what it did not read whole.
 *	After DATA, BDAT or STARTTLS the capture ends for the session: the
 *	message content is never read as commands, and TLS is not readable.
 * CONTRACT
 *	scr_envcap_pool_create(n): n line buffers; NULL + errno.
 *	scr_envcap_start(c, pool, seq): a new session whose next client byte
 *	  has sequence number seq (a buffer c held goes back to the pool).
 *	scr_envcap_feed(c, pool, seq, p, len, cb, arg): one client segment;
 *	  bytes before c's next sequence number are skipped (retransmission),
 *	  a segment after it ends the capture (a gap: SCR_ENVCAP_R_LOST).
 *	  cb(arg, cmd, arg, arg_len) for each command line completed; a
 *	  non-zero return from cb ends the capture. Returns SCR_ENVCAP_R_*
 *	  bits.
 *	scr_envcap_stop(c, pool): the session is over; its buffer is freed.
 *	scr_envcap_parse(line, len, &cmd, &arg, &arg_len): one command line
 *	  without its LF, read as smtpd reads it (up to a NUL); 1 for a
 *	  reported command (its argument holds no NUL), 2 for DATA, BDAT or
 *	  STARTTLS (the capture ends), 0 for other lines, -1 for a reported
 *	  verb with a malformed or over-long argument.
 * THREADING
 *	One worker.
 */
#ifndef SCR_ENVCAP_H
#define SCR_ENVCAP_H

#include <stdbool.h>
#include <stdint.h>

#include "scr_types.h"

#define SCR_ENVCAP_LINE	512	/* RFC 5321's command line, CRLF included */

/* Per flow; zero is "not followed". */
struct scr_envcap {
	uint32_t seq;		/* next client byte expected */
	uint32_t buf;		/* pool buffer holding the line: index + 1 */
	uint16_t len;		/* bytes of the current line so far */
	uint8_t st;		/* enum scr_envcap_st (scr_envcap.c) */
	uint8_t wait;		/* the owner's: frames wait for ctrl's answer */
};

struct scr_envcap_pool;

/* Feed results. */
#define SCR_ENVCAP_R_LOST	0x01u	/* a gap: the capture ended */
#define SCR_ENVCAP_R_BAD	0x02u	/* a reported verb not reported (too
					 * long, malformed, no buffer) */
#define SCR_ENVCAP_R_NOBUF	0x04u	/* the pool was empty for a line */

typedef int (*scr_envcap_fn)(void *arg, enum scr_env_cmd cmd,
			     const uint8_t *a, uint32_t a_len);

struct scr_envcap_pool *scr_envcap_pool_create(uint32_t n);
void scr_envcap_pool_destroy(struct scr_envcap_pool *pool);
void scr_envcap_pool_clear(struct scr_envcap_pool *pool);
void scr_envcap_start(struct scr_envcap *c, struct scr_envcap_pool *pool,
		      uint32_t seq);
unsigned scr_envcap_feed(struct scr_envcap *c, struct scr_envcap_pool *pool,
			 uint32_t seq, const uint8_t *p, uint32_t len,
			 scr_envcap_fn cb, void *arg);
void scr_envcap_stop(struct scr_envcap *c, struct scr_envcap_pool *pool);
bool scr_envcap_active(const struct scr_envcap *c);
int scr_envcap_parse(const uint8_t *line, uint32_t len, enum scr_env_cmd *cmd,
		     const uint8_t **a, uint32_t *a_len);

#endif
