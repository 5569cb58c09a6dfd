"""TLS: srvmon-server with a certificate from a CA the test makes (openssl CLI).

Right CA → records flow over https/wss; wrong CA → a clear verification error and
nothing delivered; right CA but a wrong public-key pin → refused; the right pin →
accepted. Plain http to a non-loopback host is refused unless allow_insecure.
"""
import base64
import hashlib
import subprocess

from srvmon_testlib import (AGENT, Agent, Server, Workdir, agent_config, check, wait_for,
                            write_config)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_ca(work, name):
    key, crt = work.file(name + ".key"), work.file(name + ".crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + name)
    return key, crt


def make_server_cert(work, ca_key, ca_crt):
    key, csr, crt = work.file("srv.key"), work.file("srv.csr"), work.file("srv.crt")
    ext = work.file("srv.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
    return key, crt


def spki_pin(crt):
    pub = subprocess.run(["openssl", "x509", "-in", crt, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def tls_config(server, ca, extra=""):
    return agent_config(server).replace(
        "[server]\n", "[server]\ntls = true\nca_file = %s\n%s" % (ca, extra))


work = Workdir()
ca_key, ca_crt = make_ca(work, "srvmon-test-ca")
_, wrong_crt = make_ca(work, "wrong-ca")
srv_key, srv_crt = make_server_cert(work, ca_key, ca_crt)
server = Server(work, extra=["--tls-cert", srv_crt, "--tls-key", srv_key])
server.add_user("agent1", "s3cret-pass")
server.start()
check("listening on https://" in server.read_log(), "srvmon-server serves https")


def run_agent(name, text):
    agent = Agent(work, write_config(work, text, name=name + ".conf"))
    agent.log_path = work.file(name + ".log")
    return agent.start()


try:
    # 1. Right CA: records arrive over wss.
    agent = run_agent("good", tls_config(server, ca_crt))
    wait_for(lambda: server.records("resources"), 30, "records over TLS")
    check("connected to wss://127.0.0.1:%d/ws" % server.port in agent.read_log(),
          "agent connected with wss://")
    check(agent.stop() == 0, "agent exits 0")
    n = len(server.records())

    # 2. Wrong CA: a clear error, nothing delivered, still running.
    agent = run_agent("wrongca", tls_config(server, wrong_crt))
    wait_for(lambda: "token request to https://127.0.0.1" in agent.read_log(), 40,
             "the verification failure in the log")
    log = agent.read_log()
    check("certificate" in log.lower(), "log says the certificate failed verification")
    check(agent.alive(), "agent keeps running (retrying) with a wrong CA")
    check(agent.stop() == 0, "agent exits 0")
    check(len(server.records()) == n, "nothing delivered with the wrong CA")

    # 3. Right CA, wrong pin: refused.
    agent = run_agent("wrongpin", tls_config(
        server, ca_crt, "pin_sha256 = %s\n" % base64.b64encode(b"x" * 32).decode()))
    wait_for(lambda: "pin_sha256" in agent.read_log(), 20, "the pin mismatch in the log")
    check(agent.alive(), "agent keeps running with a pin mismatch")
    check(agent.stop() == 0, "agent exits 0")
    check(len(server.records()) == n, "nothing delivered with a pin mismatch")

    # 4. The right pin: accepted (curl for the token, the verify callback for wss).
    agent = run_agent("rightpin", tls_config(server, ca_crt, "pin_sha256 = %s\n"
                                             % spki_pin(srv_crt)))
    wait_for(lambda: len(server.records()) > n + 2, 30, "records with the right pin")
    check("pin_sha256" not in agent.read_log(), "no pin complaint with the right pin")
    check(agent.stop() == 0, "agent exits 0")
finally:
    server.stop()

# 5. Plain http to a non-loopback host: refused with exit 78 unless allow_insecure.
cfg = agent_config(server).replace("server_address = 127.0.0.1", "server_address = 192.0.2.1")
path = write_config(work, cfg, name="insecure.conf")
r = subprocess.run([AGENT, "--config", path], capture_output=True, text=True, timeout=30)
check(r.returncode == 78 and "allow_insecure" in r.stderr,
      "plain http to 192.0.2.1 refused (exit %d): %s" % (r.returncode, r.stderr.strip()[-200:]))
check("s3cret-pass" not in r.stderr, "the password is not logged")
r = subprocess.run([AGENT, "--config", path, "--check-config"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode == 0, "--check-config still validates the file")
print("PASS")
