"""Tests of the SCIM LMS (simulator.lms.scim), black-box over HTTP."""
