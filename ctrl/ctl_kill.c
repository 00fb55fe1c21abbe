/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_kill - end a local TCP session through sock_diag SOCK_DESTROY
 * DESCRIPTION
 *	See ctl_kill.h. The kernel's exact lookup (inet_diag_find_one_icsk)
 *	falls back to listening sockets, so a destroy by 4-tuple alone could
 *	abort the MTA's listener when the connection is already gone. We
 *	therefore first fetch the socket (SOCK_DIAG_BY_FAMILY, exact), refuse
 *	a listener or a socket whose peer differs, and destroy by the
 *	socket's cookie, which names exactly that socket.
 * THREADING
 *	The host daemon's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_kill.h"

#ifndef SOCK_DESTROY
#define SOCK_DESTROY 21
#endif

struct ctl_kill {
	int fd;
	uint32_t seq;
};

struct kill_req {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 r;
};

/* ctl_kill_open - the netlink socket */
struct ctl_kill *ctl_kill_open(char *err, size_t errlen)
{
	struct ctl_kill *k = calloc(1, sizeof(*k));
	struct timeval tv = {.tv_sec = 1};

	if (k == NULL) {
		snprintf(err, errlen, "sock_diag: out of memory");
		return NULL;
	}
	k->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (k->fd < 0) {
		int e = errno;

		snprintf(err, errlen, "sock_diag netlink socket: %s", strerror(e));
		free(k);
		errno = e;
		return NULL;
	}
	(void)setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return k;
}

/* ctl_kill_close - close the netlink socket */
void ctl_kill_close(struct ctl_kill *k)
{
	if (k == NULL)
		return;
	close(k->fd);
	free(k);
}

/* fill_id - socket id of the local end: src = server, dst = client */
static void fill_id(struct inet_diag_req_v2 *r, const struct scr_flow_key *key,
		    int family)
{
	memset(r, 0, sizeof(*r));
	r->sdiag_family = (uint8_t)family;
	r->sdiag_protocol = IPPROTO_TCP;
	r->idiag_states = ~0u;
	r->id.idiag_sport = htons(key->server_port);
	r->id.idiag_dport = htons(key->client_port);
	if (family == AF_INET) {
		memcpy(r->id.idiag_src, key->server.b + 12, 4);
		memcpy(r->id.idiag_dst, key->client.b + 12, 4);
	} else {
		memcpy(r->id.idiag_src, key->server.b, 16);
		memcpy(r->id.idiag_dst, key->client.b, 16);
	}
	r->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	r->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

/* transact - send one request, read the answer; the diag message (if
 * any) is copied into msg. 0 (msg filled or ACK), or -errno */
static int transact(struct ctl_kill *k, uint16_t type,
		    const struct inet_diag_req_v2 *r, struct inet_diag_msg *msg,
		    int *have_msg)
{
	struct kill_req req;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	char buf[8192];
	uint32_t seq = ++k->seq;
	int ret = -EIO;

	*have_msg = 0;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = type;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nlh.nlmsg_seq = seq;
	req.r = *r;
	if (sendto(k->fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(k->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EIO;
				return e->error;	/* 0 = ACK */
			}
			if (h->nlmsg_type == NLMSG_DONE)
				return *have_msg ? 0 : -ENOENT;
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*msg))) {
				memcpy(msg, NLMSG_DATA(h), sizeof(*msg));
				*have_msg = 1;
				ret = 0;
			}
		}
	}
	return ret;
}

/* kill_family - look the socket up in one family and destroy it */
static int kill_family(struct ctl_kill *k, const struct scr_flow_key *key,
		       int family)
{
	struct inet_diag_req_v2 r;
	struct inet_diag_msg m;
	int have, rc;

	fill_id(&r, key, family);
	rc = transact(k, SOCK_DIAG_BY_FAMILY, &r, &m, &have);
	if (rc != 0)
		return rc;
	if (!have)
		return -ENOENT;
	/* The exact lookup falls back to listeners: never destroy one. */
	if (m.idiag_state == TCP_LISTEN ||
	    m.id.idiag_dport != r.id.idiag_dport ||
	    memcmp(m.id.idiag_dst, r.id.idiag_dst,
		   family == AF_INET ? 4 : 16) != 0)
		return -ENOENT;
	r.id.idiag_cookie[0] = m.id.idiag_cookie[0];
	r.id.idiag_cookie[1] = m.id.idiag_cookie[1];
	return transact(k, SOCK_DESTROY, &r, &m, &have);
}

/* ctl_kill_session - abort the local socket of a flow */
int ctl_kill_session(struct ctl_kill *k, const struct scr_flow_key *key)
{
	int rc;

	if (key->family == 4) {
		rc = kill_family(k, key, AF_INET);
		if (rc != -ENOENT)
			return rc;
	}
	/* IPv6, or IPv4 accepted on a dual-stack listener (v4-mapped). */
	return kill_family(k, key, AF_INET6);
}

/* ctl_kill_probe - destroy a loopback connection of our own */
int ctl_kill_probe(struct ctl_kill *k, char *err, size_t errlen)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct sockaddr_in ca, sa;
	struct scr_flow_key key;
	socklen_t len = sizeof(a);
	int lfd = -1, cfd = -1, afd = -1, rc;
	char c;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || cfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &len) ||
	    connect(cfd, (struct sockaddr *)&a, sizeof(a)) ||
	    (afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "SOCK_DESTROY probe: loopback connection: %s",
			 strerror(-rc));
		goto out;
	}
	len = sizeof(ca);
	getsockname(cfd, (struct sockaddr *)&ca, &len);
	len = sizeof(sa);
	getsockname(afd, (struct sockaddr *)&sa, &len);
	memset(&key, 0, sizeof(key));
	key.family = 4;
	key.client.b[10] = key.client.b[11] = 0xff;
	memcpy(key.client.b + 12, &ca.sin_addr, 4);
	key.server = key.client;
	memcpy(key.server.b + 12, &sa.sin_addr, 4);
	key.client_port = ntohs(ca.sin_port);
	key.server_port = ntohs(sa.sin_port);
	rc = ctl_kill_session(k, &key);
	if (rc == 0) {
		/* The accepted socket is aborted; the peer got a RST. */
		if (recv(cfd, &c, 1, MSG_DONTWAIT) >= 0 || errno != ECONNRESET) {
			snprintf(err, errlen, "SOCK_DESTROY probe: the kernel "
				 "accepted the request but the peer saw no reset");
			rc = -EPROTO;
		}
	} else if (rc == -EOPNOTSUPP) {
		snprintf(err, errlen, "SOCK_DESTROY is not supported by this "
			 "kernel (CONFIG_INET_DIAG_DESTROY)");
	} else {
		snprintf(err, errlen, "SOCK_DESTROY probe: %s", strerror(-rc));
	}
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return rc;
}
