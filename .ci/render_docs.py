"""Render the docs website without Quarto (called by `.ci/docs` when `quarto` is not on PATH).

`nbdev_docs` processes the notebooks into `_proc/` (frontmatter, a `show_doc` entry for every exported name, hidden
cells removed) and asks Quarto to render `_proc/` into `_docs/`. Here the first step is nbdev's own code (what
`nbdev_proc_nbs` runs, minus its attempt to download Quarto); the second is MkDocs with the Material theme, fed with
one Markdown page per processed notebook:

- pages in the sections and order of the custom sidebar `nbs/sidebar.yml` (what Quarto reads; every published
  notebook must be listed there), each named after its notebook's `output-file` (`10_edits.ipynb` -> `edits.html`),
  the index notebook as the home page; notebooks whose frontmatter says `draft: true` (internal pages) are left out,
  as Quarto leaves them out;
- nbdev's cross-links (`doc_host`/`doc_baseurl` + `page.html#anchor`) become links inside the site, and every API
  heading gets the anchor nbdev's index (`_modidx.py`) uses (`edit.apply`); source links point at
  `{git_url}/blob/{branch}/{lib_path}/{file}.py#L{line}` (settings.ini); a backticked notebook name in prose (`10_edits`,
  `10_edits.ipynb`) becomes a link to its page; every figure links to its full-size file (click to zoom);
  Quarto-only attributes (`{target="_blank" ...}`) and cell directives (`#| ...`) are dropped;
- `#| code-fold: true` (test cells, set by `.ci/docs_procs.py`) folds a cell into a collapsed block;
  `#| echo: false` hides a cell's code, `#| output: false` its output, `#| include: false` both; plots are written
  as image files; tables stay HTML; LaTeX becomes MathML at build time (the browser draws it: no script, no web font);
- Material gives the sidebar, a table of contents per page and full-text search; its `offline` plugin makes the
  site work from the file system too (search included), and web fonts are off (no request leaves the machine).

The Markdown and `mkdocs.yml` are written to a temporary folder; the site is built next to the output and moved
into place at the end, so a failed build never leaves half a site.

    python .ci/render_docs.py [--out _docs] [--n_workers 2]
"""
import argparse, base64, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import nbformat, yaml
CI = str(Path(__file__).resolve().parent)   # the docs processors (settings.ini `procs = docs_procs:...`), also in workers
if CI not in sys.path: sys.path.insert(0, CI)
os.environ['PYTHONPATH'] = os.pathsep.join([CI] + [p for p in [os.environ.get('PYTHONPATH')] if p])
from nbdev.config import get_config
from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
from nbdev.serve import proc_nbs


def process(n_workers: int) -> Path:
    "nbdev's docs preprocessing into `_proc/` (as `nbdev_proc_nbs`, without installing Quarto)."
    refresh_quarto_yml()
    nbdev_sidebar.__wrapped__()
    return proc_nbs(n_workers=n_workers)


def frontmatter(nb) -> dict:
    "The YAML frontmatter nbdev's processing put in the first raw cell (title, description, output-file)."
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):
            return yaml.safe_load(c.source.strip().strip('-')) or {}
    return {}


def sidebar(proc: Path) -> list:
    "[(section or None, [(notebook file, nav text)])] of the custom sidebar (`nbs/sidebar.yml`), in its order."
    side = yaml.safe_load((proc/'sidebar.yml').read_text())['website']['sidebar']['contents']
    out = []
    def item(it):
        if isinstance(it, str): return it, None
        return it['href'], it.get('text')
    for it in side:
        if isinstance(it, dict) and 'section' in it: out.append((it['section'], [item(i) for i in it.get('contents', [])]))
        else: out.append((None, [item(it)]))
    return out


def pages(proc: Path) -> list:
    "[(notebook, frontmatter)] of the site in the sidebar's order, the index first, drafts (internal pages) left out."
    flat = [f for _, items in sidebar(proc) for f, _ in items if f.endswith('.ipynb')]
    nbs = [proc/p for p in flat]
    missing = [str(p) for p in nbs if not p.exists()]
    if missing: raise FileNotFoundError(f"processed notebooks missing from {proc}: {missing}")
    out = [(p, frontmatter(nbformat.read(p, as_version=4))) for p in sorted(nbs, key=lambda p: p.name != 'index.ipynb')]
    listed = set(flat)
    absent = sorted(p.name for p in proc.glob('*.ipynb') if p.name not in listed
                    and not frontmatter(nbformat.read(p, as_version=4)).get('draft'))
    if absent: raise ValueError(f"notebooks not in nbs/sidebar.yml (add each to a section, or mark it draft: true): {absent}")
    return [(p, fm) for p, fm in out if not fm.get('draft')]


def md_name(nb: Path, fm: dict) -> str:
    "The page's Markdown file: `index.md` for the index, else the notebook's `output-file` as `.md`."
    if nb.stem == 'index': return 'index.md'
    return Path(fm.get('output-file', f'{nb.stem}.html')).with_suffix('.md').name


DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*)$')

def directives(src: str):
    "A code cell's `#| key: value` directives and its source without them."
    d, keep = {}, []
    for line in src.splitlines():
        m = DIRECTIVE.match(line)
        if m: d[m.group(1)] = m.group(2).strip().lower()
        else: keep.append(line)
    return d, '\n'.join(keep).strip('\n')


ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')

def clean_stream(text: str) -> str:
    "Terminal text as a reader sees it: colour codes removed, carriage-return overwrites (progress bars) resolved."
    lines = [ANSI.sub('', l).split('\r')[-1] for l in text.split('\n')]
    return '\n'.join(l.rstrip() for l in lines).strip('\n')


def fence(text: str, lang: str = 'text') -> str:
    ticks = '`' * max(3, max((len(m) for m in re.findall(r'`+', text)), default=0) + 1)
    return f'{ticks}{lang}\n{text}\n{ticks}'


class Page:
    "One notebook turned into Markdown; images go to `<assets>/<stem>-<n>.<ext>`."
    def __init__(self, nb_path: Path, fm: dict, src: Path, links):
        self.nb, self.fm, self.src, self.links = nb_path, fm, src, links
        self.name = md_name(nb_path, fm); self.n_img = 0

    def image(self, data: str, ext: str) -> str:
        self.n_img += 1
        name = f'{Path(self.name).stem}-{self.n_img}.{ext}'
        (self.src/'figures').mkdir(exist_ok=True)
        raw = data.encode() if ext == 'svg' else base64.b64decode(data)
        (self.src/'figures'/name).write_bytes(raw)
        return f'[![](figures/{name})](figures/{name}){{.na-zoom}}'

    def output(self, o) -> str:
        if o.output_type == 'stream':
            t = clean_stream(o.text)
            return fence(t) if t else ''
        if o.output_type == 'error': return fence(clean_stream('\n'.join(o.traceback)))
        data = o.get('data', {})
        if 'image/png' in data: return self.image(data['image/png'], 'png')
        if 'image/svg+xml' in data: return self.image(data['image/svg+xml'], 'svg')
        if 'text/markdown' in data: return self.links.api(data['text/markdown'])
        if 'text/html' in data: return f'<div class="nb-output" markdown="0">\n{data["text/html"]}\n</div>'
        if 'application/vnd.jupyter.widget-view+json' in data:
            return '!!! note "Interactive widget"\n    Run the notebook in Jupyter to use this widget.'
        if 'text/plain' in data: return fence(data['text/plain'])
        return ''

    def cell(self, c) -> list:
        if c.cell_type == 'raw': return []
        if c.cell_type == 'markdown':
            if 'AUTOGENERATED! DO NOT EDIT' in c.source: return []
            return [self.links.prose(math(c.source))]
        d, code = directives(c.source)
        if d.get('include') == 'false' or 'hide' in d: return []
        parts = [] if d.get('echo') == 'false' or not code else [fence(code, 'python')]
        outs = [self.output(o) for o in c.get('outputs', [])] if d.get('output') != 'false' else []
        fold = d.get('code-fold')
        if fold in ('true', 'show') and parts:      # Quarto's code-fold: a collapsed (true) or open (show) block
            summary = re.search(r'^\s*#\|\s*code-summary:\s*"?([^"\n]*)"?', c.source, re.M)
            head = '???+' if fold == 'show' else '???'
            text_outs = [o for o in outs if o.startswith('`')]      # text output folds with its code; figures stay
            body = '\n\n'.join(parts + text_outs)
            parts = [f'{head} example "{summary.group(1) if summary else "Code"}"\n\n' + re.sub(r'(?m)^(?=.)', '    ', body)]
            outs = [o for o in outs if o not in text_outs]
        return [p for p in parts + outs if p]

    def markdown(self) -> str:
        nb = nbformat.read(self.nb, as_version=4)
        head = f"# {self.fm.get('title', self.nb.stem)}"
        if self.fm.get('description'): head += f"\n\n> {self.links.prose(str(self.fm['description']))}"
        body = [head] + [p for c in nb.cells for p in self.cell(c)]
        return '\n\n'.join(body) + '\n'


# prose pieces left alone by the notebook linker (odd pieces of `SKIP.split`): code fences, links, inline code, HTML tags
SKIP = re.compile(r'(```.*?```|!?\[[^\]\n]*\]\([^)\n]*\)|`[^`\n]*`|<[^>\n]+>)', re.S)
NB_NAME = re.compile(r'(?<![\w/.\[-])(\d\d[a-z]?_[a-z_]*[a-z])(?:\.ipynb)?(?![\w-])')
NB_CODE = re.compile(r'`(\d\d[a-z]?_[a-z_]*[a-z])(?:\.ipynb)?`')


class Links:
    "Rewrites nbdev's absolute doc links, notebook links and API headings into links and anchors inside the site."
    def __init__(self, cfg, page_of_nb: dict):
        self.doc = f"{cfg.doc_host}{cfg.doc_baseurl}".rstrip('/') + '/'
        self.page_of_nb = page_of_nb            # {'10_edits.ipynb': 'edits.md', ...}
        self.git, self.branch = str(cfg.git_url).rstrip('/'), cfg.branch
        self.notebooks = {p.stem for p in Path(cfg.nbs_path).glob('*.ipynb')}

    def _target(self, url: str) -> str:
        if url.startswith(self.doc): url = url[len(self.doc):]
        path, _, anchor = url.partition('#')
        if path.endswith('.ipynb') and path in self.page_of_nb: path = self.page_of_nb[path]
        elif path.endswith('.html') and '/' not in path and not path.startswith('http'): path = path[:-5] + '.md'
        return path + ('#' + anchor if anchor else '')

    def prose(self, text: str) -> str:
        "Markdown prose: links made local, notebook names linked to their pages, Quarto attributes removed."
        text = re.sub(r'\]\(([^)\s]+)\)', lambda m: f']({self._target(m.group(1))})', text)
        text = re.sub(r'(\)|\]|\S)\{(?:target|style|\.(?!na-))[^}\n]*\}', r'\1', text)
        text = self.notebook_links(text)
        parts = re.split(r'(```.*?```)', text, flags=re.S)       # figures -> click to zoom, code blocks alone
        return ''.join(p if k % 2 else self._zoom(p) for k, p in enumerate(parts))

    def _zoom(self, text: str) -> str:
        return re.sub(r'(?<!\[)!\[([^\]\n]*)\]\(([^)\s]+\.(?:png|svg|jpe?g|gif))\)',
                      r'[![\1](\2)](\2){.na-zoom}', text)         # click to zoom: the full-size file

    def notebook_url(self, stem: str):
        "The page of notebook `stem` (`10_edits` -> `edits.md`); an internal (unpublished) notebook: its source file."
        if f'{stem}.ipynb' in self.page_of_nb: return self.page_of_nb[f'{stem}.ipynb']
        if stem in self.notebooks: return f"{self.git}/blob/{self.branch}/nbs/{stem}.ipynb"
        return None

    def notebook_links(self, text: str) -> str:
        "A notebook named in prose (`10_edits`, `10_edits.ipynb`, in backticks or not) becomes a link to its page."
        def inline(m):
            url = self.notebook_url(m.group(1))
            return f'[{m.group(0)}]({url})' if url else m.group(0)
        def bare(seg):
            return NB_NAME.sub(lambda m: f'[{m.group(0)}]({self.notebook_url(m.group(1))})'
                               if self.notebook_url(m.group(1)) else m.group(0), seg)
        out = []
        for k, part in enumerate(SKIP.split(text)):
            if k % 2 == 0: out.append(bare(part)); continue
            m = NB_CODE.fullmatch(part)
            out.append(inline(m) if m else part)
        return ''.join(out)

    def api(self, text: str) -> str:
        "A `show_doc` entry: source link kept (the repository of settings.ini), heading anchored as nbdev's index anchors it, links in code unlinked."
        text = re.sub(r'^\[source\]\(([^)\s]*)\)(\{[^}\n]*\})?\s*$', r'[source](\1){.na-source}', text, flags=re.M)
        def head(m):
            esc = lambda t: t.replace('_', chr(92) + '_')
            return f"{m.group(1)} {esc(m.group(2))} {{#{esc(m.group(2).lower())}}}"
        text = re.sub(r'^(#{2,6}) ([\w.]+)\s*$', head, text, flags=re.M)
        def unlink(block): return re.sub(r'\[`?([\w.]+)`?\]\([^)]*\)', r'\1', block.group(0))
        text = re.sub(r'```.*?```', unlink, text, flags=re.S)
        return self.prose(text).strip()


def unlink_missing(text: dict) -> dict:
    "Links to `page.md#anchor` whose page has no such API heading (private helpers nbdev linked) become plain code."
    anchors = {name: set(re.findall(r'\{#([^}\s]+)\}', md)) for name, md in text.items()}
    def fix(m):
        page, anchor = m.group(2), m.group(3)
        return m.group(0) if anchor in anchors.get(page, ()) else m.group(1)
    return {name: re.sub(r'\[(`[^`\]]+`)\]\(([\w.-]+\.md)#([^)\s]+)\)', fix, md) for name, md in text.items()}


MATH = re.compile(r'\$\$(.+?)\$\$|(?<![\w$\\])\$([^$\n]+?)\$(?![\w$])', re.S)

def math(text: str) -> str:
    "LaTeX (`$...$`, `$$...$$`) in prose -> MathML, rendered by the browser itself: no script, no web font, no network."
    from latex2mathml.converter import convert
    def one(m):
        block = m.group(1) is not None
        tex = (m.group(1) if block else m.group(2)).strip()
        try: out = convert(tex, display='block' if block else 'inline')
        except Exception as e: raise ValueError(f"cannot convert the formula {tex!r} to MathML: {e}") from e
        return f'\n\n<div class="math" markdown="0">{out}</div>\n\n' if block else out
    parts = re.split(r'(```.*?```|`[^`\n]*`)', text, flags=re.S)     # leave code alone
    return ''.join(p if k % 2 else MATH.sub(one, p) for k, p in enumerate(parts))


CSS = """
.nb-output { overflow-x: auto; font-size: .72rem; margin: .6em 0 1.2em; }
.nb-output table { border-collapse: collapse; }
.nb-output th, .nb-output td { padding: .2em .6em; border-bottom: 1px solid var(--md-default-fg-color--lightest); text-align: right; }
.md-typeset img { max-width: 100%; height: auto; }
.math { overflow-x: auto; margin: 1em 0; }
.md-grid { max-width: 1440px; }
.md-typeset a.na-source { float: right; font-size: .7rem; }
.md-typeset a.na-zoom { cursor: zoom-in; }
"""


def config(cfg, nav: list, site_dir: Path) -> dict:
    return {
        'site_name': cfg.lib_name, 'site_description': cfg.description, 'docs_dir': 'src', 'site_dir': str(site_dir),
        'use_directory_urls': False, 'nav': nav, 'strict': True,
        'validation': {'links': {'not_found': 'warn', 'anchors': 'warn', 'absolute_links': 'ignore',
                                 'unrecognized_links': 'warn'}, 'nav': {'omitted_files': 'warn'}},
        'theme': {'name': 'material', 'font': False, 'palette': {'primary': 'indigo'},
                  'features': ['navigation.sections', 'navigation.top', 'navigation.tracking', 'search.highlight', 'content.code.copy',
                               'toc.follow']},
        'plugins': ['search', 'offline'],
        'markdown_extensions': ['admonition', 'pymdownx.details', 'attr_list', 'md_in_html', 'tables', 'footnotes',
                                {'toc': {'permalink': True}}, 'pymdownx.superfences',
                                {'pymdownx.highlight': {'use_pygments': True}}, 'pymdownx.inlinehilite'],
        'extra_css': ['extra.css'],
        'extra': {'polyfills': ['vendor/iframe-worker-shim.js']},   # else the offline plugin fetches it from unpkg.com
    }


def build(proc: Path, out: Path, work: Path):
    "Markdown pages + mkdocs.yml into `work`, then `mkdocs build` into `out`."
    cfg, site = get_config(), pages(proc)
    src = work/'src'; src.mkdir()
    page_of_nb = {p.name: md_name(p, fm) for p, fm in site}
    page_of_fm = {p.name: fm for p, fm in site}
    links, text = Links(cfg, page_of_nb), {}
    for p, fm in site:
        page = Page(p, fm, src, links)
        text[page.name] = page.markdown()
    nav = []                                     # the sidebar's sections as MkDocs nav sections, its texts as labels
    for section, items in sidebar(proc):
        entries = [{(t or str(page_of_fm[f].get('title', f)).split(':')[0]): page_of_nb[f]}
                   for f, t in items if f in page_of_nb]
        if section is None: nav += entries
        elif entries: nav.append({section: entries})
    for name, md in unlink_missing(text).items(): (src/name).write_text(md, encoding='utf-8')
    if (proc/'images').exists(): shutil.copytree(proc/'images', src/'images')
    (src/'extra.css').write_text(CSS)
    (src/'vendor').mkdir(); shutil.copy(Path(__file__).parent/'vendor'/'iframe-worker-shim.js', src/'vendor')
    (work/'mkdocs.yml').write_text(yaml.safe_dump(config(cfg, nav, out), sort_keys=False, allow_unicode=True))
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--quiet', '-f', str(work/'mkdocs.yml')],
                       capture_output=True, text=True)
    if r.returncode: sys.exit(f"mkdocs build failed (rc {r.returncode}); the Markdown is in {work}:\n{r.stderr[-4000:]}")
    (out/'404.html').unlink()   # Material's 404 page links by absolute paths from the host's root: useless off a server
    return len(site)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=None, help='output folder (default: doc_path of settings.ini, i.e. _docs)')
    ap.add_argument('--n_workers', type=int, default=2, help='processes for the notebook processing')
    ap.add_argument('--keep_src', default=None, help='also keep the generated Markdown and mkdocs.yml in this folder')
    a = ap.parse_args()
    cfg = get_config()
    out = Path(a.out) if a.out else cfg.doc_path
    t0 = time.perf_counter()
    try: proc = process(a.n_workers)
    except Exception as e:
        root = re.findall(r'^(\w+(?:Error|Exception): .*)$', str(e.__cause__ or ''), re.M)  # the error inside the worker
        sys.exit(f"nbdev could not process the notebooks for the docs ({type(e).__name__}: {e}){' -> ' + root[0] if root else ''}"
                 "\nnbdev_docs would fail the same "
                 "way. Note: during docs processing nbdev runs every cell that contains an import (and the export cells), "
                 "without the rest of the notebook: keep imports in the import cells at the top.")
    t1 = time.perf_counter()
    out = out.resolve(); out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='na-docs-'))
    tmp = out.parent/f'.{out.name}.building'
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        n = build(proc, tmp, work)
        if a.keep_src: shutil.rmtree(a.keep_src, ignore_errors=True); shutil.copytree(work, a.keep_src)
        if out.exists(): shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True); shutil.rmtree(work, ignore_errors=True)
    t2 = time.perf_counter()
    print(f"docs (MkDocs + Material, no Quarto): {n} pages in {out}: nbdev processing {t1-t0:.1f} s, "
          f"site {t2-t1:.1f} s, total {t2-t0:.1f} s")


if __name__ == '__main__': main()
