"""An account writes only its own hosts (docs/protocol.md section 3, "Host ownership"): a
host_id belongs to the account that first sent it; records another account sends for it are
refused with an error frame naming the host, are not stored and are not acked, so they can
no longer pre-claim the owner's future seqs (which, deduplicated on (host_id, seq) alone,
used to be acked to the owner and dropped). Also: host add/list, a host assigned before it
is first seen, and refusals inside a batch."""
import json
import os

from srvmon_testlib import (Agent, WsClient, agent_config, check, db_engine, served,
                            server_token, spool_records, wait_for, write_config)

HOST = "owned-host"


def rows(host):
    """(seq, account) of the stored records of host."""
    return sorted((int(s), a) for s, a in server.rows(
        "SELECT seq, account FROM records WHERE host_id = ?", (host,)))


def rec(seq, host=HOST, rtype="status"):
    return {"type": rtype, "host_id": host, "seq": seq, "ts": 1700000000000 + seq}


with served() as (work, server, agents):
    server.add_user("intruder", "intruder-pass")
    # srvmon-server made the database file (user add): owner only, whatever the caller's
    # umask (a SQLite file; PostgreSQL's files are its own).
    for path in (server.db, server.db + "-wal") if db_engine() == "sqlite" else ():
        mode = os.stat(path).st_mode if os.path.exists(path) else 0
        check(mode == 0 or mode & 0o077 == 0, "%s: mode %o (umask 077)" % (path, mode & 0o777))

    # The real agent of account agent1 claims its host with its first records.
    config = agent_config(server).replace("[agent]\n", "[agent]\nhost_id = %s\n" % HOST)
    agents.append(Agent(work, write_config(work, config)).start())
    wait_for(lambda: rows(HOST), 30, "the agent's first records")
    top = max(s for s, _ in rows(HOST))

    # Another account sends 48 records for that host, with seqs the agent will use next:
    # 40 single frames and a batch of 8. Each is refused with an error naming the host; no
    # ack comes back and nothing is stored.
    c = WsClient(server.port, server_token(server, "intruder", "intruder-pass"))
    check(c.status == 101, "the intruder's upgrade")
    claimed = list(range(top + 5, top + 53))
    replies = []
    for seq in claimed[:40]:
        c.send(json.dumps(rec(seq)))
        replies.append(c.recv_json())
    want = 'host_id "%s" belongs to another account' % HOST
    check(all(r["type"] == "error" for r in replies),
          "40 replies, all errors, no ack: %r" % [r for r in replies if r["type"] != "error"])
    check(all(r["error"] == want for r in replies),
          "single frames: the error names the host: %r" % replies[0])
    c.send(json.dumps({"type": "batch", "records": [rec(s) for s in claimed[40:]]}))
    replies += [c.recv_json() for _ in range(8)]
    check([r["error"] for r in replies[40:]] ==
          ["batch record %d: %s" % (i, want) for i in range(8)],
          "batch elements: each error names its index and the host: %r" % replies[40])
    # Its own host on the same connection is still stored and acked (below the refused seqs:
    # an ack is cumulative, it never covers a refused record).
    c.send(json.dumps(rec(1, host="intruder-host")))
    check(c.recv_json() == {"type": "ack", "seq": 1}, "its own host is stored and acked")
    c.send(json.dumps(rec(top + 100, host="intruder-host")))
    check(c.recv_json() == {"type": "ack", "seq": top + 4},
          "an ack after a refusal stops below the lowest refused seq (%d)" % (top + 4))
    # Raw control characters in a string (the JSON parser takes them): query --json prints
    # the record as one line, escaped, nothing a terminal would act on.
    c.send('{"type":"status","host_id":"intruder-host","seq":2,"ts":1,"note":"\x1b[2J\nx"}')
    check(c.recv_json()["type"] == "ack", "a record with raw control characters stored")
    r = server.run_cli("query", "--host", "intruder-host", "--json")
    check(r.returncode == 0 and r.stdout.count("\n") == 3 and "\x1b" not in r.stdout
          and '"note":"\\u001b[2J\\nx"' in r.stdout,
          "query --json: one line per record, control characters escaped: %r" % r.stdout)
    c.close()
    # A batch that mixes hosts: the ownership check is per element, and the batch's ack
    # covers the stored elements below the refused one, not the refused one.
    c = WsClient(server.port, server_token(server, "intruder", "intruder-pass"))
    base = top + 200
    c.send(json.dumps({"type": "batch", "records": [
        rec(base, host="intruder-host"), rec(base + 1), rec(base + 2, host="intruder-host")]}))
    got = [c.recv_json(), c.recv_json()]
    check(got == [{"type": "error", "error": "batch record 1: " + want},
                  {"type": "ack", "seq": base}],
          "mixed batch: an error for the foreign element, then ack %d (%r)" % (base, got))
    check([s for s, _ in rows("intruder-host") if s >= base] == [base, base + 2],
          "mixed batch: its own elements stored")
    c.close()
    check(not [a for _, a in rows(HOST) if a != "agent1"],
          "none of the intruder's records for %s stored" % HOST)

    # The agent's own records with those seqs are stored, as its own.
    wait_for(lambda: max(s for s, _ in rows(HOST)) >= top + 8, 30,
             "the agent's records with pre-claimed seqs")
    mine = [s for s, a in rows(HOST) if a == "agent1" and s in claimed]
    check(len(mine) >= 4, "the agent's records with seqs the intruder sent are stored: %r"
          % mine)
    check(len(rows(HOST)) == len(set(s for s, _ in rows(HOST))), "each seq stored once")
    check("refused: host_id \"%s\" belongs to account \"agent1\"" % HOST in server.read_log(),
          "the server logs the refusal with the owner")

    # An administrator assigns a host before it is first seen; it then refuses others.
    r = server.run_cli("host", "add", "assigned-host", "--account", "agent1")
    check(r.returncode == 0, "host add: %s" % r.stderr.strip())
    r = server.run_cli("host", "add", "assigned-host", "--account", "intruder")
    check(r.returncode == 1 and "belongs to account \"agent1\"" in r.stderr,
          "host add of a host owned by another account fails: %s" % r.stderr.strip())
    r = server.run_cli("host", "add", "x", "--account", "nobody")
    check(r.returncode == 1 and "no account \"nobody\"" in r.stderr,
          "host add for an unknown account fails: %s" % r.stderr.strip())
    c = WsClient(server.port, server_token(server, "intruder", "intruder-pass"))
    c.send(json.dumps(rec(1, host="assigned-host")))
    check(c.recv_json()["error"] == 'host_id "assigned-host" belongs to another account',
          "an assigned host refuses another account's records")
    c.close()
    r = server.run_cli("host", "list")
    check(r.returncode == 0, "host list: %s" % r.stderr.strip())
    lines = [ln.split("\t") for ln in r.stdout.splitlines()]
    print(r.stdout)
    check(lines[0] == ["HOST", "ACCOUNT", "FIRST_SEEN", "LAST_SEEN"], "host list header")
    by_host = {ln[0]: ln for ln in lines[1:]}
    check(by_host.get(HOST, [None, None])[1] == "agent1" and by_host[HOST][2].endswith("Z")
          and by_host[HOST][3] >= by_host[HOST][2], "host list: owner, first and last seen")
    check(by_host.get("assigned-host") == ["assigned-host", "agent1", "-", "-"],
          "host list: an assigned host never seen")
    check(by_host.get("intruder-host", [None, None])[1] == "intruder",
          "host list: the intruder's own host")

    # An agent whose host another account took first: its records are refused and stay in
    # its spool; once an administrator gives the host to its account, they are delivered at
    # its next connection (here: its tokens revoked, it logs in again).
    c = WsClient(server.port, server_token(server, "intruder", "intruder-pass"))
    c.send(json.dumps(rec(0, host="stolen-host")))
    check(c.recv_json() == {"type": "ack", "seq": 0}, "the intruder claims stolen-host first")
    c.close()
    state2 = work.file("state2")
    config2 = agent_config(server).replace("[agent]\n", "[agent]\nhost_id = stolen-host\n") \
        .replace("state_dir = %s\n" % work.file("state"), "state_dir = %s\n" % state2)
    agents.append(Agent(work, write_config(work, config2, name="agent2.conf"),
                        log_name="agent2.log").start())
    wait_for(lambda: 'from "agent1" refused: host_id "stolen-host" belongs to account '
             '"intruder"' in server.read_log(), 30, "the agent's records refused")
    spool2 = os.path.join(state2, "spool")
    spooled = wait_for(lambda: len(spool_records(spool2)) >= 3 and spool_records(spool2), 30,
                       "refused records kept in the agent's spool")
    check(rows("stolen-host") == [(0, "intruder")], "none of the agent's records stored meanwhile")
    check(server.run_cli("host", "del", "stolen-host").returncode == 0, "host del stolen-host")
    check(server.run_cli("host", "add", "stolen-host", "--account", "agent1").returncode == 0,
          "host add stolen-host --account agent1")
    check(server.run_cli("token", "revoke", "--account", "agent1").returncode == 0,
          "token revoke: the agents reconnect")
    wait_for(lambda: set(spooled) <= set(s for s, a in rows("stolen-host") if a == "agent1"),
             30, "the spooled records %r delivered" % spooled)
    check(True, "the records refused before are stored once the host is the agent's")
