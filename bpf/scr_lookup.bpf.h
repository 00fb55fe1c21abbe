/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_lookup - IPv4 permanent-list lookups: DIR-24-8 and DXR (D16R)
 * DESCRIPTION
 *	The lookup bodies, written once for scr_xdp.bpf.c (DXR) and the
 *	benchmark program scr_lookup_bench.bpf.c, which times both in the
 *	same run (DIR-24-8, scr_xdp's structure before DXR, is kept for that
 *	comparison only). The maps are arguments (inlined: the verifier sees
 *	the map each time).
 *	DIR-24-8: tbl24 lines (struct scr_xdp_tbl24_line) and, for /24s
 *	with more than one answer, a group of 256 answers in the inner map
 *	at slot sel of the map-in-map tbl8 (smtpscreen_abi.h).
 *	DXR (D18, 16-bit ranges): the chunk's first range from the base
 *	array, then a binary search over its ranges, at most 14 steps
 *	(smtpscreen_abi.h).
 * CONTRACT
 *	scr_dir248_lookup(tbl24, tbl8, sel, a), scr_dxr_lookup(bases, ranges,
 *	a): a in host order; return an enum scr_xdp_ans. DIR-24-8: NONE when
 *	a map lookup fails. DXR: user space sizes the maps for every index
 *	its base array names; a value missing anyway reads as 0.
 * THREADING
 *	Per packet, any CPU; reads maps only.
 */
#ifndef SCR_LOOKUP_BPF_H
#define SCR_LOOKUP_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "smtpscreen_abi.h"

/* scr_dir248_lookup - answer of a in a DIR-24-8 copy */
static __always_inline __u32 scr_dir248_lookup(void *tbl24, void *tbl8,
					       __u32 sel, __u32 a)
{
	struct scr_xdp_tbl24_line *line;
	struct scr_xdp_tbl8_group *grp;
	void *groups;
	__u32 idx = a >> 8, key = idx >> 4, e;

	line = bpf_map_lookup_elem(tbl24, &key);
	if (!line)
		return SCR_XDP_ANS_NONE;
	e = line->e[idx & (SCR_XDP_TBL24_LINE - 1)];
	if (!(e & SCR_XDP_TBL24_GROUP))
		return e;
	key = e & ~SCR_XDP_TBL24_GROUP;
	groups = bpf_map_lookup_elem(tbl8, &sel);
	if (!groups)
		return SCR_XDP_ANS_NONE;
	grp = bpf_map_lookup_elem(groups, &key);
	if (!grp)
		return SCR_XDP_ANS_NONE;
	return grp->ans[a & 0xff];
}

/* scr_dxr_word - entry i of an array of width-bit entries stored 64 / width
 * to a __u64 array value (0 when the value is missing). Not an index into
 * the value (v->r[i & 3]): that would make the verifier track the search
 * bounds exactly and walk every path of the search. */
static __always_inline __u32 scr_dxr_word(void *map, __u32 i, const __u32 width)
{
	__u32 per = 64 / width, key = i / per, sh;
	__u64 *v;

	v = bpf_map_lookup_elem(map, &key);
	if (!v)
		return 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	sh = (i & (per - 1)) * width;
#else
	sh = (per - 1 - (i & (per - 1))) * width;
#endif
	return (__u32)(*v >> sh) & (__u32)((1ull << width) - 1);
}

/* scr_dxr_lookup - answer of a in a DXR copy */
static __always_inline __u32 scr_dxr_lookup(void *bases, void *ranges, __u32 a)
{
	__u32 c = a >> SCR_XDP_DXR_OFF_BITS, lo, len, half, want, i;

	lo = scr_dxr_word(bases, c, 32);
	len = scr_dxr_word(bases, c + 1, 32) - lo;
	want = (a & ((1u << SCR_XDP_DXR_OFF_BITS) - 1)) << 2 | 3;
	/* The last range starting at or below a: the chunk's first starts
	 * at 0; len <= 2^14, so 14 halvings leave one. */
	for (i = 0; i < SCR_XDP_DXR_OFF_BITS && len > 1; i++) {
		half = len >> 1;
		/* lo += half when the range starts at or below a, without a
		 * branch: BPF has no conditional move, and a branch on every
		 * loaded value is a misprediction half the time. */
		lo += half & ~(__u32)(((__s64)want -
				       scr_dxr_word(ranges, lo + half, 16)) >> 63);
		len -= half;
	}
	return scr_dxr_word(ranges, lo, 16) & 3;
}

#endif
