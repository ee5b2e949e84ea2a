"""Reporters: each renders the JSON report (``results.report_dict``) in one format.

``text`` (failure details as plain lines, shared by the console, JUnit and
pytest), ``console`` (a rich table), ``junit`` (JUnit XML for CI) and ``html``
(one self-contained page). None of them sees anything but the report dict.
"""

from .console import print_report
from .html import render_html
from .junit import render_junit
from .text import failure_text

__all__ = ["failure_text", "print_report", "render_html", "render_junit"]
