"""Parsing time of the PEM reader (bundle.split_pem) on garbage up to the 5 MB cap (issue 14, hole 4).

The reader once took 16 s for 100 KB of ``-----BEGIN CERTIFICATE-----`` lines without an END
(430 s at 400 KB: quadratic); a root-run module reading a user-owned file could be held for hours.
It is now one pass over the lines. Prints one Markdown table row per input shape:

    .venv/bin/python benchmarks/pem_garbage.py            # -> benchmarks/results/pem-garbage.md
"""

import argparse
import os
import platform
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))

from ansible_collections.rdsca.rotation.plugins.module_utils import bundle  # noqa: E402  pylint: disable=wrong-import-position

SHAPES = {
    "BEGIN lines, no END": b"-----BEGIN CERTIFICATE-----\n",
    "BEGIN markers, one line": b"-----BEGIN CERTIFICATE-----",
    "base64 lines after one BEGIN": b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n",
    "END lines only": b"-----END CERTIFICATE-----\n",
    "binary": bytes(range(256)),
}


def measure(size):
    rows = []
    for label, unit in SHAPES.items():
        data = (unit * (size // len(unit) + 1))[:size]
        if label == "base64 lines after one BEGIN":
            data = (b"-----BEGIN CERTIFICATE-----\n" + data)[:size]
        started = time.perf_counter()
        try:
            bundle.split_pem(data)
            outcome = "accepted"
        except bundle.BundleError as exc:
            outcome = "refused (%d problem(s) listed)" % len(exc.problems)
        rows.append((label, size, time.perf_counter() - started, outcome))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=bundle.MAX_BUNDLE_BYTES, help="bytes of garbage (default: the 5 MB cap)")
    parser.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "pem-garbage.md"))
    args = parser.parse_args()
    lines = ["| input (%s bytes) | parse time | outcome |" % format(args.size, ","), "|---|---|---|"]
    for label, _size, seconds, outcome in measure(args.size):
        lines.append("| %s | %.2f s | %s |" % (label, seconds, outcome))
    lines.append("")
    lines.append("Python %s on %s, %d CPU(s)." % (platform.python_version(), platform.machine(), os.cpu_count() or 0))
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out != "-":
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
