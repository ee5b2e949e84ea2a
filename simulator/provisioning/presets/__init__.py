"""Job files ``entrasim provision init`` starts from: ``customappsso`` and ``email-keyed``.

A package (rather than a plain folder) so that the YAML files ship with the
distribution as package data.
"""
