"""Write README.md from nbs/index.ipynb (`make readme`), or check that it is current (`--check`, run by `make test`).

nbdev's own `nbdev_readme` renders the index with Quarto, which cannot be installed on these machines; this is the
same conversion without it, and the same everywhere, so the drift check is deterministic: markdown cells as they are
(image paths made relative to the repository root), code cells that are not `#| hide` as ```python blocks, no outputs.

    python .ci/readme.py [--check]
"""
import re, sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parent.parent


def render(nb_path: Path = ROOT/'nbs'/'index.ipynb') -> str:
    "The README text of the index notebook."
    out = ['<!-- generated from nbs/index.ipynb by .ci/readme.py (`make readme`); edit the notebook, not this file -->']
    for c in nbformat.read(nb_path, as_version=4).cells:
        src = c.source.strip()
        if c.cell_type == 'markdown': out.append(re.sub(r'\]\(((?:images/[^)]+)|(?:[\w-]+\.ipynb(?:#[^)]*)?))\)', r'](nbs/\1)', src))   # paths from the repo root
        elif c.cell_type == 'code' and not re.match(r'#\s*\|\s*hide', src): out.append(f'```python\n{src}\n```')
    return '\n\n'.join(out) + '\n'


def main(check: bool) -> int:
    new, path = render(), ROOT/'README.md'
    if not check: path.write_text(new); return 0
    if path.exists() and path.read_text() == new: return 0
    print("README.md is not what nbs/index.ipynb generates: edit the notebook, run `make readme`, commit both.", file=sys.stderr)
    return 1


if __name__ == '__main__': sys.exit(main('--check' in sys.argv[1:]))
