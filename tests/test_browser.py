"""What a person sees: headless Chromium renders the pages; axe-core checks them; puppeteer-core uses them.

A real browser is needed to show the pages render as a reader gets them (layout, no script needed). The test
command installs Debian's chromium; the server is the project's own, started on a free loopback port.
"""

import html
import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CLIENTS = Path(__file__).resolve().parent / "clients"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("browser"), reason_on_start="false") as url:
        yield url


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM, "chromium is missing: `make test` installs it (Debian package chromium)"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def rendered_text(tmp_path: Path, url: str) -> str:
    """The page's text after Chromium has rendered it, as a reader would read it (tags and spacing collapsed)."""
    dom = chromium(tmp_path, "--dump-dom", url).stdout
    dom = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    dom = re.sub(r"</?(a|span|mark|strong|em|code|sup)\b[^>]*>", "", dom)  # inline: the words run on, as a reader sees
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))


def test_entity_page_as_a_reader_sees_it(server: str, tmp_path: Path) -> None:
    url = f"{server}/entity/MONDO:0017364.html"
    text = rendered_text(tmp_path, url)
    assert "POEMS syndrome" in text
    assert "✗ disputing The source disputes that POEMS syndrome has the mode of inheritance “inherited”." in text
    assert ("inconclusive The source states there is no definitive evidence that dietary practices related exposure "
            "causes POEMS syndrome") in text
    assert "Typified by somatic mosaicism" in text and "Monarch" in text, "standard labels and where to browse them"
    assert "NOT" not in text and "negated" not in text
    assert "POEMS syndrome is not an inherited disease" in text
    shot = tmp_path / "entity.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", url)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_source_page_as_a_reader_sees_it(server: str, tmp_path: Path) -> None:
    url = f"{server}/source/poems-cause-summary.html"
    text = rendered_text(tmp_path, url)
    assert "Highlighted passages are quoted by claims" in text
    assert "POEMS syndrome is not an inherited disease" in text
    shot = tmp_path / "source.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2400", url)
    assert shot.stat().st_size > 10_000


# Chromium's own services (updates, clock, autofill, accounts) that the browser calls whatever the page: not the page's.
BROWSER_SERVICES = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gvt1\.com)/")


def test_query_page_runs_an_example_and_shows_its_results_as_a_linked_table_offline(server: str, tmp_path: Path) -> None:
    """The editor (YASGUI, shipped with the package) opens the example's tab, runs it against this server and shows
    a table whose IRIs link to their pages here; every request the page makes stays on the machine."""
    log = tmp_path / "net.json"
    dom = chromium(tmp_path, "--virtual-time-budget=15000", "--window-size=1400,1200", f"--log-net-log={log}",
                   "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--dump-dom",
                   f"{server}/sparql#run=disputed-claims").stdout
    body = dom[dom.index("<tbody"):]
    rows = re.findall(r"<tr>.*?</tr>", body, flags=re.S)
    assert len(rows) == 4, "the four claims the seed disputes"
    assert all('href="/np/' in row for row in rows), "each claim IRI links to its page on this server"
    assert "POEMS syndrome is not an inherited disease" in body
    requested = set(re.findall(r'"url":"([^"]+)"', log.read_text()))
    assert {u for u in requested if not u.startswith(server) and not BROWSER_SERVICES.match(u)} == set()
    assert f"{server}/static/yasgui/yasgui.min.js" in requested, "the editor comes from this server, not a CDN"


@pytest.mark.parametrize(("path", "rendered", "script"), [
    ("/docs", 'class="opblock-summary-path"', "/static/docs/swagger-ui-bundle.js"),
    ("/redoc", "/api/v1/conditions/{curie}/etiology", "/static/docs/redoc.standalone.js")])
def test_the_api_docs_render_offline(server: str, tmp_path: Path, path: str, rendered: str, script: str) -> None:
    """Swagger UI and Redoc render the OpenAPI document from files this server ships; no request leaves the machine."""
    log = tmp_path / "net.json"
    dom = chromium(tmp_path, "--virtual-time-budget=15000", "--window-size=1400,1200", f"--log-net-log={log}",
                   "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--dump-dom", f"{server}{path}").stdout
    assert rendered in dom and "/api/v1/lookup" in dom, "the operations are on the page"
    requested = set(re.findall(r'"url":"([^"]+)"', log.read_text()))
    assert {u for u in requested if not u.startswith(server) and not BROWSER_SERVICES.match(u)} == set()
    assert f"{server}{script}" in requested


@pytest.mark.parametrize(("shipped", "package"), [
    ("yasgui/yasgui.min.js", "@zazuko/yasgui/build/yasgui.min.js"), ("yasgui/yasgui.min.css", "@zazuko/yasgui/build/yasgui.min.css"),
    ("docs/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui-bundle.js"), ("docs/swagger-ui.css", "swagger-ui-dist/swagger-ui.css"),
    ("docs/redoc.standalone.js", "redoc/bundles/redoc.standalone.js")])
def test_the_shipped_browser_files_are_the_pinned_npm_releases(shipped: str, package: str) -> None:
    """api/static holds the built files of the package versions pinned in tests/clients (`make static`)."""
    root = Path(__file__).resolve().parent.parent
    assert (root / "api" / "static" / shipped).read_bytes() == (root / "tests" / "clients" / "node_modules" / package).read_bytes()


@pytest.fixture(scope="module")
def measured(server: str) -> dict[str, Any]:
    """The pages as a person meets them, measured once in Chromium by tests/clients/pages.mjs (puppeteer-core and
    axe-core, pinned in tests/clients, installed by the test command): axe's WCAG 2 A/AA violations, sizes, the
    entity page's first screen, its phenotype table sorted and filtered, and a claim's #char= link followed."""
    page = urllib.request.urlopen(f"{server}/entity/MONDO:0017364.html").read().decode()
    claim = re.search(r'href="(/np/[^"#]+)"', page)
    assert claim and CHROMIUM
    run = subprocess.run(["node", str(CLIENTS / "pages.mjs"), CHROMIUM, server, claim[1]], capture_output=True, text=True,
                         timeout=300, check=False, cwd=CLIENTS)
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout))


@pytest.mark.parametrize("name", ["home", "entity", "claim", "source", "table", "query", "results"])
def test_axe_finds_no_serious_or_critical_violation(measured: dict[str, Any], name: str) -> None:
    found = [v for v in measured["pages"][name]["violations"] if v["impact"] in ("serious", "critical")]
    assert found == [], found


@pytest.mark.parametrize("name", ["home", "entity", "claim", "source", "table", "query", "results"])
def test_pages_fit_the_window_width(measured: dict[str, Any], name: str) -> None:
    assert measured["pages"][name]["width"] <= 1280, "no page, nor the query's results table, is wider than the window"


def test_the_entity_page_opens_on_its_card_and_its_cause(measured: dict[str, Any]) -> None:
    assert measured["firstScreen"]["card"] and measured["firstScreen"]["cause"], measured["firstScreen"]
    assert "causes POEMS syndrome" in measured["firstScreen"]["causeText"]
    assert measured["pages"]["entity"]["height"] < 9000, "counts, tables and disclosures rather than one long list"


def test_the_phenotype_table_sorts_by_frequency_and_filters(measured: dict[str, Any]) -> None:
    assert len(measured["sorted"]) == 51 and measured["sorted"] == sorted(measured["sorted"], reverse=True)
    assert measured["sorted"][0] == 100.0, "Obligate first"
    assert measured["filtered"] and all("neuropathy" in label.lower() for label in measured["filtered"])


def test_a_char_link_lands_on_its_passage(measured: dict[str, Any]) -> None:
    fragment = measured["fragment"]
    assert re.fullmatch(r"#char=\d+,\d+", fragment["href"]) and fragment["onScreen"], fragment
    assert "it is not considered an inherited genetic condition" in fragment["text"]


def test_the_home_page_search_finds_by_identifier_and_synonym(measured: dict[str, Any]) -> None:
    assert measured["search"]["MONDO:0017364"] == ["POEMS syndrome"]
    assert measured["search"]["somatic mutation"] == ["Typified by somatic mosaicism"], "HPO's synonym of the term"
