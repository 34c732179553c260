"""The HTML report (`tripline backtest|run|search … --html FILE`) rendered in headless Chromium.

The page is crates/cli/src/report.html with its one placeholder replaced by the report's JSON, as
crates/cli/src/report.rs does it (`embed` below is the same substitution). Each page is served to
the browser from a route on a made-up address, and every other request the page makes is recorded
and refused: the report must fetch nothing. The browser is Debian's Chromium
(`scripts/chromium.sh`, run by `make pytest`), driven by Playwright; a missing browser or a
missing `tripline` binary fails the test, it is never skipped.

Screenshots go to tests/report/.out/ (git-ignored).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TEMPLATE = ROOT / "crates" / "cli" / "src" / "report.html"
FIXTURE = HERE / "fixture.json"
OUT = HERE / ".out"
PLACEHOLDER = "{{TRIPLINE_DATA}}"
DATA_ELEMENT = '<script id="tripline-data" type="application/json">' + PLACEHOLDER + "</script>"
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
HOSTILE = "</script><img src=x onerror=alert(1)>"
PAGE_URL = "http://tripline-report.invalid/report.html"
SEVERITIES = {"DEBUG", "INFO", "NOTICE", "WARNING", "CRITICAL"}

SCENARIO = ROOT / "events" / "scenarios" / "attack-chain"
DAY_FROM, DAY_TO = "2024-06-04T00:00:00Z", "2024-06-05T00:00:00Z"


# ---------------------------------------------------------------------------------------------
# building a page the way the Rust side does


def embed(data: object) -> str:
    """The report's JSON as report.rs writes it into the script element: UTF-8, with <, >, & and
    the two JavaScript line separators escaped, so no string can end the element."""
    text = json.dumps(data, ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def build_page(data: object) -> str:
    template = TEMPLATE.read_text(encoding="utf-8")
    assert template.count(PLACEHOLDER) == 1, "the template must hold the placeholder exactly once"
    assert DATA_ELEMENT in template, f"the placeholder must sit in {DATA_ELEMENT}"
    return template.replace(PLACEHOLDER, embed(data), 1)


# ---------------------------------------------------------------------------------------------
# the browser


def chromium_path() -> str:
    path = os.environ.get("TRIPLINE_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"no Chromium at {path}: run scripts/chromium.sh (`make pytest` does)")
    return path


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Rendered:
    page: Page
    requests: list[str] = field(default_factory=list)  # every request the page made, the page too
    refused: list[str] = field(default_factory=list)  # requests the route refused
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()

    def attrs(self, selector: str, name: str) -> list[str | None]:
        return self.page.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute({name!r}))")

    def assert_clean(self) -> None:
        """No error of any kind, and no request but the page's own."""
        assert self.refused == [], f"the page tried to fetch: {self.refused}"
        assert self.websockets == [], f"the page opened websockets: {self.websockets}"
        assert self.requests == [PAGE_URL], f"requests other than the page itself: {self.requests}"
        assert self.page_errors == [], f"uncaught errors in the page: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.dialogs == [], f"the page opened dialogs: {self.dialogs}"


def render(browser: Browser, html: str, screenshot: str) -> Rendered:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    r = Rendered(page)
    served = []

    def route(route_, request):
        if request.url == PAGE_URL and request.is_navigation_request() and not served:
            served.append(request.url)
            route_.fulfill(status=200, content_type="text/html; charset=utf-8", body=html.encode("utf-8"))
        else:
            r.refused.append(f"{request.method} {request.url}")
            route_.abort()

    context.route("**/*", route)
    context.on("request", lambda req: r.requests.append(req.url))
    page.on("console", lambda m: m.type == "error" and r.console_errors.append(m.text))
    page.on("pageerror", lambda e: r.page_errors.append(str(e)))
    page.on("websocket", lambda ws: r.websockets.append(ws.url))

    def dialog(d):
        r.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", dialog)
    response = page.goto(PAGE_URL, wait_until="load")
    assert response is not None and response.ok, "the page itself did not load"
    try:
        page.wait_for_selector("[data-testid=report-header]", timeout=10_000)
    except Exception as e:  # say why: the page's own errors are the useful part
        raise AssertionError(f"the report did not render ({e.__class__.__name__}); page errors {r.page_errors}, "
                             f"console errors {r.console_errors}, refused requests {r.refused}") from None
    page.wait_for_timeout(300)  # late errors or requests, if any, land in the logs
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / screenshot), full_page=True)
    return r


# ---------------------------------------------------------------------------------------------
# what every report page must show of its data


def check_report(r: Rendered, data: dict) -> None:
    page = r.page
    embedded = page.evaluate("JSON.parse(document.getElementById('tripline-data').textContent)")
    assert embedded == data, "the data in the page does not read back as the data written"
    assert page.title() == data["title"]
    assert page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content") == CSP

    # header
    assert page.locator("[data-testid=report-title]").inner_text() == data["title"]
    header = page.locator("[data-testid=report-header]").inner_text()
    assert data["generated"] in header
    if data["span"]:
        assert data["span"]["from"] in header and data["span"]["to"] in header
    if data["query"] is not None:
        assert page.locator("[data-testid=query]").inner_text() == data["query"]

    # alerts by rule: every alert that ran, with its count
    counts = data["alert_counts"]
    if counts:
        assert r.count("[data-testid=alert-counts]") == 1
        shown = dict(zip(r.attrs("[data-testid=alert-count-row]", "data-alert"),
                         r.attrs("[data-testid=alert-count-row]", "data-count")))
        assert shown == {c["alert"]: str(c["count"]) for c in counts}

    # alert cards, in order, each at its severity
    alerts = data["alerts"]
    assert r.count("[data-testid=alert-card]") == len(alerts)
    assert r.attrs("[data-testid=alert-card]", "data-severity") == [a["severity"].upper() for a in alerts]
    assert r.attrs("[data-testid=alert-card]", "data-classname") == [a["classname"] for a in alerts]
    for i, a in enumerate(alerts):
        card = page.locator("[data-testid=alert-card]").nth(i)
        badge = card.locator(".badge").first.inner_text()
        assert badge.upper() == a["severity"].upper(), "the severity is written on the card, not only coloured"
        assert card.locator("[data-testid=alert-summary]").text_content() == a["summary"]
        assert card.locator("[data-testid=alert-event]").count() == len(a["events"])
    if counts:  # the table and the cards tell the same story
        per_rule = {}
        for classname in r.attrs("[data-testid=alert-card]", "data-classname"):
            per_rule[classname] = per_rule.get(classname, 0) + 1
        assert per_rule == {c["alert"]: c["count"] for c in counts if c["count"] > 0}
    if not alerts and data["command"] != "search":
        assert page.locator("[data-testid=no-alerts]").inner_text() == "no alerts"

    # timeline: a dot per alert, at its severity
    if alerts:
        assert r.count("[data-testid=timeline]") == 1
        assert r.count("[data-testid=timeline-dot]") == len(alerts)
        assert sorted(r.attrs("[data-testid=timeline-dot]", "data-severity")) == sorted(a["severity"].upper() for a in alerts)
        assert r.count("[data-testid=timeline] [data-testid=time-tick]") >= 2, "the timeline has a time axis"
    else:
        assert r.count("[data-testid=timeline]") == 0

    # histogram: every bucket a bar, zero ones too; alert times marked on it
    hist = data["histogram"]
    if hist is None:
        assert r.count("[data-testid=histogram]") == 0
    else:
        assert r.count("[data-testid=histogram]") == 1
        buckets = hist["buckets"]
        assert r.count("[data-testid=histogram-bar]") == len(buckets)
        assert r.attrs("[data-testid=histogram-bar]", "data-start") == [b["start"] for b in buckets]
        assert r.attrs("[data-testid=histogram-bar]", "data-count") == [str(b["count"]) for b in buckets]
        assert r.count("[data-testid=histogram] [data-testid=time-tick]") >= 2, "the histogram has a time axis"
        keys = {k for b in buckets for k in b["by"]}
        if keys:
            legend = page.locator("[data-testid=legend-item]").all_inner_texts()
            assert set(legend) == keys, "the legend names every value the bars are split by"
        first = _ts(buckets[0]["start"]) if buckets else 0
        last = _ts(buckets[-1]["start"]) + hist["interval_secs"] if buckets else 0
        inside = [a for a in alerts if first <= _ts(a["utctimestamp"]) <= last]
        assert r.count("[data-testid=histogram-marker]") == len(inside)

    # counts by field: value rows, then "other" and "missing" when not zero; shares of the total
    fields = page.locator("[data-testid=count-field]")
    assert fields.count() == len(data["counts"])
    for i, c in enumerate(data["counts"]):
        block = fields.nth(i)
        assert block.get_attribute("data-field") == c["field"]
        assert c["total"] == sum(row["count"] for row in c["rows"]) + c["other"] + c["missing"], "bad data"
        if c["total"] == 0:
            continue
        rows = block.locator("[data-testid=count-row]")
        kinds = [rows.nth(j).get_attribute("data-kind") for j in range(rows.count())]
        want = ["value"] * len(c["rows"]) + (["other"] if c["other"] else []) + (["missing"] if c["missing"] else [])
        assert kinds == want
        pcts = [float(rows.nth(j).get_attribute("data-pct")) for j in range(rows.count())]
        assert math.isclose(sum(pcts), 100.0, abs_tol=0.01), f"{c['field']}: shares add up to {sum(pcts)}"
        shown = [rows.nth(j).locator(".p").inner_text() for j in range(rows.count())]
        assert all(s.endswith("%") for s in shown)
        shown_sum = sum(0.05 if s.startswith("<") else float(s.rstrip("%")) for s in shown)
        assert abs(shown_sum - 100.0) <= 0.05 * len(shown) + 1e-9, f"{c['field']}: shown {shown}"
        counts_shown = [int(rows.nth(j).get_attribute("data-count")) for j in range(rows.count())]
        assert counts_shown == [row["count"] for row in c["rows"]] + [n for n in (c["other"], c["missing"]) if n]

    # hits: a row each, nulls as an em dash, errored calls marked
    hits = data["hits"]
    if hits is None:
        assert r.count("[data-testid=hits-row]") == 0
    else:
        assert r.count("[data-testid=hits-row]") == len(hits["rows"])
        err = hits["fields"].index("details.errorcode") if "details.errorcode" in hits["fields"] else None
        want = ["true" if err is not None and row[err] not in (None, "") else "false" for row in hits["rows"]]
        assert r.attrs("[data-testid=hits-row]", "data-error") == want
        marked = page.eval_on_selector_all(
            "[data-testid=hits-row]", "els => els.map(e => e.classList.contains('hit-error'))")
        assert marked == [w == "true" for w in want]
        nulls = sum(v is None for row in hits["rows"] for v in row)
        cells = page.locator("[data-testid=hits-row] td").all_text_contents()
        assert sum(c == "\u2014" for c in cells) == nulls


def _ts(s: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------------------------------------
# (a) the template, from a hand-written fixture


def test_template_renders_fixture(browser):
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    # what the fixture is for: each of these must be in it
    assert any(HOSTILE in a["summary"] for a in data["alerts"])
    assert any(HOSTILE in json.dumps(e["documentsource"], ensure_ascii=False) for a in data["alerts"] for e in a["events"])
    assert any(b["count"] == 0 for b in data["histogram"]["buckets"])
    assert any(c["other"] and c["missing"] for c in data["counts"])
    assert any(row[data["hits"]["fields"].index("details.errorcode")] for row in data["hits"]["rows"])
    assert {a["severity"] for a in data["alerts"]} >= {"CRITICAL", "WARNING", "NOTICE", "INFO"}

    html = build_page(data)
    assert HOSTILE not in html, "the substitution left a raw </script> in the page"
    r = render(browser, html, "report.png")
    r.assert_clean()
    check_report(r, data)
    page = r.page

    # the hostile strings are text, and nothing they spell exists as an element
    assert page.locator("img").count() == 0
    assert page.locator("[onerror]").count() == 0
    assert page.locator("script").count() == 2, "only the data element and the page's own script"
    hostile_card = next(i for i, a in enumerate(data["alerts"]) if HOSTILE in a["summary"])
    card = page.locator("[data-testid=alert-card]").nth(hostile_card)
    assert HOSTILE in card.locator("[data-testid=alert-summary]").inner_text()
    assert HOSTILE in card.locator(".tags").inner_text()
    assert HOSTILE in card.locator("[data-testid=alert-details]").inner_text()
    events_json = card.locator("[data-testid=alert-event] pre").all_text_contents()
    assert any(HOSTILE in t for t in events_json), "the event's hostile field is shown as text"
    assert HOSTILE in page.locator("[data-testid=count-row]").all_text_contents()[3]
    assert HOSTILE in page.locator("[data-testid=hits-row]").all_text_contents()[-1]
    # an alert's url becomes a link only when it is a web address
    assert page.locator('a[href^="javascript:" i]').count() == 0
    assert page.locator('a[href^="https://"]').count() == sum(a["url"].startswith("https://") for a in data["alerts"])

    # the severities look different (and say which they are: checked in check_report)
    colours = {}
    for i, a in enumerate(data["alerts"]):
        c = page.locator("[data-testid=alert-card]").nth(i).evaluate("e => getComputedStyle(e).borderLeftColor")
        colours.setdefault(a["severity"] if a["severity"] not in ("INFO", "DEBUG") else "INFO", set()).add(c)
    assert all(len(v) == 1 for v in colours.values()), colours
    assert len({next(iter(v)) for v in colours.values()}) == len(colours), f"severity colours repeat: {colours}"

    # events: the per-event line carries its fields, an errored call its error code
    denied = data["alerts"][hostile_card]["events"]
    line = card.locator("[data-testid=alert-event] summary").first.inner_text()
    d = denied[0]["documentsource"]["details"]
    for value in (d["eventname"], d["useridentity"]["arn"], d["sourceipaddress"], d["errorcode"]):
        assert value in line
    assert card.locator("[data-testid=event-error]").count() == sum(1 for e in denied if e["documentsource"]["details"].get("errorcode"))


def _variant(kind: str) -> dict:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    if kind == "search":  # a hunt: no alerts, no span, an unsplit histogram
        data.update(command="search", query="details.eventname:Describe*", span=None, alerts=[], alert_counts=[],
                    title="tripline search details.eventname:Describe*")
        data["histogram"]["by"] = None
        for b in data["histogram"]["buckets"]:
            b["by"] = {}
    elif kind == "quiet-backtest":  # every alert ran, none raised
        data.update(alerts=[], histogram=None, counts=[], hits=None)
        for c in data["alert_counts"]:
            c["count"] = 0
    elif kind == "run-without-span":  # the timeline spans the alerts themselves
        data.update(command="run", span=None, histogram=None, hits=None)
    return data


@pytest.mark.parametrize("kind", ["search", "quiet-backtest", "run-without-span"])
def test_template_renders_variants(browser, kind):
    data = _variant(kind)
    r = render(browser, build_page(data), f"variant-{kind}.png")
    r.assert_clean()
    check_report(r, data)
    if kind == "search":
        assert r.count("[data-testid=alert-counts]") == 0 and r.count("[data-testid=alerts]") == 0
        assert r.count("[data-testid=legend-item]") == 0
        assert r.count("[data-testid=histogram-marker]") == 0
    elif kind == "quiet-backtest":
        assert r.page.locator("[data-testid=alert-counts]").get_by_text("no alerts", exact=True).count() == 1
        assert r.count("[data-testid=alert-count-row][data-count='0']") == len(data["alert_counts"])
        for section in ("timeline", "histogram", "counts", "hits"):
            assert r.count(f"[data-testid={section}]") == 0, section
    else:
        assert r.count("[data-testid=timeline-dot]") == len(data["alerts"])
        xs = r.page.eval_on_selector_all("[data-testid=timeline-dot]", "els => els.map(e => +e.getAttribute('cx'))")
        assert xs == sorted(xs) and xs[0] < xs[-1], "dots placed along the alerts' own extent, oldest first"


# ---------------------------------------------------------------------------------------------
# (b) the real tool, end to end


def tripline_binary() -> Path:
    if os.environ.get("TRIPLINE"):
        path = Path(os.environ["TRIPLINE"])
    else:
        path = ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "debug" / "tripline"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"no tripline binary at {path}: build it first (`cargo build -p tripline-cli`), "
                    "or point TRIPLINE at one")
    return path


def tripline(binary: Path, store: Path, *args: str) -> None:
    cmd = [str(binary), "--store", str(store), *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (
        f"{' '.join(cmd)} exited {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}")


def read_report(path: Path) -> tuple[str, dict]:
    assert path.is_file(), f"{path} was not written"
    html = path.read_text(encoding="utf-8")
    assert PLACEHOLDER not in html
    start = html.index('<script id="tripline-data" type="application/json">') + len('<script id="tripline-data" type="application/json">')
    end = html.index("</script>", start)
    raw = html[start:end]
    assert "<" not in raw and ">" not in raw and "&" not in raw, "unescaped <, > or & in the embedded data"
    data = json.loads(raw)
    keys = {"title", "command", "generated", "span", "query", "alerts", "alert_counts", "histogram", "counts", "hits"}
    assert keys <= set(data), f"keys missing from the report's data: {keys - set(data)}"
    return html, data


def test_backtest_report_renders(browser, tmp_path):
    binary = tripline_binary()
    store = tmp_path / "store"
    tripline(binary, store, "ingest", "--quiet", str(SCENARIO / "cloudtrail"), str(SCENARIO / "vpcflow"))

    # the attack chain's day, backtested: its alerts as cards
    backtest = tmp_path / "backtest.html"
    tripline(binary, store, "backtest", "--from", DAY_FROM, "--to", DAY_TO, "--html", str(backtest))
    html, data = read_report(backtest)
    assert data["command"] == "backtest"
    assert data["span"] is not None
    assert (_ts(data["span"]["from"]), _ts(data["span"]["to"])) == (_ts(DAY_FROM), _ts(DAY_TO))
    assert len(data["alerts"]) > 0, "the attack chain raised nothing"
    assert all(a["severity"] in SEVERITIES for a in data["alerts"])
    r = render(browser, html, "backtest.png")
    r.assert_clean()
    check_report(r, data)
    assert r.count("[data-testid=alert-card]") > 0
    shutil.copy(backtest, OUT / "backtest.html")

    # a hunt over the same day: a histogram and counts by principal
    search = tmp_path / "search.html"
    query = "details.eventname:Describe*"
    tripline(binary, store, "search", query, "--from", DAY_FROM, "--to", DAY_TO, "--histogram",
             "--count-by", "details.useridentity.arn", "--html", str(search))
    html, data = read_report(search)
    assert data["command"] == "search"
    assert data["query"] == query
    assert data["histogram"] is not None and len(data["histogram"]["buckets"]) > 0
    assert [c["field"] for c in data["counts"]] == ["details.useridentity.arn"]
    assert data["counts"][0]["total"] > 0
    r = render(browser, html, "search.png")
    r.assert_clean()
    check_report(r, data)
    assert r.count("[data-testid=histogram-bar]") > 0
    assert r.count("[data-testid=count-row]") > 0
    shutil.copy(search, OUT / "search.html")
