"""nbdev processors for the docs (settings.ini `procs = docs_procs:fold_tests`; `.ci` is on PYTHONPATH in `.ci/docs`).

`fold_tests`: a code cell that is a test (fastcore's `test_*`, `assert`, `pd/np.testing`) or lies under a "Test fixtures"
heading gets `#| code-fold: true` and `#| code-summary: "Tests"`: Quarto folds it, `.ci/render_docs.py` renders it
as a collapsed block; the API entries read without test code between them."""
import re

TEST = re.compile(r'(?<![\w.])(test_(?:eq|ne|fail|close|is|warns|stdout|eq_type|shuffled|fig_exists|sig)\s*\(|assert\s|'
                  r'(?:pd|np)\.testing\.)')

class fold_tests:
    "Fold test cells (and the code under a 'Test fixtures' heading) behind a 'Tests' summary."
    def __init__(self, nb): self.nb, self.fixtures = nb, False
    def __call__(self, cell):
        if cell.cell_type == 'markdown':
            m = re.match(r'\s*(#+)\s+(.*)', cell.source)
            if m and len(m.group(1)) <= 2: self.fixtures = 'fixtures' in m.group(2).lower()
            return
        if cell.cell_type != 'code': return
        d = getattr(cell, 'directives_', {}) or {}
        if any(k.startswith('export') for k in d) or 'code-fold' in cell.source or 'show_doc(' in cell.source: return
        if self.fixtures or TEST.search(cell.source):
            label = 'Test fixtures' if self.fixtures else 'Tests'
            cell.source = f'#| code-fold: true\n#| code-summary: "{label}"\n{cell.source}'
