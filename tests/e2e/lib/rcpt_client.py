#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""rcpt_client.py SRC SERVER RCPT... - one SMTP session for the reply-ban tests.

From SRC to SERVER:25: EHLO, MAIL, one RCPT TO:<R@example.test> per argument (each
waiting for its reply), DATA and a short message when one was accepted, QUIT.
Prints "result=R replies=C,C,..." with R done, reset, closed or timeout and the
final reply codes in order.
"""
import socket, sys
src, srv, rcpts = sys.argv[1], sys.argv[2], sys.argv[3:]
codes, res = [], "done"
s = socket.socket()
s.settimeout(15)
s.bind((src, 0))
buf = b""
def reply():
    global buf
    while True:
        while b"\n" not in buf:
            d = s.recv(4096)
            if not d:
                raise EOFError
            buf += d
        line, buf = buf.split(b"\n", 1)
        if line[3:4] != b"-":
            codes.append(line[:3].decode())
            return line[:3]
def cmd(c):
    s.sendall(c)
    return reply()
try:
    s.connect((srv, 25))
    reply()
    cmd(b"EHLO client.example.org\r\n")
    cmd(b"MAIL FROM:<a@example.org>\r\n")
    ok = 0
    for r in rcpts:
        ok += cmd(b"RCPT TO:<%s@example.test>\r\n" % r.encode()) == b"250"
    if ok and cmd(b"DATA\r\n") == b"354":
        cmd(b"Subject: reply ban test\r\n\r\nhello\r\n.\r\n")
    cmd(b"QUIT\r\n")
except ConnectionResetError:
    res = "reset"
except EOFError:
    res = "closed"
except OSError:
    res = "timeout"
print("result=%s replies=%s" % (res, ",".join(codes)))
