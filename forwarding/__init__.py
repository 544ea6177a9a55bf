"""forwarding: an intercom panel's call-forward rules, served with the HTTP API of BAS-IP panels."""

__version__ = "1.2.0"
