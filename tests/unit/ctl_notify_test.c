/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_notify_test - the sd_notify datagrams systemd receives
 * DESCRIPTION
 *	A datagram socket stands in for systemd's notify socket, at a path
 *	and in the abstract namespace ("@name"); each case sends and reads
 *	back the exact text. No $NOTIFY_SOCKET: nothing sent, 0. Bad
 *	addresses: -EINVAL, nothing sent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_notify.h"

/* listener - a bound datagram socket at addr ("@x": abstract) */
static int listener(const char *addr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(addr);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, addr, n);
	if (addr[0] == '@')
		sa.sun_path[0] = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
					  n + (addr[0] == '/'))), 0);
	return fd;
}

/* received - the next datagram as a string ("" when none) */
static const char *received(int fd)
{
	static char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* test_no_socket - without NOTIFY_SOCKET: 0, nothing to do */
static void test_no_socket(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(ctl_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(ctl_notify("READY=1"), 0);
}

/* test_bad_address - relative or too long: -EINVAL */
static void test_bad_address(void **state)
{
	char longp[200];

	(void)state;
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	assert_int_equal(ctl_notify("READY=1"), -EINVAL);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	setenv("NOTIFY_SOCKET", longp, 1);
	assert_int_equal(ctl_notify("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	assert_int_equal(ctl_notify("READY=1"), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

/* test_path_socket - the states a daemon sends, in order */
static void test_path_socket(void **state)
{
	char path[] = "/tmp/ctl_notify_test.XXXXXX", sock[128];
	const char *r;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/notify", path);
	fd = listener(sock);
	setenv("NOTIFY_SOCKET", sock, 1);
	assert_int_equal(ctl_notify("READY=1\nSTATUS=screening"), 0);
	assert_string_equal(received(fd), "READY=1\nSTATUS=screening");
	assert_int_equal(ctl_notify_reloading(), 0);
	r = received(fd);
	assert_int_equal(strncmp(r, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	assert_true(strtoull(r + 27, NULL, 10) > 0);
	assert_int_equal(ctl_notify("STOPPING=1"), 0);
	assert_string_equal(received(fd), "STOPPING=1");
	close(fd);
	unlink(sock);
	rmdir(path);
	unsetenv("NOTIFY_SOCKET");
}

/* test_abstract_socket - "@name" */
static void test_abstract_socket(void **state)
{
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@ctl_notify_test.%d", (int)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(ctl_notify("READY=1"), 0);
	assert_string_equal(received(fd), "READY=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_socket),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
