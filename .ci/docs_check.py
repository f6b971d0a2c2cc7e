"""Check the built docs site as a reader meets it (`make docs-check`; also run by `.ci/run` and, `--static`, by 07_docs).

Static checks, on the HTML files:
  every local link, image, script and stylesheet resolves to a file of the site, every `#anchor` to an id on its page;
  no raw Quarto/nbdev markup in the visible text (`{target=`, `:::`, `#|`, `show_doc(`); no internal page published.
In a real browser (Debian's Chromium, headless, driven by selenium through Debian's chromedriver), over http on localhost:
  every page loads without console errors and every image on it is loaded; a search for an API name lists its page;
  a cross-link lands on its anchor; a run's `report.html` (given with --report) opens with every image loaded.
Leaks, docstrings, notebook references (static, `leak_problems`, `emphasis_problems`, `docstring_problems`,
`notebook_ref_problems`): no warning (`file.py:12: UserWarning:`), traceback or absolute/temporary path
(`/tmp/`, `/var/folders/`, `/home/<user>`, `/work/`, `C:\\Users`) in the visible text or in a code *output* block;
source blocks (a `<pre>` with Pygments token spans) are left alone, as code may rightly name `Traceback` or `/tmp`.
No `<em>`/`<strong>` whose text looks like code (brackets, commas, `=`): a docstring's `[n*B, C]` turned italic;
and, on the package's docstrings and docments comments, no unescaped `*` pair or `_word_` outside backticks (what
Markdown turns into emphasis), and "--" written for a dash. Every mention of an existing notebook (`10_edits`, `10_edits.ipynb`) in the prose is
inside a link.
In the browser also: no table cell whose text is clipped (overflow hidden / ellipsis) and no table wider than its
container without a scrolling wrapper; every figure's smallest font (PNG tEXt `min_font_pt`, 7 pt when absent, with
the pHYs dpi) is at least MIN_FONT_PX CSS px at its displayed width. `--report` (`report_problems`): a headline
(`section#findings p.headline`), a reproduce command (`pre#reproduce`), no absolute path; in the browser every
image of it loads and every audio has a playable duration offline (`report_browser_problems`).
Screenshots of the home page, the navigation sidebar, an API page, a search result and the report go to --shots.

    python .ci/docs_check.py [--site _docs] [--report results/demo/report.html] [--shots _docs_check] [--static]
"""
import argparse, ast, functools, http.server, io, re, struct, sys, threading, time, tokenize, zlib
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


ROOT = Path(__file__).resolve().parent.parent
LEAKS = [(re.compile(r'\w+\.py:\d+: \w*(?:Warning|Error)\b'), 'a Python warning'),
         (re.compile(r'\b\w*Warning: '), 'a warning'),
         (re.compile(r'Traceback \(most recent call last\)'), 'a traceback'),
         (re.compile(r'/tmp/|/var/folders/|/private/var/'), 'a temporary path'),
         (re.compile(r'/home/\w+|/Users/\w+|/root/'), 'a home folder path'),
         (re.compile(r'(?<![\w.])/work/'), 'an absolute /work/ path'),
         (re.compile(r'[A-Za-z]:\\\\?Users\\'), 'a Windows user path')]
NB_REF = re.compile(r'(?<![\w/.-])(\d\d[a-z]?_[a-z_]+[a-z])(?:\.ipynb)?(?![\w-])')
CODEISH = re.compile(r'[\[\],=]')
MIN_FONT_PX, DEFAULT_FONT_PT = 8.0, 7.0   # 8 CSS px ~ 6 pt: the smallest a reader reads on screen without zooming


class _Read(HTMLParser):
    "What a reader sees: prose (with inline code), output blocks (`<pre>` without Pygments spans), emphasis, link state."
    def __init__(self):
        super().__init__(); self.prose, self.outputs, self.ems, self._skip, self._a = [], [], [], 0, 0
        self._pre, self._spans, self._em, self._last = None, False, None, ' '
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ('script', 'style'): self._skip += 1
        elif tag == 'a': self._a += 1
        elif tag == 'pre': self._pre, self._spans = [], False
        elif tag == 'span' and self._pre is not None and a.get('class'): self._spans = True
        elif tag in ('em', 'strong') and self._pre is None and (self._last[-1:].isalnum() or self._last[-1:] in '([,*'):
            self._em = (tag, [])    # emphasis glued to a word or bracket: a `*` inside code, not nbdev's italic docstring
    def handle_endtag(self, tag):
        if tag in ('script', 'style') and self._skip: self._skip -= 1
        elif tag == 'a' and self._a: self._a -= 1
        elif tag == 'pre' and self._pre is not None:
            if not self._spans: self.outputs.append(''.join(self._pre))
            self._pre = None
        elif tag in ('em', 'strong') and self._em: self.ems.append((self._em[0], ''.join(self._em[1]))); self._em = None
    def handle_data(self, d):
        if self._skip: return
        if self._pre is not None: self._pre.append(d); return
        self.prose.append((d, self._a > 0)); self._last = d or self._last
        if self._em: self._em[1].append(d)


@functools.lru_cache(None)
def read(path: Path) -> _Read:
    p = _Read(); p.feed(path.read_text(encoding='utf-8', errors='replace')); return p


def site_pages(site: Path) -> list:
    return sorted(p for p in site.rglob('*.html') if 'assets' not in p.parts and 'mathjax' not in p.parts)


def leaks_in(text: str) -> list:
    "[(kind, excerpt)] of warnings, tracebacks and absolute paths in `text`."
    return [(kind, text[max(0, m.start() - 30):m.end() + 50].replace('\n', ' ')) for rx, kind in LEAKS for m in rx.finditer(text)]


def leak_problems(page: Path, rel=None) -> list:
    "Warnings, tracebacks and temporary/absolute paths in the visible text or the output blocks of one page."
    doc, rel = read(page), rel or page.name
    text = ' '.join(d for d, _ in doc.prose)
    out = [f"{rel}: {k} in the text: ...{e!r}..." for k, e in leaks_in(text)]
    return out + [f"{rel}: {k} in a code output: ...{e!r}..." for o in doc.outputs for k, e in leaks_in(o)]


def emphasis_problems(page: Path, rel=None) -> list:
    "`<em>`/`<strong>` whose text looks like code (brackets, commas, `=`): Markdown ate a `*` or `_` of a docstring."
    return [f"{rel or page.name}: <{t}>{x[:60]!r}</{t}> looks like mangled code (a `*` or `_` read as emphasis)"
            for t, x in read(page).ems if CODEISH.search(x)]


DASH = re.compile(r'(?<![-\w])--(?![-\w])')


def dash_problems(page: Path, rel=None) -> list:
    "Two hyphens standing for a dash in the page's prose (code is left alone): write – or —."
    return [f"{rel or page.name}: '--' used as a dash in {d.strip()[:70]!r} (write – or —)"
            for d, _ in read(page).prose if DASH.search(d)]


def notebook_names(nbs: Path) -> set:
    return {p.stem for p in nbs.glob('*.ipynb')}


def notebook_ref_problems(page: Path, names: set, rel=None) -> list:
    "Mentions of an existing notebook in the page's prose that are not inside a link."
    bad = []
    for d, linked in read(page).prose:
        if linked: continue
        bad += [f"{rel or page.name}: notebook {m.group(0)!r} mentioned without a link" for m in NB_REF.finditer(d) if m.group(1) in names]
    return bad


def _markdown_emphasis(text: str) -> list:
    "Pieces of `text` (a docstring or comment) that Markdown would render as emphasis: `*..*` or `_.._` outside backticks."
    plain = re.sub(r'`[^`]*`', '``', text)
    plain = re.sub(r'\\[*_]|(?<![\w*])\*{1,2}(?:args|kwargs)\b', '', plain)
    return [m.group(0) for m in re.finditer(r'(?<!\*)\*(?=\S)[^*\n]+?(?<=\S)\*(?!\*)|(?<!\w)_(?=\S)[^_\n]*?(?<=\S)_(?!\w)', plain)]


def docstring_problems(pkg: Path) -> list:
    "Docstrings and docments comments of the package's modules with text Markdown turns into emphasis."
    bad = []
    for f in sorted(pkg.glob('*.py')):
        src, sig = f.read_text(encoding='utf-8'), set()      # sig: lines of public signatures (their docments)
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and not getattr(node, 'name', 'm').startswith('_'):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body: sig.update(range(node.lineno, node.body[0].lineno))
                doc = ast.get_docstring(node, clean=False) or ''
                bad += [f"{f.name}: docstring of {getattr(node, 'name', 'the module')}: {e!r} renders as emphasis (escape it or use backticks)"
                        for e in _markdown_emphasis(doc)]
        for t in tokenize.generate_tokens(io.StringIO(src).readline):
            if t.type == tokenize.COMMENT and t.start[0] in sig:
                bad += [f"{f.name}:{t.start[0]}: comment {e!r} renders as emphasis in the docs (escape it or use backticks)"
                        for e in _markdown_emphasis(t.string[1:])]
    return bad


def png_info(data: bytes) -> dict:
    "A PNG's size, dpi (pHYs, None if absent) and tEXt entries, read from its chunks."
    if data[:8] != b'\x89PNG\r\n\x1a\n': return {}
    i, out = 8, {'text': {}, 'dpi': None}
    while i + 8 <= len(data):
        n, kind = struct.unpack('>I4s', data[i:i + 8]); body = data[i + 8:i + 8 + n]; i += 12 + n
        if kind == b'IHDR': out['size'] = struct.unpack('>II', body[:8])
        elif kind == b'pHYs':
            x, y, unit = struct.unpack('>IIB', body[:9])
            if unit == 1: out['dpi'] = x * 0.0254
        elif kind == b'tEXt': k, _, v = body.partition(b'\0'); out['text'][k.decode('latin-1')] = v.decode('latin-1')
        elif kind == b'zTXt': k, _, v = body.partition(b'\0'); out['text'][k.decode('latin-1')] = zlib.decompress(v[1:]).decode('latin-1')
        elif kind == b'iTXt':
            k, _, rest = body.partition(b'\0'); flag = rest[0]; rest = rest[2:].split(b'\0', 2)[-1]
            out['text'][k.decode('latin-1')] = (zlib.decompress(rest) if flag else rest).decode('utf-8')
        elif kind == b'IEND': break
    return out


def font_px(data: bytes, client_w: float, natural_w: float):
    "(displayed CSS px of the figure's smallest font, min_font_pt, whether it was given) of a PNG shown `client_w` px wide."
    info = png_info(data)
    if not info or not natural_w: return None
    given = 'min_font_pt' in info['text']
    pt = float(info['text']['min_font_pt']) if given else DEFAULT_FONT_PT
    dpi = info['dpi'] or 72.0
    return pt * dpi / 72 * client_w / natural_w, pt, given


def report_problems(report: Path) -> list:
    "A run's report.html: a headline, a reproduce command, no absolute path."
    html = report.read_text(encoding='utf-8', errors='replace')
    bad = []
    sec = re.search(r'<section[^>]*\bid="findings"[^>]*>(.*?)</section>', html, re.S)
    if not sec: bad.append(f"{report.name}: no findings section (<section id=\"findings\">): the report does not lead with its result")
    elif not re.search(r'<p[^>]*class="[^"]*\bheadline\b[^"]*"[^>]*>\s*\S', sec.group(1)):
        bad.append(f"{report.name}: the findings section has no headline sentence (<p class=\"headline\">)")
    if not re.search(r'<pre[^>]*\bid="reproduce"[^>]*>\s*\S', html):
        bad.append(f"{report.name}: no reproduce command (<pre id=\"reproduce\">)")
    paths = [str(report.resolve().parent), str(report.parent.absolute())]
    for rx in [re.compile(re.escape(p)) for p in set(paths)] + [re.compile(r'/tmp/|/home/\w|(?<![\w.])/work/|/var/folders/|[A-Za-z]:\\\\?Users')]:
        m = rx.search(html)
        if m: bad.append(f"{report.name}: absolute path in the report: ...{html[max(0, m.start() - 40):m.end() + 40]!r}..."); break
    return bad


def reader_problems(site: Path, nbs: Path = ROOT/'nbs', pkg: Path = ROOT/'neuron_ablation') -> list:
    "Leaks, mangled emphasis and unlinked notebook references on every page; emphasis in the package's docstrings."
    names, bad = notebook_names(nbs), []
    for page in site_pages(site):
        rel = page.relative_to(site).as_posix()
        bad += (leak_problems(page, rel) + emphasis_problems(page, rel) + notebook_ref_problems(page, names, rel)
                + dash_problems(page, rel))
    return bad + (docstring_problems(pkg) if pkg.exists() else [])


CLIPPED = """const out = [];
for (const t of document.querySelectorAll('article table, .md-content table, body table')) {
  for (const c of t.querySelectorAll('th, td')) {
    const s = getComputedStyle(c);
    const hides = s.overflow.includes('hidden') || s.overflowX === 'hidden' || s.textOverflow === 'ellipsis' || s.overflow.includes('clip');
    if (hides && c.scrollWidth > c.clientWidth + 1) out.push('cell ' + JSON.stringify(c.textContent.trim().slice(0, 40)) + ' clipped');
  }
  let p = t.parentElement, scroll = false;
  for (let e = p; e && e !== document.body; e = e.parentElement) {
    const x = getComputedStyle(e).overflowX;
    if ((x === 'auto' || x === 'scroll') ) { scroll = true; break; }
  }
  const box = (p || document.body).getBoundingClientRect(), r = t.getBoundingClientRect();
  if (!scroll && (r.right > Math.max(box.right, document.documentElement.clientWidth) + 2))
    out.push('table ' + Math.round(r.width) + ' px wide in a ' + Math.round(box.width) + ' px container without a scrolling wrapper: cut off');
}
return out;"""

FIGS = """return [...document.images].filter(i => i.complete && i.naturalWidth > 0 && i.clientWidth > 0)
  .map(i => [i.getAttribute('src'), i.clientWidth, i.naturalWidth]);"""

AUDIO = """return [...document.querySelectorAll('audio')].map(a => [a.currentSrc || a.getAttribute('src') ||
  (a.querySelector('source') || {}).src || '', a.readyState, a.error ? a.error.code : 0,
  isFinite(a.duration) ? a.duration : null]);"""


def audio_problems(d, label: str, wait: float = 10) -> list:
    "Audio elements of the open page that do not play offline: an error, no metadata, or no finite duration > 0."
    t0 = time.time()
    while True:   # metadata arrives after the page's load event: wait for every element to settle
        got = d.execute_script(AUDIO)
        if all(e or r >= 1 for _, r, e, _ in got) or time.time() - t0 > wait: break
        time.sleep(0.2)
    return [f"{label}: audio not loaded: {s[:80]} (readyState {r}, error {e}, duration {t})"
            for s, r, e, t in got if e or r < 1 or not (t or 0) > 0]


def report_browser_problems(d, report: Path) -> list:
    "A run's report.html opened from disk (offline): every image loads, every audio has a duration, nothing clipped."
    broken, n, errors = load(d, report.resolve().as_uri())
    bad = [f"{report}: no images"] if n == 0 else []
    bad += audio_problems(d, report.name)
    bad += page_layout_problems(d, report, report.name, [])
    bad += [f"{report.name}: image not loaded: {s[:80]}" for s in broken] + [f"{report.name}: console error: {e}" for e in errors]
    print(f"browser: {report} opened, {n} images, {len(broken)} not loaded, "
          f"{len(d.execute_script(AUDIO))} audio elements")
    return bad


def figure_problems(d, page_file: Path, label: str, notes: list) -> list:
    "Figures (PNG) on the open page whose smallest font is below MIN_FONT_PX at the displayed width."
    bad = []
    for src, cw, nw in d.execute_script(FIGS):
        if not src or src.startswith(('http:', 'https:')): continue
        if src.startswith('data:image/png;base64,'):
            import base64; data = base64.b64decode(src.split(',', 1)[1])
        else:
            f = (page_file.parent/unquote(urlsplit(src).path)).resolve()
            if f.suffix.lower() != '.png' or not f.exists(): continue
            data = f.read_bytes()
        r = font_px(data, cw, nw)
        if r is None: continue
        px, pt, given = r
        if not given: notes.append(label)
        if px < MIN_FONT_PX:
            bad.append(f"{label}: figure {src[:60]} shown {cw} of {nw} px: its smallest font ({pt:g} pt"
                       f"{'' if given else ', assumed: no min_font_pt in the PNG'}) is {px:.1f} CSS px < {MIN_FONT_PX:g}")
    return bad


def page_layout_problems(d, page_file: Path, label: str, notes: list) -> list:
    return [f"{label}: {m}" for m in d.execute_script(CLIPPED)] + figure_problems(d, page_file, label, notes)


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
        n_img, notes = 0, []
        for name in pages:
            want = sum(tag == 'img' for tag, _ in parse(site/name).refs)
            broken, n, errors = load(d, base + name, want=want); n_img += n
            if n != want: bad.append(f"{name}: the browser shows {n} images, the page has {want} (not fully loaded?)")
            bad += [f"{name}: image not loaded: {s}" for s in broken] + [f"{name}: console error: {e}" for e in errors]
            bad += page_layout_problems(d, site/name, name, notes)
        if notes: print(f"browser: figures without min_font_pt in their PNG (7 pt assumed) on {len(set(notes))} pages")
        print(f"browser: {len(pages)} pages loaded, {n_img} images, {len(bad)} problems")
        load(d, base + 'index.html'); d.save_screenshot(str(shots/'home.png'))
        nav = d.find_elements(By.CSS_SELECTOR, 'nav.md-nav--primary')
        if nav: nav[0].screenshot(str(shots/'navigation.png'))
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
            bad += report_browser_problems(d, report)
            d.save_screenshot(str(shots/'report.png'))
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
    bad = static_problems(site) + reader_problems(site)
    if a.report: bad += report_problems(Path(a.report))
    print(f"static: {len(list(site.glob('*.html')))} pages, {len(bad)} problems")
    if not a.static: bad += browser_problems(site, Path(a.report) if a.report else None, Path(a.shots))
    for b in bad: print('  -', b)
    if bad: sys.exit(f"docs check failed: {len(bad)} problems")
    print("docs check passed" + ("" if a.static else f"; screenshots in {a.shots}/"))


if __name__ == '__main__': main()
