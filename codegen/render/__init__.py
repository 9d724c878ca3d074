"""The label renderer: a batch's codes as print-ready PDF sheets for a printing house.

* ``model``: what a template says (page, label grid, marks, slug, fields).
* ``templates``: template files in ``print_templates/`` read and checked for shape.
* ``geometry``: whether a template's labels fit its page and its codes are printable.
* ``labels``: what a label says (the values of ``{serial}``, ``{url}``, ...).
* ``fonts``: the CJK TrueType font, registered with reportlab and embedded as subsets.
* ``qr`` and ``gs1_128``: the codes as vector paths.
* ``layout``: drawing pages (labels, crop marks, slug).
* ``volumes``: a render run cut into PDF volumes drawn in parallel, and its
  ``render-manifest.json``; ``datafile``: the CSV for the printer's own software.
* ``cli``: ``zhenma batch render`` and ``zhenma templates``.

``docs/printing.md`` is the printing house's guide to what comes out.
"""
