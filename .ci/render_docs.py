"""Render the docs website without Quarto, for machines that do not have it (called by `.ci/docs`).

`nbdev_docs` does two things: it processes the notebooks into `_proc/` (frontmatter, `show_doc` for every exported
function and class, exported and hidden cells removed, ...) and then asks Quarto to render `_proc/` into `_docs/`.
Here the first step is nbdev's own code (`refresh_quarto_yml`, `nbdev_sidebar`, `proc_nbs`: what `nbdev_proc_nbs`
runs, minus its attempt to download Quarto), and the second is nbconvert's `HTMLExporter`: one HTML page per
processed notebook, in the sidebar's order, each with a navigation bar linking every page; `index.ipynb` becomes
`index.html`. The site is built in a temporary folder next to the output and moved into place at the end.

    python .ci/render_docs.py [--out _docs] [--n_workers 2]
"""
import argparse, html, os, re, shutil, sys, tempfile, time
from pathlib import Path

import nbformat, yaml
from nbconvert import HTMLExporter
from nbdev.config import get_config
from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
from nbdev.serve import proc_nbs


def process(n_workers: int) -> Path:
    "nbdev's docs preprocessing into `_proc/` (as `nbdev_proc_nbs`, without installing Quarto)."
    refresh_quarto_yml()
    nbdev_sidebar.__wrapped__()
    return proc_nbs(n_workers=n_workers)


def pages(proc: Path) -> list:
    "The notebooks of the site, in the sidebar's order (the index first)."
    side = yaml.safe_load((proc/'sidebar.yml').read_text())['website']['sidebar']['contents']
    flat = []
    def walk(items):
        for it in items:
            if isinstance(it, str): flat.append(it)
            elif isinstance(it, dict): walk(it.get('contents', []))
    walk(side)
    nbs = [proc/p for p in flat if p.endswith('.ipynb')]
    missing = [str(p) for p in nbs if not p.exists()]
    if missing: raise FileNotFoundError(f"processed notebooks missing from {proc}: {missing}")
    return sorted(nbs, key=lambda p: p.name != 'index.ipynb')


def html_name(nb: Path) -> str: return 'index.html' if nb.stem == 'index' else f'{nb.stem}.html'


def frontmatter(nb) -> dict:
    "The YAML frontmatter nbdev's processing put in the first raw cell (title, description), removed from `nb`."
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'raw' and c.source.startswith('---'):
            del nb.cells[i]
            return yaml.safe_load(c.source.strip().strip('-')) or {}
    return {}


def nav(all_pages: list, titles: dict, current: str) -> str:
    "A bar of links to every page, the current one in bold."
    bold = lambda p: ' style="font-weight:bold"' if html_name(p) == current else ''
    links = ' | '.join(f'<a href="{html_name(p)}"{bold(p)}>{html.escape(titles[p])}</a>' for p in all_pages)
    return f'<nav class="docs-nav" style="padding:0.6em 1em;border-bottom:1px solid #ccc">{links}</nav>'


def render(all_pages: list, out: Path):
    "One HTML page per processed notebook (title and description from the frontmatter, a nav bar on top)."
    exporter = HTMLExporter(template_name='lab')
    nbs = {p: nbformat.read(p, as_version=4) for p in all_pages}
    fms = {p: frontmatter(nb) for p, nb in nbs.items()}
    titles = {p: str(fms[p].get('title', p.stem)) for p in all_pages}
    for p, nb in nbs.items():
        head = f"# {titles[p]}" + (f"\n\n> {fms[p]['description']}" if fms[p].get('description') else '')
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(head))
        body, _ = exporter.from_notebook_node(nb, resources={'metadata': {'name': titles[p]}})
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav(all_pages, titles, html_name(p)), body, count=1)
        (out/html_name(p)).write_text(body, encoding='utf-8')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=None, help='output folder (default: doc_path of settings.ini, i.e. _docs)')
    ap.add_argument('--n_workers', type=int, default=2, help='processes for the notebook processing')
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
    all_pages = pages(proc)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f'.{out.name}.'))
    umask = os.umask(0); os.umask(umask); os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private (0700)
    try:
        render(all_pages, tmp)
        if out.exists(): shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True); raise
    t2 = time.perf_counter()
    print(f"docs (fallback, no Quarto): {len(all_pages)} pages in {out} -- processing {t1-t0:.1f} s, "
          f"rendering {t2-t1:.1f} s, total {t2-t0:.1f} s")


if __name__ == '__main__': main()
