"""Screenshot a `lompo report` page in headless Chromium and list what went wrong while loading it.

    python scripts/screenshot_report.py SWEEP/report.html OUT.png [--full-page] [--width 1300 --height 1000]

Prints the console errors/warnings and page errors (there should be none) and how many images the page
holds and whether every one decoded. Needs `playwright` (the test extra) and a Chromium on the PATH
(Debian package `chromium`; `.ci/run` installs it). Exit status 1 if the page had problems.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import check_in_chromium  # noqa: E402  (tests/browser.py)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--full-page", action="store_true")
    parser.add_argument("--width", type=int, default=1300)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    if not args.page.is_file():
        sys.exit(f"{args.page}: no such report page (run `lompo report SWEEP` first)")
    seen = check_in_chromium(args.page, args.out, width=args.width, height=args.height, full_page=args.full_page)
    images, problems = seen["images"], seen["problems"]
    decoded = sum(1 for done, width in images if done and width > 0)
    print(f"{args.out}: {len(images)} images, {decoded} decoded; console problems: {problems or 'none'}")
    return 0 if not problems and decoded == len(images) else 1


if __name__ == "__main__":
    sys.exit(main())
