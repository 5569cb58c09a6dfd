"""Alerts driven by a real agent (docs/api.md, "Alerts"): a local webhook receiver gets
exactly one firing and one resolved notification for a cpu rule (threshold low, then changed
high with `alert set`) and for a host-offline rule (the agent stopped, then started again);
an exec rule fires on a command run here; the alert endpoints' roles and bad bodies; a
receiver that answers 500 first gets the notification again (retry), still once delivered."""
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

from srvmon_testlib import (SERVER, Agent, agent_config, check, served, server_token, wait_for,
                            write_config)


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every POSTed JSON body, by path."""

    def __init__(self, fail_first=0):
        self.bodies = []
        self.fail_left = fail_first
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                with outer.lock:
                    failing = outer.fail_left > 0
                    if failing:
                        outer.fail_left -= 1
                    else:
                        outer.bodies.append((self.path, self.headers["Content-Type"], body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def got(self, path):
        with self.lock:
            return [b for p, _, b in self.bodies if p == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def cli(server, *args):
    r = subprocess.run([SERVER, "alert"] + list(args) + ["--db", server.db],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("alert %s: %d %s" % (args, r.returncode, r.stderr))
    return r.stdout


def api(server, token, path, method="GET", body=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(server.base_url + path, data=data, method=method, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def states(got):
    return [b["state"] for b in got]


def settle(server, n=3):
    """Waits until n more resources records are stored (each >= 1 evaluation tick later)."""
    start = len(server.records("resources"))
    wait_for(lambda: len(server.records("resources")) >= start + n, 20,
             "%d more resources records" % n)


class AlertStream:
    """GET /api/v1/events in a thread, keeping the data of every "event: alert"."""

    def __init__(self, server, token):
        self.alerts = []
        req = urllib.request.Request(server.base_url + "/api/v1/events?type=none",
                                     headers={"Authorization": "Bearer " + token})
        self.resp = urllib.request.urlopen(req, timeout=120)
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        event = None
        try:
            for raw in self.resp:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "alert":
                    self.alerts.append(json.loads(line[6:]))
        except (OSError, ValueError):
            pass

    def close(self):
        self.resp.close()


def main():
    recv = Receiver(fail_first=1)
    marker = "srvmon-alert-%d" % os.getpid()
    try:
        with served() as (work, server, agents):
            server.add_user("adm1", "admin-pass", role="admin")
            server.add_user("view1", "view-pass", role="viewer")
            cfg = write_config(work, agent_config(
                server, history="trail_path = %s\n" % work.file("trail")))
            agent = Agent(work, cfg).start()
            agents.append(agent)
            wait_for(lambda: server.records("resources"), 30, "first resources record")
            host_id = server.records("resources")[0]["host_id"]
            # The event stream (type=none: no records, only alert events).
            stream = AlertStream(server, server_token(server, "view1", "view-pass"))

            # 1. cpu_percent >= 0 holds at once: firing (the first POST gets a 500 and is
            #    retried); >= 101 never holds: resolved.
            out = cli(server, "add", "--name", "cpu", "--metric", "cpu_percent", "--op", ">=",
                      "--threshold", "0", "--for", "0s", "--webhook", recv.url + "/cpu")
            rule = json.loads(out)
            check(rule["kind"] == "metric" and rule["threshold"] == 0 and rule["for_ms"] == 0,
                  "alert add prints the stored rule")
            got = wait_for(lambda: recv.got("/cpu"), 30, "the cpu firing notification")
            check(states(got) == ["firing"] and got[0]["host_id"] == host_id and
                  got[0]["rule"]["id"] == rule["id"] and got[0]["value"] >= 0,
                  "one firing notification for the host, delivered after a 500 and a retry")
            check(recv.bodies[0][1] == "application/json", "Content-Type: application/json")
            check("trying again" in server.read_log(), "the failed attempt is logged")
            cli(server, "set", str(rule["id"]), "--threshold", "101")
            wait_for(lambda: len(recv.got("/cpu")) >= 2, 30, "the cpu resolved notification")
            settle(server)
            check(states(recv.got("/cpu")) == ["firing", "resolved"],
                  "exactly one firing and one resolved (cpu): %r" % states(recv.got("/cpu")))
            wait_for(lambda: len(stream.alerts) >= 2, 20, "two alert events on the stream")
            check([(a["state"], a["rule_id"]) for a in stream.alerts] ==
                  [("firing", rule["id"]), ("resolved", rule["id"])],
                  "the event stream has the same two state changes")
            stream.close()

            # 2. Host offline for 4 s: the agent stopped, then started again. (Not 2 s: a
            #    sanitizer-built agent on a loaded machine has gaps of 2 s between records.)
            cli(server, "add", "--offline", "--for", "4s", "--webhook", recv.url + "/offline")
            settle(server)
            check(recv.got("/offline") == [], "online: no offline notification")
            agent.stop()
            got = wait_for(lambda: recv.got("/offline"), 30, "the offline firing")
            check(states(got) == ["firing"] and got[0]["value"] >= 4,
                  "offline fires %.1f s after the last record" % got[0]["value"])
            agent = Agent(work, cfg).start()
            agents.append(agent)
            wait_for(lambda: len(recv.got("/offline")) >= 2, 30, "the offline resolved")
            settle(server)
            check(states(recv.got("/offline")) == ["firing", "resolved"],
                  "exactly one firing and one resolved (offline): %r"
                  % states(recv.got("/offline")))

            # 3. The API: roles, bad bodies, an exec rule added by an admin.
            admin = server_token(server, "adm1", "admin-pass")
            viewer = server_token(server, "view1", "view-pass")
            exec_rule = {"kind": "exec", "regex": marker + " [0-9]+", "for_ms": 2000,
                         "webhook": recv.url + "/exec", "host_id": host_id}
            st, _ = api(server, viewer, "/api/v1/alerts", "POST", exec_rule)
            check(st == 403, "a viewer may not add a rule")
            st, b = api(server, admin, "/api/v1/alerts", "POST", dict(exec_rule, regex="(("))
            check(st == 400 and b["error"] == "bad_body" and "regex" in b["detail"],
                  "a bad regex: 400 naming it")
            st, b = api(server, admin, "/api/v1/alerts", "POST", b"{not json")
            check(st == 400 and b["error"] == "bad_body", "not JSON: 400")
            st, b = api(server, admin, "/api/v1/alerts", "POST", dict(exec_rule, id=7))
            check(st == 400, "an id in the body: 400")
            st, b = api(server, admin, "/api/v1/alerts", "POST",
                        {"kind": "metric", "metric": "cpu_percent", "op": "!=", "threshold": 1})
            check(st == 400 and "op" in b["detail"], "a bad op: 400")
            st, created = api(server, admin, "/api/v1/alerts", "POST", exec_rule)
            check(st == 201 and created["kind"] == "exec" and created["for_ms"] == 2000,
                  "an admin adds an exec rule: 201")
            path = "/api/v1/alerts/%d" % created["id"]
            check(api(server, viewer, path, "PUT", exec_rule)[0] == 403, "a viewer may not PUT")
            st, upd = api(server, admin, path, "PUT", dict(exec_rule, for_ms=2500))
            check(st == 200 and upd["id"] == created["id"] and upd["for_ms"] == 2500,
                  "an admin replaces the rule with PUT")
            check(api(server, admin, "/api/v1/alerts/99999", "PUT", exec_rule)[0] == 404,
                  "PUT of an unknown rule: 404")
            st, rules = api(server, viewer, "/api/v1/alerts")
            check(st == 200 and [r["kind"] for r in rules] == ["metric", "offline", "exec"],
                  "a viewer lists the three rules")
            subprocess.run(["/bin/echo", marker, "42"], stdout=subprocess.DEVNULL, check=True)
            wait_for(lambda: len(recv.got("/exec")) >= 2, 30,
                     "exec firing, then resolved after 2 s")
            got = recv.got("/exec")
            check(states(got) == ["firing", "resolved"] and got[0]["host_id"] == host_id,
                  "the exec rule fires on the command and resolves")
            st, sts = api(server, viewer, "/api/v1/alerts/state")
            check(st == 200 and sorted(s["state"] for s in sts) == ["resolved"] * 3 and
                  all(s["fired_ms"] and s["resolved_ms"] >= s["fired_ms"] for s in sts),
                  "three resolved states with their times")
            st, _ = api(server, viewer, "/api/v1/alerts/%d" % created["id"], "DELETE")
            check(st == 403, "a viewer may not delete")
            st, b = api(server, admin, "/api/v1/alerts/%d" % created["id"], "DELETE")
            check(st == 200 and b == {"deleted": created["id"]}, "an admin deletes it")
            st, _ = api(server, admin, "/api/v1/alerts/%d" % created["id"], "DELETE")
            check(st == 404, "deleted twice: 404")
            listed = [json.loads(ln) for ln in cli(server, "list").splitlines()]
            check([r["kind"] for r in listed] == ["metric", "offline"], "alert list: two rules")
            cli(server, "del", str(rule["id"]))
            check(cli(server, "list").count("\n") == 1, "alert del")
            r = subprocess.run([SERVER, "alert", "add", "--metric", "nope", "--op", ">",
                                "--threshold", "1", "--db", server.db],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 2 and "metric" in r.stderr, "alert add with a bad metric: 2")
            r = subprocess.run([SERVER, "alert", "add", "--metric", "disk_available", "--op",
                                "<", "--threshold", "5GiB", "--for", "5m", "--db", server.db],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0 and json.loads(r.stdout)["threshold"] == 5 * 1024 ** 3,
                  "--threshold 5GiB")
    finally:
        recv.stop()


if __name__ == "__main__":
    main()
