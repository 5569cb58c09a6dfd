"""The read API queries the api-query benchmarks time (bench/api-query.sh on SQLite,
bench/api-query-pg.sh on PostgreSQL), on their synthetic database, and the timing loop: each
query REPEAT times with curl over loopback (time_total, which includes curl's connection and
the token check), median and max printed."""

import json
import statistics
import subprocess

DAY_MS = 86400000


def queries(server, token, hosts, now):
    """(name, path) of every query; h1 is the middle host."""
    h1 = "%032x" % (hosts // 2)
    out = [
        ("hosts", "/api/v1/hosts"),
        ("series cpu 15 min (raw, 3 s buckets)",
         "/api/v1/hosts/%s/series?metric=cpu_percent" % h1),
        ("series upload 15 min (raw, 3 s)", "/api/v1/hosts/%s/series?metric=upload_rate" % h1),
        ("series upload 1 h at 1 s (3600 raw)",
         "/api/v1/hosts/%s/series?metric=upload_rate&from=%d&to=%d&step=2000"
         % (h1, now - 3600000, now)),
        ("series cpu 6 h (minutes)", "/api/v1/hosts/%s/series?metric=cpu_percent&from=%d&to=%d"
         % (h1, now - 6 * 3600000, now)),
        ("series upload 7 d (minutes)",
         "/api/v1/hosts/%s/series?metric=upload_rate&from=%d&to=%d"
         % (h1, now - 7 * DAY_MS, now)),
        ("speedtests 7 d", "/api/v1/hosts/%s/speedtests" % h1),
        ("exec newest 100, all hosts", "/api/v1/exec"),
        ("exec newest 100, one host", "/api/v1/exec?host=%s" % h1),
        ("exec q=git (common), all hosts", "/api/v1/exec?q=git"),
        ("exec q=rarecommand, all hosts", "/api/v1/exec?q=rarecommand"),
        ("exec q=rarecommand, one host", "/api/v1/exec?q=rarecommand&host=%s" % h1),
        ("exec user=alice q=nginx", "/api/v1/exec?user=alice&q=nginx"),
    ]
    st = json.loads(subprocess.run(["curl", "-s", "-H", "Authorization: Bearer " + token,
                                    server.base_url + "/api/v1/exec?q=git"],
                                   capture_output=True, check=True).stdout)
    if st["next_cursor"]:  # none in a database too small for a second page
        out.append(("exec page 2 (cursor)", "/api/v1/exec?q=git&cursor=" + st["next_cursor"]))
    return out


def time_queries(server, token, hosts, now, repeat):
    print("%-40s %9s %9s %9s" % ("query", "median ms", "max ms", "bytes"))
    for name, path in queries(server, token, hosts, now):
        times = []
        size = 0
        for _ in range(repeat):
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                                "%{http_code} %{time_total} %{size_download}", "-H",
                                "Authorization: Bearer " + token, server.base_url + path],
                               capture_output=True, text=True, check=True)
            code, t, size = r.stdout.split()
            if code != "200":
                raise SystemExit("%s: HTTP %s" % (path, code))
            times.append(float(t) * 1000)
        print("%-40s %9.1f %9.1f %9s" % (name, statistics.median(times), max(times), size))
