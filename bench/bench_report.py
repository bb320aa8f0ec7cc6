"""The demo champion's model card to PDF, against a bare Qt HTML-to-PDF of the same document.

    python bench/bench_report.py [--rounds 5] [--quick] [--registry DIR] [--pages DIR]

Builds the demo workspace once (``modelward demo --no-gui``) unless
``--registry`` names one, then times, interleaved round by round, two real
subprocesses:

* ``report``: ``modelward report credit-risk@champion -o card.pdf --n-boot 200``,
  the whole process (interpreter start, registry open, facts with bootstrap
  intervals, charts, layout with the headings kept with what follows, PDF);
* ``floor``: a bare Python process that imports QtGui, loads the same HTML and
  chart images (written once beforehand) and prints them with
  ``QTextDocument.print_`` to a PDF: what any Qt HTML-to-PDF costs.

With ``--pages DIR`` it also writes every page of the card as
``DIR/model-card-pN.png`` (``pdftoppm`` from poppler-utils), the images kept in
``docs/screenshots/``. Prints a Markdown table for docs/benchmarks.md
("## Filed reports").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

REF = "credit-risk@champion"

FLOOR = r"""
import sys
from pathlib import Path
from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import QFont, QGuiApplication, QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
app = QGuiApplication([])
src = Path(sys.argv[1])
doc = QTextDocument()
doc.setDefaultFont(QFont("Helvetica", 9))
for png in sorted(src.glob("*.png")):
    doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("mwchart:" + png.name), QImage(str(png)))
doc.setHtml((src / "card.html").read_text(encoding="utf-8"))
w = QPdfWriter(sys.argv[2])
w.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
w.setPageMargins(QMarginsF(14, 14, 14, 12), QPageLayout.Unit.Millimeter)
w.setResolution(300)
doc.print_(w)
"""


def _env() -> dict[str, str]:
    app = str(Path(__file__).resolve().parents[1] / "app")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": app + (os.pathsep + path if path else "")}


def build_demo(home: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "modelward", "demo", "--no-gui", "--registry", str(home)],
        check=True,
        capture_output=True,
        env=_env(),
    )


def dump_floor_input(home: Path, out: Path, n_boot: int) -> None:
    """The PDF's own HTML and chart images, for the floor to print."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from modelward.core.evidence.reports import gather_facts, load_template\n"
        "from modelward.core.registry import Registry\n"
        "from modelward.ui.pdf import report_pdf_parts\n"
        "reg = Registry(sys.argv[1]); out = Path(sys.argv[2])\n"
        f"facts = gather_facts(reg, {REF!r}, n_boot={n_boot})\n"
        "html, images = report_pdf_parts(reg, facts, load_template(reg))\n"
        "(out / 'card.html').write_text(html, encoding='utf-8')\n"
        "for url, img in images.items(): img.save(str(out / url.split(':', 1)[1]))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(home), str(out)], check=True, env=_env())


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=_env())
    return time.perf_counter() - t0


def pages(pdf: Path, dest: Path) -> list[Path]:
    """Every page of ``pdf`` as ``dest/model-card-pN.png`` (pdftoppm, 80 dpi)."""
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm (poppler-utils) is needed to write page images")
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("model-card-p*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), f"{tmp}/p"], check=True)
        out = []
        for i, p in enumerate(sorted(Path(tmp).glob("p-*.png"), key=lambda q: int(q.stem[2:]))):
            target = dest / f"model-card-p{i + 1}.png"
            shutil.copyfile(p, target)
            out.append(target)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 rounds")
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--registry", type=Path, help="an existing demo workspace")
    ap.add_argument("--pages", type=Path, help="write the card's pages as PNG here")
    args = ap.parse_args()
    rounds = 3 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        home = args.registry or work / "demo"
        if args.registry is None:
            print("building the demo workspace…", file=sys.stderr)
            build_demo(home)
        floor_in = work / "floor"
        floor_in.mkdir()
        dump_floor_input(home, floor_in, args.n_boot)
        script = work / "floor.py"
        script.write_text(FLOOR, encoding="utf-8")
        report_cmd = [sys.executable, "-m", "modelward", "--registry", str(home), "report", REF]
        report_cmd += ["-o", str(work / "card.pdf"), "--n-boot", str(args.n_boot)]
        floor_cmd = [sys.executable, str(script), str(floor_in), str(work / "floor.pdf")]
        timed(report_cmd)  # warm the file cache once for both
        times: dict[str, list[float]] = {"report": [], "floor": []}
        for _ in range(rounds):
            times["report"].append(timed(report_cmd))
            times["floor"].append(timed(floor_cmd))
        if args.pages:
            for p in pages(work / "card.pdf", args.pages):
                print(f"page image: {p}", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    load = os.getloadavg()[0]
    print(f"\n{rounds} rounds, interleaved; load average {load:.1f} at the end\n")
    print("| | median | min | max |")
    print("|---|---:|---:|---:|")
    for k, label in (
        ("report", f"`modelward report {REF} -o card.pdf` (whole process)"),
        ("floor", "floor: bare Python + Qt, the same HTML and images to PDF"),
    ):
        v = times[k]
        print(f"| {label} | {med[k]:.2f} s | {min(v):.2f} s | {max(v):.2f} s |")
    print(f"\nratio to the floor: {med['report'] / med['floor']:.2f}x")


if __name__ == "__main__":
    main()
