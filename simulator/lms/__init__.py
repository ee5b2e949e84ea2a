"""Mock LMSs: the SCIM push target (scim) and, alongside, the Graph-pull importer."""
