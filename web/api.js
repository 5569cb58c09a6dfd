/*
 * The session and the read API (docs/api.md): the token is kept in memory only, unless the
 * user ticked "remember me" (then in localStorage, removed on logout). A token in the URL
 * fragment (/#token=...) is taken and the fragment cleared.
 */
"use strict";

const api = (() => {
	const STORE_KEY = "srvmon.session";
	let session = null; /* {token, refresh, expires_ms, remember} */
	let renewTimer = null;
	const listeners = { expired: [], changed: [], renewed: [] };

	class ApiError extends Error {
		constructor(status, body, path) {
			const what = body && (body.detail || body.error);
			super(path + ": " + status + (what ? " " + what : ""));
			this.status = status;
			this.body = body || {};
		}
	}

	function emit(kind) {
		for (const f of listeners[kind])
			f(session);
	}

	function save() {
		try {
			if (session && session.remember)
				localStorage.setItem(STORE_KEY, JSON.stringify(session));
			else
				localStorage.removeItem(STORE_KEY);
		} catch (e) {
			/* Storage refused (private mode): the session stays in memory. */
		}
	}

	function scheduleRenewal() {
		clearTimeout(renewTimer);
		renewTimer = null;
		if (!session || !session.refresh || !session.expires_ms)
			return;
		const left = session.expires_ms - Date.now();
		/* Renew with a tenth of the lifetime left (at least 5 s before it ends). */
		const wait = Math.max(1000, left - Math.max(5000, left / 10));
		renewTimer = setTimeout(renew, wait);
	}

	function adopt(reply, remember) {
		session = {
			token: reply.access_token,
			refresh: reply.refresh_token || null,
			expires_ms: reply.expires_in ? Date.now() + reply.expires_in * 1000 : 0,
			remember: !!remember,
		};
		save();
		scheduleRenewal();
		emit("changed");
	}

	async function tokenRequest(form) {
		const r = await fetch("/token", {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: new URLSearchParams(form).toString(),
			credentials: "omit",
			cache: "no-store",
		});
		let body = null;
		try {
			body = await r.json();
		} catch (e) {
			body = null;
		}
		if (!r.ok || !body || !body.access_token)
			throw new ApiError(r.status, body, "POST /token");
		return body;
	}

	async function login(username, password, remember) {
		const reply = await tokenRequest({ grant_type: "password", username, password });
		adopt(reply, remember);
	}

	async function renew() {
		if (!session || !session.refresh)
			return;
		try {
			const reply = await tokenRequest({
				grant_type: "refresh_token",
				refresh_token: session.refresh,
			});
			adopt(reply, session.remember);
		} catch (e) {
			expire();
			return;
		}
		emit("renewed");
	}

	function expire() {
		logout();
		emit("expired");
	}

	function logout() {
		clearTimeout(renewTimer);
		session = null;
		save();
		emit("changed");
	}

	/* At start: a token in the fragment, else a remembered session. */
	function restore() {
		const m = /^#token=([^&]+)(?:&(.*))?$/.exec(location.hash);
		if (m) {
			session = { token: decodeURIComponent(m[1]), refresh: null, expires_ms: 0,
				    remember: false };
			const route = m[2] ? "#" + decodeURIComponent(m[2]) : "#/hosts";
			history.replaceState(null, "", location.pathname + location.search + route);
			return true;
		}
		try {
			const s = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
			if (s && s.token && (!s.expires_ms || s.expires_ms > Date.now() || s.refresh)) {
				session = s;
				if (s.expires_ms && s.expires_ms <= Date.now())
					renew();
				else
					scheduleRenewal();
				return true;
			}
		} catch (e) {
			/* A damaged entry: ignored. */
		}
		return false;
	}

	function query(params) {
		const q = new URLSearchParams();
		for (const [k, v] of Object.entries(params || {}))
			if (v !== undefined && v !== null && v !== "")
				q.set(k, String(v));
		const s = q.toString();
		return s ? "?" + s : "";
	}

	async function request(method, path, params, body) {
		if (!session)
			throw new ApiError(401, { error: "unauthorized" }, path);
		const init = {
			method,
			headers: { Authorization: "Bearer " + session.token },
			credentials: "omit",
			cache: "no-store",
		};
		if (body !== undefined) {
			init.headers["Content-Type"] = "application/json";
			init.body = JSON.stringify(body);
		}
		const r = await fetch("/api/v1" + path + query(params), init);
		let data = null;
		try {
			data = await r.json();
		} catch (e) {
			data = null;
		}
		if (r.status === 401) {
			expire();
			throw new ApiError(401, data, path);
		}
		if (!r.ok)
			throw new ApiError(r.status, data, method + " " + path);
		return data;
	}

	/* Server-Sent Events; EventSource cannot send headers, so the token goes as ?token=. */
	function events(params, handlers) {
		if (!session || typeof EventSource === "undefined")
			return null;
		const es = new EventSource("/api/v1/events" +
					   query(Object.assign({}, params, { token: session.token })));
		es.addEventListener("record", (ev) => {
			try {
				handlers.record && handlers.record(JSON.parse(ev.data));
			} catch (e) {
				/* One bad event does not stop the stream. */
			}
		});
		es.addEventListener("alert", (ev) => {
			try {
				handlers.alert && handlers.alert(JSON.parse(ev.data));
			} catch (e) {
				/* as above */
			}
		});
		/* The server ends the stream of a revoked or expired token: no reconnecting with it. */
		es.addEventListener("end", (ev) => {
			es.close();
			handlers.state && handlers.state("closed");
			let reason = "";
			try {
				reason = JSON.parse(ev.data).reason;
			} catch (e) {
				/* no reason: treated as revoked */
			}
			if (reason === "token expired" && session && session.refresh)
				renew();
			else if (session)
				expire();
		});
		es.onopen = () => handlers.state && handlers.state("live");
		es.onerror = () => handlers.state &&
				   handlers.state(es.readyState === EventSource.CLOSED ? "closed" : "retrying");
		return es;
	}

	return {
		ApiError,
		login,
		logout,
		restore,
		get: (path, params) => request("GET", path, params),
		post: (path, body) => request("POST", path, undefined, body),
		del: (path) => request("DELETE", path),
		events,
		session: () => session,
		on: (kind, f) => listeners[kind].push(f),
	};
})();
