"""Tokens, as the issue puts it: srvmon-server issues 5-second tokens for 60 s; the agent
renews them while connected (refresh grant) with no gap in seq, no error or warning beyond
the renewals themselves, and about one token fetch per half lifetime (never a loop)."""
import re
import time

from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, wait_for,
                            write_config)

LIFETIME_S = 5
WINDOW_S = 60
LOG_LEVEL = re.compile(r" srvmon-agent (warning|error): ")

work = Workdir()
server = Server(work, token_lifetime=LIFETIME_S)
server.add_user("agent1", "s3cret-pass")
server.start()
agent = Agent(work, write_config(work, agent_config(server))).start()
wait_for(lambda: server.records("resources"), 30, "first records")
issued0 = server.stats()["tokens_issued"]
t0 = time.monotonic()
# Mostly idle time: the agent ships a record or two a second meanwhile.
wait_for(lambda: time.monotonic() - t0 >= WINDOW_S or not agent.alive(), WINDOW_S + 10,
         "%d s of %d-second tokens" % (WINDOW_S, LIFETIME_S), interval=1)
check(agent.alive(), "agent still running after %d s" % WINDOW_S)
stats = server.stats()
fetches = stats["tokens_issued"] - issued0
# Let the last records in flight land, then take them all.
last = server.records()[-1]["seq"]
wait_for(lambda: server.records()[-1]["seq"] > last, 10, "records still arriving")
seqs = [r["seq"] for r in server.records()]
log = agent.read_log()

check(len(seqs) == len(set(seqs)), "every seq stored exactly once (%d records)" % len(seqs))
check(seqs == list(range(seqs[0], seqs[0] + len(seqs))),
      "no gap in seq %d..%d across %d token fetches" % (seqs[0], seqs[-1], fetches))
check(len(seqs) >= WINDOW_S, "records kept flowing (%d in %d s)" % (len(seqs), WINDOW_S))
# The agent renews when half of a 5 s token is left: one fetch every 2.5-3 s. Fewer than
# one per lifetime would mean a token expired; a renewal loop would make hundreds.
check(WINDOW_S // LIFETIME_S <= fetches <= 2 * WINDOW_S // LIFETIME_S + 6,
      "token fetches in %d s: %d (expected about %d; bounds %d..%d)"
      % (WINDOW_S, fetches, WINDOW_S * 2 // LIFETIME_S, WINDOW_S // LIFETIME_S,
         2 * WINDOW_S // LIFETIME_S + 6))
check(stats["failed_logins"] == 0, "no failed login")
check(log.count("with the password grant") == 1,
      "one password grant, then only refresh grants (%d)" % log.count("with the refresh grant"))
check(log.count("token renewed; reconnecting") >= WINDOW_S // LIFETIME_S,
      "renewed while connected (%d times)" % log.count("token renewed; reconnecting"))
check("refused the token" not in log and "code 4401" not in log and "HTTP 401" not in log,
      "no token ever refused or expired on the wire")
bad = [ln for ln in log.splitlines() if LOG_LEVEL.search(ln) and "token renew" not in ln]
check(not bad, "no error or warning in the agent log beyond renewals: %s" % bad[:3])
slog = server.read_log()
check("token of \"agent1\" expired" not in slog, "the server never closed a connection for "
      "an expired token")
check(agent.stop() == 0, "agent exits 0")
server.stop()
print("PASS")
