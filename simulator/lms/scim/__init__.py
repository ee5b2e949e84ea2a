"""The mock LMS's push side: a SCIM 2.0 server (RFC 7643/7644) with vendor-behaviour profiles.

Entra provisions into it, the conformance suite is proven on it, and QA points
scenarios at it. The model (``model.ScimStore``) is plain Python; the Flask app
(``app.create_app``) only translates HTTP; profiles (``profiles``) decide how
strictly the server reads what a client sends.
"""

from .app import create_app
from .config import LmsConfig
from .model import ScimStore
from .profiles import Profile, load_profile

__all__ = ["create_app", "LmsConfig", "ScimStore", "Profile", "load_profile"]
