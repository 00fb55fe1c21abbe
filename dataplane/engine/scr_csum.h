/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_csum - the Internet checksum (RFC 1071) over byte runs
 * DESCRIPTION
 *	For the front ends that write packets (inline RSTs, host-mode
 *	re-sends): sum runs of bytes as big-endian 16-bit words (an odd last
 *	byte is the high half of a word), then fold and complement.
 * CONTRACT
 *	scr_csum_add(sum, p, n): sum plus p[0..n); scr_csum_fold(sum): the
 *	checksum field value (host order).
 * THREADING
 *	Any thread.
 */
#ifndef SCR_CSUM_H
#define SCR_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* scr_csum_add - add n bytes as big-endian 16-bit words to a running sum */
static inline uint32_t scr_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

/* scr_csum_fold - ones' complement of the folded sum */
static inline uint16_t scr_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
