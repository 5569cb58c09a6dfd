#!/usr/bin/env python3
"""srvmon-server end to end on loopback: /health, /token, /ws ingest, acks, expiry, SIGTERM.

Standard library only, through srvmon_testlib: its servers run on 127.0.0.1 port 0 with a
temporary database, and only those processes (by PID) are stopped.
"""
import json
import os
import re
import subprocess
import time

from srvmon_testlib import (SERVER, Server, Workdir, WsClient, check, http, post_token, served,
                            token_reply, wait_for)

PASSWORD = "correct horse battery staple"
U64_MAX = 2**64 - 1


def get_token(srv, user="alice", password=PASSWORD):
    return token_reply(srv, user, password)


def msg(type_, host, seq, ts=1700000000000, **extra):
    """Raw JSON text with seq written exactly (json.dumps keeps Python ints exact)."""
    d = {"type": type_, "host_id": host, "seq": seq, "ts": ts}
    d.update(extra)
    return json.dumps(d)


def expect_ack(ws, seq):
    m = ws.recv_json()
    check(m == {"type": "ack", "seq": seq}, "ack %d: %r" % (seq, m))


def expect_error(ws, needle):
    m = ws.recv_json()
    check(m.get("type") == "error" and needle in m.get("error", ""),
          "error containing %r: %r" % (needle, m))


def stored_seqs(srv, host):
    return [int(r[0]) for r in srv.rows("SELECT seq FROM records WHERE host_id = ? ORDER BY seq",
                                        (host,))]


def test_http(srv):
    status, body = http("GET", srv.url("/health"))
    check((status, json.loads(body)) == (200, {"status": "ok"}), "/health: %d %s" % (status, body))
    status, _ = http("GET", srv.url("/no/such/path"))
    check(status == 404, "unknown path: %d" % status)

    tok = get_token(srv)
    check(tok["token_type"] == "bearer" and tok["expires_in"] == 3600, "token reply %r" % tok)
    check(len(tok["access_token"]) == 64 and int(tok["access_token"], 16) >= 0,
          "token is 64 hex digits: %r" % tok["access_token"])
    # + and %-escapes in the form are decoded (the password has spaces).
    raw = ("grant_type=password&username=alice&password=" +
           PASSWORD.replace(" ", "+")).encode()
    check(post_token(srv, raw=raw)[0] == 200, "'+' in the password decoded as a space")

    wrong = post_token(srv, {"grant_type": "password", "username": "alice", "password": "x"})
    unknown = post_token(srv, {"grant_type": "password", "username": "mallory",
                               "password": "x"})
    check(wrong == unknown, "wrong password %r same as unknown user %r" % (wrong, unknown))
    check(wrong[0] == 400 and json.loads(wrong[1]) == {"error": "invalid_grant"},
          "bad credentials reply %r" % (wrong,))

    s, b = post_token(srv, {"grant_type": "client_credentials", "username": "alice",
                            "password": PASSWORD})
    check((s, json.loads(b)["error"]) == (400, "unsupported_grant_type"), "grant %d %s" % (s, b))
    s, b = post_token(srv, {"grant_type": "password", "username": "alice"})
    check((s, json.loads(b)["error"]) == (400, "invalid_request"), "no password %d %s" % (s, b))
    s, b = post_token(srv, raw=b"grant_type=password&grant_type=password&username=alice"
                      b"&password=x")
    check((s, json.loads(b)["error"]) == (400, "invalid_request"), "repeated %d %s" % (s, b))
    s, b = post_token(srv, raw=b"grant_type=password&username=%zz&password=x")
    check((s, json.loads(b)["error"]) == (400, "invalid_request"), "bad %%-escape %d %s" % (s, b))
    s, b = post_token(srv, raw=b"grant_type=password&username=alice&password=" + b"a" * 9000)
    check(s == 413, "9000-byte body: %d %s" % (s, b))
    s, b = http("POST", srv.url("/token"), b"{}", {"Content-Type": "application/json"})
    check(s == 400, "JSON body: %d %s" % (s, b))
    s, _ = http("GET", srv.url("/token"))
    check(s == 405, "GET /token: %d" % s)
    return tok["access_token"]


def test_upgrade_auth(srv, token):
    check(WsClient(srv.port).status == 401, "upgrade without token: 401")
    check(WsClient(srv.port, headers={"Authorization": "Bearer " + "0" * 64}).status == 401,
          "upgrade with unknown token: 401")
    check(WsClient(srv.port, headers={"Authorization": "Basic " + token}).status == 401,
          "upgrade with Basic auth: 401")
    check(WsClient(srv.port, token, path="/other").status == 404, "upgrade on another path: 404")
    ws = WsClient(srv.port, path="/ws?token=" + token)
    check(ws.status == 101, "?token= upgrade: %d" % ws.status)
    ws.close(1000)
    ws = WsClient(srv.port, headers={"Authorization": "Bearer " + token}, protocol="srvmon")
    check(ws.status == 101 and ws.headers.get("sec-websocket-protocol") == "srvmon",
          "srvmon subprotocol: %d %r" % (ws.status, ws.headers))
    ws.close(1000)


def test_ingest(srv, token):
    auth = {"Authorization": "Bearer " + token}
    ws = WsClient(srv.port, headers=auth)
    check(ws.status == 101, "upgrade with token: %d" % ws.status)
    check(ws.welcome == {"type": "welcome", "batch": True, "max_frame": 1048576},
          "welcome first: %r" % ws.welcome)
    ws.send(msg("resources", "host-a", 1, cpu_percent=3.5, ram_total=8 << 30,
                     ram_available=6 << 30, disk_total=100 << 30, disk_available=60 << 30))
    expect_ack(ws, 1)
    ws.send(msg("network", "host-a", 2, upload_rate=1200000, download_rate=300000,
                     interfaces=[{"name": "eth0", "in_total": True}]))
    expect_ack(ws, 2)
    # A duplicate is acknowledged but stored once.
    ws.send(msg("network", "host-a", 2))
    expect_ack(ws, 2)
    check(stored_seqs(srv, "host-a") == [1, 2], "host-a rows %r" % stored_seqs(srv, "host-a"))
    # Cumulative: a lower seq does not lower the ack.
    ws.send(msg("status", "host-a", 0))
    expect_ack(ws, 2)

    # Invalid messages get an error and the connection stays usable.
    for text, needle in [("{not json", "invalid JSON"), ("[1,2]", "not a JSON object"),
                         (msg("bogus", "host-a", 3), "unknown type"),
                         (msg("hello", "", 3), "host_id"),
                         (msg("hello", "host-a", -1), "seq"),
                         (msg("hello", "host-a", 2**64), "seq"),
                         (msg("hello", "host-a", 1.5), "seq"),
                         ('{"type":"hello","host_id":"h","seq":1e3,"ts":1}', "seq"),
                         (msg("hello", "host-a", 3, ts="now"), "ts")]:
        ws.send(text)
        expect_error(ws, needle)
    ws.send(msg("hello", "host-a", 3, hostname="box", kernel="6.18", collector="bpf"))
    expect_ack(ws, 3)

    # A message split over a text frame and a continuation frame.
    text = msg("exec", "host-a", 4, argv="x" * 200000).encode()
    ws.send(text[:1000], 0x1, fin=False)
    ws.send(text[1000:150000], 0x0, fin=False)
    ws.send(text[150000:], 0x0, fin=True)
    expect_ack(ws, 4)
    check(stored_seqs(srv, "host-a") == [0, 1, 2, 3, 4], "rows %r" % stored_seqs(srv, "host-a"))
    ws.close(1000)

    # seq is exact beyond 2^53 and up to 2^64-1: stored and acknowledged unrounded.
    ws = WsClient(srv.port, headers=auth)
    for seq in (2**53 + 1, U64_MAX - 1, U64_MAX):
        ws.send(msg("speedtest", "host-big", seq))
        expect_ack(ws, seq)
    check(stored_seqs(srv, "host-big") == [2**53 + 1, U64_MAX - 1, U64_MAX],
          "big seqs %r" % stored_seqs(srv, "host-big"))
    body = srv.rows("SELECT body, account FROM records WHERE host_id = 'host-big' "
                    "ORDER BY seq DESC LIMIT 1")[0]
    check(json.loads(body[0])["seq"] == U64_MAX and body[1] == "alice", "row %r" % (body,))
    ws.close(1000)

    # Binary frames and oversized messages end the connection.
    ws = WsClient(srv.port, headers=auth)
    ws.send(b"\x00\x01", 0x2)
    code = ws.recv_close()
    check(code == 1003, "binary frame close code %r" % code)
    ws.close()
    ws = WsClient(srv.port, headers=auth)
    ws.send(msg("exec", "host-a", 99, pad="y" * (1024 * 1024)))
    code = ws.recv_close()
    check(code == 1009, "oversized message close code %r" % code)
    ws.close()
    check(99 not in stored_seqs(srv, "host-a"), "oversized message not stored")

    # The readable log and the query command show the records.
    out = wait_for(lambda: "network seq=2" in srv.stdout() and srv.stdout(), 15,
                   "record lines")
    check("resources seq=1 cpu=3.5% ram=2.0/8.0 GiB disk=40.0/100.0 GiB" in out,
          "resources line printed:\n" + out)
    check("up=1.2 Mbit/s down=300 kbit/s (eth0)" in out, "network line printed")
    check("hostname=box kernel=6.18 collector=bpf" in out, "hello line printed")
    check(out.count("network seq=2") == 1, "duplicate printed once")
    lines = srv.cli("query", "--host", "host-big", "--json", "-n", "2").splitlines()
    check([json.loads(x)["seq"] for x in lines] == [U64_MAX - 1, U64_MAX], "query %r" % lines)
    lines = srv.cli("query", "--type", "resources").splitlines()
    check(len(lines) == 1 and "resources seq=1" in lines[0], "query readable %r" % lines)


def test_stats(srv):
    st = srv.stats()
    # test_http: 2 good + 2 bad-credential + 4 malformed + 1 oversized + 1 JSON body requests
    # counted where the form reached the grant; tokens issued only for the good ones.
    check(st["tokens_issued"] == 2, "tokens_issued %r" % st)
    check(st["failed_logins"] == 2, "failed_logins %r" % st)
    check(st["token_requests"] == 8, "token_requests %r" % st)
    check(st["records_by_type"].get("network") == 1, "network count %r" % st)
    check(st["accounts"] == 1, "accounts %r" % st)


def test_expiry():
    with served("alice", PASSWORD, token_lifetime=2) as (_, srv, _agents):
        tok = get_token(srv)
        # After the reply: the server stamped the token before it answered, so it expires
        # by issued + 2 at the latest (taken before the request, a slow password check
        # under load made the message below arrive before expiry and get acked).
        issued = time.time()
        check(tok["expires_in"] == 2, "expires_in %r" % tok)
        auth = {"Authorization": "Bearer " + tok["access_token"]}
        ws = WsClient(srv.port, headers=auth)
        check(ws.status == 101, "upgrade %d" % ws.status)
        ws.send(msg("status", "host-e", 1))
        expect_ack(ws, 1)
        # Waiting for the token to expire is the behaviour under test, not synchronisation.
        wait_for(lambda: time.time() > issued + 2.2, 10, "token expiry", interval=0.02)
        ws.send(msg("status", "host-e", 2))
        code = ws.recv_close()
        check(code == 4401, "expired token close code %r" % code)
        ws.close()
        check(stored_seqs(srv, "host-e") == [1], "message after expiry not stored: %r" %
              stored_seqs(srv, "host-e"))
        check(WsClient(srv.port, headers=auth).status == 401, "expired token upgrade: 401")
        check(srv.stop() == 0, "exit status 0 after SIGTERM")


def start_checked(srv):
    """Starts srv; the port it listens on replaces the port 0 asked for, in its log line."""
    srv.start()
    check(srv.port > 0 and re.search(r"^listening on http://127\.0\.0\.1:%d$" % srv.port,
                                     srv.read_log(), re.M),
          "port 0 replaced by the real port %d in the listening line" % srv.port)


def main():
    check(os.access(SERVER, os.X_OK), "SRVMON_SERVER names the server binary: %r" % SERVER)
    srv = Server(Workdir(prefix="srvmon-server-test."), print_records=True)
    try:
        srv.add_user("alice", PASSWORD)
        r = srv.run_cli("user", "add", "alice", input="x\n")
        check(r.returncode == 1, "duplicate user add: %d" % r.returncode)
        r = subprocess.run([SERVER, "serve"], capture_output=True, timeout=60)
        check(r.returncode == 2, "serve without --db: %d" % r.returncode)
        start_checked(srv)
        token = test_http(srv)
        test_upgrade_auth(srv, token)
        test_ingest(srv, token)
        test_stats(srv)
        rc = srv.stop()
        check(rc == 0, "exit status after SIGTERM: %r" % rc)
        check("stopping" in srv.read_log(), "clean stop logged")
    finally:
        srv.stop()
    test_expiry()
    print("test_server: all checks passed")


if __name__ == "__main__":
    main()
