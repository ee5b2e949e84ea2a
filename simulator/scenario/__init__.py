"""Scenario files: documented Entra and LMS behaviours as executable checks (issue 6).

A scenario is YAML checked by ``schema.json`` (``loader``), run in-process
against the tenant model, the Graph mock, our SCIM LMS (or any SCIM server) and
the Graph-pull LMS (``environment``, ``steps``), checked by ``expectations``,
and reported as JSON, a console table, JUnit XML and HTML (``results``,
``reporters``). ``entrasim scenario`` (``cli``) and the pytest plugin
(``pytest_items``) both run them. See docs/scenarios.md.

Kept free of imports: the pytest plugin loads ``graph_server`` from here in
every test session.
"""
