"""Loading a `lompo report` page in headless Chromium (system ``chromium`` driven by playwright, the
test extra): used by the report test and scripts/screenshot_report.py, not shipped with the library."""

from __future__ import annotations

from pathlib import Path


def check_in_chromium(
    page_path: Path, screenshot: Path, *, width: int = 1300, height: int = 1000, full_page: bool = False
) -> dict:
    """Load a report page in headless Chromium (system ``chromium``, via playwright: the test extra),
    screenshot it, and return what loading showed: ``problems`` (console errors/warnings, page
    errors), ``images`` ([complete, natural width] per <img>) and ``table_rows`` (rows of all tables)."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("no chromium on the PATH (Debian package chromium; .ci/run installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(Path(page_path).resolve().as_uri())
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        table_rows = page.evaluate("document.querySelectorAll('table tbody tr').length")
        page.screenshot(path=str(screenshot), full_page=full_page)
        browser.close()
    return {"problems": problems, "images": images, "table_rows": table_rows}
