/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_resend - re-send a held frame through an AF_PACKET socket
 * DESCRIPTION
 *	See ctl_resend.h. SOCK_RAW packet socket bound to one interface with
 *	protocol 0 (send only: it receives nothing, so it costs nothing on the
 *	receive path), SO_MARK set once.
 * THREADING
 *	The host daemon's thread.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_resend.h"
#include "scr_csum.h"
#include "smtpscreen_abi.h"

struct ctl_resend {
	int fd;
	int ifindex;
};

/* ctl_resend_open - packet socket on ifindex with the resend mark */
struct ctl_resend *ctl_resend_open(int ifindex, char *err, size_t errlen)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	struct ctl_resend *r = calloc(1, sizeof(*r));
	unsigned mark = SCR_HOST_RESEND_MARK;
	int e;

	if (r == NULL) {
		snprintf(err, errlen, "resend socket: out of memory");
		return NULL;
	}
	r->ifindex = ifindex;
	/* Protocol 0: no packet is delivered to this socket. */
	r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		e = errno;
		snprintf(err, errlen, "resend AF_PACKET socket: %s (needs CAP_NET_RAW)",
			 strerror(e));
		goto out;
	}
	if (setsockopt(r->fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
		e = errno;
		snprintf(err, errlen, "resend socket SO_MARK 0x%x: %s (needs "
			 "CAP_NET_ADMIN)", mark, strerror(e));
		goto out;
	}
	sll.sll_ifindex = ifindex;
	sll.sll_protocol = 0;
	if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		e = errno;
		snprintf(err, errlen, "resend socket bind to ifindex %d: %s",
			 ifindex, strerror(e));
		goto out;
	}
	return r;
out:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	errno = e;
	return NULL;
}

/* ctl_resend_close - close the socket */
void ctl_resend_close(struct ctl_resend *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r);
}

/* ctl_resend_fix_csum - recompute the TCP checksum of a frame */
int ctl_resend_fix_csum(uint8_t *f, size_t len)
{
	size_t off = ETH_HLEN, l4, l4len;
	uint16_t et;
	uint32_t sum = 0;
	uint8_t proto;
	uint16_t c;
	int vlans = 0;

	if (len < ETH_HLEN)
		return -EINVAL;
	et = (uint16_t)(f[12] << 8 | f[13]);
	while ((et == 0x8100 || et == 0x88a8) && vlans++ < 2) {
		if (off + 4 > len)
			return -EINVAL;
		et = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
		off += 4;
	}
	if (et == 0x0800) {
		size_t ihl, tot;

		if (off + 20 > len || (f[off] >> 4) != 4)
			return -EINVAL;
		ihl = (size_t)(f[off] & 0xf) * 4;
		tot = (size_t)(f[off + 2] << 8 | f[off + 3]);
		proto = f[off + 9];
		if (ihl < 20 || tot < ihl || off + tot > len)
			return -EINVAL;
		if ((f[off + 6] & 0x3f) || f[off + 7])	/* fragment */
			return -EINVAL;
		l4 = off + ihl;
		l4len = tot - ihl;
		sum = scr_csum_add(sum, f + off + 12, 8);
	} else if (et == 0x86dd) {
		size_t plen;

		if (off + 40 > len)
			return -EINVAL;
		plen = (size_t)(f[off + 4] << 8 | f[off + 5]);
		proto = f[off + 6];
		l4 = off + 40;
		l4len = plen;
		if (l4 + l4len > len)
			return -EINVAL;
		sum = scr_csum_add(sum, f + off + 8, 32);
	} else {
		return -EINVAL;
	}
	if (proto != 6 || l4len < 20)
		return -EINVAL;	/* IPv6 extension headers: not for a greeting */
	sum += proto;
	sum += (uint32_t)l4len;
	f[l4 + 16] = f[l4 + 17] = 0;
	sum = scr_csum_add(sum, f + l4, l4len);
	c = scr_csum_fold(sum);
	f[l4 + 16] = (uint8_t)(c >> 8);
	f[l4 + 17] = (uint8_t)c;
	return 0;
}

/* ctl_resend_send - put one whole Ethernet frame on the wire */
int ctl_resend_send(struct ctl_resend *r, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	ssize_t n;

	if (len < ETH_HLEN)
		return -EINVAL;
	sll.sll_ifindex = r->ifindex;
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, frame, ETH_ALEN);
	memcpy(&sll.sll_protocol, frame + 12, 2);
	n = sendto(r->fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}
