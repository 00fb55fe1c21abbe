/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_msg_test - severities, sinks, fatal, panic, log reopening
 * DESCRIPTION
 *	{label, severity, expected stderr line, syslog priority and text,
 *	log file line} rows for info/warning/error; syslog is observed
 *	through ctl_msg_syslog_hook(), stderr through a temporary file on
 *	fd 2, the log sink through a ctl_log on a memory stream. fatal and
 *	panic run in a forked child with stderr on a pipe: the parent checks
 *	the exit status (1) or the signal (SIGABRT) and the reason text; the
 *	child's syslog hook writes "syslog <priority> <text>" to the same pipe.
 *	scr_panic() is checked with its default sink and through the sink
 *	ctl_msg_init() installs, raised by the engine itself (a flow removed
 *	twice). ctl_log_reopen: a rename as logrotate does, and a reopen
 *	that fails because the directory is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_log.h"
#include "ctl_msg.h"
#include "scr_flow.h"
#include "scr_panic.h"

#define TAG	"ctl_msg_test"

/* What the syslog hook saw (in-process tests). */
static int hook_n;
static int hook_pri[16];
static char hook_text[16][256];
static int hook_fd = -1;	/* child: write what is seen here */

/* hook - record syslog lines instead of sending them */
static void hook(int priority, const char *text)
{
	if (hook_fd >= 0) {
		dprintf(hook_fd, "syslog %d %s\n", priority, text);
		return;
	}
	if (hook_n < 16) {
		hook_pri[hook_n] = priority;
		snprintf(hook_text[hook_n], sizeof(hook_text[0]), "%s", text);
	}
	hook_n++;
}

/* slurp - whole file as a NUL-terminated string (caller frees) */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int c;

	assert_non_null(m);
	if (f != NULL) {
		while ((c = getc(f)) != EOF)
			putc(c, m);
		fclose(f);
	}
	fclose(m);
	return buf;
}

/* stderr_grab - fd 2 into a temporary file; returns the saved fd */
static int stderr_grab(FILE **tmp)
{
	int saved = dup(STDERR_FILENO);

	assert_true(saved >= 0);
	*tmp = tmpfile();
	assert_non_null(*tmp);
	assert_true(dup2(fileno(*tmp), STDERR_FILENO) >= 0);
	return saved;
}

/* stderr_release - fd 2 back; what was written (caller frees) */
static char *stderr_release(int saved, FILE *tmp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int c;

	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	while ((c = getc(tmp)) != EOF)
		putc(c, m);
	fclose(tmp);
	fclose(m);
	return buf;
}

/* log_text - the text of a log file line after "tag[pid]: " */
static const char *log_text(const char *line)
{
	const char *p = strstr(line, "]: ");

	return p ? p + 3 : line;
}

/* test_prefix_priority - the table behind every sink */
static void test_prefix_priority(void **state)
{
	static const struct {
		const char *label;
		enum ctl_msg_sev sev;
		const char *prefix;
		int priority;
	} t[] = {
		{ .label = "info", .sev = CTL_MSG_INFO, .prefix = "",
		  .priority = LOG_INFO },
		{ .label = "warning", .sev = CTL_MSG_WARN, .prefix = "warning: ",
		  .priority = LOG_WARNING },
		{ .label = "error", .sev = CTL_MSG_ERROR, .prefix = "error: ",
		  .priority = LOG_ERR },
		{ .label = "fatal", .sev = CTL_MSG_FATAL, .prefix = "fatal: ",
		  .priority = LOG_CRIT },
		{ .label = "panic", .sev = CTL_MSG_PANIC, .prefix = "panic: ",
		  .priority = LOG_CRIT },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(ctl_msg_prefix(t[i].sev), t[i].prefix) != 0 ||
		    ctl_msg_priority(t[i].sev) != t[i].priority)
			fail_msg("%s: prefix \"%s\" priority %d, want \"%s\" %d",
				 t[i].label, ctl_msg_prefix(t[i].sev),
				 ctl_msg_priority(t[i].sev), t[i].prefix,
				 t[i].priority);
	}
}

/* test_sinks - info/warning/error on stderr, syslog and the log file */
static void test_sinks(void **state)
{
	static const struct {
		const char *label;
		enum ctl_msg_sev sev;
		const char *text;
		const char *want_stderr;
		int want_pri;
		const char *want_syslog;
	} t[] = {
		{ .label = "info has no prefix", .sev = CTL_MSG_INFO,
		  .text = "reload: main.cf loaded",
		  .want_stderr = TAG ": reload: main.cf loaded\n",
		  .want_pri = LOG_INFO, .want_syslog = "reload: main.cf loaded" },
		{ .label = "warning", .sev = CTL_MSG_WARN,
		  .text = "interface eth0: generic XDP",
		  .want_stderr = TAG ": warning: interface eth0: generic XDP\n",
		  .want_pri = LOG_WARNING,
		  .want_syslog = "warning: interface eth0: generic XDP" },
		{ .label = "error", .sev = CTL_MSG_ERROR,
		  .text = "map block4: update: No space left on device",
		  .want_stderr = TAG ": error: map block4: update: No space left on device\n",
		  .want_pri = LOG_ERR,
		  .want_syslog = "error: map block4: update: No space left on device" },
	};
	char *out = NULL, *err;
	size_t olen = 0;
	FILE *mem = open_memstream(&out, &olen), *tmp;
	struct ctl_log *log = ctl_log_create(NULL, mem, CTL_LOG_POSTFIX);
	int saved;

	(void)state;
	assert_non_null(log);
	ctl_msg_init(TAG);
	ctl_msg_syslog_hook(hook);
	ctl_msg_syslog("smtpscreen-test", LOG_MAIL);
	ctl_msg_set_log(log);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char want[256];
		size_t off;

		hook_n = 0;
		fflush(mem);
		off = olen;
		saved = stderr_grab(&tmp);
		switch (t[i].sev) {
		case CTL_MSG_INFO: ctl_msg_info("%s", t[i].text); break;
		case CTL_MSG_WARN: ctl_msg_warn("%s", t[i].text); break;
		case CTL_MSG_ERROR: ctl_msg_error("%s", t[i].text); break;
		default: fail_msg("%s: not a row for this test", t[i].label);
		}
		err = stderr_release(saved, tmp);
		fflush(mem);
		if (strcmp(err, t[i].want_stderr) != 0)
			fail_msg("%s: stderr \"%s\", want \"%s\"", t[i].label, err,
				 t[i].want_stderr);
		free(err);
		if (hook_n != 1 || hook_pri[0] != t[i].want_pri ||
		    strcmp(hook_text[0], t[i].want_syslog) != 0)
			fail_msg("%s: %d syslog lines, first %d \"%s\", want %d \"%s\"",
				 t[i].label, hook_n, hook_pri[0], hook_text[0],
				 t[i].want_pri, t[i].want_syslog);
		/* the log file: its "Mmm dd hh:mm:ss host tag[pid]: " prefix,
		 * then the syslog text */
		snprintf(want, sizeof(want), "%s\n", t[i].want_syslog);
		if (strcmp(log_text(out + off), want) != 0)
			fail_msg("%s: log file \"%s\", want ...\"%s\"", t[i].label,
				 out + off, t[i].want_syslog);
	}
	/* stderr off: syslog still */
	ctl_msg_stderr(false);
	hook_n = 0;
	saved = stderr_grab(&tmp);
	ctl_msg_warn("quiet");
	err = stderr_release(saved, tmp);
	assert_string_equal(err, "");
	assert_int_equal(hook_n, 1);
	assert_string_equal(hook_text[0], "warning: quiet");
	free(err);
	ctl_msg_stderr(true);
	ctl_msg_set_log(NULL);
	ctl_msg_syslog(NULL, 0);
	/* syslog off: the hook sees nothing */
	hook_n = 0;
	saved = stderr_grab(&tmp);
	ctl_msg_info("stderr only");
	err = stderr_release(saved, tmp);
	assert_string_equal(err, TAG ": stderr only\n");
	assert_int_equal(hook_n, 0);
	free(err);
	ctl_msg_syslog_hook(NULL);
	ctl_log_destroy(log);
	fclose(mem);
	free(out);
}

/* test_debug - verbose lines only with -v */
static void test_debug(void **state)
{
	FILE *tmp;
	int saved;
	char *err;

	(void)state;
	ctl_msg_init(TAG);
	ctl_msg_verbose = 0;
	saved = stderr_grab(&tmp);
	ctl_msg_debug("not shown %d", 1);
	ctl_msg_verbose = 1;
	ctl_msg_debug("shown %d", 2);
	ctl_msg_verbose = 0;
	err = stderr_release(saved, tmp);
	assert_string_equal(err, TAG ": shown 2\n");
	free(err);
}

/* Child bodies for run_child. */
enum child_what { CH_FATAL, CH_PANIC, CH_SCR_DEFAULT, CH_SCR_ROUTED };

/* child_main - in the child: the call that must not return */
static void child_main(enum child_what what, const char *logpath)
{
	struct scr_flow_table *ft;
	struct scr_flow_key k;
	struct scr_flow *f;
	struct ctl_log *log;

	switch (what) {
	case CH_FATAL:
		ctl_msg_init(TAG);
		ctl_msg_syslog_hook(hook);
		ctl_msg_syslog("smtpscreen-test", LOG_MAIL);
		ctl_msg_fatal("main.cf:12: smtpscreen_x: bad value \"%s\"", "y");
	case CH_PANIC:
		ctl_msg_init(TAG);
		ctl_msg_syslog_hook(hook);
		ctl_msg_syslog("smtpscreen-test", LOG_MAIL);
		ctl_msg_panic("ctl_x: event type %d out of range", 42);
	case CH_SCR_DEFAULT:
		scr_panic_set_sink(NULL);
		scr_panic("event type %d out of range", 7);
	case CH_SCR_ROUTED:
		ctl_msg_init(TAG);
		ctl_msg_syslog_hook(hook);
		ctl_msg_syslog("smtpscreen-test", LOG_MAIL);
		log = ctl_log_open_file(NULL, logpath, CTL_LOG_POSTFIX);
		if (log == NULL)
			_exit(3);
		ctl_msg_set_log(log);
		/* the engine panics: a flow removed twice */
		ft = scr_flow_create(4);
		if (ft == NULL)
			_exit(3);
		memset(&k, 0, sizeof(k));
		k.client_port = 1025;
		f = scr_flow_insert(ft, &k, scr_flow_hash(&k));
		if (f == NULL)
			_exit(3);
		scr_flow_remove(ft, f);
		scr_flow_remove(ft, f);
		_exit(4);	/* the engine did not panic */
	}
	_exit(5);
}

/* run_child - fork, run child_main with stderr on a pipe; the status
 * and what the child wrote (caller frees) */
static char *run_child(enum child_what what, const char *logpath, int *status)
{
	int pfd[2];
	pid_t pid;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	char chunk[512];
	ssize_t n;

	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		hook_fd = pfd[1];
		child_main(what, logpath);
	}
	close(pfd[1]);
	m = open_memstream(&buf, &len);
	assert_non_null(m);
	while ((n = read(pfd[0], chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)n, m);
	close(pfd[0]);
	fclose(m);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return buf;
}

/* test_fatal_exits - fatal: its line on stderr and syslog, exit 1 */
static void test_fatal_exits(void **state)
{
	int st;
	char *out = run_child(CH_FATAL, NULL, &st);
	char want[256];

	(void)state;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
		fail_msg("status 0x%x, want exit 1; output \"%s\"", st, out);
	assert_non_null(strstr(out, TAG ": fatal: main.cf:12: smtpscreen_x: "
			       "bad value \"y\"\n"));
	snprintf(want, sizeof(want), "syslog %d fatal: main.cf:12: "
		 "smtpscreen_x: bad value \"y\"\n", LOG_CRIT);
	assert_non_null(strstr(out, want));
	free(out);
}

/* test_panic_aborts - panic: its reason first, then SIGABRT */
static void test_panic_aborts(void **state)
{
	int st;
	char *out = run_child(CH_PANIC, NULL, &st);
	char want[256];

	(void)state;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		fail_msg("status 0x%x, want SIGABRT; output \"%s\"", st, out);
	assert_non_null(strstr(out, TAG ": panic: ctl_x: event type 42 out "
			       "of range\n"));
	snprintf(want, sizeof(want), "syslog %d panic: ctl_x: event type 42 "
		 "out of range\n", LOG_CRIT);
	assert_non_null(strstr(out, want));
	free(out);
}

/* test_scr_panic_default - the engine's panic without ctrl: stderr */
static void test_scr_panic_default(void **state)
{
	int st;
	char *out = run_child(CH_SCR_DEFAULT, NULL, &st);

	(void)state;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		fail_msg("status 0x%x, want SIGABRT; output \"%s\"", st, out);
	/* "panic: <file>:<line>: <reason>", the file without directories */
	if (strncmp(out, "panic: ctl_msg_test.c:", 22) != 0 ||
	    strstr(out, ": event type 7 out of range\n") == NULL)
		fail_msg("output \"%s\"", out);
	free(out);
}

/* test_scr_panic_routed - an engine panic reaches ctl_msg's sinks */
static void test_scr_panic_routed(void **state)
{
	char dir[] = "/tmp/ctl_msg_test.XXXXXX", path[64], want[128];
	char *out, *file;
	int st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/panic.log", dir);
	out = run_child(CH_SCR_ROUTED, path, &st);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		fail_msg("status 0x%x, want SIGABRT; output \"%s\"", st, out);
	if (strstr(out, TAG ": panic: scr_flow.c:") == NULL ||
	    strstr(out, ": scr_flow_remove: entry 1 (state 0) not in its "
		   "chain\n") == NULL)
		fail_msg("stderr \"%s\"", out);
	snprintf(want, sizeof(want), "syslog %d panic: scr_flow.c:", LOG_CRIT);
	if (strstr(out, want) == NULL)
		fail_msg("syslog: \"%s\"", out);
	file = slurp(path);
	if (strstr(file, "]: panic: scr_flow.c:") == NULL ||
	    strstr(file, "scr_flow_remove: entry 1 (state 0) not in its chain\n")
	    == NULL)
		fail_msg("log file \"%s\"", file);
	free(file);
	free(out);
	unlink(path);
	rmdir(dir);
}

/* test_reopen - logrotate: rename, reopen; a failed reopen keeps the old */
static void test_reopen(void **state)
{
	char dir[] = "/tmp/ctl_msg_test.XXXXXX";
	char sub[64], path[96], rot1[96], rot2[96];
	char *a, *b;
	struct ctl_log *log;
	FILE *mem;
	char *mbuf = NULL;
	size_t mlen = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/log", dir);
	snprintf(path, sizeof(path), "%s/smtpscreen.log", sub);
	snprintf(rot1, sizeof(rot1), "%s/smtpscreen.log.1", dir);
	snprintf(rot2, sizeof(rot2), "%s/smtpscreen.log.2", dir);

	/* bad input first: no such directory */
	errno = 0;
	assert_null(ctl_log_open_file(NULL, path, CTL_LOG_POSTFIX));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mkdir(sub, 0700), 0);

	/* nothing to reopen: syslog 0, the caller's FILE -EINVAL */
	log = ctl_log_create(NULL, NULL, CTL_LOG_POSTFIX);
	assert_int_equal(ctl_log_reopen(log), 0);
	ctl_log_destroy(log);
	mem = open_memstream(&mbuf, &mlen);
	log = ctl_log_create(NULL, mem, CTL_LOG_POSTFIX);
	assert_int_equal(ctl_log_reopen(log), -EINVAL);
	ctl_log_destroy(log);
	fclose(mem);
	free(mbuf);

	log = ctl_log_open_file(NULL, path, CTL_LOG_POSTFIX);
	assert_non_null(log);
	ctl_log_msg(log, "line one");
	assert_int_equal(rename(path, rot1), 0);	/* as logrotate does */
	assert_int_equal(ctl_log_reopen(log), 0);
	ctl_log_msg(log, "line two");
	a = slurp(rot1);
	b = slurp(path);
	if (strstr(a, "]: line one\n") == NULL || strstr(a, "line two"))
		fail_msg("rotated file: \"%s\"", a);
	if (strstr(b, "]: line two\n") == NULL || strstr(b, "line one"))
		fail_msg("new file: \"%s\"", b);
	free(a);
	free(b);

	/* the directory is gone: the reopen fails, the old FILE goes on */
	assert_int_equal(rename(path, rot2), 0);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(ctl_log_reopen(log), -ENOENT);
	ctl_log_sev(log, CTL_MSG_WARN, "line three");
	a = slurp(rot2);
	if (strstr(a, "]: line two\n") == NULL ||
	    strstr(a, "]: warning: line three\n") == NULL)
		fail_msg("old file after a failed reopen: \"%s\"", a);
	free(a);
	assert_int_equal(ctl_log_write_errors(log), 0);
	ctl_log_destroy(log);
	unlink(rot1);
	unlink(rot2);
	rmdir(dir);
}

#define THR_N		4
#define THR_LINES	200

/* thr_main - one thread's warnings */
static void *thr_main(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < THR_LINES; i++)
		ctl_msg_warn("thread %ld line %03d %s", id, i,
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	return NULL;
}

/* test_threads - lines from several threads stay whole on every sink */
static void test_threads(void **state)
{
	pthread_t th[THR_N];
	char *out = NULL, *err, *line, *save = NULL;
	size_t olen = 0;
	FILE *mem = open_memstream(&out, &olen), *tmp;
	struct ctl_log *log = ctl_log_create(NULL, mem, CTL_LOG_POSTFIX);
	int saved, n;

	(void)state;
	ctl_msg_init(TAG);
	ctl_msg_set_log(log);
	saved = stderr_grab(&tmp);
	for (long i = 0; i < THR_N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, (void *)i), 0);
	for (int i = 0; i < THR_N; i++)
		pthread_join(th[i], NULL);
	err = stderr_release(saved, tmp);
	ctl_msg_set_log(NULL);
	ctl_log_destroy(log);
	fclose(mem);
	n = 0;
	for (line = strtok_r(err, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		long id;
		int k, end = 0;

		if (sscanf(line, TAG ": warning: thread %ld line %d %*[x]%n",
			   &id, &k, &end) != 2 || line[end] != 0)
			fail_msg("stderr line %d torn: \"%s\"", n, line);
	}
	assert_int_equal(n, THR_N * THR_LINES);
	n = 0;
	save = NULL;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		long id;
		int k, end = 0;

		if (sscanf(log_text(line), "warning: thread %ld line %d %*[x]%n",
			   &id, &k, &end) != 2 || log_text(line)[end] != 0)
			fail_msg("log line %d torn: \"%s\"", n, line);
	}
	assert_int_equal(n, THR_N * THR_LINES);
	free(err);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_priority),
		cmocka_unit_test(test_sinks),
		cmocka_unit_test(test_debug),
		cmocka_unit_test(test_fatal_exits),
		cmocka_unit_test(test_panic_aborts),
		cmocka_unit_test(test_scr_panic_default),
		cmocka_unit_test(test_scr_panic_routed),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
