#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   psc_verdicts.py - postscreen's maillog as per-session verdicts, and the comparison
#                     with smtpscreen's verdict CSV
#
# DESCRIPTION
#   expect: reads a Postfix maillog and prints, per postscreen session (client
#   address + port), the verdict and reasons in smtpscreen's --verdicts CSV format:
#     PREGREET -> pregreet, BARE NEWLINE -> bare_newline, COMMAND PIPELINING ->
#     pipelining, NON-SMTP COMMAND -> non_smtp_command, DNSBL rank -> dnsbl,
#     DENYLISTED/BLACKLISTED -> verdict blocklisted with access_reject,
#     ALLOWLISTED/WHITELISTED -> allowlisted, any other failure -> fail,
#     PASS NEW/PASS OLD without a failure -> pass, nothing of these -> unknown;
#     COMMAND COUNT/LENGTH LIMIT -> reason command_limit (a note: not a failure).
#   Other postscreen lines (HANGUP, COMMAND TIME LIMIT, NOQUEUE, ...)
#   are not tests smtpscreen reports and do not change the verdict.
#   compare: prints a table (client, behaviour, postscreen said, smtpscreen said,
#   OK/DIFF) and fails on any difference, on a session smtpscreen did not report and
#   on a session postscreen did not log. Reasons compare as sets.
#   expect --program NAME reads the lines of another program that logs in
#   postscreen's formats instead (smtpscreen's log file: postfix/smtpscreen[pid]),
#   so both sides of a side-by-side run go through this one parser.
#   selftest: table-driven checks of both, bad input first.
#
# CONTRACT
#   psc_verdicts.py expect MAILLOG [--program NAME]        CSV on stdout; 1 if unreadable
#       NAME: the syslog program after "postfix/" (default postscreen)
#   psc_verdicts.py compare EXPECTED.csv ACTUAL.csv [--behaviours FILE]
#       FILE lines: "ADDR BEHAVIOUR" or "ADDR:PORT BEHAVIOUR" ('#' comments).
#       Exit 0 when every session matches, 1 otherwise (table and a summary on stdout).
#   psc_verdicts.py selftest                               exit 0 when all cases pass
#   CSV rows: client,client_port,server,server_port,verdict,reasons (a header row
#   starting with "client," is allowed and skipped; "#" lines are skipped).
#
# THREADING
#   Single-threaded command-line tool (stdlib only, /usr/bin/python3).

import csv
import io
import re
import sys

REASONS = ("pregreet", "bare_newline", "pipelining", "non_smtp_command", "helo",
           "access_reject", "dnsbl", "reply_ban", "smuggling", "envelope", "command_limit")
# Reasons that are notes, not failures: the verdict stays what the tests say.
NOTES = {"command_limit"}
VERDICTS = ("pass", "fail", "allowlisted", "blocklisted", "unknown")

EP = r"\[(?P<addr>[^\]]+)\]:(?P<port>\d+)"
PS_LINE = re.compile(r"\bpostfix(?:-[\w.-]+)?/postscreen\[\d+\]: (?P<text>.*)$")


def program_line(program):
    """Regex of one log line of postfix/PROGRAM (PS_LINE for postscreen)."""
    if program == "postscreen":
        return PS_LINE
    return re.compile(r"\bpostfix(?:-[\w.-]+)?/" + re.escape(program)
                      + r"\[\d+\]: (?P<text>.*)$")
CONNECT = re.compile(r"^CONNECT from " + EP + r" to \[(?P<saddr>[^\]]+)\]:(?P<sport>\d+)")
EVENTS = (   # (regex on the message text, reason or None, flag)
    (re.compile(r"^PREGREET \d+ after \S+ from " + EP), "pregreet", None),
    (re.compile(r"^BARE NEWLINE from " + EP), "bare_newline", None),
    (re.compile(r"^COMMAND PIPELINING from " + EP), "pipelining", None),
    (re.compile(r"^NON-SMTP COMMAND from " + EP), "non_smtp_command", None),
    (re.compile(r"^DNSBL rank -?\d+ for " + EP), "dnsbl", None),
    (re.compile(r"^(?:DENY|BLACK)LISTED " + EP), "access_reject", "blocklisted"),
    (re.compile(r"^(?:ALLOW|WHITE)LISTED " + EP), None, "allowlisted"),
    (re.compile(r"^PASS (?:NEW|OLD) " + EP), None, "pass"),
    (re.compile(r"^COMMAND (?:COUNT|LENGTH) LIMIT from " + EP), "command_limit", None),
)


class Session:
    """What postscreen logged for one client endpoint."""

    def __init__(self, addr, port, order):
        self.addr = addr
        self.port = port
        self.order = order
        self.server = ""
        self.server_port = ""
        self.reasons = set()
        self.flags = set()
        self.evidence = []

    def verdict(self):
        if "blocklisted" in self.flags:
            return "blocklisted"
        if "allowlisted" in self.flags:
            return "allowlisted"
        if self.reasons - NOTES:
            return "fail"
        if "pass" in self.flags:
            return "pass"
        return "unknown"


def reasons_text(reasons):
    """Reasons in the contract's order, |-joined."""
    return "|".join(r for r in REASONS if r in reasons)


def parse_maillog(lines, program="postscreen"):
    """Sessions keyed by (addr, port), from postscreen's (or PROGRAM's) log lines."""
    sessions = {}
    line_re = program_line(program)

    def get(addr, port):
        key = (addr, port)
        if key not in sessions:
            sessions[key] = Session(addr, port, len(sessions))
        return sessions[key]

    for line in lines:
        m = line_re.search(line.rstrip("\n"))
        if not m:
            continue
        text = m.group("text")
        c = CONNECT.match(text)
        if c:
            s = get(c.group("addr"), c.group("port"))
            s.server, s.server_port = c.group("saddr"), c.group("sport")
            continue
        for rx, reason, flag in EVENTS:
            e = rx.match(text)
            if not e:
                continue
            s = get(e.group("addr"), e.group("port"))
            if reason:
                s.reasons.add(reason)
            if flag:
                s.flags.add(flag)
            s.evidence.append(text)
            break
    return sessions


def expected_rows(sessions):
    """CSV rows in log order."""
    for s in sorted(sessions.values(), key=lambda x: x.order):
        yield [s.addr, s.port, s.server, s.server_port, s.verdict(), reasons_text(s.reasons)]


def read_csv(text, name):
    """Rows keyed by (client, client_port); raises ValueError on a malformed row."""
    rows = {}
    for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or row[0].startswith("#") or (n == 1 and row[0] == "client"):
            continue
        if len(row) != 6:
            raise ValueError("%s:%d: %d fields, want 6: %r" % (name, n, len(row), row))
        client, cport, server, sport, verdict, reasons = (f.strip() for f in row)
        if verdict not in VERDICTS:
            raise ValueError("%s:%d: bad verdict %r" % (name, n, verdict))
        rs = set(r for r in reasons.split("|") if r)
        bad = rs - set(REASONS)
        if bad:
            raise ValueError("%s:%d: bad reason(s) %s" % (name, n, ",".join(sorted(bad))))
        if not cport.isdigit():
            raise ValueError("%s:%d: bad client port %r" % (name, n, cport))
        key = (client, cport)
        if key in rows:
            raise ValueError("%s:%d: second row for %s:%s" % (name, n, client, cport))
        rows[key] = {"server": server, "server_port": sport, "verdict": verdict,
                     "reasons": rs, "line": n}
    return rows


def read_behaviours(text):
    """Map "addr" or "addr:port" to a behaviour name."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, name = line.split(None, 1)
            out[key] = name.strip()
    return out


def said(row):
    if row is None:
        return "(no session)"
    r = reasons_text(row["reasons"])
    return row["verdict"] + ("(" + r + ")" if r else "")


def compare(expected, actual, behaviours):
    """Table rows [client, behaviour, postscreen, smtpscreen, status] and a diff count."""
    table = []
    diffs = 0
    keys = list(expected.keys()) + [k for k in actual if k not in expected]
    for key in keys:
        e, a = expected.get(key), actual.get(key)
        ep = "%s:%s" % key
        beh = behaviours.get(ep) or behaviours.get(key[0]) or "-"
        ok = (e is not None and a is not None and e["verdict"] == a["verdict"]
              and e["reasons"] == a["reasons"] and e["server"] == a["server"]
              and e["server_port"] == a["server_port"])
        status = "OK" if ok else ("MISSING" if a is None else
                                  "EXTRA" if e is None else "DIFF")
        if not ok:
            diffs += 1
            if e and a and (e["server"], e["server_port"]) != (a["server"], a["server_port"]):
                status += " server %s:%s vs %s:%s" % (e["server"], e["server_port"],
                                                      a["server"], a["server_port"])
        table.append([ep, beh, said(e), said(a), status])
    return table, diffs


def print_table(table, out):
    head = ["client", "behaviour", "postscreen said", "smtpscreen said", "result"]
    widths = [max(len(str(r[i])) for r in table + [head]) for i in range(len(head))]
    for r in [head] + table:
        out.write("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")


def cmd_expect(args):
    program = "postscreen"
    if len(args) == 3 and args[1] == "--program" and re.match(r"^[\w.-]+$", args[2]):
        program = args[2]
        args = args[:1]
    if len(args) != 1:
        sys.stderr.write("usage: psc_verdicts.py expect MAILLOG [--program NAME]\n")
        return 2
    try:
        with open(args[0], encoding="utf-8", errors="replace") as f:
            sessions = parse_maillog(f, program)
    except OSError as e:
        sys.stderr.write("psc_verdicts: %s\n" % e)
        return 1
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["client", "client_port", "server", "server_port", "verdict", "reasons"])
    for row in expected_rows(sessions):
        w.writerow(row)
    return 0


def cmd_compare(args):
    beh_file = None
    if len(args) == 4 and args[2] == "--behaviours":
        beh_file = args[3]
        args = args[:2]
    if len(args) != 2:
        sys.stderr.write("usage: psc_verdicts.py compare EXPECTED.csv ACTUAL.csv "
                         "[--behaviours FILE]\n")
        return 2
    try:
        with open(args[0]) as f:
            expected = read_csv(f.read(), args[0])
        with open(args[1]) as f:
            actual = read_csv(f.read(), args[1])
        behaviours = {}
        if beh_file:
            with open(beh_file) as f:
                behaviours = read_behaviours(f.read())
    except (OSError, ValueError) as e:
        sys.stdout.write("psc_verdicts: %s\n" % e)
        return 1
    if not expected:
        sys.stdout.write("psc_verdicts: %s has no sessions\n" % args[0])
        return 1
    table, diffs = compare(expected, actual, behaviours)
    print_table(table, sys.stdout)
    sys.stdout.write("%d sessions, %d differ\n" % (len(table), diffs))
    return 1 if diffs else 0


# --- self test ----------------------------------------------------------------------

PFX = "Nov 24 05:41:18 mx postfix/postscreen[11057]: "
LOG_CASES = (   # label, maillog text, expected CSV rows (without header)
    ("empty log", "", []),
    ("not postscreen", "Nov 24 05:41:22 mx postfix/smtpd[1]: connect from unknown[198.18.10.10]\n", []),
    ("connect only is unknown",
     PFX + "CONNECT from [198.18.10.10]:43003 to [198.18.10.1]:25\n"
     + PFX + "HANGUP after 1 from [198.18.10.10]:43003 in tests before SMTP handshake\n",
     [["198.18.10.10", "43003", "198.18.10.1", "25", "unknown", ""]]),
    ("pass new after 450",
     PFX + "CONNECT from [198.18.10.10]:43003 to [198.18.10.1]:25\n"
     + PFX + "NOQUEUE: reject: RCPT from [198.18.10.10]:43003: 450 4.3.2 Service currently "
     "unavailable; from=<a@example.org>, to=<u@example.test>, proto=ESMTP, helo=<c>\n"
     + PFX + "PASS NEW [198.18.10.10]:43003\n",
     [["198.18.10.10", "43003", "198.18.10.1", "25", "pass", ""]]),
    ("pregreet and bare newline, two sessions interleaved",
     PFX + "CONNECT from [198.18.10.11]:1 to [198.18.10.1]:25\n"
     + PFX + "CONNECT from [198.18.10.11]:2 to [198.18.10.1]:25\n"
     + PFX + "BARE NEWLINE from [198.18.10.11]:1 after EHLO x\n"
     + PFX + "PREGREET 13 after 0 from [198.18.10.11]:2: EHLO zombie\\r\\n\n"
     + PFX + "PREGREET 8 after 0.01 from [198.18.10.11]:1: HELO x\\r\\n\n",
     [["198.18.10.11", "1", "198.18.10.1", "25", "fail", "pregreet|bare_newline"],
      ["198.18.10.11", "2", "198.18.10.1", "25", "fail", "pregreet"]]),
    ("pipelining and non-smtp",
     PFX + "CONNECT from [198.18.10.12]:5 to [198.18.10.1]:25\n"
     + PFX + "COMMAND PIPELINING from [198.18.10.12]:5 after MAIL FROM:<p@x>: RCPT TO:<u@y>\\r\\n\n"
     + PFX + "CONNECT from [198.18.10.13]:6 to [198.18.10.1]:25\n"
     + PFX + "NON-SMTP COMMAND from [198.18.10.13]:6 after CONNECT: GET / HTTP/1.0\n",
     [["198.18.10.12", "5", "198.18.10.1", "25", "fail", "pipelining"],
      ["198.18.10.13", "6", "198.18.10.1", "25", "fail", "non_smtp_command"]]),
    ("deny and allow lists, both wordings, IPv6",
     PFX + "CONNECT from [198.18.10.30]:7 to [198.18.10.1]:25\n"
     + PFX + "DENYLISTED [198.18.10.30]:7\n"
     + PFX + "BLACKLISTED [2001:db8::30]:8\n"
     + PFX + "CONNECT from [198.18.10.31]:9 to [198.18.10.1]:25\n"
     + PFX + "ALLOWLISTED [198.18.10.31]:9\n"
     + PFX + "WHITELISTED [198.18.10.31]:10\n",
     [["198.18.10.30", "7", "198.18.10.1", "25", "blocklisted", "access_reject"],
      ["2001:db8::30", "8", "", "", "blocklisted", "access_reject"],
      ["198.18.10.31", "9", "198.18.10.1", "25", "allowlisted", ""],
      ["198.18.10.31", "10", "", "", "allowlisted", ""]]),
    ("dnsbl rank, pass old",
     PFX + "DNSBL rank 2 for [198.18.10.40]:11\n" + PFX + "PASS OLD [198.18.10.41]:12\n",
     [["198.18.10.40", "11", "", "", "fail", "dnsbl"],
      ["198.18.10.41", "12", "", "", "pass", ""]]),
    ("command limits are notes, not failures",
     PFX + "CONNECT from [198.18.10.16]:13 to [198.18.10.1]:25\n"
     + PFX + "COMMAND COUNT LIMIT from [198.18.10.16]:13 after NOOP\n"
     + PFX + "PASS NEW [198.18.10.16]:13\n"
     + PFX + "CONNECT from [198.18.10.24]:14 to [198.18.10.1]:25\n"
     + PFX + "COMMAND LENGTH LIMIT from [198.18.10.24]:14 after CONNECT\n"
     + PFX + "CONNECT from [198.18.10.25]:15 to [198.18.10.1]:25\n"
     + PFX + "COMMAND TIME LIMIT from [198.18.10.25]:15 after CONNECT\n",
     [["198.18.10.16", "13", "198.18.10.1", "25", "pass", "command_limit"],
      ["198.18.10.24", "14", "198.18.10.1", "25", "unknown", "command_limit"],
      ["198.18.10.25", "15", "198.18.10.1", "25", "unknown", ""]]),
)

SPFX = "Nov 24 05:41:18 mx postfix/smtpscreen[2207]: "
PROGRAM_CASES = (   # label, program, log text, expected CSV rows
    ("smtpscreen lines ignored by default", "postscreen",
     SPFX + "PREGREET 13 after 0 from [198.18.10.11]:2: EHLO zombie\\r\\n\n", []),
    ("postscreen lines ignored for smtpscreen", "smtpscreen",
     PFX + "PASS NEW [198.18.10.10]:43003\n", []),
    ("a program name is not a prefix", "smtp",
     SPFX + "PASS NEW [198.18.10.10]:43003\n", []),
    ("smtpscreen's host log file",
     "smtpscreen",
     SPFX + "CONNECT from [198.18.10.10]:43003 to [198.18.10.1]:25\n"
     + SPFX + "PASS NEW [198.18.10.10]:43003\n"
     + SPFX + "CONNECT from [198.18.10.13]:9 to [198.18.10.1]:25\n"
     + SPFX + "BARE NEWLINE from [198.18.10.13]:9 after EHLO x\n"
     + SPFX + "DISCONNECT [198.18.10.13]:9\n",
     [["198.18.10.10", "43003", "198.18.10.1", "25", "pass", ""],
      ["198.18.10.13", "9", "198.18.10.1", "25", "fail", "bare_newline"]]),
)

HDR = "client,client_port,server,server_port,verdict,reasons\n"
CSV_BAD = (     # label, CSV text
    ("five fields", "1.2.3.4,1,5.6.7.8,25,pass\n"),
    ("bad verdict", "1.2.3.4,1,5.6.7.8,25,ok,\n"),
    ("bad reason", "1.2.3.4,1,5.6.7.8,25,fail,pregreet|spam\n"),
    ("bad port", "1.2.3.4,x,5.6.7.8,25,pass,\n"),
    ("duplicate session", "1.2.3.4,1,5.6.7.8,25,pass,\n1.2.3.4,1,5.6.7.8,25,pass,\n"),
)
EXP = HDR + ("198.18.10.10,1,198.18.10.1,25,pass,\n"
             "198.18.10.13,2,198.18.10.1,25,fail,pregreet|bare_newline\n")
CMP_CASES = (   # label, actual CSV, expected diff count, expected statuses
    ("empty actual: all missing", "", 2, ["MISSING", "MISSING"]),
    ("wrong verdict", "198.18.10.10,1,198.18.10.1,25,fail,pregreet\n"
     "198.18.10.13,2,198.18.10.1,25,fail,pregreet|bare_newline\n", 1, ["DIFF", "OK"]),
    ("missing reason", "198.18.10.10,1,198.18.10.1,25,pass,\n"
     "198.18.10.13,2,198.18.10.1,25,fail,bare_newline\n", 1, ["OK", "DIFF"]),
    ("extra session", "198.18.10.10,1,198.18.10.1,25,pass,\n"
     "198.18.10.13,2,198.18.10.1,25,fail,bare_newline|pregreet\n"
     "198.18.10.14,3,198.18.10.1,25,pass,\n", 1, ["OK", "OK", "EXTRA"]),
    ("wrong server port", "198.18.10.10,1,198.18.10.1,2525,pass,\n"
     "198.18.10.13,2,198.18.10.1,25,fail,pregreet|bare_newline\n", 1,
     ["DIFF server 198.18.10.1:25 vs 198.18.10.1:2525", "OK"]),
    ("all match, reasons in other order, no header",
     "198.18.10.13,2,198.18.10.1,25,fail,bare_newline|pregreet\n"
     "198.18.10.10,1,198.18.10.1,25,pass,\n", 0, ["OK", "OK"]),
)


def selftest():
    fails = 0

    def check(label, cond, detail=""):
        nonlocal fails
        if not cond:
            fails += 1
            sys.stdout.write("FAIL %s %s\n" % (label, detail))
        else:
            sys.stdout.write("ok   %s\n" % label)

    for label, text in CSV_BAD:
        try:
            read_csv(HDR + text, "t")
            check("csv rejects " + label, False, "accepted")
        except ValueError:
            check("csv rejects " + label, True)
    for label, log, want in LOG_CASES:
        got = list(expected_rows(parse_maillog(io.StringIO(log))))
        check("log: " + label, got == want, "got %r" % got)
    for label, program, log, want in PROGRAM_CASES:
        got = list(expected_rows(parse_maillog(io.StringIO(log), program)))
        check("program: " + label, got == want, "got %r" % got)
    expected = read_csv(EXP, "exp")
    beh = read_behaviours("198.18.10.10 good\n# c\n198.18.10.13:2 bare_newline\n")
    for label, act, ndiff, statuses in CMP_CASES:
        table, diffs = compare(expected, read_csv(act, "act"), beh)
        got = [r[4] for r in table]
        check("compare: " + label, diffs == ndiff and got == statuses,
              "diffs %d statuses %r" % (diffs, got))
    table, _ = compare(expected, read_csv(EXP, "act"), beh)
    check("compare: behaviour by address and by endpoint",
          [r[1] for r in table] == ["good", "bare_newline"], repr(table))
    sys.stdout.write("%d failed\n" % fails)
    return 1 if fails else 0


def main(argv):
    cmds = {"expect": cmd_expect, "compare": cmd_compare}
    if argv and argv[0] == "selftest":
        return selftest()
    if not argv or argv[0] not in cmds:
        sys.stderr.write("usage: psc_verdicts.py expect|compare|selftest ...\n")
        return 2
    return cmds[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
