"""Reports of a run. JSON (``to_json``) is the source of truth; JUnit XML, HTML and the console table render it."""

from .console import print_summary
from .html import render_html
from .json_report import SCHEMA_VERSION, summary, to_json
from .junit import render_junit

__all__ = ["SCHEMA_VERSION", "print_summary", "render_html", "render_junit", "summary", "to_json"]
