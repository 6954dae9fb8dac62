"""Drive a throw-away Home Assistant for hellowatt's integration tests.

This harness owns everything the Rust tests do to a real Home Assistant
(core 2024.3.3, installed by scripts/install-home-assistant) other than
starting and stopping `hass` itself and importing the statistics (the
latter is hellowatt's job, the thing under test):

  config          write a minimal, fast-booting configuration.yaml
  wait            wait until HA's HTTP server answers
  onboard         create the owner user, finish onboarding, mint tokens
  mqtt-entry      add the MQTT integration through the config-flow REST API
  states          list entity states
  wait-entities   wait until some entities exist
  energy          save energy-dashboard preferences, then validate them
  statistics      recorder/statistics_during_period (hourly sum + state)
  list-statistics recorder/list_statistic_ids (sums)
  screenshot      PNG of HA's UI showing imported statistics (headless Chromium)

Run it with the venv's python (stdlib + aiohttp, which HA ships). Every
subcommand prints ONE JSON document on stdout and exits 0; on failure it
prints `home_assistant.py: error: ...` on stderr and exits 1 (2 for usage
errors). Tokens only ever appear on stdout, in `onboard`'s output: error
messages never include them.

Typical use: config DIR PORT; start `hass -c DIR --skip-pip` (the install
script preinstalls every requirement, so HA needs no pip at run time); wait
URL; onboard URL; then the other subcommands with its tokens.

Notes on HA 2024.3.3 that shape this file:
  - HA always sets up its DEFAULT_INTEGRATIONS (frontend, config, lovelace,
    backup, ...), whatever configuration.yaml says, so the frontend and the
    config-entry REST API are always there.
  - The HTTP server starts once the frontend is set up, before the recorder
    and energy are: a websocket session here waits for HA's state RUNNING
    (get_config) before sending commands, so `wait` then `onboard` is enough.
  - Onboarding's core_config step, when POSTed, starts the config flows of
    google_translate, met, radio_browser and shopping_list (internet, extra
    packages), so `config` writes it as already done instead.
  - recorder/import_statistics answers success once the import is queued:
    poll `statistics`/`list-statistics` before relying on it.
  - An entity's statistics (e.g. an MQTT sensor's) exist only after the
    recorder's 5-minute compile: until then energy/validate reports
    `statistics_not_defined` for it.
  - The frontend keeps its login in localStorage "hassTokens"; `screenshot`
    writes it before the page's scripts run (needs Page.enable first).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

PROG = "home_assistant.py"
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
WS_REPLY_TIMEOUT = 60.0
RUNNING_TIMEOUT = 180.0
CHROMIUM = "/usr/bin/chromium"
DASHBOARD_URL_PATH = "hellowatt-statistics"
DASHBOARD_VIEW_PATH = "statistics"


class HarnessError(Exception):
    """A failure to report on stderr (never with a token in the message)."""


def emit(document: Any) -> None:
    """Print the subcommand's single JSON document on stdout."""
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def base_url(url: str) -> str:
    return url.rstrip("/")


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- HTTP / WS


async def http_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    expect: tuple[int, ...] = (200,),
    **kwargs: Any,
) -> Any:
    """One HTTP request whose answer is JSON; raise HarnessError otherwise."""
    headers = auth_headers(token) if token else {}
    try:
        async with session.request(
            method, url, headers=headers, timeout=HTTP_TIMEOUT, **kwargs
        ) as resp:
            text = await resp.text()
            if resp.status not in expect:
                raise HarnessError(
                    f"{method} {url}: HTTP {resp.status}: {text[:500]}"
                )
    except (aiohttp.ClientError, asyncio.TimeoutError) as err:
        raise HarnessError(f"{method} {url}: {type(err).__name__}: {err}") from err
    try:
        return json.loads(text) if text else None
    except ValueError as err:
        raise HarnessError(f"{method} {url}: answer is not JSON: {text[:200]}") from err


class HAWebSocket:
    """An authenticated connection to HA's /api/websocket.

    `async with HAWebSocket(session, url, token) as ws: await ws.call(...)`.
    On entry it authenticates and waits until HA's state is RUNNING.
    """

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str):
        self._session = session
        self._url = base_url(url) + "/api/websocket"
        self._token = token
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1

    async def __aenter__(self) -> HAWebSocket:
        try:
            self._ws = await self._session.ws_connect(
                self._url, timeout=HTTP_TIMEOUT.total, max_msg_size=0
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise HarnessError(f"websocket {self._url}: {err}") from err
        hello = await self._receive()
        if hello.get("type") != "auth_required":
            raise HarnessError(f"websocket: expected auth_required, got {hello}")
        await self._ws.send_json({"type": "auth", "access_token": self._token})
        reply = await self._receive()
        if reply.get("type") != "auth_ok":
            raise HarnessError(
                f"websocket auth failed: {reply.get('type')}: {reply.get('message')}"
            )
        await self.wait_running()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _receive(self) -> dict[str, Any]:
        assert self._ws is not None
        try:
            msg = await self._ws.receive(timeout=WS_REPLY_TIMEOUT)
        except asyncio.TimeoutError as err:
            raise HarnessError(
                f"websocket: no message within {WS_REPLY_TIMEOUT:.0f}s"
            ) from err
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise HarnessError(f"websocket closed or failed: {msg.type.name} {msg.data}")
        return json.loads(msg.data)

    async def call(self, msg_type: str, **fields: Any) -> Any:
        """Send one command; return its `result`, or raise with HA's error."""
        assert self._ws is not None
        msg_id = self._next_id
        self._next_id += 1
        await self._ws.send_json({"id": msg_id, "type": msg_type, **fields})
        while True:
            reply = await self._receive()
            if reply.get("id") != msg_id or reply.get("type") != "result":
                continue  # an event of some subscription; not ours
            if not reply.get("success"):
                error = reply.get("error") or {}
                raise HarnessError(
                    f"{msg_type} failed: {error.get('code')}: {error.get('message')}"
                )
            return reply.get("result")

    async def wait_running(self, timeout: float = RUNNING_TIMEOUT) -> None:
        """Wait until every integration is set up (HA state RUNNING)."""
        deadline = time.monotonic() + timeout
        while True:
            state = (await self.call("get_config")).get("state")
            if state == "RUNNING":
                return
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"Home Assistant still {state} after {timeout:.0f}s (not RUNNING)"
                )
            await asyncio.sleep(0.25)


async def ws_call(url: str, token: str, msg_type: str, **fields: Any) -> Any:
    """One websocket command on a fresh connection."""
    async with aiohttp.ClientSession() as session:
        async with HAWebSocket(session, url, token) as ws:
            return await ws.call(msg_type, **fields)


async def get_states(session: aiohttp.ClientSession, url: str, token: str) -> list:
    return await http_json(session, "GET", base_url(url) + "/api/states", token=token)


def field(document: Any, key: str, what: str) -> Any:
    """document[key], or a HarnessError naming what lacked it."""
    if not isinstance(document, dict) or key not in document:
        raise HarnessError(f"{what}: no {key!r} in the answer")
    return document[key]


def state_summary(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state.get(k) for k in ("entity_id", "state", "attributes")}


# ------------------------------------------------------------------ config


def render_config(port: int, time_zone: str, frontend: bool) -> str:
    lines = [
        "# Written by scripts/home_assistant.py config: a minimal HA for tests.",
        "homeassistant:",
        "  name: hellowatt test",
        "  unit_system: metric",
        "  currency: EUR",
        "  country: FR",
        f"  time_zone: {time_zone}",
        "  latitude: 48.8566",
        "  longitude: 2.3522",
        "  elevation: 35",
        "http:",
        "  server_host: 127.0.0.1",
        f"  server_port: {port}",
        "recorder:",
        "  commit_interval: 0",
        "onboarding:",
        "websocket_api:",
        "energy:",
    ]
    if frontend:
        # HA 2024.3 sets the frontend and lovelace up anyway (bootstrap's
        # DEFAULT_INTEGRATIONS); naming them documents that the UI is used.
        lines += ["frontend:", "lovelace:", "  mode: storage"]
    return "\n".join(lines) + "\n"


# HA's onboarding store with the core_config step already done. POSTing that
# step instead would also start the config flows of google_translate, met,
# radio_browser and shopping_list (HA 2024.3 onboarding/views.py): they need
# packages not installed here and the internet (met, radio_browser).
ONBOARDING_STORE = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config"]},
}


def cmd_config(args: argparse.Namespace) -> Any:
    config_dir = pathlib.Path(args.dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "configuration.yaml"
    path.write_text(render_config(args.port, args.time_zone, args.frontend))
    store = config_dir / ".storage" / "onboarding"
    if not store.exists():  # never rewind an instance that already ran
        store.parent.mkdir(exist_ok=True)
        store.write_text(json.dumps(ONBOARDING_STORE, indent=2) + "\n")
    return {"config": str(path.resolve()), "onboarding_store": str(store.resolve())}


# -------------------------------------------------------------------- wait


async def cmd_wait(args: argparse.Namespace) -> Any:
    # Before onboarding, /api/onboarding answers; after it, that view is
    # gone (404) and /api/ answers a token's holder.
    url = base_url(args.url) + ("/api/" if args.token else "/api/onboarding")
    headers = auth_headers(args.token) if args.token else {}
    start = time.monotonic()
    last_error = "no attempt"
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - start < args.timeout:
            try:
                async with session.get(url, timeout=timeout, headers=headers) as resp:
                    if resp.status == 200:
                        return {"ready": True, "seconds": round(time.monotonic() - start, 2)}
                    last_error = f"HTTP {resp.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as err:
                last_error = f"{type(err).__name__}: {err}"
            await asyncio.sleep(0.25)
    raise HarnessError(
        f"{url} did not answer within {args.timeout:.0f}s (last: {last_error})"
    )


# ----------------------------------------------------------------- onboard


async def pending_onboarding_steps(session: aiohttp.ClientSession, base: str) -> set[str]:
    steps = await http_json(session, "GET", base + "/api/onboarding")
    return {step["step"] for step in steps if not step.get("done")}


async def cmd_onboard(args: argparse.Namespace) -> Any:
    base = base_url(args.url)
    client_id = base + "/"
    async with aiohttp.ClientSession() as session:
        steps = await pending_onboarding_steps(session, base)
        if "user" not in steps:
            raise HarnessError(f"{base} is already onboarded (its owner exists)")
        if "core_config" in steps:
            raise HarnessError(
                "the core_config onboarding step is pending: write the config "
                "with `config`, which marks it done (POSTing it would start "
                "flows that need the internet)"
            )
        user = await http_json(
            session,
            "POST",
            base + "/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": args.name,
                "username": args.username,
                "password": args.password,
                "language": "en",
            },
        )
        tokens = await http_json(
            session,
            "POST",
            base + "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": field(user, "auth_code", "onboarding user step"),
                "client_id": client_id,
            },
        )
        access = field(tokens, "access_token", "/auth/token")
        # The remaining steps, so that the UI shows no onboarding wizard.
        if "analytics" in steps:
            await http_json(session, "POST", base + "/api/onboarding/analytics", token=access)
        if "integration" in steps:
            await http_json(
                session,
                "POST",
                base + "/api/onboarding/integration",
                token=access,
                json={"client_id": client_id, "redirect_uri": base + "/?auth_callback=1"},
            )
        if left := await pending_onboarding_steps(session, base):
            raise HarnessError(f"onboarding steps still pending: {sorted(left)}")
        async with HAWebSocket(session, base, access) as ws:
            long_lived = await ws.call(
                "auth/long_lived_access_token",
                client_name="hellowatt",
                lifespan=args.lifespan_days,
            )
    return {
        "token": long_lived,
        "access_token": access,
        "refresh_token": field(tokens, "refresh_token", "/auth/token"),
        "expires_in": tokens.get("expires_in"),
        "client_id": client_id,
        "username": args.username,
    }


# -------------------------------------------------------------- mqtt-entry


async def cmd_mqtt_entry(args: argparse.Namespace) -> Any:
    base = base_url(args.url)
    flow_url = base + "/api/config/config_entries/flow"
    async with aiohttp.ClientSession() as session:
        step = await http_json(
            session,
            "POST",
            flow_url,
            token=args.token,
            json={"handler": "mqtt", "show_advanced_options": False},
        )
        if step.get("type") == "abort":
            raise HarnessError(f"mqtt flow aborted at once: {step.get('reason')}")
        if step.get("type") != "form" or step.get("step_id") != "broker":
            raise HarnessError(f"mqtt flow: expected the broker form, got {step}")
        broker = {"broker": args.broker_host, "port": args.broker_port}
        if args.username is not None:
            broker["username"] = args.username
        if args.password is not None:
            broker["password"] = args.password
        result = await http_json(
            session, "POST", f"{flow_url}/{step['flow_id']}", token=args.token, json=broker
        )
        if result.get("type") != "create_entry":
            raise HarnessError(
                "mqtt flow did not create an entry: "
                f"type={result.get('type')} errors={result.get('errors')} "
                f"reason={result.get('reason')}"
            )
        entry_id = (result.get("result") or {}).get("entry_id")
        if entry_id:
            await wait_entry_loaded(session, base, args.token, entry_id, args.timeout)
    return result


async def wait_entry_loaded(
    session: aiohttp.ClientSession, base: str, token: str, entry_id: str, timeout: float
) -> None:
    """Wait until the config entry's state is `loaded` (MQTT connected)."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        entries = await http_json(
            session, "GET", base + "/api/config/config_entries/entry", token=token
        )
        for entry in entries:
            if entry.get("entry_id") == entry_id:
                state = entry.get("state")
                if state == "loaded":
                    return
                if state in ("setup_error", "not_loaded", "migration_error"):
                    raise HarnessError(f"config entry {entry_id}: {state}")
        await asyncio.sleep(0.25)
    raise HarnessError(f"config entry {entry_id} still {state} after {timeout:.0f}s")


# ------------------------------------------------------ states and entities


async def cmd_states(args: argparse.Namespace) -> Any:
    async with aiohttp.ClientSession() as session:
        states = await get_states(session, args.url, args.token)
    return [
        state_summary(s) for s in states if s["entity_id"].startswith(args.prefix)
    ]


async def cmd_wait_entities(args: argparse.Namespace) -> Any:
    deadline = time.monotonic() + args.timeout
    matching: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        while True:
            states = await get_states(session, args.url, args.token)
            matching = [
                state_summary(s)
                for s in states
                if args.contains in s["entity_id"]
                and not (args.known and s["state"] in ("unknown", "unavailable"))
            ]
            if len(matching) >= args.count:
                return matching
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    found = ", ".join(s["entity_id"] for s in matching) or "none"
    known = " with a known state" if args.known else ""
    raise HarnessError(
        f"after {args.timeout:.0f}s only {len(matching)} of {args.count} entities "
        f"containing {args.contains!r} exist{known} ({found})"
    )


# ------------------------------------------------------ energy, statistics


async def cmd_energy(args: argparse.Namespace) -> Any:
    try:
        prefs = json.loads(pathlib.Path(args.prefs_file).read_text())
    except (OSError, ValueError) as err:
        raise HarnessError(f"cannot read energy prefs {args.prefs_file}: {err}") from err
    if not isinstance(prefs, dict):
        raise HarnessError(f"{args.prefs_file}: energy prefs must be a JSON object")
    async with aiohttp.ClientSession() as session:
        async with HAWebSocket(session, args.url, args.token) as ws:
            saved = await ws.call("energy/save_prefs", **prefs)
            validate = await ws.call("energy/validate")
    return {"saved": saved, "validate": validate}


async def cmd_statistics(args: argparse.Namespace) -> Any:
    return await ws_call(
        args.url,
        args.token,
        "recorder/statistics_during_period",
        start_time=args.start,
        end_time=args.end,
        statistic_ids=args.ids,
        period="hour",
        types=["sum", "state"],
    )


async def cmd_list_statistics(args: argparse.Namespace) -> Any:
    return await ws_call(
        args.url, args.token, "recorder/list_statistic_ids", statistic_type="sum"
    )


# -------------------------------------------------------------- screenshot


def dashboard_config(ids: list[str], days: int) -> dict[str, Any]:
    """One full-width view: a daily bar chart of each statistic's change."""
    cards = [
        {
            "type": "statistics-graph",
            "title": stat_id,
            "entities": [stat_id],
            "chart_type": "bar",
            "period": "day",
            "stat_types": ["change"],
            "days_to_show": days,
        }
        for stat_id in ids
    ]
    return {
        "title": "hellowatt",
        "views": [
            {
                "title": "Statistics",
                "path": DASHBOARD_VIEW_PATH,
                "panel": True,
                "cards": [{"type": "vertical-stack", "cards": cards}],
            }
        ],
    }


async def save_dashboard(url: str, token: str, ids: list[str], days: int) -> str | None:
    """Create (once) and fill the `hellowatt-statistics` Lovelace dashboard;
    return HA's time zone."""
    async with aiohttp.ClientSession() as session:
        async with HAWebSocket(session, url, token) as ws:
            dashboards = await ws.call("lovelace/dashboards/list")
            if not any(d.get("url_path") == DASHBOARD_URL_PATH for d in dashboards):
                await ws.call(
                    "lovelace/dashboards/create",
                    url_path=DASHBOARD_URL_PATH,
                    title="hellowatt",
                    icon="mdi:flash",
                    show_in_sidebar=True,
                    require_admin=False,
                )
            await ws.call(
                "lovelace/config/save",
                url_path=DASHBOARD_URL_PATH,
                config=dashboard_config(ids, days),
            )
            config = await ws.call("get_config")
    return config.get("time_zone")


class Chromium:
    """A headless Chromium with a fresh profile, driven over DevTools.

    `async with Chromium(width, height) as browser:` then connect to
    `await browser.page_ws_url(session)`. On exit the browser's process group
    is killed and the profile removed.
    """

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="hellowatt-chromium-")
        self._proc: subprocess.Popen | None = None
        self._log_path = os.path.join(self._profile, "chromium.log")
        self.port = 0

    async def __aenter__(self) -> Chromium:
        if not os.access(CHROMIUM, os.X_OK):
            raise HarnessError(f"{CHROMIUM} not found: apt-get install chromium")
        argv = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--lang=en-US",
            f"--window-size={self.width},{self.height}",
            f"--user-data-dir={self._profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group, killed on exit
            )
        self.port = await self._wait_devtools_port()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=5)
        if self._proc is not None:
            # Renderers and helpers may outlive the browser process.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return pathlib.Path(self._log_path).read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    async def _wait_devtools_port(self) -> int:
        """Chromium writes the port it picked to <profile>/DevToolsActivePort."""
        port_file = pathlib.Path(self._profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise HarnessError(
                    f"chromium exited with {self._proc.returncode}: {self._log_tail()}"
                )
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(port_file.read_text().split()[0])
            await asyncio.sleep(0.1)
        raise HarnessError(f"chromium opened no DevTools port in 30s: {self._log_tail()}")

    async def page_ws_url(self, session: aiohttp.ClientSession) -> str:
        targets = await http_json(
            session, "GET", f"http://127.0.0.1:{self.port}/json/list"
        )
        for target in targets:
            if target.get("type") == "page":
                return target["webSocketDebuggerUrl"]
        raise HarnessError(f"chromium has no page target: {targets}")


class DevToolsPage:
    """Minimal Chrome DevTools Protocol client for one page target."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self._ws = ws
        self._next_id = 1

    async def send(self, method: str, timeout: float = 30, **params: Any) -> Any:
        msg_id = self._next_id
        self._next_id += 1
        await self._ws.send_json({"id": msg_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError(f"DevTools {method}: no answer within {timeout}s")
            try:
                msg = await self._ws.receive(timeout=left)
            except asyncio.TimeoutError as err:
                raise HarnessError(f"DevTools {method}: no answer within {timeout}s") from err
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise HarnessError(f"DevTools connection closed during {method}")
            reply = json.loads(msg.data)
            if reply.get("id") != msg_id:
                continue  # an event
            if "error" in reply:
                raise HarnessError(f"DevTools {method}: {reply['error']}")
            return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description", "")
            raise HarnessError(f"page script failed: {details.get('text')} {description}")
        return result.get("result", {}).get("value")


# Runs in the page: finds every chart (through shadow roots) and says how
# many have data, plus what else is on screen, for waiting and for errors.
PAGE_STATUS_JS = r"""
(() => {
  const charts = [], alerts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.localName === 'ha-chart-base') charts.push(el);
      if (el.localName === 'ha-alert' || el.localName === 'hui-warning')
        alerts.push((el.innerText || el.textContent || '').trim());
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const withData = charts.filter((c) => {
    const sets = (c.data && c.data.datasets) || [];
    const canvas = c.shadowRoot && c.shadowRoot.querySelector('canvas');
    return canvas && canvas.clientHeight > 0 &&
      sets.some((s) => (s.data || []).some((p) => p !== null && (p.y ?? p) !== null));
  });
  const ha = document.querySelector('home-assistant');
  return {
    path: location.pathname,
    hass: !!(ha && ha.hass),
    charts: charts.length,
    charts_with_data: withData.length,
    alerts: alerts.filter((a) => a).slice(0, 5),
  };
})()
"""

# Runs in the page on /energy: point the energy dashboard's period at the
# given range (the default, today, would be empty for past statistics).
ENERGY_PERIOD_JS = r"""
(() => {
  const ha = document.querySelector('home-assistant');
  const conn = ha && ha.hass && ha.hass.connection;
  // The energy panel's data collection (frontend 20240307: key "energy_dashboard").
  const energy = conn && (conn._energy_dashboard || conn._energy);
  if (!energy || !energy.setPeriod) return false;
  energy.setPeriod(new Date(%(start)s), new Date(%(end)s));
  energy.refresh();
  return true;
})()
"""


def hass_tokens_script(args: argparse.Namespace, origin: str) -> str:
    """A script, run before the page's own, that logs the frontend in."""
    tokens = {
        "access_token": args.access_token,
        "token_type": "Bearer",
        "expires_in": 1800,
        "hassUrl": origin,
        "clientId": args.client_id,
        "expires": int(time.time() * 1000) + 1800 * 1000,
        "refresh_token": args.refresh_token,
    }
    return (
        f"if (location.origin === {json.dumps(origin)}) "
        f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
    )


def energy_period_ms(days: int, time_zone: str | None) -> tuple[int, int]:
    """[midnight `days` days ago, end of yesterday] in HA's time zone, as ms."""
    try:
        zone: dt.tzinfo = ZoneInfo(time_zone) if time_zone else dt.timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.timezone.utc
    today = dt.datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=days)
    end = today - dt.timedelta(milliseconds=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


async def wait_for_charts(
    page: DevToolsPage, args: argparse.Namespace, energy_period: tuple[int, int] | None
) -> dict[str, Any]:
    """Poll the page until enough charts have data; set the energy period."""
    deadline = time.monotonic() + args.timeout
    status: dict[str, Any] = {}
    period_set = energy_period is None
    while time.monotonic() < deadline:
        status = await page.evaluate(PAGE_STATUS_JS) or {}
        if status.get("path", "").startswith("/auth/"):
            raise HarnessError(
                "the frontend asked for a login: the access/refresh token or "
                "client id were not accepted"
            )
        if status.get("path", "").startswith("/onboarding"):
            raise HarnessError("the frontend shows onboarding: run `onboard` first")
        if not period_set and status.get("hass"):
            start, end = energy_period
            period_set = bool(await page.evaluate(ENERGY_PERIOD_JS % {"start": start, "end": end}))
            if period_set:
                await asyncio.sleep(1)  # let the charts drop today's (empty) data
        elif period_set and status.get("charts_with_data", 0) >= args.min_charts:
            return status
        await asyncio.sleep(0.5)
    raise HarnessError(
        f"no chart with data after {args.timeout:.0f}s on {args.path}: "
        f"{json.dumps(status)}"
    )


async def refresh_access_token(base: str, refresh_token: str, client_id: str) -> str:
    """A fresh access token (they last 30 min; a test may run longer)."""
    async with aiohttp.ClientSession() as session:
        tokens = await http_json(
            session,
            "POST",
            base + "/auth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client_id,
            },
        )
    return field(tokens, "access_token", "/auth/token (refresh)")


async def cmd_screenshot(args: argparse.Namespace) -> Any:
    base = base_url(args.url)
    origin = base  # the URL's scheme://host:port
    # ACCESS_TOKEN may have expired since `onboard`: renew it from the refresh
    # token, as the frontend would, and use the new one everywhere.
    args.access_token = await refresh_access_token(base, args.refresh_token, args.client_id)
    path = args.path or (
        f"/{DASHBOARD_URL_PATH}/{DASHBOARD_VIEW_PATH}" if args.ids else "/energy"
    )
    args.path = path
    if args.min_charts is None:
        on_dashboard = path.startswith(f"/{DASHBOARD_URL_PATH}")
        args.min_charts = len(args.ids) if args.ids and on_dashboard else 1
    time_zone = None
    if args.ids:
        time_zone = await save_dashboard(base, args.access_token, args.ids, args.days)
    else:
        time_zone = (await ws_call(base, args.access_token, "get_config")).get("time_zone")
    energy_period = energy_period_ms(args.days, time_zone) if path.startswith("/energy") else None
    out = pathlib.Path(args.out_png)
    async with Chromium(args.width, args.height) as browser:
        async with aiohttp.ClientSession() as session:
            ws_url = await browser.page_ws_url(session)
            async with session.ws_connect(ws_url, max_msg_size=0, timeout=30) as ws:
                page = DevToolsPage(ws)
                # Without Page.enable the script below never runs.
                await page.send("Page.enable")
                await page.send(
                    "Emulation.setDeviceMetricsOverride",
                    width=args.width,
                    height=args.height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                if time_zone:
                    await page.send("Emulation.setTimezoneOverride", timezoneId=time_zone)
                await page.send(
                    "Page.addScriptToEvaluateOnNewDocument",
                    source=hass_tokens_script(args, origin),
                )
                await page.send("Page.navigate", url=base + path)
                try:
                    status = await wait_for_charts(page, args, energy_period)
                except HarnessError as err:
                    failed = out.with_suffix(".failed.png")
                    await save_screenshot(page, failed)
                    raise HarnessError(f"{err} (what the page showed: {failed})") from err
                await asyncio.sleep(args.settle)  # chart.js animates bars in
                size = await save_screenshot(page, out)
    return {"png": str(out.resolve()), "bytes": size, "path": path, "page": status}


async def save_screenshot(page: DevToolsPage, out: pathlib.Path) -> int:
    shot = await page.send("Page.captureScreenshot", format="png", timeout=60)
    data = base64.b64decode(shot["data"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


# -------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Drive a test Home Assistant; each subcommand prints one JSON document.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("config", help="write DIR/configuration.yaml")
    p.add_argument("dir", metavar="DIR", help="HA config directory (created)")
    p.add_argument("port", metavar="PORT", type=int, help="HTTP port on 127.0.0.1")
    p.add_argument("--frontend", action="store_true", help="name frontend/lovelace explicitly")
    p.add_argument("--time-zone", default="UTC", help="HA time zone (default UTC)")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("wait", help="wait until HA answers (/api/onboarding, or /api/ with --token)")
    p.add_argument("url", metavar="URL", help="e.g. http://127.0.0.1:8123")
    p.add_argument("--timeout", type=float, default=120, help="seconds (default 120)")
    p.add_argument("--token", help="once onboarded: wait for GET URL/api/ with this token")
    p.set_defaults(func=cmd_wait)

    p = sub.add_parser("onboard", help="create the owner, finish onboarding, mint tokens")
    p.add_argument("url", metavar="URL")
    p.add_argument("--name", default="Test Owner", help="owner's display name (its person entity is person.<slug>)")
    p.add_argument("--username", default="hellowatt")
    p.add_argument("--password", default="hellowatt-test-password")
    p.add_argument("--lifespan-days", type=int, default=365, help="long-lived token lifespan")
    p.set_defaults(func=cmd_onboard)

    p = sub.add_parser("mqtt-entry", help="add the MQTT integration via its config flow")
    p.add_argument("url", metavar="URL")
    p.add_argument("token", metavar="TOKEN")
    p.add_argument("broker_host", metavar="BROKER_HOST")
    p.add_argument("broker_port", metavar="BROKER_PORT", type=int)
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--timeout", type=float, default=30, help="wait for the entry to load")
    p.set_defaults(func=cmd_mqtt_entry)

    p = sub.add_parser("states", help="list entity states (GET /api/states)")
    p.add_argument("url", metavar="URL")
    p.add_argument("token", metavar="TOKEN")
    p.add_argument("--prefix", default="", help="keep entity_ids starting with this")
    p.set_defaults(func=cmd_states)

    p = sub.add_parser("wait-entities", help="wait until N matching entities exist")
    p.add_argument("url", metavar="URL")
    p.add_argument("token", metavar="TOKEN")
    p.add_argument("count", metavar="N", type=int)
    p.add_argument("--contains", required=True, metavar="TEXT", help="substring of entity_id")
    p.add_argument(
        "--known",
        action="store_true",
        help="count only entities whose state is not unknown/unavailable "
        "(an MQTT entity exists a moment before its first state arrives)",
    )
    p.add_argument("--timeout", type=float, default=60, help="seconds (default 60)")
    p.set_defaults(func=cmd_wait_entities)

    p = sub.add_parser("energy", help="energy/save_prefs from a JSON file, then energy/validate")
    p.add_argument("url", metavar="URL")
    p.add_argument("token", metavar="TOKEN")
    p.add_argument("prefs_file", metavar="PREFS_JSON_FILE")
    p.set_defaults(func=cmd_energy)

    p = sub.add_parser("statistics", help="hourly sum+state statistics of some ids")
    p.add_argument("url", metavar="URL")
    p.add_argument("token", metavar="TOKEN")
    p.add_argument("start", metavar="START_ISO")
    p.add_argument("end", metavar="END_ISO")
    p.add_argument("ids", metavar="ID", nargs="+")
    p.set_defaults(func=cmd_statistics)

    p = sub.add_parser("list-statistics", help="recorder/list_statistic_ids (sum)")
    p.add_argument("url", metavar="URL")
    p.add_argument("token", metavar="TOKEN")
    p.set_defaults(func=cmd_list_statistics)

    p = sub.add_parser(
        "screenshot",
        help="PNG of HA's UI with the imported statistics (headless Chromium)",
        description=(
            "With --ids: saves a Lovelace dashboard /hellowatt-statistics with a "
            "daily bar chart (statistics-graph, change) per id and shoots it, "
            "unless --path says otherwise. --path /energy shoots the energy "
            "dashboard with its period set to the last --days days (needs "
            "energy prefs saved)."
        ),
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("access_token", metavar="ACCESS_TOKEN")
    p.add_argument("refresh_token", metavar="REFRESH_TOKEN")
    p.add_argument("client_id", metavar="CLIENT_ID")
    p.add_argument("out_png", metavar="OUT_PNG")
    p.add_argument("--path", help="UI path (default: the dashboard with --ids, else /energy)")
    p.add_argument("--ids", nargs="+", default=[], metavar="ID", help="statistic ids to chart")
    p.add_argument("--days", type=int, default=30, help="days shown, up to yesterday (30)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=900)
    p.add_argument(
        "--min-charts",
        type=int,
        help="charts with data to wait for (default: one per --id on the "
        "dashboard, else 1)",
    )
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for charts")
    p.add_argument("--settle", type=float, default=1.5, help="seconds after charts render")
    p.set_defaults(func=cmd_screenshot)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except HarnessError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
