"""A hostile WebSocket server (srvmon_fakeserver.py, 127.0.0.1 only) against the agent.

Part 1, one agent, one connection per attack: a 2 MiB text frame; a message of 600
fragments of 4 KiB that never ends; a frame that claims 2^62 bytes; 5,000 error messages whose text holds
"\\n<0>forged line"; an ack for seq 2^64-1; welcomes with absurd max_frame values; a close
with 1012; two closes with 1008; then a server that only reads, and SIGTERM. The agent
stays the same process, keeps reconnecting, closes the oversized messages with 1009,
logs the server's text escaped and at most once per kind, and closes with 1001 on
SIGTERM.
Part 2, at the same time: a server that accepts and closes with 1008 on every
connection. The reconnect back-off is not reset by such a connection, so the agent makes
4..9 token requests in its first 10 s (the policy: delays uniform in
[0.1 s, 2^n s], so 1 + 2 + 4 s bound the first three and at least 4 requests fit; of
400,000 simulated runs of the policy 2 had 9 and none 10 or more; without the fix the
test counted 21).
Part 3, at the same time: a token endpoint that refuses with an error text holding the
forged line: one log line, the text escaped."""
import re
import time

from srvmon_fakeserver import ERROR_FLOOD, FORGED, FakeServer
from srvmon_testlib import Agent, Workdir, agent_config, check, wait_for, write_config

MODES = ["huge", "endless", "giant", "error_flood", "ack_max", "welcome_absurd", "close_1012",
         "close_1008", "close_1008", "sink"]
SINK = MODES.index("sink")


def start_agent(fake, reconnect_max, env=None):
    work = Workdir()
    cfg = agent_config(fake, extra="[network]\ncollector = procfs\n", work=work).replace(
        "reconnect_max = 5s", "reconnect_max = %s\nconnect_timeout = 2s" % reconnect_max)
    return Agent(work, write_config(work, cfg), env=env).start()


hostile = FakeServer(MODES).start()
loop = FakeServer(["close_1008"]).start()
refusing = FakeServer(["sink"], token_error="invalid_grant" + FORGED).start()
# As under systemd: every line starts with its priority, "<6>"; a forged "<0>" would pass
# for an emergency.
agent = start_agent(hostile, "1s", env={"JOURNAL_STREAM": "8:12345"})
looping = start_agent(loop, "60s")
refused = start_agent(refusing, "1s", env={"JOURNAL_STREAM": "8:12345"})
pid = agent.proc.pid


def has(idx, what):
    return (idx, what) in hostile.events


def alive_and(pred):
    if not agent.alive():
        check(False, "agent (PID %d) still running: exited with %s\n%s"
              % (pid, agent.proc.returncode, agent.read_log()[-3000:]))
    return pred()


try:
    # The 2 MiB frame and the endless message: discarded to the end of the fragment, 1009.
    wait_for(lambda: alive_and(lambda: has(0, "close 1009")), 30, "close 1009 for 2 MiB")
    wait_for(lambda: alive_and(lambda: has(1, "close 1009")), 30,
             "close 1009 for the endless message")
    # A frame that claims 2^62 bytes: not waited for, the connection is dropped.
    wait_for(lambda: alive_and(lambda: has(2, "eof")), 30, "the 2^62-byte frame's connection "
             "dropped")
    # The flood, the ack, the welcomes: the agent goes on writing on each connection.
    for idx in (3, 4, 5):
        wait_for(lambda: alive_and(lambda: has(idx, "closed by server")), 30,
                 "5 records on connection %d (%s)" % (idx, MODES[idx]))
    wait_for(lambda: alive_and(lambda: hostile.count_frames(SINK) >= 2), 40,
             "records on the connection after the 1012 and 1008 closes")
    check(agent.proc.pid == pid and agent.alive(), "same agent process (PID %d) throughout"
          % pid)
    check(hostile.ws_connections == SINK + 1, "the agent reconnected after every attack "
          "(%d connections)" % hostile.ws_connections)
    with hostile.lock:
        batches = [f for i, f in hostile.frames if i == MODES.index("welcome_absurd")
                   and f.startswith('{"type":"batch"')]
    with hostile.lock:
        print("frames after the welcomes: %s" % [f[:30] for i, f in hostile.frames
                                                  if i == MODES.index("welcome_absurd")])
    check(batches, "after the absurd welcomes (last: max_frame 1e15, clamped) it sends batches")
    reply = [e for i, e in hostile.events if i == MODES.index("close_1012")
             and e.startswith("reply")]
    print("the agent answered a 1012 close with: %s (libwebsockets 4.1 rewrites 1012-1015 "
          "to 1002)" % reply)
    check(reply and reply[0] in ("reply 1002", "reply 1012"), "a 1012 close is answered")

    # SIGTERM while connected: a close frame, not a dropped connection.
    rc = agent.stop()
    check(rc == 0, "agent exits 0 on SIGTERM")
    # libwebsockets closes the socket once the close frame is written: the agent may exit
    # before the server's thread has read the frame, hence the poll.
    wait_for(lambda: has(SINK, "close 1001"), 5, "a close frame with 1001 on SIGTERM (events "
             "of that connection: %s)" % [e for i, e in hostile.events if i == SINK])
    check(True, "on SIGTERM the server receives a close frame with 1001")
    check("could not be written" not in agent.read_log(), "the close frame went out at once")

    log = agent.read_log()
    lines = log.splitlines()
    print("agent log (%d lines):\n%s" % (len(lines), log))
    check(all(re.match(r"<[3-7]>", ln) for ln in lines),
          "every log line starts with the agent's own priority (no forged '<0>' line)")
    reported = [ln for ln in lines if "reported:" in ln]
    check(1 <= len(reported) <= 2, "%d error messages, %d log lines about them"
          % (ERROR_FLOOD, len(reported)))
    check('reported: "flood\\n<0>forged line"' in reported[0],
          "the error text is logged escaped: %s" % reported[0])
    check(log.count("is over 1048576 bytes; closing the connection (1009)") == 1,
          "oversized messages: one line a minute")
    check(re.search(r"has 46116860184273\d+ more bytes to come; dropping the connection", log),
          "the 2^62-byte frame is logged")
    check("acked seq 18446744073709551615, above the last seq written" in log,
          "the ack above every seq written is reported")
    check("closed the connection with code 1002 (or 1012-1015)" in log
          or "closed the connection with code 1012" in log, "the 1012 close is logged")
    check(len(lines) <= 60, "the agent's log stays bounded (%d lines)" % len(lines))

    # Part 2: the agent that meets 1008 on every connection, over its first 10 s.
    wait_for(lambda: loop.token_times and time.monotonic() - loop.token_times[0] > 10.5, 30,
             "10 s of the server that closes with 1008")
    check(looping.alive(), "the agent of the 1008 server still runs")
    first = loop.token_times[0]
    n = len([t for t in loop.token_times if t - first <= 10.0])
    check(4 <= n <= 9, "1008 on every connection: %d token requests in 10 s (back-off not "
          "reset; 4..9 by the policy)" % n)
    check(loop.ws_connections >= 4, "it keeps reconnecting (%d connections)"
          % loop.ws_connections)
    check(looping.stop() == 0, "that agent exits 0 too")

    # Part 3: a token endpoint whose refusal holds a forged line.
    check(refusing.token_requests >= 3, "the refused agent kept asking (%d token requests)"
          % refusing.token_requests)
    check(refused.stop() == 0, "the refused agent exits 0")
    rlog = refused.read_log()
    rlines = rlog.splitlines()
    forged = [ln for ln in rlines if not re.match(r"<[3-7]>", ln)]
    check(not forged, "the token endpoint's error forges no line %s" % forged)
    rejected = [ln for ln in rlines if "rejected for client_id" in ln]
    check(len(rejected) == 1 and 'HTTP 401 invalid_grant\\n<0>forged line' in rejected[0],
          "one line for %d refusals, the server's error escaped: %s"
          % (refusing.token_requests, rejected))
finally:
    agent.stop()
    looping.stop()
    refused.stop()
    hostile.stop()
    loop.stop()
    refusing.stop()
print("PASS")
