"""The Entra-style provisioning engine: what Entra's provisioning service does to a SCIM endpoint.

This package holds the parts a provisioning job is made of, each in its own module
so that the cycle engine, the SCIM client and the sources plug into them:

- ``expressions``: Entra's attribute-mapping expression language (parser, function
  set with its documented quirks, evaluator with injected randomness and clock);
- ``attributes``: Entra's source attribute vocabulary (``[mail]``, ``[manager]``,
  ``[IsSoftDeleted]``...) read from the tenant model's users and groups;
- ``mappings``: attribute and object mappings, target SCIM paths, matching
  precedence, and the computation of one object's target values;
- ``scoping``: scoping filters (clauses ANDed, filters ORed) and assignment scope;
- ``job``: the provisioning job file (YAML, JSON Schema, errors with line numbers)
  and its presets; ``cli``: ``entrasim provision init | validate``.
"""
