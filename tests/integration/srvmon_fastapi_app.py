"""A monitoring API written the way servers of the old client were: FastAPI + uvicorn.

POST /token takes the OAuth2 password form and returns {"access_token", "token_type"};
the token is signed with a key made when the process starts, so a restarted server
refuses tokens of its previous run: it accepts the WebSocket and closes it at once with
1008. /ws never acks; it appends every text frame it receives, one line each, to the
file named by --store (flushed per frame, so a test reads it while the server runs).
--close-after N: close every connection with 1012 after N frames (frames behind the Nth
are not read). 127.0.0.1 only.

Run: python3 srvmon_fastapi_app.py --port P --store FILE [--close-after N]
"""
import argparse
import hashlib
import hmac
import os
import secrets

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.security import OAuth2PasswordRequestForm

USERS = {"agent1": "s3cret-pass"}
KEY = secrets.token_bytes(32)  # per process: a restart invalidates every token

app = FastAPI()
args = None


def sign(user):
    return user + "." + hmac.new(KEY, user.encode(), hashlib.sha256).hexdigest()


def verify(token):
    user, _, _mac = token.partition(".")
    return user if token and hmac.compare_digest(token, sign(user)) else None


@app.post("/token")
def token(form: OAuth2PasswordRequestForm = Depends()):
    if USERS.get(form.username) != form.password:
        raise HTTPException(status_code=400, detail="Incorrect username or password")
    return {"access_token": sign(form.username), "token_type": "bearer"}


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    auth = websocket.headers.get("authorization", "")
    tok = auth[7:] if auth.lower().startswith("bearer ") else websocket.query_params.get(
        "token", "")
    await websocket.accept()
    if not verify(tok):
        await websocket.close(code=1008)
        return
    got = 0
    try:
        with open(args.store, "a") as store:
            while True:
                text = await websocket.receive_text()
                store.write(text.replace("\n", " ") + "\n")
                store.flush()
                got += 1
                if args.close_after and got >= args.close_after:
                    await websocket.close(code=1012)
                    return
    except WebSocketDisconnect:
        pass


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--close-after", type=int, default=0)
    args = p.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws="wsproto")
