/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_conf - main.cf reader and smtpscreen's parameter table
 * DESCRIPTION
 *	Owns: the main.cf syntax (logical lines, continuation, comments,
 *	name = value, later setting wins), Postfix $name expansion (plain,
 *	${name}, $(name), ${name?text}, ${name:text}, ${name?{a}:{b}},
 *	${{a} op {b} ? {c} : {d}} with ==, !=, <, <=, >, >= and the "level"
 *	variants used by compatibility_level), the table of every
 *	postscreen_* parameter, the Postfix globals their defaults use, and
 *	smtpscreen_*; typed validation (time, bool, int, action, ports,
 *	enum); the engine policy and the scanner patterns built from them.
 *	It does not own cidr tables and access lists (ctl_cidr) or logging.
 *
 *	Bounds: main.cf and the pattern tables it names are regular files of
 *	at most CTL_CONF_MAX_FILE bytes (ctl_file: a directory, FIFO or
 *	device is refused, a read error is an error); one value expands to at
 *	most CTL_EXPAND_MAX bytes through at most CTL_EXPAND_REFS references
 *	nested at most CTL_EXPAND_DEPTH deep, so "$a = $b$b", "$b = $c$c", ...
 *	is an error naming the parameter, not memory or hours of work.
 * CONTRACT
 *	See ctl_conf.h. Every error message starts with "file:line: " (or
 *	"file: " when the offending value is a default) and names the
 *	parameter and the value.
 * THREADING
 *	Control thread builds a conf; a built conf is immutable (all values
 *	are expanded at load time) and may be read from any thread.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl_conf.h"
#include "ctl_file.h"
#include "ctl_msg.h"
#include "ctl_rban.h"

#define CTL_CONF_MAX_FILE	(16u << 20)	/* main.cf, regexp and signature
						 * tables: refuse absurd sizes */
#define CTL_EXPAND_DEPTH	64		/* nesting limit for $name */
#define CTL_LINE_MAX		8191		/* a pattern table line, newline
						 * included (as fgets' 8 KiB) */
#define CTL_EXPAND_MAX		(1u << 20)	/* bytes of one expanded value */
/* A setting's line carries its file: CTL_LINE(file index, line). 16 MiB of
 * newlines is 2^24 lines, so 25 bits hold any line. */
#define CTL_LINE_BITS		25
#define CTL_LINE_MASK		((1u << CTL_LINE_BITS) - 1)
#define CTL_LINE(f, l)		(((unsigned)(f) << CTL_LINE_BITS) | (l))
#define CTL_EXPAND_REFS		65536		/* $name references expanded for
						 * one value ($a = $b$b, $b = $c$c,
						 * ... doubles at every level) */

/* Parameter value types. */
enum ctl_ptype {
	CTL_T_STR = 0,
	CTL_T_BOOL,
	CTL_T_INT,
	CTL_T_TIME,
	CTL_T_ACTION,
	CTL_T_PORTS,
	CTL_T_LOGFMT,
	CTL_T_PROXY,
	CTL_T_OVERLOAD,
	CTL_T_HOSTHOLD,
	CTL_T_MAX
};

static const char *const ctl_ptype_name[CTL_T_MAX] = {
	"string", "boolean", "integer", "time", "action", "port list",
	"log format", "proxy protocol", "overload policy", "host hold",
};

/* Parameter flags. */
#define CTL_PF_USED	0x01u	/* smtpscreen acts on it */
#define CTL_PF_NOEFFECT	0x02u	/* accepted; needs a TCP-terminating server */
#define CTL_PF_LEGACY	0x04u	/* pre-3.6 name read by a new name's default */
#define CTL_PF_GLOBAL	0x08u	/* Postfix global used by a default */
#define CTL_PF_OURS	0x10u	/* smtpscreen_* */
#define CTL_PF_LATER	0x20u	/* accepted and validated; acted on by a
				 * module not in this release (DNSBL, cache) */

struct ctl_param {
	const char *name;
	const char *def;	/* NULL: computed at load (myhostname, mydomain) */
	enum ctl_ptype type;
	char unit;		/* CTL_T_TIME default unit */
	long long min;
	long long max;
	unsigned flags;
};

#define TMAX	4294967295LL	/* time values must fit uint32 seconds */
#define IMAX	2147483647LL

/* Defaults are the strings "postconf -d" prints (Postfix 3.7.11, Debian 12);
 * ranges follow postscreen.c's CONFIG_*_TABLE minimums. */
static const struct ctl_param ctl_params[] = {
	/* postscreen_* (47 printed by postconf -d) */
	{ "postscreen_access_list", "permit_mynetworks", CTL_T_STR, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_allowlist_interfaces", "${postscreen_whitelist_interfaces?{$postscreen_whitelist_interfaces}:{static:all}}", CTL_T_STR, 0, 0, 0, CTL_PF_LATER },
	{ "postscreen_bare_newline_action", "ignore", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_bare_newline_enable", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_bare_newline_ttl", "30d", CTL_T_TIME, 'd', 1, TMAX, CTL_PF_USED },
	{ "postscreen_cache_cleanup_interval", "12h", CTL_T_TIME, 'h', 0, TMAX, CTL_PF_LATER },
	{ "postscreen_cache_map", "btree:$data_directory/postscreen_cache", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_cache_retention_time", "7d", CTL_T_TIME, 'd', 1, TMAX, CTL_PF_LATER },
	{ "postscreen_client_connection_count_limit", "$smtpd_client_connection_count_limit", CTL_T_INT, 0, 0, 65535, CTL_PF_USED },
	{ "postscreen_command_count_limit", "20", CTL_T_INT, 0, 1, IMAX, CTL_PF_USED },
	{ "postscreen_command_filter", "", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_command_time_limit", "${stress?{10}:{300}}s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED },
	{ "postscreen_denylist_action", "${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_disable_vrfy_command", "$disable_vrfy_command", CTL_T_BOOL, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_discard_ehlo_keyword_address_maps", "$smtpd_discard_ehlo_keyword_address_maps", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_discard_ehlo_keywords", "$smtpd_discard_ehlo_keywords", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_dnsbl_action", "ignore", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_dnsbl_allowlist_threshold", "${postscreen_dnsbl_whitelist_threshold?{$postscreen_dnsbl_whitelist_threshold}:{0}}", CTL_T_INT, 0, -IMAX, IMAX, CTL_PF_LATER },
	{ "postscreen_dnsbl_max_ttl", "${postscreen_dnsbl_ttl?{$postscreen_dnsbl_ttl}:{1}}h", CTL_T_TIME, 'h', 1, TMAX, CTL_PF_USED },
	{ "postscreen_dnsbl_min_ttl", "60s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_LATER },
	{ "postscreen_dnsbl_reply_map", "", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_dnsbl_sites", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_dnsbl_threshold", "1", CTL_T_INT, 0, 1, IMAX, CTL_PF_LATER },
	{ "postscreen_dnsbl_timeout", "10s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_LATER },
	{ "postscreen_enforce_tls", "$smtpd_enforce_tls", CTL_T_BOOL, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_expansion_filter", "$smtpd_expansion_filter", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_forbidden_commands", "$smtpd_forbidden_commands", CTL_T_STR, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_greet_action", "ignore", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_greet_banner", "$smtpd_banner", CTL_T_STR, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_greet_ttl", "1d", CTL_T_TIME, 'd', 1, TMAX, CTL_PF_USED },
	{ "postscreen_greet_wait", "${stress?{2}:{6}}s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED },
	{ "postscreen_helo_required", "$smtpd_helo_required", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_non_smtp_command_action", "drop", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_non_smtp_command_enable", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_non_smtp_command_ttl", "30d", CTL_T_TIME, 'd', 1, TMAX, CTL_PF_USED },
	{ "postscreen_pipelining_action", "enforce", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_pipelining_enable", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED },
	{ "postscreen_pipelining_ttl", "30d", CTL_T_TIME, 'd', 1, TMAX, CTL_PF_USED },
	{ "postscreen_post_queue_limit", "$default_process_limit", CTL_T_INT, 0, 5, IMAX, CTL_PF_NOEFFECT },
	{ "postscreen_pre_queue_limit", "$default_process_limit", CTL_T_INT, 0, 10, IMAX, CTL_PF_LATER },
	{ "postscreen_reject_footer", "$smtpd_reject_footer", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_reject_footer_maps", "$smtpd_reject_footer_maps", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_tls_security_level", "$smtpd_tls_security_level", CTL_T_STR, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_upstream_proxy_protocol", "", CTL_T_PROXY, 0, 0, 0, CTL_PF_LATER },
	{ "postscreen_upstream_proxy_timeout", "5s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_LATER },
	{ "postscreen_use_tls", "$smtpd_use_tls", CTL_T_BOOL, 0, 0, 0, CTL_PF_NOEFFECT },
	{ "postscreen_watchdog_timeout", "10s", CTL_T_TIME, 's', 10, TMAX, CTL_PF_NOEFFECT },
	/* legacy names (read by the 3.6 names' defaults): undefined unless
	 * set, as postconf -d prints them empty */
	{ "postscreen_blacklist_action", "", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED | CTL_PF_LEGACY },
	{ "postscreen_whitelist_interfaces", "", CTL_T_STR, 0, 0, 0, CTL_PF_LATER | CTL_PF_LEGACY },
	{ "postscreen_dnsbl_whitelist_threshold", "", CTL_T_INT, 0, -IMAX, IMAX, CTL_PF_LATER | CTL_PF_LEGACY },
	{ "postscreen_dnsbl_ttl", "", CTL_T_TIME, 'h', 1, TMAX, CTL_PF_USED | CTL_PF_LEGACY },
	/* Postfix globals that the defaults above use */
	{ "myhostname", NULL, CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "mydomain", NULL, CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "mail_name", "Postfix", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_banner", "$myhostname ESMTP $mail_name", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "mynetworks_style", "${{$compatibility_level} <level {2} ? {subnet} : {host}}", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_forbidden_commands", "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "smtpd_helo_required", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "disable_vrfy_command", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_discard_ehlo_keywords", "", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_discard_ehlo_keyword_address_maps", "", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_reject_footer", "", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_reject_footer_maps", "", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_expansion_filter", "\\t\\40!\"#$$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_tls_security_level", "", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_use_tls", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_enforce_tls", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_GLOBAL },
	{ "smtpd_client_connection_count_limit", "50", CTL_T_INT, 0, 0, IMAX, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "default_process_limit", "100", CTL_T_INT, 0, 1, IMAX, CTL_PF_GLOBAL },
	{ "line_length_limit", "2048", CTL_T_INT, 0, 1, IMAX, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "compatibility_level", "0", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "respectful_logging", "${{$compatibility_level} <level {3.6} ? {no} : {yes}}", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "smtputf8_enable", "${{$compatibility_level} <level {1} ? {no} : {yes}}", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_GLOBAL },
	{ "data_directory", "/var/lib/postfix", CTL_T_STR, 0, 0, 0, CTL_PF_GLOBAL },
	/* smtpscreen's own */
	{ "smtpscreen_ports", "25", CTL_T_PORTS, 0, 1, 8, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_flow_table_size", "262144", CTL_T_INT, 0, 1024, 16777216, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_tcp_syn_timeout", "${stress?{5}:{30}}s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_tcp_idle_timeout", "${stress?{10}:{300}}s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_tcp_close_timeout", "10s", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_overload_policy", "pass", CTL_T_OVERLOAD, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reorder_window", "65536", CTL_T_INT, 0, 0, 1048576, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_helo_enable", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_helo_action", "enforce", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_helo_ttl", "30d", CTL_T_TIME, 'd', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_helo_own_names", "$myhostname", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_signatures", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_block_ttl", "1h", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_smuggling_enable", "yes", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_smuggling_action", "enforce", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_smuggling_ttl", "0s", CTL_T_TIME, 's', 0, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_helo_restrictions", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_sender_restrictions", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_recipient_restrictions", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_envelope_action", "enforce", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_envelope_ttl", "1h", CTL_T_TIME, 's', 0, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_envelope_timeout", "5s", CTL_T_TIME, 's', 1, 3600, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_log_format", "postfix", CTL_T_LOGFMT, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_xdp_block_all", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_pin_directory", "/sys/fs/bpf/smtpscreen", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_cache_file", "/var/lib/smtpscreen/verdicts.lmdb", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_cache_size", "1073741824", CTL_T_INT, 0, 1048576, 1099511627776LL, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_sample_bytes", "1536", CTL_T_INT, 0, 256, 1536, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_log_file", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_greet_hold", "yes", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_host_hold", "handshake", CTL_T_HOSTHOLD, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_seat_listen", "[::]:25", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_seat_service", "/var/spool/postfix/private/smtpd", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_stop_reply", "yes", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_hold_packets", "8192", CTL_T_INT, 0, 64, 1048576, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_dnsbl_servers", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_shared_store", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_metrics_listen", "", CTL_T_STR, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_enable", "no", CTL_T_BOOL, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_action", "drop", CTL_T_ACTION, 0, 0, 0, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_ttl", "1h", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_auth_limit", "10", CTL_T_INT, 0, 0, IMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_auth_window", "10m", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_harvest_limit", "20", CTL_T_INT, 0, 0, IMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_harvest_window", "10m", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_relay_limit", "10", CTL_T_INT, 0, 0, IMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_relay_window", "10m", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_helo_limit", "10", CTL_T_INT, 0, 0, IMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_helo_window", "10m", CTL_T_TIME, 's', 1, TMAX, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_reply_ban_table_size", "65536", CTL_T_INT, 0, 1024, 16777216, CTL_PF_USED | CTL_PF_OURS },
	{ "smtpscreen_client_ipv6_prefix_length", "64", CTL_T_INT, 0, 1, 128, CTL_PF_USED | CTL_PF_OURS },
};
#define CTL_NPARAMS (sizeof(ctl_params) / sizeof(ctl_params[0]))

/* One name known to this conf: set in the file, or from the table. */
struct ctl_setting {
	char *name;
	char *raw;		/* as written (NULL: unset, use the default) */
	char *value;		/* expanded */
	unsigned line;		/* 0: default */
	const struct ctl_param *param;	/* NULL: other Postfix parameter */
};

struct ctl_conf {
	char *file;		/* name used in messages: files[0] */
	char *files[CTL_CONF_FILES + 1];	/* read in order; last: "-o" */
	unsigned nfiles;
	ctl_conf_report_fn *report;	/* ctl_conf_check: every error */
	void *report_arg;
	unsigned nerr;
	char *dir;		/* directory of the file */
	char *hostname;		/* computed myhostname default */
	char *domain;		/* computed mydomain default */
	struct ctl_setting *set;
	size_t nset;
	size_t capset;
};

/* A growable string for expansion results. */
struct ctl_buf {
	char *p;
	size_t len;
	size_t cap;
};

/* Expansion context: the stack of names being expanded (loop detection). */
struct ctl_exp {
	const struct ctl_conf *conf;
	bool stress;
	const char *stack[CTL_EXPAND_DEPTH];
	unsigned depth;
	unsigned refs;		/* $name references expanded so far */
	unsigned line;		/* line of the innermost set parameter seen */
	char *err;
	size_t errlen;
};

static int ctl_expand_text(struct ctl_exp *x, const char *s, size_t n,
			   struct ctl_buf *out);

/* ctl_buf_add - append n bytes */
static int ctl_buf_add(struct ctl_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

/* ctl_buf_take - return the string (never NULL on success) */
static char *ctl_buf_take(struct ctl_buf *b)
{
	char *p;

	if (b->p == NULL && ctl_buf_add(b, "", 0) < 0)
		return NULL;
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

/* ctl_param_find - table entry of a name, or NULL */
static const struct ctl_param *ctl_param_find(const char *name)
{
	for (size_t i = 0; i < CTL_NPARAMS; i++)
		if (strcmp(ctl_params[i].name, name) == 0)
			return &ctl_params[i];
	return NULL;
}

/* ctl_setting_find - the conf's entry for a name, or NULL */
static struct ctl_setting *ctl_setting_find(const struct ctl_conf *conf,
					    const char *name, size_t n)
{
	for (size_t i = 0; i < conf->nset; i++)
		if (strncmp(conf->set[i].name, name, n) == 0 &&
		    conf->set[i].name[n] == 0)
			return &conf->set[i];
	return NULL;
}

/* ctl_setting_add - new entry (name copied) */
static struct ctl_setting *ctl_setting_add(struct ctl_conf *conf,
					   const char *name, size_t n)
{
	struct ctl_setting *s;

	if (conf->nset == conf->capset) {
		size_t cap = conf->capset ? conf->capset * 2 : 128;

		s = realloc(conf->set, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		conf->set = s;
		conf->capset = cap;
	}
	s = &conf->set[conf->nset];
	memset(s, 0, sizeof(*s));
	s->name = strndup(name, n);
	if (s->name == NULL)
		return NULL;
	conf->nset++;
	return s;
}

/* ctl_raw_lookup - unexpanded value of a name; NULL when undefined */
static const char *ctl_raw_lookup(struct ctl_exp *x, const char *name,
				  size_t n)
{
	const struct ctl_conf *conf = x->conf;
	struct ctl_setting *s;

	if (n == 6 && strncmp(name, "stress", 6) == 0)
		return x->stress ? "yes" : "";
	s = ctl_setting_find(conf, name, n);
	if (s == NULL)
		return NULL;
	if (s->raw != NULL) {
		x->line = s->line;
		return s->raw;
	}
	if (s->param != NULL && (s->param->flags & CTL_PF_LEGACY))
		return NULL;	/* undefined unless set, as postconf -d shows */
	if (s->param != NULL && s->param->def != NULL)
		return s->param->def;
	if (strcmp(s->name, "myhostname") == 0)
		return conf->hostname;
	if (strcmp(s->name, "mydomain") == 0) {
		/* Postfix: the parent domain of myhostname */
		struct ctl_setting *h = ctl_setting_find(conf, "myhostname", 10);
		const char *dot;

		if (h != NULL && h->raw != NULL && strchr(h->raw, '$') == NULL &&
		    (dot = strchr(h->raw, '.')) != NULL && dot[1] != 0)
			return dot + 1;
		return conf->domain;
	}
	return NULL;
}

/* ctl_experr - format an expansion error (first one wins) */
static int ctl_experr(struct ctl_exp *x, const char *fmt, ...)
{
	va_list ap;

	if (x->err != NULL && x->errlen > 0 && x->err[0] == 0) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ctl_chain - "a -> b -> c" from the expansion stack, from entry i */
static const char *ctl_chain(const struct ctl_exp *x, unsigned i, char *buf,
			     size_t len)
{
	buf[0] = 0;
	for (unsigned j = i; j < x->depth; j++) {
		if (j > i)
			strncat(buf, " -> ", len - strlen(buf) - 1);
		strncat(buf, x->stack[j], len - strlen(buf) - 1);
	}
	return buf;
}

/* ctl_expand_name - append the expanded value of name[0..n) */
static int ctl_expand_name(struct ctl_exp *x, const char *name, size_t n,
			   struct ctl_buf *out)
{
	const char *raw = ctl_raw_lookup(x, name, n);
	char chain[256];
	int ret;

	if (raw == NULL)
		return 0;	/* undefined expands empty, as in Postfix */
	for (unsigned i = 0; i < x->depth; i++) {
		if (strncmp(x->stack[i], name, n) == 0 &&
		    x->stack[i][n] == 0) {
			ctl_chain(x, i, chain, sizeof(chain));
			strncat(chain, " -> ", sizeof(chain) - strlen(chain) - 1);
			strncat(chain, x->stack[i],
				sizeof(chain) - strlen(chain) - 1);
			return ctl_experr(x, "parameter expansion loop: %s",
					  chain);
		}
	}
	if (x->depth == CTL_EXPAND_DEPTH)
		return ctl_experr(x, "parameter expansion nested deeper than %d",
				  CTL_EXPAND_DEPTH);
	if (++x->refs > CTL_EXPAND_REFS)
		return ctl_experr(x, "parameter expansion of more than %u "
				  "references: %s", CTL_EXPAND_REFS,
				  ctl_chain(x, 0, chain, sizeof(chain)));
	{
		struct ctl_setting *s = ctl_setting_find(x->conf, name, n);

		/* name is defined, so it has an entry unless it is $stress */
		x->stack[x->depth++] = s != NULL ? s->name : "stress";
	}
	ret = ctl_expand_text(x, raw, strlen(raw), out);
	x->depth--;
	return ret;
}

/* ctl_skip_ws - skip blanks in s[*i..n) */
static void ctl_skip_ws(const char *s, size_t n, size_t *i)
{
	while (*i < n && isspace((unsigned char)s[*i]))
		(*i)++;
}

/* ctl_brace_end - index of the '}' closing the '{' at s[i]; n if none */
static size_t ctl_brace_end(const char *s, size_t n, size_t i)
{
	int level = 0;

	for (; i < n; i++) {
		if (s[i] == '{')
			level++;
		else if (s[i] == '}' && --level == 0)
			return i;
	}
	return n;
}

/* ctl_expand_group - "{text}" (expanded) or bare text up to stop char */
static int ctl_expand_group(struct ctl_exp *x, const char *s, size_t n,
			    size_t *i, const char *stop, struct ctl_buf *out)
{
	ctl_skip_ws(s, n, i);
	if (*i < n && s[*i] == '{') {
		size_t e = ctl_brace_end(s, n, *i);
		int ret;

		if (e == n)
			return ctl_experr(x, "missing '}' in \"%.*s\"", (int)n, s);
		ret = out ? ctl_expand_text(x, s + *i + 1, e - *i - 1, out) : 0;
		*i = e + 1;
		ctl_skip_ws(s, n, i);
		return ret;
	} else {
		size_t b = *i;

		while (*i < n && strchr(stop, s[*i]) == NULL)
			(*i)++;
		return out ? ctl_expand_text(x, s + b, *i - b, out) : 0;
	}
}

/* ctl_level_cmp - compare compatibility levels "a[.b[.c]]" */
static int ctl_level_cmp(struct ctl_exp *x, const char *a, const char *b,
			 int *cmp)
{
	const char *v[2] = { a, b };
	long f[2][3] = { { 0 } };

	for (int k = 0; k < 2; k++) {
		const char *p = v[k];

		for (int j = 0; j < 3; j++) {
			char *end;

			if (!isdigit((unsigned char)*p))
				return ctl_experr(x, "bad compatibility level \"%s\"", v[k]);
			errno = 0;
			f[k][j] = strtol(p, &end, 10);
			if (errno != 0)
				return ctl_experr(x, "bad compatibility level \"%s\"", v[k]);
			p = end;
			if (*p == 0)
				break;
			if (*p != '.' || j == 2)
				return ctl_experr(x, "bad compatibility level \"%s\"", v[k]);
			p++;
		}
	}
	*cmp = 0;
	for (int j = 0; j < 3 && *cmp == 0; j++)
		*cmp = (f[0][j] > f[1][j]) - (f[0][j] < f[1][j]);
	return 0;
}

/* ctl_all_digits - non-empty and only digits */
static bool ctl_all_digits(const char *s)
{
	if (*s == 0)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* ctl_expand_relop - ${{a} op {b} ? {c} : {d}} body in s[0..n) */
static int ctl_expand_relop(struct ctl_exp *x, const char *s, size_t n,
			    struct ctl_buf *out)
{
	struct ctl_buf l = { 0 }, r = { 0 };
	size_t i = 0, ob;
	char op[16];
	int cmp = 0, truth = 0, ret;

	ret = ctl_expand_group(x, s, n, &i, "", &l);
	if (ret < 0)
		goto out;
	ob = i;
	while (i < n && strchr("=!<>", s[i]) != NULL)
		i++;
	while (i < n && isalpha((unsigned char)s[i]))
		i++;
	if (i == ob || i - ob >= sizeof(op)) {
		ret = ctl_experr(x, "missing operator in \"${%.*s}\"", (int)n, s);
		goto out;
	}
	memcpy(op, s + ob, i - ob);
	op[i - ob] = 0;
	ctl_skip_ws(s, n, &i);
	if (i >= n || s[i] != '{') {
		ret = ctl_experr(x, "missing '{' after operator in \"${%.*s}\"",
				 (int)n, s);
		goto out;
	}
	ret = ctl_expand_group(x, s, n, &i, "", &r);
	if (ret < 0)
		goto out;
	if (l.p == NULL && (ret = ctl_buf_add(&l, "", 0)) < 0)
		goto out;
	if (r.p == NULL && (ret = ctl_buf_add(&r, "", 0)) < 0)
		goto out;
	{
		size_t ol = strlen(op);
		bool level = ol > 5 && strcmp(op + ol - 5, "level") == 0;

		if (level) {
			op[ol - 5] = 0;
			if ((ret = ctl_level_cmp(x, l.p, r.p, &cmp)) < 0)
				goto out;
		} else if (ctl_all_digits(l.p) && ctl_all_digits(r.p)) {
			unsigned long long a = strtoull(l.p, NULL, 10);
			unsigned long long b = strtoull(r.p, NULL, 10);

			cmp = (a > b) - (a < b);
		} else {
			cmp = strcmp(l.p, r.p);
		}
	}
	if (strcmp(op, "==") == 0)
		truth = cmp == 0;
	else if (strcmp(op, "!=") == 0)
		truth = cmp != 0;
	else if (strcmp(op, "<") == 0)
		truth = cmp < 0;
	else if (strcmp(op, "<=") == 0)
		truth = cmp <= 0;
	else if (strcmp(op, ">") == 0)
		truth = cmp > 0;
	else if (strcmp(op, ">=") == 0)
		truth = cmp >= 0;
	else {
		ret = ctl_experr(x, "unknown operator \"%s\" in \"${%.*s}\"", op,
				 (int)n, s);
		goto out;
	}
	ctl_skip_ws(s, n, &i);
	if (i >= n || s[i] != '?') {
		ret = ctl_experr(x, "missing '?' in \"${%.*s}\"", (int)n, s);
		goto out;
	}
	i++;
	ret = ctl_expand_group(x, s, n, &i, ":", truth ? out : NULL);
	if (ret < 0)
		goto out;
	if (i < n && s[i] == ':') {
		i++;
		ret = ctl_expand_group(x, s, n, &i, "", truth ? NULL : out);
		if (ret < 0)
			goto out;
	}
	if (i != n)
		ret = ctl_experr(x, "junk after expression in \"${%.*s}\"", (int)n, s);
out:
	free(l.p);
	free(r.p);
	return ret;
}

/* ctl_expand_ref - one ${...} or $(...) body */
static int ctl_expand_ref(struct ctl_exp *x, const char *s, size_t n,
			  struct ctl_buf *out)
{
	size_t i = 0, nl;
	bool nonempty;
	struct ctl_buf v = { 0 };
	int ret;

	ctl_skip_ws(s, n, &i);
	if (i < n && s[i] == '{')
		return ctl_expand_relop(x, s + i, n - i, out);
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	nl = i;
	if (nl == 0)
		return ctl_experr(x, "bad macro name in \"${%.*s}\"", (int)n, s);
	if (i == n)
		return ctl_expand_name(x, s, nl, out);
	if (s[i] != '?' && s[i] != ':')
		return ctl_experr(x, "bad macro syntax in \"${%.*s}\"", (int)n, s);
	/* conditional: is the value non-empty? */
	ret = ctl_expand_name(x, s, nl, &v);
	nonempty = ret == 0 && v.len > 0;
	free(v.p);
	if (ret < 0)
		return ret;
	if (s[i] == '?') {
		i++;
		ret = ctl_expand_group(x, s, n, &i, ":", nonempty ? out : NULL);
		if (ret < 0)
			return ret;
		if (i < n && s[i] == ':') {
			i++;
			ret = ctl_expand_group(x, s, n, &i, "", nonempty ? NULL : out);
			if (ret < 0)
				return ret;
		}
	} else {
		i++;
		ret = ctl_expand_group(x, s, n, &i, "", nonempty ? NULL : out);
		if (ret < 0)
			return ret;
	}
	if (i != n)
		return ctl_experr(x, "bad macro syntax in \"${%.*s}\"", (int)n, s);
	return 0;
}

/* ctl_expand_add - append expanded text, within CTL_EXPAND_MAX */
static int ctl_expand_add(struct ctl_exp *x, struct ctl_buf *out,
			  const char *s, size_t n)
{
	char chain[256];

	if (out->len + n > CTL_EXPAND_MAX)
		return ctl_experr(x, "parameter expansion longer than %u bytes: "
				  "%s", CTL_EXPAND_MAX,
				  ctl_chain(x, 0, chain, sizeof(chain)));
	return ctl_buf_add(out, s, n);
}

/* ctl_expand_text - expand s[0..n) into out */
static int ctl_expand_text(struct ctl_exp *x, const char *s, size_t n,
			   struct ctl_buf *out)
{
	size_t i = 0;
	int ret;

	while (i < n) {
		size_t b = i;

		while (i < n && s[i] != '$')
			i++;
		if (i > b && (ret = ctl_expand_add(x, out, s + b, i - b)) < 0)
			return ret;
		if (i >= n)
			break;
		i++;			/* '$' */
		if (i < n && s[i] == '$') {
			if ((ret = ctl_expand_add(x, out, "$", 1)) < 0)
				return ret;
			i++;
		} else if (i < n && (s[i] == '{' || s[i] == '(')) {
			char open = s[i], close = open == '{' ? '}' : ')';
			int level = 1;
			size_t e;

			for (e = i + 1; e < n; e++) {
				if (s[e] == open)
					level++;
				else if (s[e] == close && --level == 0)
					break;
			}
			if (e >= n)
				return ctl_experr(x, "truncated macro reference \"%.*s\"",
						  (int)(n - i + 1), s + i - 1);
			ret = ctl_expand_ref(x, s + i + 1, e - i - 1, out);
			if (ret < 0)
				return ret;
			i = e + 1;
		} else {
			size_t e = i;

			while (e < n && (isalnum((unsigned char)s[e]) || s[e] == '_'))
				e++;
			if (e == i)
				return ctl_experr(x, "empty macro name in \"%.*s\" "
						  "(write $$ for a literal $)",
						  (int)n, s);
			if ((ret = ctl_expand_name(x, s + i, e - i, out)) < 0)
				return ret;
			i = e;
		}
	}
	return 0;
}

/* ctl_expand_setting - expanded value of one entry; *line = where */
static char *ctl_expand_setting(const struct ctl_conf *conf,
				const struct ctl_setting *s, bool stress,
				unsigned *line, char *err, size_t errlen)
{
	struct ctl_exp x = { .conf = conf, .stress = stress, .err = err,
			     .errlen = errlen };
	struct ctl_buf out = { 0 };
	char *v;

	if (err != NULL && errlen > 0)
		err[0] = 0;
	x.line = s->line;
	if (ctl_expand_name(&x, s->name, strlen(s->name), &out) < 0) {
		free(out.p);
		if (line)
			*line = s->line ? s->line : x.line;
		return NULL;
	}
	v = ctl_buf_take(&out);
	if (line)
		*line = s->line ? s->line : x.line;
	return v;
}

/* ctl_where - "file:line" of an encoded line (CTL_LINE), "file" for 0 */
static void ctl_where(const struct ctl_conf *conf, unsigned line, char *buf,
		      size_t len)
{
	unsigned f = line >> CTL_LINE_BITS;

	if (f >= conf->nfiles)
		f = 0;
	if (line & CTL_LINE_MASK)
		snprintf(buf, len, "%s:%u", conf->files[f], line & CTL_LINE_MASK);
	else
		snprintf(buf, len, "%s", conf->files[f]);
}

/* ctl_err - "file:line: " + message (line encoded by CTL_LINE) */
static void ctl_err(const struct ctl_conf *conf, char *err, size_t errlen,
		    unsigned line, const char *fmt, ...)
{
	char where[PATH_MAX + 16];
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	ctl_where(conf, line, where, sizeof(where));
	n = snprintf(err, errlen, "%s: ", where);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* ctl_edit_distance - Levenshtein distance (names are short) */
static unsigned ctl_edit_distance(const char *a, const char *b)
{
	unsigned row[64], la = strlen(a), lb = strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned prev = row[0];

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned sub = prev + (a[i - 1] != b[j - 1]);
			unsigned m = row[j] + 1 < row[j - 1] + 1 ?
				     row[j] + 1 : row[j - 1] + 1;

			row[j] = m < sub ? m : sub;
			prev = cur;
		}
	}
	return row[lb];
}

/* ctl_nearest - the known name closest to name */
static const char *ctl_nearest(const char *name)
{
	const char *best = NULL;
	unsigned bd = 99;

	for (size_t i = 0; i < CTL_NPARAMS; i++) {
		unsigned d = ctl_edit_distance(name, ctl_params[i].name);

		if (d < bd) {
			bd = d;
			best = ctl_params[i].name;
		}
	}
	return best;
}

/* ctl_default_hostname - the host's FQDN as Postfix's myhostname default */
static int ctl_default_hostname(struct ctl_conf *conf)
{
	char host[256];
	const char *dot;

	if (gethostname(host, sizeof(host)) < 0 || host[0] == 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	if (strchr(host, '.') == NULL) {
		size_t l = strlen(host);

		snprintf(host + l, sizeof(host) - l, ".localdomain");
	}
	dot = strchr(host, '.');
	conf->hostname = strdup(host);
	conf->domain = strdup(dot && dot[1] ? dot + 1 : "localdomain");
	return conf->hostname && conf->domain ? 0 : -ENOMEM;
}

/* ctl_conf_parse_time - "%d%c" time value, units s m h d w */
int ctl_conf_parse_time(const char *s, char default_unit,
			unsigned long long *secs)
{
	unsigned long long v = 0, mul;
	const char *p = s;
	char unit;

	if (s == NULL || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	unit = *p ? *p++ : default_unit;
	if (*p != 0)
		return -EINVAL;
	switch (unit) {
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	case 'w': mul = 604800; break;
	default: return -EINVAL;
	}
	if (v > ULLONG_MAX / mul)
		return -EINVAL;
	*secs = v * mul;
	return 0;
}

/* ctl_conf_parse_bool - yes|no (case-insensitive, as Postfix) */
int ctl_conf_parse_bool(const char *s, int *out)
{
	if (s == NULL)
		return -EINVAL;
	if (strcasecmp(s, "yes") == 0)
		*out = 1;
	else if (strcasecmp(s, "no") == 0)
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

/* ctl_conf_parse_action - ignore|enforce|drop, continue = ignore */
int ctl_conf_parse_action(const char *s, int *out)
{
	if (s == NULL)
		return -EINVAL;
	if (strcasecmp(s, "ignore") == 0 || strcasecmp(s, "continue") == 0)
		*out = SCR_ACT_IGNORE;
	else if (strcasecmp(s, "enforce") == 0)
		*out = SCR_ACT_ENFORCE;
	else if (strcasecmp(s, "drop") == 0)
		*out = SCR_ACT_DROP;
	else
		return -EINVAL;
	return 0;
}

/* ctl_parse_int - signed decimal, no junk */
static int ctl_parse_int(const char *s, long long *out)
{
	char *end;

	if (s == NULL || *s == 0 || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != 0 || end == s)
		return -EINVAL;
	return 0;
}

/* ctl_parse_ports - list of up to 8 ports (1..65535) */
static int ctl_parse_ports(const char *s, uint16_t ports[8], uint8_t *n)
{
	char buf[512];
	char *tok, *save = NULL;

	*n = 0;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ", \t\r\n", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t\r\n", &save)) {
		long long v;

		if (ctl_parse_int(tok, &v) < 0 || v < 1 || v > 65535 || *n == 8)
			return -EINVAL;
		ports[(*n)++] = (uint16_t)v;
	}
	return *n ? 0 : -EINVAL;
}

/* ctl_check_value - validate one known parameter's expanded value */
static int ctl_check_value(const struct ctl_conf *conf,
			   const struct ctl_setting *s, unsigned line,
			   char *err, size_t errlen)
{
	const struct ctl_param *p = s->param;
	const char *v = s->value;
	unsigned long long t;
	long long i;
	int b;

	switch (p->type) {
	case CTL_T_STR:
		return 0;
	case CTL_T_BOOL:
		if (ctl_conf_parse_bool(v, &b) == 0)
			return 0;
		ctl_err(conf, err, errlen, line,
			"%s: bad boolean value \"%s\" (yes or no)", p->name, v);
		return -EINVAL;
	case CTL_T_ACTION:
		if (ctl_conf_parse_action(v, &b) == 0)
			return 0;
		ctl_err(conf, err, errlen, line,
			"%s: bad action \"%s\" (ignore, enforce or drop)",
			p->name, v);
		return -EINVAL;
	case CTL_T_TIME:
		if (ctl_conf_parse_time(v, p->unit, &t) < 0) {
			ctl_err(conf, err, errlen, line,
				"%s: bad time value \"%s\" (examples: 6s, 2m)",
				p->name, v);
			return -EINVAL;
		}
		if ((long long)t < p->min || t > (unsigned long long)p->max) {
			ctl_err(conf, err, errlen, line,
				"%s: time value \"%s\" out of range (%llds..%llds)",
				p->name, v, p->min, p->max);
			return -EINVAL;
		}
		return 0;
	case CTL_T_INT:
		if (ctl_parse_int(v, &i) < 0) {
			ctl_err(conf, err, errlen, line,
				"%s: bad numerical value \"%s\"", p->name, v);
			return -EINVAL;
		}
		if (i < p->min || i > p->max) {
			ctl_err(conf, err, errlen, line,
				"%s: bad value \"%s\" (%lld..%lld)", p->name, v,
				p->min, p->max);
			return -EINVAL;
		}
		return 0;
	case CTL_T_PORTS: {
		uint16_t ports[8];
		uint8_t n;

		if (ctl_parse_ports(v, ports, &n) == 0)
			return 0;
		ctl_err(conf, err, errlen, line,
			"%s: bad port list \"%s\" (1 to 8 ports, 1..65535)",
			p->name, v);
		return -EINVAL;
	}
	case CTL_T_LOGFMT:
		if (strcmp(v, "postfix") == 0 || strcmp(v, "json") == 0)
			return 0;
		ctl_err(conf, err, errlen, line,
			"%s: bad value \"%s\" (postfix or json)", p->name, v);
		return -EINVAL;
	case CTL_T_OVERLOAD:
		if (strcmp(v, "pass") == 0 || strcmp(v, "drop") == 0)
			return 0;
		ctl_err(conf, err, errlen, line,
			"%s: bad value \"%s\" (pass or drop)", p->name, v);
		return -EINVAL;
	case CTL_T_HOSTHOLD:
		if (strcmp(v, "handshake") == 0 || strcmp(v, "greeting") == 0 ||
		    strcmp(v, "seat") == 0)
			return 0;
		ctl_err(conf, err, errlen, line,
			"%s: bad value \"%s\" (handshake, greeting or seat)", p->name, v);
		return -EINVAL;
	case CTL_T_PROXY:
		if (v[0] == 0 || strcmp(v, "haproxy") == 0)
			return 0;
		ctl_err(conf, err, errlen, line,
			"%s: bad value \"%s\" (empty or haproxy)", p->name, v);
		return -EINVAL;
	default:
		ctl_msg_panic("ctl_check_value: %s: parameter type %d out of "
			      "range", p->name, (int)p->type);
	}
}

/* ctl_trim - strip trailing white space in place */
static void ctl_trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
}

/* ctl_set_line - parse one logical line "name = value" */
static int ctl_set_line(struct ctl_conf *conf, char *l, unsigned line,
			char *err, size_t errlen)
{
	char *p = l, *name, *val;
	size_t nl;
	struct ctl_setting *s;
	const struct ctl_param *par;

	while (isspace((unsigned char)*p))
		p++;
	name = p;
	while (*p && !isspace((unsigned char)*p) && *p != '=')
		p++;
	nl = (size_t)(p - name);
	while (isspace((unsigned char)*p))
		p++;
	if (nl == 0) {
		ctl_err(conf, err, errlen, line,
			"missing parameter name before '='");
		return -EINVAL;
	}
	if (*p != '=') {
		ctl_err(conf, err, errlen, line,
			"missing '=' after parameter name \"%.*s\"", (int)nl, name);
		return -EINVAL;
	}
	for (size_t i = 0; i < nl; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
			ctl_err(conf, err, errlen, line,
				"bad parameter name \"%.*s\"", (int)nl, name);
			return -EINVAL;
		}
	}
	p++;
	while (isspace((unsigned char)*p))
		p++;
	val = p;
	ctl_trim(val);
	name[nl] = 0;
	par = ctl_param_find(name);
	if (par == NULL && (strncmp(name, "postscreen_", 11) == 0 ||
			    strncmp(name, "smtpscreen_", 11) == 0)) {
		ctl_err(conf, err, errlen, line,
			"unknown parameter %s (did you mean %s?)", name,
			ctl_nearest(name));
		return -EINVAL;
	}
	s = ctl_setting_find(conf, name, nl);
	if (s == NULL) {
		s = ctl_setting_add(conf, name, nl);
		if (s == NULL)
			return -ENOMEM;
		s->param = par;
	}
	free(s->raw);
	s->raw = strdup(val);
	if (s->raw == NULL)
		return -ENOMEM;
	s->line = line;
	return 0;
}

/* ctl_conf_destroy - free a conf */
void ctl_conf_destroy(struct ctl_conf *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < conf->nset; i++) {
		free(conf->set[i].name);
		free(conf->set[i].raw);
		free(conf->set[i].value);
	}
	free(conf->set);
	for (unsigned i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->dir);
	free(conf->hostname);
	free(conf->domain);
	free(conf);
}

/* ctl_keep - in check mode, report the error in err and go on (true);
 * otherwise false: the caller returns it */
static bool ctl_keep(struct ctl_conf *conf, int ret, char *err)
{
	if (ret != -EINVAL || conf->report == NULL)
		return false;
	conf->report(err, conf->report_arg);
	conf->nerr++;
	err[0] = 0;
	return true;
}

/* ctl_conf_finish - add table entries, expand and validate everything */
static int ctl_conf_finish(struct ctl_conf *conf, char *err, size_t errlen)
{
	char xerr[512];

	for (size_t i = 0; i < CTL_NPARAMS; i++) {
		const char *n = ctl_params[i].name;

		if (ctl_setting_find(conf, n, strlen(n)) == NULL) {
			struct ctl_setting *s = ctl_setting_add(conf, n, strlen(n));

			if (s == NULL)
				return -ENOMEM;
			s->param = &ctl_params[i];
		}
	}
	for (size_t i = 0; i < conf->nset; i++) {
		struct ctl_setting *s = &conf->set[i];
		unsigned line = 0;
		int ret;

		s->value = ctl_expand_setting(conf, s, false, &line, xerr,
					      sizeof(xerr));
		if (s->value == NULL) {
			if (xerr[0] == 0)
				return -ENOMEM;
			if (s->param == NULL) {
				/* Another Postfix parameter that no known
				 * parameter uses: Postfix would complain when
				 * its user reads it; keep it as written. */
				s->value = strdup(s->raw ? s->raw : "");
				if (s->value == NULL)
					return -ENOMEM;
				continue;
			}
			ctl_err(conf, err, errlen, line, "%s: %s", s->name,
				xerr);
			if (ctl_keep(conf, -EINVAL, err)) {
				s->value = strdup("");
				if (s->value == NULL)
					return -ENOMEM;
				continue;
			}
			return -EINVAL;
		}
		if (s->param != NULL && (s->raw != NULL ||
					 !(s->param->flags & CTL_PF_LEGACY))) {
			ret = ctl_check_value(conf, s, line, err, errlen);
			if (ret < 0 && !ctl_keep(conf, ret, err))
				return ret;
		}
	}
	if (conf->nerr > 0)
		return -EINVAL;	/* the stress values of bad values: noise */
	/* The stress-mode values of the stress-dependent parameters must be
	 * valid too: postscreen evaluates both at start-up. */
	for (size_t i = 0; i < conf->nset; i++) {
		struct ctl_setting *s = &conf->set[i], tmp;
		unsigned line = 0;
		int ret;

		if (s->param == NULL || s->param->type == CTL_T_STR ||
		    (s->raw == NULL && (s->param->flags & CTL_PF_LEGACY)))
			continue;
		tmp = *s;
		tmp.value = ctl_expand_setting(conf, s, true, &line, xerr,
					       sizeof(xerr));
		if (tmp.value == NULL) {
			ctl_err(conf, err, errlen, line, "%s: %s", s->name,
				xerr);
			if (xerr[0] && ctl_keep(conf, -EINVAL, err))
				continue;
			return xerr[0] ? -EINVAL : -ENOMEM;
		}
		ret = ctl_check_value(conf, &tmp, line, err, errlen);
		free(tmp.value);
		if (ret < 0 && !ctl_keep(conf, ret, err))
			return ret;
	}
	return conf->nerr > 0 ? -EINVAL : 0;
}

/* ctl_conf_new - an empty conf whose first file is name */
static struct ctl_conf *ctl_conf_new(const char *name)
{
	struct ctl_conf *conf = calloc(1, sizeof(*conf));
	const char *sl = strrchr(name, '/');

	if (conf == NULL)
		return NULL;
	conf->files[0] = strdup(name);
	conf->file = conf->files[0];
	conf->nfiles = 1;
	conf->dir = sl ? strndup(name, (size_t)(sl - name) + (sl == name))
		       : strdup(".");
	if (conf->file == NULL || conf->dir == NULL ||
	    ctl_default_hostname(conf) < 0) {
		ctl_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

/* ctl_conf_add_file - index of a new file name; -ENOMEM, -E2BIG */
static int ctl_conf_add_file(struct ctl_conf *conf, const char *name)
{
	if (conf->nfiles == 1 && conf->set == NULL &&
	    strcmp(conf->files[0], name) == 0)
		return 0;	/* the first file, named at ctl_conf_new */
	if (conf->nfiles > CTL_CONF_FILES)
		return -E2BIG;
	conf->files[conf->nfiles] = strdup(name);
	if (conf->files[conf->nfiles] == NULL)
		return -ENOMEM;
	return (int)conf->nfiles++;
}

/* ctl_conf_feed - the settings of one file's text (file index f) */
static int ctl_conf_feed(struct ctl_conf *conf, const char *text, size_t len,
			 unsigned f, char *err, size_t errlen)
{
	struct ctl_buf logical = { 0 };
	unsigned line = 0, lstart = 0;
	size_t i = 0;
	int ret = -ENOMEM;

	while (i <= len) {
		size_t b = i, e = i;
		bool eof = i == len;
		const char *c;

		if (!eof) {
			while (i < len && text[i] != '\n')
				i++;
			e = i;
			if (e > b && text[e - 1] == '\r')
				e--;
			i++;
			line++;
			if (memchr(text + b, 0, e - b) != NULL) {
				ctl_err(conf, err, errlen, CTL_LINE(f, line),
					"NUL byte in line");
				if (ctl_keep(conf, -EINVAL, err))
					continue;
				ret = -EINVAL;
				goto out;
			}
			c = text + b;
			while (c < text + e && isspace((unsigned char)*c))
				c++;
			if (c == text + e || *c == '#')
				continue;	/* blank or comment line */
			if (c != text + b) {	/* continuation */
				if (logical.p == NULL) {
					ctl_err(conf, err, errlen,
						CTL_LINE(f, line),
						"line starts with white space "
						"but continues nothing");
					if (ctl_keep(conf, -EINVAL, err))
						continue;
					ret = -EINVAL;
					goto out;
				}
				/* Postfix keeps one blank between the pieces */
				if (ctl_buf_add(&logical, " ", 1) < 0 ||
				    ctl_buf_add(&logical, c, (size_t)(text + e - c)) < 0)
					goto out;
				continue;
			}
		}
		if (logical.p != NULL) {
			ret = ctl_set_line(conf, logical.p, CTL_LINE(f, lstart),
					   err, errlen);
			if (ret < 0 && !ctl_keep(conf, ret, err))
				goto out;
			free(logical.p);
			logical.p = NULL;
			logical.len = logical.cap = 0;
		}
		if (eof)
			break;
		lstart = line;
		if (ctl_buf_add(&logical, text + b, e - b) < 0)
			goto out;
	}
	ret = 0;
out:
	free(logical.p);
	return ret;
}

/* The -o name=value settings of this process (ctl_conf_override). */
static const char *ctl_overrides[CTL_CONF_OVERRIDES];
static unsigned ctl_noverrides;

/* ctl_conf_override - one "-o name=value", applied after the files */
int ctl_conf_override(const char *setting)
{
	if (strchr(setting, '=') == NULL || strchr(setting, '\n') != NULL)
		return -EINVAL;
	if (ctl_noverrides == CTL_CONF_OVERRIDES)
		return -E2BIG;
	ctl_overrides[ctl_noverrides++] = setting;
	return 0;
}

/* ctl_conf_done - the -o settings, then expand and validate; on error
 * err set (or the errors reported) and conf destroyed */
static struct ctl_conf *ctl_conf_done(struct ctl_conf *conf, int ret,
				      const char *name, char *err, size_t errlen)
{
	int f;

	if (ret == 0 && ctl_noverrides > 0) {
		f = ctl_conf_add_file(conf, "-o");
		ret = f < 0 ? f : 0;
		for (unsigned i = 0; ret == 0 && i < ctl_noverrides; i++) {
			char *l = strdup(ctl_overrides[i]);

			ret = l == NULL ? -ENOMEM :
			      ctl_set_line(conf, l, CTL_LINE(f, i + 1), err, errlen);
			free(l);
			if (ret < 0 && ctl_keep(conf, ret, err))
				ret = 0;
		}
	}
	if (ret == 0)
		ret = ctl_conf_finish(conf, err, errlen);
	if (ret == 0 && conf->nerr > 0)
		ret = -EINVAL;
	if (ret < 0) {
		if (ret == -ENOMEM && err && errlen && err[0] == 0)
			snprintf(err, errlen, "%s: out of memory", name);
		ctl_conf_destroy(conf);
		errno = -ret;
		return NULL;
	}
	return conf;
}

/* ctl_conf_parse - parse main.cf text */
struct ctl_conf *ctl_conf_parse(const char *text, size_t len, const char *name,
				char *err, size_t errlen)
{
	struct ctl_conf *conf;

	if (err && errlen)
		err[0] = 0;
	if (name == NULL)
		name = "main.cf";
	conf = ctl_conf_new(name);
	if (conf == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		errno = ENOMEM;
		return NULL;
	}
	return ctl_conf_done(conf, ctl_conf_feed(conf, text, len, 0, err, errlen),
			     name, err, errlen);
}

/* ctl_conf_read - the files of a ':' list into a new conf; a file named
 * with a leading '?' is skipped when it does not exist */
static struct ctl_conf *ctl_conf_read(const char *paths, ctl_conf_report_fn *fn,
				      void *arg, char *err, size_t errlen)
{
	struct ctl_conf *conf = NULL;
	char *list = strdup(paths), *save = NULL, *p;
	int ret = -ENOMEM, f;

	if (err && errlen)
		err[0] = 0;
	if (list == NULL)
		goto out;
	for (p = strtok_r(list, ":", &save); p != NULL;
	     p = strtok_r(NULL, ":", &save)) {
		bool optional = p[0] == '?';
		char *text;
		size_t len;

		p += optional;
		if (optional && access(p, F_OK) != 0 && errno == ENOENT)
			continue;
		if (conf == NULL) {
			conf = ctl_conf_new(p);
			if (conf == NULL)
				goto out;
			conf->report = fn;
			conf->report_arg = arg;
		}
		f = ctl_conf_add_file(conf, p);
		if (f < 0) {
			snprintf(err, errlen, "%s: more than %d files", paths,
				 CTL_CONF_FILES);
			ret = -EINVAL;
			goto out;
		}
		ret = ctl_file_read(p, CTL_CONF_MAX_FILE, &text, &len, err,
				    errlen);
		if (ret == 0) {
			ret = ctl_conf_feed(conf, text, len, (unsigned)f, err,
					    errlen);
			free(text);
		}
		if (ret < 0)
			goto out;
	}
	if (conf == NULL) {
		snprintf(err, errlen, "%s: no configuration file", paths);
		ret = -EINVAL;
		goto out;
	}
	free(list);
	return ctl_conf_done(conf, 0, paths, err, errlen);
out:
	if (ret == -ENOMEM && err && errlen && err[0] == 0)
		snprintf(err, errlen, "%s: out of memory", paths);
	free(list);
	ctl_conf_destroy(conf);
	errno = -ret;
	return NULL;
}

/* ctl_conf_load - read and parse main.cf files (a ':' list) */
struct ctl_conf *ctl_conf_load(const char *path, char *err, size_t errlen)
{
	return ctl_conf_read(path, NULL, NULL, err, errlen);
}

/* The caller's report function and its count of errors. */
struct ctl_conf_counted {
	ctl_conf_report_fn *fn;
	void *arg;
	unsigned n;
};

/* ctl_conf_count - report one error and count it */
static void ctl_conf_count(const char *msg, void *arg)
{
	struct ctl_conf_counted *c = arg;

	c->fn(msg, c->arg);
	c->n++;
}

/* ctl_conf_check - load, handing every error to fn */
struct ctl_conf *ctl_conf_check(const char *path, ctl_conf_report_fn *fn,
				void *arg, unsigned *nerr)
{
	struct ctl_conf_counted c = { .fn = fn, .arg = arg };
	struct ctl_conf *conf;
	char err[2048];

	conf = ctl_conf_read(path, ctl_conf_count, &c, err, sizeof(err));
	if (conf == NULL && err[0] != 0)
		ctl_conf_count(err, &c);	/* the error that stopped it */
	if (conf == NULL && c.n == 0)
		ctl_conf_count("out of memory", &c);
	*nerr = c.n;
	return conf;
}

/* ctl_conf_default_path - $MAIL_CONFIG/main.cf, then the smtpscreen file
 * ($SMTPSCREEN_CONFIG) when it exists: a ':' list for ctl_conf_load */
const char *ctl_conf_default_path(void)
{
	static char buf[2 * PATH_MAX + 8];
	const char *dir = getenv("MAIL_CONFIG"), *own = getenv("SMTPSCREEN_CONFIG");

	if (dir == NULL || dir[0] == 0)
		dir = CTL_CONF_POSTFIX_DIR;
	if (own == NULL)
		own = CTL_CONF_OWN_FILE;
	snprintf(buf, sizeof(buf), "%s/main.cf%s%s%s", dir, own[0] ? ":" : "",
		 own[0] && own[0] != '?' ? "?" : "", own);
	return buf;
}

/* ctl_conf_get - expanded value of a name */
const char *ctl_conf_get(const struct ctl_conf *conf, const char *name)
{
	struct ctl_setting *s = ctl_setting_find(conf, name, strlen(name));

	return s ? s->value : NULL;
}

/* ctl_conf_raw - as written, or the unexpanded default */
const char *ctl_conf_raw(const struct ctl_conf *conf, const char *name,
			 int *set)
{
	struct ctl_setting *s = ctl_setting_find(conf, name, strlen(name));

	*set = s != NULL && s->raw != NULL;
	if (s == NULL)
		return NULL;
	if (s->raw != NULL)
		return s->raw;
	if (s->param != NULL && (s->param->flags & CTL_PF_LEGACY))
		return "";
	if (s->param != NULL && s->param->def != NULL)
		return s->param->def;
	return s->value;	/* myhostname, mydomain: computed */
}

/* ctl_conf_get_stress - value as postscreen evaluates it in stress mode */
int ctl_conf_get_stress(const struct ctl_conf *conf, const char *name,
			char *buf, size_t len)
{
	struct ctl_setting *s = ctl_setting_find(conf, name, strlen(name));
	char *v;

	if (s == NULL)
		return -ENOENT;
	v = ctl_expand_setting(conf, s, true, NULL, NULL, 0);
	if (v == NULL)
		return -EINVAL;
	snprintf(buf, len, "%s", v);
	free(v);
	return 0;
}

/* ctl_conf_where - "file:line" or "default" */
const char *ctl_conf_where(const struct ctl_conf *conf, const char *name,
			   char *buf, size_t len)
{
	struct ctl_setting *s = ctl_setting_find(conf, name, strlen(name));

	if (s == NULL || s->line == 0)
		snprintf(buf, len, "default");
	else
		ctl_where(conf, s->line, buf, len);
	return buf;
}

/* ctl_conf_file - the name used in messages */
const char *ctl_conf_file(const struct ctl_conf *conf)
{
	return conf->file;
}

/* ctl_conf_file_at - the i-th file read */
const char *ctl_conf_file_at(const struct ctl_conf *conf, unsigned i)
{
	return i < conf->nfiles ? conf->files[i] : NULL;
}

/* ctl_conf_dir - directory of the loaded file */
const char *ctl_conf_dir(const struct ctl_conf *conf)
{
	return conf->dir;
}

/* ctl_conf_param_count - size of the parameter table */
size_t ctl_conf_param_count(void)
{
	return CTL_NPARAMS;
}

/* ctl_conf_param_info - one table row (docs, tests, smtpscreenctl) */
int ctl_conf_param_info(size_t i, const char **name, const char **def,
			const char **type, unsigned *used)
{
	if (i >= CTL_NPARAMS)
		return -ENOENT;
	*name = ctl_params[i].name;
	*def = ctl_params[i].def;
	*type = ctl_ptype_name[ctl_params[i].type];
	*used = ctl_params[i].flags & CTL_PF_USED ? 1 :
		ctl_params[i].flags & CTL_PF_NOEFFECT ? 0 : 2;
	return 0;
}

/* ctl_get_time - validated time value (load checked it) */
static unsigned long long ctl_get_time(const struct ctl_conf *conf,
				       const char *name)
{
	const struct ctl_param *p = ctl_param_find(name);
	unsigned long long t = 0;

	(void)ctl_conf_parse_time(ctl_conf_get(conf, name), p ? p->unit : 's', &t);
	return t;
}

/* ctl_get_time_ns - a time parameter in ns, normal and stress values; the
 * stress value is checked like the normal one */
static int ctl_get_time_ns(const struct ctl_conf *conf, const char *name,
			   uint64_t *normal, uint64_t *stress, char *err,
			   size_t errlen)
{
	const struct ctl_param *p = ctl_param_find(name);
	unsigned long long t = ctl_get_time(conf, name);
	char buf[256];

	*normal = t * 1000000000ull;
	if (stress == NULL)
		return 0;
	if (ctl_conf_get_stress(conf, name, buf, sizeof(buf)) < 0 ||
	    ctl_conf_parse_time(buf, p->unit, &t) < 0 || (long long)t < p->min ||
	    t > (unsigned long long)p->max) {
		char where[128];

		ctl_err(conf, err, errlen, 0, "%s (%s): bad stress value",
			name, ctl_conf_where(conf, name, where, sizeof(where)));
		return -EINVAL;
	}
	*stress = t * 1000000000ull;
	return 0;
}

/* ctl_get_int - validated integer value */
static long long ctl_get_int(const struct ctl_conf *conf, const char *name)
{
	long long v = 0;

	(void)ctl_parse_int(ctl_conf_get(conf, name), &v);
	return v;
}

/* ctl_get_bool - validated boolean */
static bool ctl_get_bool(const struct ctl_conf *conf, const char *name)
{
	int b = 0;

	(void)ctl_conf_parse_bool(ctl_conf_get(conf, name), &b);
	return b;
}

/* ctl_get_action - validated action */
static uint8_t ctl_get_action(const struct ctl_conf *conf, const char *name)
{
	int a = SCR_ACT_IGNORE;

	(void)ctl_conf_parse_action(ctl_conf_get(conf, name), &a);
	return (uint8_t)a;
}

/* blank - an unset or empty (white space only) value */
static bool blank(const char *v)
{
	return v == NULL || v[strspn(v, " \t\r\n,")] == '\0';
}

/* ctl_conf_policy - the engine policy */
int ctl_conf_policy(const struct ctl_conf *conf, struct scr_policy *pol,
		    char *err, size_t errlen)
{
	static const struct {
		enum scr_test test;
		const char *enable, *action, *ttl;
	} t[] = {
		{ SCR_TEST_PREGREET, NULL, "postscreen_greet_action", "postscreen_greet_ttl" },
		{ SCR_TEST_BARE_NEWLINE, "postscreen_bare_newline_enable",
		  "postscreen_bare_newline_action", "postscreen_bare_newline_ttl" },
		{ SCR_TEST_PIPELINING, "postscreen_pipelining_enable",
		  "postscreen_pipelining_action", "postscreen_pipelining_ttl" },
		{ SCR_TEST_NON_SMTP, "postscreen_non_smtp_command_enable",
		  "postscreen_non_smtp_command_action", "postscreen_non_smtp_command_ttl" },
		{ SCR_TEST_HELO, "smtpscreen_helo_enable", "smtpscreen_helo_action",
		  "smtpscreen_helo_ttl" },
		{ SCR_TEST_ACCESS, NULL, "postscreen_denylist_action", NULL },
		{ SCR_TEST_DNSBL, NULL, "postscreen_dnsbl_action", "postscreen_dnsbl_max_ttl" },
		{ SCR_TEST_REPLY_BAN, "smtpscreen_reply_ban_enable",
		  "smtpscreen_reply_ban_action", "smtpscreen_reply_ban_ttl" },
	};

	if (err && errlen)
		err[0] = 0;
	memset(pol, 0, sizeof(*pol));
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool on;

		switch (t[i].test) {
		case SCR_TEST_PREGREET:
			on = ctl_conf_get(conf, "postscreen_greet_banner")[0] != 0;
			break;
		case SCR_TEST_ACCESS:
			on = true;
			break;
		case SCR_TEST_DNSBL:
			on = ctl_conf_get(conf, "postscreen_dnsbl_sites")[0] != 0;
			break;
		case SCR_TEST_BARE_NEWLINE:
		case SCR_TEST_PIPELINING:
		case SCR_TEST_NON_SMTP:
		case SCR_TEST_HELO:
			on = ctl_get_bool(conf, t[i].enable);
			break;
		case SCR_TEST_REPLY_BAN:
			/* not a test a client passes: no bit in enabled */
			pol->reply_ban = ctl_get_bool(conf, t[i].enable);
			on = false;
			break;
		default:
			ctl_msg_panic("ctl_conf_policy: test %d out of range",
				      (int)t[i].test);
		}
		if (on)
			pol->enabled |= (uint8_t)SCR_TEST_BIT(t[i].test);
		pol->action[t[i].test] = ctl_get_action(conf, t[i].action);
		pol->ttl_s[t[i].test] = t[i].ttl ?
			(uint32_t)ctl_get_time(conf, t[i].ttl) : 0;
	}
	pol->block_ttl_s = (uint32_t)ctl_get_time(conf, "smtpscreen_block_ttl");
	pol->greet_wait_ns = ctl_get_time(conf, "postscreen_greet_wait") *
			     1000000000ull;
	pol->helo_required = ctl_get_bool(conf, "postscreen_helo_required");
	pol->smtputf8 = ctl_get_bool(conf, "smtputf8_enable");
	pol->command_count_limit =
		(uint32_t)ctl_get_int(conf, "postscreen_command_count_limit");
	pol->line_length_limit = (uint32_t)ctl_get_int(conf, "line_length_limit");
	pol->smuggling_enable = ctl_get_bool(conf, "smtpscreen_smuggling_enable");
	pol->smuggling_action =
		(uint8_t)ctl_get_action(conf, "smtpscreen_smuggling_action");
	pol->smuggling_ttl_s = (uint32_t)ctl_get_time(conf, "smtpscreen_smuggling_ttl");
	pol->envelope = !blank(ctl_conf_get(conf, "smtpscreen_helo_restrictions")) ||
			!blank(ctl_conf_get(conf, "smtpscreen_sender_restrictions")) ||
			!blank(ctl_conf_get(conf, "smtpscreen_recipient_restrictions"));
	pol->envelope_action =
		(uint8_t)ctl_get_action(conf, "smtpscreen_envelope_action");
	pol->envelope_ttl_s = (uint32_t)ctl_get_time(conf, "smtpscreen_envelope_ttl");
	pol->envelope_wait_ns =
		(uint64_t)ctl_get_time(conf, "smtpscreen_envelope_timeout") *
		1000000000ull + 500000000ull;
	pol->flow_table_size =
		(uint32_t)ctl_get_int(conf, "smtpscreen_flow_table_size");
	if (ctl_get_time_ns(conf, "smtpscreen_tcp_syn_timeout",
			    &pol->syn_timeout_ns, &pol->syn_timeout_stress_ns,
			    err, errlen) < 0 ||
	    ctl_get_time_ns(conf, "smtpscreen_tcp_idle_timeout",
			    &pol->idle_timeout_ns, &pol->idle_timeout_stress_ns,
			    err, errlen) < 0 ||
	    ctl_get_time_ns(conf, "postscreen_command_time_limit",
			    &pol->command_time_ns, &pol->command_time_stress_ns,
			    err, errlen) < 0)
		return -EINVAL;
	pol->client_flow_limit = (uint32_t)ctl_get_int(conf,
				"postscreen_client_connection_count_limit");
	pol->overload_drop = strcmp(ctl_conf_get(conf, "smtpscreen_overload_policy"),
				    "drop") == 0;
	pol->close_timeout_ns = ctl_get_time(conf, "smtpscreen_tcp_close_timeout") *
				1000000000ull;
	pol->reorder_window = (uint32_t)ctl_get_int(conf, "smtpscreen_reorder_window");
	pol->client_v6_plen = (uint8_t)ctl_get_int(conf,
				"smtpscreen_client_ipv6_prefix_length");
	if (ctl_parse_ports(ctl_conf_get(conf, "smtpscreen_ports"), pol->ports,
			    &pol->nports) < 0) {
		ctl_err(conf, err, errlen, 0, "smtpscreen_ports: bad port list");
		return -EINVAL;
	}
	return 0;
}

/* ctl_conf_reply_ban - the reply-ban counter's limits */
void ctl_conf_reply_ban(const struct ctl_conf *conf, struct ctl_rban_conf *rc)
{
	static const char *const kind[SCR_REPLY_MAX] = {
		[SCR_REPLY_AUTH] = "auth", [SCR_REPLY_HARVEST] = "harvest",
		[SCR_REPLY_RELAY] = "relay", [SCR_REPLY_HELO] = "helo",
	};
	char name[64];
	unsigned k;

	memset(rc, 0, sizeof(*rc));
	for (k = 0; k < SCR_REPLY_MAX; k++) {
		snprintf(name, sizeof(name), "smtpscreen_reply_ban_%s_limit", kind[k]);
		rc->limit[k] = (uint32_t)ctl_get_int(conf, name);
		snprintf(name, sizeof(name), "smtpscreen_reply_ban_%s_window", kind[k]);
		rc->window_s[k] = (uint32_t)ctl_get_time(conf, name);
	}
	rc->ttl_s = (uint32_t)ctl_get_time(conf, "smtpscreen_reply_ban_ttl");
	rc->v6_plen = (uint8_t)ctl_get_int(conf, "smtpscreen_client_ipv6_prefix_length");
	rc->table_size = (uint32_t)ctl_get_int(conf, "smtpscreen_reply_ban_table_size");
}

/*
 * Scanner patterns.
 */

struct ctl_pats {
	struct scr_scan_pattern *v;
	size_t n, cap;
};

/* ctl_pat_add - append a pattern (strings copied) */
static int ctl_pat_add(struct ctl_pats *ps, const char *name, const char *re,
		       unsigned caseless, enum scr_pat_kind kind,
		       enum scr_test test, const char *where)
{
	struct scr_scan_pattern *p;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;

		p = realloc(ps->v, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		ps->v = p;
		ps->cap = cap;
	}
	p = &ps->v[ps->n];
	p->name = strdup(name);
	p->regex = strdup(re);
	p->where = strdup(where);
	p->caseless = caseless;
	p->kind = kind;
	p->test = test;
	if (p->name == NULL || p->regex == NULL || p->where == NULL) {
		free((void *)p->name);
		free((void *)p->regex);
		free((void *)p->where);
		return -ENOMEM;
	}
	ps->n++;
	return 0;
}

/* ctl_conf_patterns_free - free what ctl_conf_patterns returned */
void ctl_conf_patterns_free(struct scr_scan_pattern *pats, size_t n)
{
	if (pats == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((void *)pats[i].name);
		free((void *)pats[i].regex);
		free((void *)pats[i].where);
	}
	free(pats);
}

/* ctl_re_escape - literal text as a regex; 0 or -ENOSPC */
static int ctl_re_escape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 5 >= len)
			return -ENOSPC;
		if (strchr("\\^$.|?*+()[]{}/-#", c) != NULL && c != 0) {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
	return 0;
}

/* ctl_conf_list_token - next token of a comma/space list (Postfix list
 * syntax), braces kept whole; end NULL = the text ends at its NUL */
bool ctl_conf_list_token(const char **pp, const char *end, const char **tok,
			 size_t *tlen, bool *bad)
{
	const char *p = *pp;
	int level = 0;

#define MORE(q) (end != NULL ? (q) < end : *(q) != 0)
	while (MORE(p) && (isspace((unsigned char)*p) || *p == ','))
		p++;
	if (!MORE(p)) {
		*pp = p;
		return false;
	}
	*tok = p;
	for (; MORE(p); p++) {
		if (*p == '{')
			level++;
		else if (*p == '}') {
			if (--level < 0)
				*bad = true;
		} else if (level == 0 && (isspace((unsigned char)*p) || *p == ','))
			break;
	}
#undef MORE
	if (level > 0)
		*bad = true;
	*tlen = (size_t)(p - *tok);
	*pp = p;
	return true;
}

/* ctl_split_list - next token of a NUL-terminated list */
static bool ctl_split_list(const char **pp, const char **tok, size_t *tlen,
			   bool *bad)
{
	return ctl_conf_list_token(pp, NULL, tok, tlen, bad);
}

/* ctl_conf_regexp_rule - parse "/re/flags result" (Postfix regexp/pcre
 * table line); Postfix tables match case-insensitively unless flag i
 * toggles it. *result: offset of the result in l (n when none). */
int ctl_conf_regexp_rule(const char *l, size_t n, bool need_result,
			 char *re, size_t relen, unsigned *caseless,
			 size_t *result, const char **why)
{
	size_t i = 0, b;
	char delim;
	unsigned ci = 1;

	while (i < n && isspace((unsigned char)l[i]))
		i++;
	if (i == n) {
		*why = "empty rule";
		return -EINVAL;
	}
	if (l[i] == '!' || strncasecmp(l + i, "if", 2) == 0 ||
	    strncasecmp(l + i, "endif", 5) == 0) {
		*why = "negation and if/endif are not supported here";
		return -EINVAL;
	}
	delim = l[i];
	if (isalnum((unsigned char)delim) || isspace((unsigned char)delim) ||
	    delim == '\\') {
		*why = "regular expression must start with a delimiter such as /";
		return -EINVAL;
	}
	b = ++i;
	while (i < n && l[i] != delim) {
		if (l[i] == '\\' && i + 1 < n)
			i++;
		i++;
	}
	if (i >= n) {
		*why = "missing closing delimiter";
		return -EINVAL;
	}
	if (i == b) {
		*why = "empty regular expression";
		return -EINVAL;
	}
	if (i - b >= relen) {
		*why = "regular expression too long";
		return -EINVAL;
	}
	memcpy(re, l + b, i - b);
	re[i - b] = 0;
	for (i++; i < n && !isspace((unsigned char)l[i]); i++) {
		if (l[i] == 'i')
			ci = !ci;
		else {
			*why = "unsupported regular expression flag";
			return -EINVAL;
		}
	}
	while (i < n && isspace((unsigned char)l[i]))
		i++;
	if (need_result && i == n) {
		*why = "no lookup result";
		return -EINVAL;
	}
	*caseless = ci;
	if (result != NULL)
		*result = i;
	return 0;
}

/* ctl_file_name - path relative to the conf's directory */
static void ctl_file_name(const struct ctl_conf *conf, const char *path,
			  size_t n, char *out, size_t len)
{
	if (n > 0 && path[0] == '/')
		snprintf(out, len, "%.*s", (int)n, path);
	else
		snprintf(out, len, "%s/%.*s", conf->dir, (int)n, path);
}

/* ctl_regexp_file - patterns from a regexp:/pcre: file */
static int ctl_regexp_file(const struct ctl_conf *conf, struct ctl_pats *ps,
			   const char *path, size_t plen, char *err,
			   size_t errlen)
{
	char file[4096], re[4096], name[64], where[4200], *line;
	unsigned lineno, caseless;
	const char *why;
	struct ctl_file cf;
	ssize_t ln;
	int ret;

	ctl_file_name(conf, path, plen, file, sizeof(file));
	ret = ctl_file_init(&cf, file, CTL_CONF_MAX_FILE, err, errlen);
	if (ret < 0)
		return ret;
	while ((ln = ctl_file_line(&cf, &line, err, errlen)) > 0) {
		size_t n = (size_t)ln;
		const char *c = line;

		lineno = cf.line;
		if (memchr(line, 0, n) != NULL) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", file, lineno);
			ret = -EINVAL;
			break;
		}
		if (n >= CTL_LINE_MAX && line[CTL_LINE_MAX - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line too long", file, lineno);
			ret = -EINVAL;
			break;
		}
		while (isspace((unsigned char)*c))
			c++;
		if (*c == 0 || *c == '#')
			continue;
		if (c != line) {
			snprintf(err, errlen, "%s:%u: continuation lines are not "
				 "supported in forbidden-command tables", file, lineno);
			ret = -EINVAL;
			break;
		}
		if (ctl_conf_regexp_rule(line, n, true, re, sizeof(re), &caseless, NULL,
				    &why) < 0) {
			snprintf(err, errlen, "%s:%u: %s", file, lineno, why);
			ret = -EINVAL;
			break;
		}
		snprintf(name, sizeof(name), "forbidden_command_%zu", ps->n);
		snprintf(where, sizeof(where), "%s:%u", file, lineno);
		ret = ctl_pat_add(ps, name, re, caseless, SCR_PAT_COMMAND,
				  SCR_TEST_NON_SMTP, where);
		if (ret < 0)
			break;
	}
	if (ln < 0)
		ret = (int)ln;
	ctl_file_fini(&cf);
	return ret;
}

/* ctl_forbidden - patterns from postscreen_forbidden_commands */
static int ctl_forbidden(const struct ctl_conf *conf, struct ctl_pats *ps,
			 char *err, size_t errlen)
{
	const char *pname = "postscreen_forbidden_commands";
	const char *v = ctl_conf_get(conf, pname), *tok;
	char where[4200], wh[4096], re[4096], name[64];
	size_t tlen;
	bool bad = false;
	int ret;

	ctl_conf_where(conf, pname, wh, sizeof(wh));
	while (ctl_split_list(&v, &tok, &tlen, &bad)) {
		const char *colon = memchr(tok, ':', tlen);

		if (bad) {
			snprintf(err, errlen, "%s: %s: unbalanced braces in \"%s\"",
				 wh, pname, ctl_conf_get(conf, pname));
			return -EINVAL;
		}
		if (colon == NULL) {
			char esc[2048];

			if (ctl_re_escape(tok, tlen, esc, sizeof(esc)) < 0) {
				snprintf(err, errlen, "%s: %s: command too long",
					 wh, pname);
				return -EINVAL;
			}
			/* matched on the command word alone */
			snprintf(re, sizeof(re), "^%s$", esc);
			snprintf(name, sizeof(name), "forbidden_%.*s",
				 (int)(tlen > 40 ? 40 : tlen), tok);
			ret = ctl_pat_add(ps, name, re, 1, SCR_PAT_COMMAND,
					  SCR_TEST_NON_SMTP, wh);
			if (ret < 0)
				return ret;
			continue;
		}
		{
			size_t tl = (size_t)(colon - tok);
			const char *body = colon + 1;
			size_t blen = tlen - tl - 1;

			if (!((tl == 6 && strncmp(tok, "regexp", 6) == 0) ||
			      (tl == 4 && strncmp(tok, "pcre", 4) == 0))) {
				snprintf(err, errlen, "%s: %s: unsupported table "
					 "type \"%.*s\" (regexp: or pcre:)", wh,
					 pname, (int)tl, tok);
				return -EINVAL;
			}
			if (blen > 0 && body[0] == '{') {
				const char *ip, *rt;
				size_t rl;
				unsigned k = 0, caseless;
				const char *why;

				if (body[blen - 1] != '}') {
					snprintf(err, errlen, "%s: %s: missing '}' "
						 "in \"%.*s\"", wh, pname,
						 (int)tlen, tok);
					return -EINVAL;
				}
				char inner[4096];

				if (blen - 2 >= sizeof(inner)) {
					snprintf(err, errlen, "%s: %s: inline table "
						 "too long", wh, pname);
					return -EINVAL;
				}
				memcpy(inner, body + 1, blen - 2);
				inner[blen - 2] = 0;
				ip = inner;
				while (ctl_split_list(&ip, &rt, &rl, &bad)) {
					k++;
					if (bad || rl < 2 || rt[0] != '{' ||
					    rt[rl - 1] != '}') {
						snprintf(err, errlen, "%s: %s: inline "
							 "rule %u: expected {/regexp/ "
							 "result}", wh, pname, k);
						return -EINVAL;
					}
					if (ctl_conf_regexp_rule(rt + 1, rl - 2, true, re,
							    sizeof(re), &caseless,
							    NULL, &why) < 0) {
						snprintf(err, errlen, "%s: %s: inline "
							 "rule %u: %s", wh, pname, k,
							 why);
						return -EINVAL;
					}
					snprintf(where, sizeof(where), "%s (%.*s rule %u)",
						 wh, (int)tl, tok, k);
					snprintf(name, sizeof(name),
						 "forbidden_command_%zu", ps->n);
					ret = ctl_pat_add(ps, name, re, caseless,
							  SCR_PAT_COMMAND,
							  SCR_TEST_NON_SMTP, where);
					if (ret < 0)
						return ret;
				}
				if (k == 0) {
					snprintf(err, errlen, "%s: %s: empty inline "
						 "table", wh, pname);
					return -EINVAL;
				}
			} else {
				if (blen == 0) {
					snprintf(err, errlen, "%s: %s: missing table "
						 "name after \"%.*s\"", wh, pname,
						 (int)tl + 1, tok);
					return -EINVAL;
				}
				ret = ctl_regexp_file(conf, ps, body, blen, err,
						      errlen);
				if (ret < 0)
					return ret;
			}
		}
	}
	if (bad) {
		snprintf(err, errlen, "%s: %s: unbalanced braces", wh, pname);
		return -EINVAL;
	}
	return 0;
}

/* ctl_helo_names - patterns for smtpscreen_helo_own_names */
static int ctl_helo_names(const struct ctl_conf *conf, struct ctl_pats *ps,
			  char *err, size_t errlen)
{
	const char *pname = "smtpscreen_helo_own_names";
	const char *v = ctl_conf_get(conf, pname), *tok;
	char wh[4096], esc[2048], re[4096], name[96];
	size_t tlen;
	bool bad = false;
	int ret;

	ctl_conf_where(conf, pname, wh, sizeof(wh));
	while (ctl_split_list(&v, &tok, &tlen, &bad)) {
		if (bad || memchr(tok, '{', tlen) || memchr(tok, '}', tlen)) {
			snprintf(err, errlen, "%s: %s: bad name \"%.*s\"", wh, pname,
				 (int)tlen, tok);
			return -EINVAL;
		}
		if (tok[0] == '[' && (tlen < 3 || tok[tlen - 1] != ']')) {
			snprintf(err, errlen, "%s: %s: bad address literal \"%.*s\"",
				 wh, pname, (int)tlen, tok);
			return -EINVAL;
		}
		if (ctl_re_escape(tok, tlen, esc, sizeof(esc)) < 0) {
			snprintf(err, errlen, "%s: %s: name too long", wh, pname);
			return -EINVAL;
		}
		snprintf(re, sizeof(re), "^(?:HELO|EHLO) [ \\t]*%s[ \\t]*\\r?\\n", esc);
		snprintf(name, sizeof(name), "helo_own_%.*s",
			 (int)(tlen > 80 ? 80 : tlen), tok);
		ret = ctl_pat_add(ps, name, re, 1, SCR_PAT_LINE, SCR_TEST_HELO, wh);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ctl_signatures - patterns from the smtpscreen_signatures file:
 * "NAME TEST /REGEX/FLAGS", TEST helo|non_smtp_command, flag i = caseless */
static int ctl_signatures(const struct ctl_conf *conf, struct ctl_pats *ps,
			  char *err, size_t errlen)
{
	const char *path = ctl_conf_get(conf, "smtpscreen_signatures");
	char file[4096], where[4200], why[4200], *line;
	struct ctl_file cf;
	ssize_t ln;
	int ret;

	if (path[0] == 0)
		return 0;
	ctl_file_name(conf, path, strlen(path), file, sizeof(file));
	ret = ctl_file_init(&cf, file, CTL_CONF_MAX_FILE, why, sizeof(why));
	if (ret < 0) {
		char wh[4096];

		snprintf(err, errlen, "%s: smtpscreen_signatures: %s",
			 ctl_conf_where(conf, "smtpscreen_signatures", wh,
					sizeof(wh)), why);
		return ret;
	}
	while ((ln = ctl_file_line(&cf, &line, err, errlen)) > 0) {
		char *p = line, *name, *test, *re, *e, *fl;
		char delim;
		unsigned caseless = 0;
		enum scr_test t;

		snprintf(where, sizeof(where), "%s:%u", file, cf.line);
		if (memchr(line, 0, (size_t)ln) != NULL) {
			snprintf(err, errlen, "%s: NUL byte in line", where);
			ret = -EINVAL;
			break;
		}
		if ((size_t)ln >= CTL_LINE_MAX && line[CTL_LINE_MAX - 1] != '\n') {
			snprintf(err, errlen, "%s: line too long", where);
			ret = -EINVAL;
			break;
		}
		ctl_trim(line);
		while (isspace((unsigned char)*p))
			p++;
		if (*p == 0 || *p == '#')
			continue;
		name = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
		while (isspace((unsigned char)*p))
			p++;
		test = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (*test == 0 || *p == 0) {
			snprintf(err, errlen, "%s: expected NAME TEST /REGEX/FLAGS",
				 where);
			ret = -EINVAL;
			break;
		}
		if (strcmp(test, "helo") == 0)
			t = SCR_TEST_HELO;
		else if (strcmp(test, "non_smtp_command") == 0)
			t = SCR_TEST_NON_SMTP;
		else {
			snprintf(err, errlen, "%s: unknown test \"%s\" (helo or "
				 "non_smtp_command)", where, test);
			ret = -EINVAL;
			break;
		}
		delim = *p;
		if (delim != '/') {
			snprintf(err, errlen, "%s: regular expression must be "
				 "written /REGEX/FLAGS", where);
			ret = -EINVAL;
			break;
		}
		re = ++p;
		e = strrchr(re, '/');
		if (e == NULL || e == re) {
			snprintf(err, errlen, "%s: %s", where, e == NULL ?
				 "missing closing /" : "empty regular expression");
			ret = -EINVAL;
			break;
		}
		*e = 0;
		for (fl = e + 1; *fl; fl++) {
			if (*fl == 'i')
				caseless = 1;
			else {
				snprintf(err, errlen, "%s: unsupported flag '%c'",
					 where, *fl);
				ret = -EINVAL;
				break;
			}
		}
		if (ret < 0)
			break;
		ret = ctl_pat_add(ps, name, re, caseless, SCR_PAT_LINE, t, where);
		if (ret < 0)
			break;
	}
	if (ln < 0)
		ret = (int)ln;
	ctl_file_fini(&cf);
	return ret;
}

/* ctl_conf_patterns - scanner patterns from the configuration */
int ctl_conf_patterns(const struct ctl_conf *conf,
		      struct scr_scan_pattern **pats, size_t *n,
		      char *err, size_t errlen)
{
	struct ctl_pats ps = { 0 };
	int ret;

	if (err && errlen)
		err[0] = 0;
	ret = ctl_forbidden(conf, &ps, err, errlen);
	if (ret == 0)
		ret = ctl_helo_names(conf, &ps, err, errlen);
	if (ret == 0)
		ret = ctl_signatures(conf, &ps, err, errlen);
	if (ret < 0) {
		if (ret == -ENOMEM && err && errlen && err[0] == 0)
			snprintf(err, errlen, "out of memory");
		ctl_conf_patterns_free(ps.v, ps.n);
		*pats = NULL;
		*n = 0;
		return ret;
	}
	*pats = ps.v;
	*n = ps.n;
	return 0;
}
