"""Check the built docs site as a reader meets it (`make docs-check`; also run by `.ci/run` and, `--static`, by 07_docs).

Static checks, on the HTML files:
  every local link, image, script and stylesheet resolves to a file of the site, every `#anchor` to an id on its page;
  no raw Quarto/nbdev markup in the visible text (`{target=`, `:::`, `#|`, `show_doc(`); no internal page published.
In a real browser (Debian's Chromium, headless, driven by selenium through Debian's chromedriver), over http on localhost:
  every page loads without console errors and every image on it is loaded; a search for an API name lists its page;
  a cross-link lands on its anchor; a run's `report.html` (given with --report) opens with every image loaded.
Screenshots of the home page, an API page and a search result go to --shots.

    python .ci/docs_check.py [--site _docs] [--report results/demo/report.html] [--shots _docs_check] [--static]
"""
import argparse, functools, http.server, re, sys, threading, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

RAW = ['{target=', ':::', '#|', 'show_doc(', '{.callout', '{#']
INTERNAL = ['docs.html', '07_docs.html']      # the docs-check notebook (draft: true) must not be published


class _Page(HTMLParser):
    "Ids, local references and visible text of one HTML page."
    def __init__(self):
        super().__init__(); self.ids, self.refs, self.text, self._skip = set(), [], [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        for k in ('href', 'src'):
            if a.get(k) and tag in ('a', 'img', 'script', 'link', 'source'): self.refs.append((tag, a[k]))
        self._skip += tag in ('script', 'style', 'code', 'pre')
    def handle_endtag(self, tag):
        if tag in ('script', 'style', 'code', 'pre') and self._skip: self._skip -= 1
    def handle_data(self, d):
        if not self._skip: self.text.append(d)


@functools.lru_cache(None)
def parse(path: Path) -> _Page:
    p = _Page(); p.feed(path.read_text(encoding='utf-8', errors='replace')); return p


def static_problems(site: Path) -> list:
    "Broken local references and anchors, raw markup in visible text, internal pages: one line per problem."
    bad = [f"internal page published: {n}" for n in INTERNAL if (site/n).exists()]
    pages = sorted(p for p in site.rglob('*.html') if 'assets' not in p.parts and 'mathjax' not in p.parts)
    if not (site/'index.html').exists(): bad.append("no index.html")
    for page in pages:
        rel, doc = page.relative_to(site), parse(page)
        text = ' '.join(doc.text)
        bad += [f"{rel}: raw markup {m!r} in the text: ...{text[max(0, text.find(m) - 40):text.find(m) + 40]!r}..."
                for m in RAW if m in text]
        for tag, ref in doc.refs:
            u = urlsplit(ref)
            if u.scheme in ('http', 'https', 'mailto', 'data', 'javascript') or u.netloc: continue
            target = page if not u.path else (page.parent/unquote(u.path)).resolve()
            if u.path.endswith('/'): target = target/'index.html'
            if not target.exists(): bad.append(f"{rel}: <{tag}> {ref} -> missing file"); continue
            if u.fragment and target.suffix == '.html' and unquote(u.fragment) not in parse(target).ids:
                bad.append(f"{rel}: <{tag}> {ref} -> no id {u.fragment!r} on {target.name}")
    return bad


def serve(site: Path):
    "An http server for `site` on a free localhost port, in a thread: returns (server, base url)."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    h = functools.partial(Quiet, directory=str(site))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_port}/'


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions(); o.binary_location = '/usr/bin/chromium'
    for f in ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--disable-dev-shm-usage', '--window-size=1280,900']: o.add_argument(f)
    o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=o)


IMAGES = """const imgs = [...document.images];
return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')).concat([imgs.length]);"""

def load(d, url: str, wait: float = 10, want: int = 0):
    "Open `url`; wait for the page and its (`want` or more) images; return (broken image srcs, number of images, console errors)."
    d.get(url); t0 = time.time()
    while True:
        *broken, n = d.execute_script(IMAGES)
        done = d.execute_script('return document.readyState') == 'complete' and not broken and n >= want
        if done or time.time() - t0 > wait: break
        time.sleep(0.2)
    errors = [e['message'] for e in d.get_log('browser') if e['level'] == 'SEVERE']
    return broken, n, errors


def browser_problems(site: Path, report: Path | None, shots: Path) -> list:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    bad, srv, base = [], *serve(site)
    shots.mkdir(parents=True, exist_ok=True)
    d = browser()
    try:
        pages = sorted(p.relative_to(site).as_posix() for p in site.glob('*.html'))
        n_img = 0
        for name in pages:
            want = sum(tag == 'img' for tag, _ in parse(site/name).refs)
            broken, n, errors = load(d, base + name, want=want); n_img += n
            if n != want: bad.append(f"{name}: the browser shows {n} images, the page has {want} (not fully loaded?)")
            bad += [f"{name}: image not loaded: {s}" for s in broken] + [f"{name}: console error: {e}" for e in errors]
        print(f"browser: {len(pages)} pages loaded, {n_img} images, {len(bad)} problems")
        load(d, base + 'index.html'); d.save_screenshot(str(shots/'home.png'))
        # an API page, its anchor reached through a cross-link from the tour page (core.html -> edits.html#...)
        load(d, base + 'core.html')
        links = [a for a in d.find_elements(By.CSS_SELECTOR, 'article a[href*="edits.html#"]')]
        if not links: bad.append("core.html: no cross-link to an API entry on edits.html")
        else:
            href = links[0].get_attribute('href'); frag = urlsplit(href).fragment
            d.execute_script('arguments[0].scrollIntoView(); arguments[0].click()', links[0]); time.sleep(1)
            here = urlsplit(d.current_url)
            top = d.execute_script('const e = document.getElementById(arguments[0]); '
                                   'return e ? e.getBoundingClientRect().top : null', unquote(frag))
            if here.path != '/edits.html' or here.fragment != frag: bad.append(f"cross-link {href} landed on {d.current_url}")
            elif top is None or not -5 <= top <= 300: bad.append(f"cross-link {href}: anchor {frag!r} not in view (top {top})")
            else: print(f"browser: cross-link core.html -> {here.path}#{frag} lands on its entry (top {top:.0f} px)")
            d.save_screenshot(str(shots/'api_page.png'))
        # search: type an API name into Material's search box, expect its page among the results
        load(d, base + 'index.html')
        box = d.find_element(By.CSS_SELECTOR, 'input.md-search__input'); box.click(); box.send_keys('merge_moments')
        try:
            WebDriverWait(d, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, '.md-search-result__item a'))
            hits = [a.get_attribute('href') for a in d.find_elements(By.CSS_SELECTOR, '.md-search-result__item a')]
            if not any('edits.html' in h for h in hits): bad.append(f"search 'merge_moments': edits.html not in {hits[:5]}")
            else: print(f"browser: search 'merge_moments' -> {len(hits)} results, first {hits[0].replace(base, '')}")
        except Exception as e: bad.append(f"search 'merge_moments' listed nothing ({type(e).__name__})")
        d.save_screenshot(str(shots/'search.png'))
        errors = [e['message'] for e in d.get_log('browser') if e['level'] == 'SEVERE']
        bad += [f"search: console error: {e}" for e in errors]
        if report is not None:
            broken, n, errors = load(d, report.resolve().as_uri())
            d.save_screenshot(str(shots/'report.png'))
            if n == 0: bad.append(f"{report}: no images")
            bad += [f"{report.name}: image not loaded: {s[:80]}" for s in broken] + [f"{report.name}: console error: {e}" for e in errors]
            print(f"browser: {report} opened, {n} images, {len(broken)} not loaded")
    finally:
        d.quit(); srv.shutdown()
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument('--site', default='_docs', help='the built site')
    ap.add_argument('--report', default=None, help="a run's report.html to open as well")
    ap.add_argument('--shots', default='_docs_check', help='folder for the screenshots')
    ap.add_argument('--static', action='store_true', help='static checks only (no browser)')
    a = ap.parse_args()
    site = Path(a.site).resolve()
    if not (site/'index.html').exists(): sys.exit(f"no site at {site}: build it first (`make docs`)")
    bad = static_problems(site)
    print(f"static: {len(list(site.glob('*.html')))} pages, {len(bad)} problems")
    if not a.static: bad += browser_problems(site, Path(a.report) if a.report else None, Path(a.shots))
    for b in bad: print('  -', b)
    if bad: sys.exit(f"docs check failed: {len(bad)} problems")
    print("docs check passed" + ("" if a.static else f"; screenshots in {a.shots}/"))


if __name__ == '__main__': main()
