"""The HTML report as a person sees it (issue 19): a 1,000-database audit rendered by headless Chromium, with a
screenshot, the summary on the first screen (1366x768), the filters working, and a 5,000-database report that
stays small and renders quickly. The inputs are rds_ca_facts/rds_ssl_usage results shaped as those modules
return them (tests/unit/plugins/plugin_utils/fleet_results.py, whose shape test_report.py checks against the
modules' RETURN).

Chromium comes from the `chromium` Debian package (scripts/prereqs.sh test installs it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import warnings

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))

from tests.integration.conftest import _ensure_collection_link  # noqa: E402

_ensure_collection_link()

from ansible_collections.rdsca.rotation.plugins.filter.report_html import FilterModule as Html  # noqa: E402
from ansible_collections.rdsca.rotation.plugins.filter.run_report import FilterModule as Report  # noqa: E402
from ansible_collections.rdsca.rotation.tests.unit.plugins.plugin_utils.fleet_results import audit_input, rotate_input  # noqa: E402

run_report = Report().filters()["run_report"]
report_html = Html().filters()["report_html"]
WIDTH, HEIGHT = 1366, 768
PROBE = """<script>
(function(){var s=document.getElementById('summary').getBoundingClientRect();
var out={summary_bottom:s.bottom,summary_right:s.right,scroll_width:document.documentElement.scrollWidth,
 rows:document.querySelectorAll('tr[data-s]').length};
var fs=document.getElementById('fs');fs.value='needs_rotation';fs.dispatchEvent(new Event('input'));
out.shown_needs_rotation=document.querySelectorAll('tr[data-s]:not([hidden])').length;out.counter=document.getElementById('fn').textContent;
fs.value='';fs.dispatchEvent(new Event('input'));
var q=document.getElementById('fq');q.value='/db-17';q.dispatchEvent(new Event('input'));
out.shown_text=document.querySelectorAll('tr[data-s]:not([hidden])').length;
document.body.setAttribute('data-probe',JSON.stringify(out));})();
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name) or (("/usr/bin/" + name) if os.access("/usr/bin/" + name, os.X_OK) else None)
        if found:
            return found
    why = ("CHROMIUM IS MISSING: the HTML report cannot be rendered and screenshotted. Install the Debian package "
           "`chromium` (scripts/prereqs.sh test does it as root: apt-get install -y --no-install-recommends chromium)")
    warnings.warn(why)  # listed in pytest's warnings summary too, not only as a quiet skip
    pytest.skip(why)
    return ""


def browse(tmp_path, page: str, *mode: str, timeout: int = 180) -> subprocess.CompletedProcess:
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=%d,%d" % (WIDTH, HEIGHT), *mode, path.as_uri()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def layout(tmp_path, page: str) -> dict:
    """What the browser computed, read back by a script injected at the end of the page (--dump-dom)."""
    dom = browse(tmp_path, page.replace("</body>", PROBE + "</body>"), "--virtual-time-budget=5000", "--dump-dom").stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the probe did not run: %s" % dom[-500:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def audit_1000():
    report = run_report(audit_input(1000))
    return report, report_html(report)


def test_1000_database_audit_screenshot_shows_the_summary_first(tmp_path, audit_1000):
    report, page = audit_1000
    shot = tmp_path / "audit-1000.png"
    browse(tmp_path, page, "--screenshot=%s" % shot)
    assert shot.stat().st_size > 20000, "an empty screenshot"
    assert png_size(shot) == (WIDTH, HEIGHT)
    if os.environ.get("RDSCA_REPORT_SCREENSHOTS"):
        shutil.copy(shot, os.path.join(os.environ["RDSCA_REPORT_SCREENSHOTS"], "audit-1000.png"))
    seen = layout(tmp_path, page)
    # The summary (counts by account, region, engine, environment, CA, restart; what restarts; what is held
    # back) is entirely on the first screen, and the page does not scroll sideways.
    assert 0 < seen["summary_bottom"] < HEIGHT, seen
    assert seen["scroll_width"] <= WIDTH, seen
    assert seen["rows"] == 1000
    # The filters work: by status, and by text (naturally: db-17, db-170..db-179).
    assert seen["shown_needs_rotation"] == report["summary"]["by_status"]["needs_rotation"] == int(seen["counter"])
    assert seen["shown_text"] == sum(1 for row in report["databases"] if "/db-17" in row["label"]) == 11


def test_rotate_report_screenshot(tmp_path):
    report = run_report(rotate_input(1000))
    shot = tmp_path / "rotate-1000.png"
    browse(tmp_path, report_html(report), "--screenshot=%s" % shot)
    assert png_size(shot) == (WIDTH, HEIGHT) and shot.stat().st_size > 20000
    assert 0 < layout(tmp_path, report_html(report))["summary_bottom"] < HEIGHT


def test_5000_database_report_is_small_and_renders(tmp_path):
    report = run_report(audit_input(5000))
    page = report_html(report)
    assert len(page.encode("utf-8")) < 4 * 1024 * 1024, "%d bytes" % len(page.encode("utf-8"))
    started = time.monotonic()
    seen = layout(tmp_path, page)
    took = time.monotonic() - started
    assert seen["rows"] == 5000 and 0 < seen["summary_bottom"] < HEIGHT, seen
    assert took < 60, "rendering 5,000 databases took %.1f s" % took
