"""A minimal helloWatt client in Python (aiohttp), for scripts/bench-cli-sync.

It does what `hellowatt sync` does for the kinds homes, electricity-daily
and gas-daily, and nothing more: log in (the page's CSRF cookie, the form
POST), then for each month the homes (and, the first month, each home's
contracts), each home's daily electricity and its daily gas (a 500 there means "no gas contract": its
body is decoded all the same), decoding every JSON answer. It stores
nothing. Written for this benchmark from the site notes
(docs in ../shared/docs/hellowatt-site.md); no code of the public clients.

Usage: python bench_python_client.py BASE_URL EMAIL FROM TO
(FROM and TO: YYYY-MM, both included). The password comes from the
environment (HELLOWATT_PASSWORD), never from the command line. Prints one
line: requests, values decoded.
"""

import asyncio
import datetime
import json
import os
import sys
from zoneinfo import ZoneInfo

import aiohttp

PARIS = ZoneInfo("Europe/Paris")
JSON = {"Accept": "application/json; version=1.48", "X-Requested-With": "XMLHttpRequest"}


def months(first, last):
    """The first days of the months FROM..=TO, oldest first (as `sync`)."""
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(datetime.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def paris_midnight(d):
    return datetime.datetime(d.year, d.month, d.day, tzinfo=PARIS).isoformat()


def next_month(d):
    return datetime.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


async def main(base, email, first, last):
    requests = 0
    values = 0
    jar = aiohttp.CookieJar(unsafe=True)  # the simulated site is on 127.0.0.1
    async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as s:

        async def get_json(path, params=None):
            nonlocal requests
            requests += 1
            headers = dict(JSON)
            csrf = jar.filter_cookies(base).get("csrftoken")
            if csrf:
                headers["X-CSRFToken"] = csrf.value
            async with s.get(path, params=params, headers=headers) as r:
                body = await r.read()
                try:
                    return r.status, json.loads(body)
                except ValueError:
                    return r.status, None

        requests += 1
        async with s.get("/accounts/login/") as r:
            await r.read()
        csrf = jar.filter_cookies(base)["csrftoken"].value
        requests += 1
        form = {"login": email, "password": os.environ["HELLOWATT_PASSWORD"]}
        headers = {"X-CSRFToken": csrf, "X-Requested-With": "XMLHttpRequest"}
        async with s.post("/accounts/login/", data=form, headers=headers, allow_redirects=False) as r:
            if r.status != 200:
                sys.exit(f"log-in refused: HTTP {r.status}")
            await r.read()

        for i, start in enumerate(months(first, last)):
            window = {"startDate": paris_midnight(start), "endDate": paris_midnight(next_month(start))}
            _, homes = await get_json("/api/homes")
            for home in homes:
                hid = home["id"]
                if i == 0:
                    _, contracts = await get_json(f"/api/homes/{hid}/contracts")
                    values += len(contracts)
                _, elec = await get_json(f"/api/homes/{hid}/sge_measures/conso_daily", window)
                values += len((elec or {}).get("values") or [])
                status, gas = await get_json(f"/api/homes/{hid}/adict_measures/conso_daily", window)
                if status == 200 and gas:
                    values += len(gas.get("values") or [])
    print(f"requests {requests} values {values}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    asyncio.run(main(*sys.argv[1:]))
