"""Two srvmon-server nodes on one PostgreSQL database (docs/scaling.md): one real agent on
each, and a third whose connection goes through a loopback TCP proxy in this test that first
leads to node 1 and is then switched to node 2 mid-stream. Before the switch the proxy holds
back node 1's replies for 2 s, so node 1 has committed records the agent never saw acked:
the agent sends them again to node 2, whose unique index drops them. Every record
(host_id, seq) is stored exactly once, none is missing (what is not stored is still in the
agent's spool), and a token issued by one node works on the other."""
import socket
import struct
import threading
import time

from srvmon_testlib import (Server, Workdir, WsClient, check, check_each_seq_once,
                            host_agent, pg_cluster, server_token, spool_acked, stored_seqs,
                            wait_for)


class SwitchProxy:
    """Loopback TCP proxy: each accepted connection is piped to the current target port.
    hold(True) drops what the target sends (its acks never arrive); switch(port) closes
    every open connection and sends the next ones to port. connections[port] counts them."""

    def __init__(self, port):
        self.target = port
        self.holding = False
        self.lock = threading.Lock()
        self.open = []
        self.connections = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                port = self.target
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open += [client, upstream]
                self.connections[port] = self.connections.get(port, 0) + 1
            threading.Thread(target=self._pump, args=(client, upstream, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True),
                             daemon=True).start()

    def _pump(self, src, dst, from_target):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_target and self.holding:
                    continue
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def hold(self, on):
        self.holding = on

    def switch(self, port):
        with self.lock:
            self.target = port
            socks, self.open = self.open, []
        for s in socks:
            try:
                # RST, not FIN: the connection is gone as when a node or its host dies.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass
        self.holding = False

    def close(self):
        self.running = False
        self.sock.close()
        self.switch(0)


t_start = time.monotonic()
work = Workdir()
url = pg_cluster().database("nodes")
node1 = Server(work, db=url, log_name="node1.log")
node1.add_user("agent1", "s3cret-pass")  # in the shared database: an account of both nodes
node1.start()
node2 = Server(work, db=url, log_name="node2.log").start()
proxy = SwitchProxy(node1.port)
agents = {}
try:
    # Tokens live in the database: one issued by node 1 opens /ws on node 2.
    ws = WsClient(node2.port, server_token(node1, "agent1", "s3cret-pass"))
    check(ws.status == 101, "a token of node 1 upgrades /ws on node 2")
    ws.close()

    for name, port in (("host-on-1", node1.port), ("host-on-2", node2.port),
                       ("host-moved", proxy.port)):
        agents[name] = host_agent(port, name)
        agents[name][0].start()
    wait_for(lambda: all(len(stored_seqs(url, h)) >= 6 for h in agents), 30,
             "6 records of each agent stored")

    # Node 1 commits, but its acks to the moved agent are held back, then the connection is
    # cut and the agent's reconnect goes to node 2.
    proxy.hold(True)
    time.sleep(2)
    committed = max(stored_seqs(url, "host-moved"))
    seen = spool_acked(agents["host-moved"][1])
    proxy.switch(node2.port)
    check(committed > seen, "node 1 committed seqs up to %d, the agent saw acks up to %d only"
          % (committed, seen))
    wait_for(lambda: max(stored_seqs(url, "host-moved")) >= committed + 6, 30,
             "the moved agent's records going on through node 2")
    wait_for(lambda: spool_acked(agents["host-moved"][1]) >= committed, 20,
             "node 2 acks the records node 1 had committed (sent again, deduplicated)")
    check(proxy.connections.get(node1.port, 0) >= 1 and proxy.connections.get(node2.port, 0) >= 1,
          "the moved agent connected to both nodes: %r" % proxy.connections)

    for name, (agent, _) in agents.items():
        check(agent.stop() == 0, "agent %s exits 0" % name)
    check_each_seq_once(url, {h: state for h, (_, state) in agents.items()})
    for n, node in (("node 1", node1), ("node 2", node2)):
        check('connection of "agent1" established' in node.read_log(),
              "%s served agent connections" % n)
    check(node1.stop() == 0 and node2.stop() == 0, "both nodes exit 0 on SIGTERM")
    print("took %.1f s" % (time.monotonic() - t_start))
finally:
    for agent, _ in agents.values():
        agent.stop()
    proxy.close()
    node1.stop()
    node2.stop()
