"""An SMTP server on 127.0.0.1 for the tests (python3-aiosmtpd, a Debian package: run it
with /usr/bin/python3). Every message it accepts becomes DIR/<n>.json: {"mail_from",
"rcpt_tos", "content"}, written whole (renamed into place). Prints "port N" once listening;
runs until killed.

Run: /usr/bin/python3 smtp_sink.py --dir DIR"""
import argparse
import asyncio
import json
import os

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.out_dir, "%04d.json" % self.n)
        with open(path + ".tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                       "content": envelope.content.decode("utf-8", "replace")}, f)
        os.rename(path + ".tmp", path)
        return "250 OK"


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    handler = Handler(args.dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"),
                                      "127.0.0.1", 0)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
