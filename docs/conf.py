# Sphinx configuration: the hand-written guide pages (Markdown) and an API
# reference generated from the docstrings, so no signature can drift from
# its page. Built by .ci/run with warnings as errors:
#     python -m sphinx -W --keep-going -b html docs docs/_build/html
project = 'torch_geometric_negsamp'
author = 'torch_geometric_negsamp contributors'
extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
]
source_suffix = {'.md': 'markdown', '.rst': 'restructuredtext'}
root_doc = 'index'
exclude_patterns = ['_build']
myst_heading_anchors = 3
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = 'bysource'
autodoc_typehints = 'none'
autodoc_default_options = {'members': True, 'show-inheritance': True}
html_theme = 'alabaster'
nitpicky = False
napoleon_use_ivar = True
