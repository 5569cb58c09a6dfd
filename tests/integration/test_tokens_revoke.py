"""Revoking tokens: a refresh token used twice revokes its whole family (access tokens too);
`token revoke --account` revokes every token of an account and `user del` deletes the
account with its tokens. A connection whose token was revoked is closed with 4401 at its
next message (within 2 s); the real agent then logs in again and keeps shipping. An open
/api/v1/events stream of a revoked (or deleted) account's token ends with `event: end`
within TOKEN_RECHECK_MS (5 s), as does one whose token expired; another account's stream
stays open."""
import json
import threading
import time
import urllib.request

from srvmon_testlib import (Agent, Server, Workdir, WsClient, agent_config, check, post_token,
                            served, wait_for, write_config)


def token_post(form):
    """(status, JSON body) of POST /token."""
    status, body = post_token(server, form)
    return status, json.loads(body)


def login():
    status, body = token_post({"grant_type": "password", "username": "alice",
                               "password": "alice-pass"})
    check(status == 200, "password grant: %d" % status)
    return body["access_token"], body["refresh_token"]


def refresh(token):
    return token_post({"grant_type": "refresh_token", "refresh_token": token})


def closed_4401(c, what):
    """Sends a record every 0.2 s until the server closes; the close code must be 4401."""
    deadline = time.monotonic() + 10
    seq = 1000
    while time.monotonic() < deadline:
        seq += 1
        c.send(json.dumps({"type": "status", "host_id": "alice-host", "seq": seq, "ts": 1}))
        op, data = c.recv()
        if op == 8:
            check(data == 4401, "%s: the live connection is closed with 4401 (%r)" % (what, data))
            c.close()
            return
        time.sleep(0.2)
    check(False, "%s: the live connection was closed within 10 s" % what)


TOKEN_RECHECK_S = 5  # server/token.h


class EventStream:
    """GET /api/v1/events read by a thread: its lines, and when it ended (EOF)."""

    def __init__(self, server, token):
        req = urllib.request.Request(server.base_url + "/api/v1/events?type=none",
                                     headers={"Authorization": "Bearer " + token})
        self.resp = urllib.request.urlopen(req, timeout=30)
        self.lines = []
        self.ended = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for raw in self.resp:
                self.lines.append(raw.decode().rstrip("\n"))
        except OSError as e:
            self.lines.append("# %r" % e)
        self.ended = time.monotonic()

    def end_event(self):
        """The data of the `event: end`, or None."""
        for i, line in enumerate(self.lines[:-1]):
            if line == "event: end" and self.lines[i + 1].startswith("data: "):
                return json.loads(self.lines[i + 1][6:])
        return None

    def close(self):
        self.resp.close()


def viewer_stream(server, name):
    status, body = post_token(server, {"grant_type": "password", "username": name,
                                       "password": name + "-pass"})
    check(status == 200, "viewer %s logs in: %d" % (name, status))
    return EventStream(server, json.loads(body)["access_token"])


def streams_end(server):
    """token revoke --account and user del end those accounts' event streams; another's
    stays open. Meanwhile, on a server whose tokens live 2 s, a stream ends when its token
    expires."""
    short = Server(Workdir(), token_lifetime=2)
    short.add_user("xenia", "xenia-pass", role="viewer")
    short.start()
    try:
        expiring = viewer_stream(short, "xenia")
        revoke_and_delete(server)
        wait_for(lambda: expiring.ended is not None, TOKEN_RECHECK_S + 5,
                 "the end of the expiring stream")
        check(expiring.end_event() == {"reason": "token expired"},
              "a stream whose token expired: `event: end` with its reason (%r)"
              % expiring.lines[-3:])
        expiring.close()
    finally:
        short.stop()


def revoke_and_delete(server):
    for name in ("vera", "viktor", "wanda"):
        server.add_user(name, name + "-pass", role="viewer")
    streams = {name: viewer_stream(server, name) for name in ("vera", "viktor", "wanda")}
    check(wait_for(lambda: all(s.lines for s in streams.values()), 10, "the streams' heads"),
          "three event streams are open")
    start = time.monotonic()
    check(server.run_cli("token", "revoke", "--account", "vera").returncode == 0,
          "token revoke --account vera")
    check(server.run_cli("user", "del", "viktor").returncode == 0, "user del viktor")
    for name in ("vera", "viktor"):
        s = streams[name]
        wait_for(lambda: s.ended is not None, TOKEN_RECHECK_S + 5, "the end of %s's stream" % name)
        check(s.end_event() == {"reason": "token revoked"},
              "%s's stream: `event: end` with its reason, then closed after %.1f s (%r)"
              % (name, s.ended - start, s.lines[-3:]))
    time.sleep(1)
    check(streams["wanda"].ended is None and streams["wanda"].end_event() is None,
          "an untouched account's stream stays open (%r)" % streams["wanda"].lines)
    log = server.read_log()
    check('token revoked of "vera", ending the stream' in log, "the end is logged")
    for s in streams.values():
        s.close()


with served() as (work, server, agents):
    streams_end(server)
    server.add_user("alice", "alice-pass")
    # A refresh token used twice: refused, and every token of its family goes.
    a1, r1 = login()
    live = WsClient(server.port, a1)
    check(live.status == 101, "a connection with the first access token")
    status, body = refresh(r1)
    check(status == 200, "the refresh grant rotates: %d" % status)
    a2, r2 = body["access_token"], body["refresh_token"]
    other_a, other_r = login()
    status, body = refresh(r1)
    check((status, body) == (400, {"error": "invalid_grant"}),
          "the used refresh token again: 400 invalid_grant (%d %r)" % (status, body))
    check(refresh(r2)[0] == 400, "its successor is revoked too")
    c = WsClient(server.port, a2)
    check(c.status == 401, "an access token of the family is revoked: upgrade %d" % c.status)
    c.close()
    c = WsClient(server.port, other_a)
    check(c.status == 101, "another login of the same account is untouched")
    c.close()
    closed_4401(live, "family revoked")
    check(wait_for(lambda: 'a used refresh token of "alice" was presented again: its family '
                   'revoked (2 access, 2 refresh tokens)' in server.read_log(), 5, "the log"),
          "the replay is logged with what was revoked")

    # token revoke --account: every token of the account.
    live = WsClient(server.port, other_a)
    r = server.run_cli("token", "revoke", "--account", "alice")
    check(r.returncode == 0 and "revoked 1 access and 1 refresh tokens of \"alice\"" in r.stderr,
          "token revoke: %s" % r.stderr.strip())
    check(refresh(other_r)[0] == 400, "its refresh token is refused")
    r = server.run_cli("token", "revoke", "--account", "alcie")
    check(r.returncode == 1 and "no such account" in r.stderr,
          "token revoke of an unknown account fails: %s" % r.stderr.strip())
    closed_4401(live, "token revoke")

    # user del: the account and its tokens; logging in is refused from then on.
    a3, _ = login()
    r = server.run_cli("user", "del", "alice")
    check(r.returncode == 0 and "deleted account \"alice\" (1 access and 1 refresh tokens"
          in r.stderr, "user del: %s" % r.stderr.strip())
    c = WsClient(server.port, a3)
    check(c.status == 401, "its access token is gone: upgrade %d" % c.status)
    c.close()
    status, body = token_post({"grant_type": "password", "username": "alice",
                               "password": "alice-pass"})
    check(status == 400, "the deleted account cannot log in: %d %r" % (status, body))
    r = server.run_cli("user", "del", "alice")
    check(r.returncode == 1 and "no such account" in r.stderr,
          "user del of an unknown account fails: %s" % r.stderr.strip())

    # The real agent: its connection is closed when its tokens are revoked, it logs in
    # again with its password and its records keep arriving.
    agents.append(Agent(work, write_config(work, agent_config(server))).start())
    wait_for(lambda: server.records("resources"), 30, "the agent's first records")
    r = server.run_cli("token", "revoke", "--account", "agent1")
    check(r.returncode == 0, "token revoke of the agent's account: %s" % r.stderr.strip())
    wait_for(lambda: 'token of "agent1" revoked, closing' in server.read_log(), 15,
             "the agent's connection closed")
    def agent_top():
        return max(x["seq"] for x in server.records() if x["host_id"] != "alice-host")

    after = agent_top()
    wait_for(lambda: agent_top() > after + 2, 20, "the agent's records after it logged in again")
    check(True, "the agent logged in again and ships (seq > %d)" % (after + 2))
