"""entrasim: Microsoft Entra ID, Graph and the provisioning service on one machine, deterministically."""

__version__ = "0.1.0"
