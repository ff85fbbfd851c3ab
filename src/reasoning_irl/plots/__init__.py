"""YAML plot specs → figures (PNG, PDF), tables (Markdown, LaTeX) and a self-contained HTML report.

Entry points: ``python -m reasoning_irl.plots.main`` and ``python -m reasoning_irl.plots.transfer``;
from code, :func:`reasoning_irl.plots.main.render`. The spec format is in docs/PLOTS.md.
"""
