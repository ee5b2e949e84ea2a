"""Every check explains itself the way a report needs: unique id, title, RFC or client reference, level, requirement."""

from __future__ import annotations

import re

from conformance.registry import PROFILES, Level, all_checks, select

SECTION = re.compile(r"^(RFC \d{4} §\d+(\.\d+)*|Entra provisioning)")


def test_every_check_is_fully_described():
    checks = all_checks()
    assert len({c.id for c in checks}) == len(checks)
    for c in checks:
        assert SECTION.match(c.section), (c.id, c.section)
        assert isinstance(c.level, Level) and c.title and len(c.requirement) > 20, c.id
        assert set(c.profiles) <= set(PROFILES), c.id
        assert c.id.split(".")[0].replace("-", "_") in (c.area, c.area.replace("_", "-")), (c.id, c.area)


def test_selection_by_profile_and_pattern():
    rfc, entra = select(("rfc",)), select(("entra",))
    assert len(rfc) >= 160 and len(entra) >= 25
    # The profiles share only the grading of every response against its JSON Schema.
    assert {c.id for c in rfc} & {c.id for c in entra} == {"responses.json-schemas"}
    assert [c.id for c in select(("rfc",), ("patch.atomic",))] == ["patch.atomic"]
    both = {c.id for c in select(("rfc", "entra"), ("sorting.asc* or entra.test-connection",))}
    assert both == {"sorting.ascending", "entra.test-connection", "entra.test-connection-group"}
    assert all(not c.id.startswith("patch.group") for c in select(("rfc",), ("patch and not group",)))
