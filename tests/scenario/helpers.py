"""Small scenario texts for the runner's tests, written to a temporary directory."""

from __future__ import annotations

from pathlib import Path

PASSING = """\
scenario: one-learner
description: One assigned learner is created in the LMS.
tenant:
  users:
    - {upn: ann@contoso.com, givenName: Ann, surname: Lee, mail: ann@contoso.com, assigned: true}
job:
  preset: customappsso
steps:
  - cycle: {}
    expect:
      - cycle: {state: Succeeded}
      - lms_user: {userName: ann@contoso.com, attributes: {active: true, name.givenName: Ann}}
"""

#: Written to fail at step 2: the LMS holds "Ann", the scenario expects "Anna".
FAILING = """\
scenario: expects-the-wrong-name
tenant:
  users:
    - {upn: ann@contoso.com, givenName: Ann, surname: Lee, mail: ann@contoso.com, assigned: true}
job:
  preset: customappsso
steps:
  - cycle: {}
  - name: check the name
    expect:
      - lms_count: {users: 1}
      - lms_user: {userName: ann@contoso.com, attributes: {name.givenName: Anna}}
  - cycle: {}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
