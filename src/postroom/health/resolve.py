"""Name lookups with a deadline (they live with the SMTP session; the SPF/DMARC check uses them)."""

from postroom.smtp.names import LookupTimeout, getaddrinfo, local_hostname

__all__ = ["LookupTimeout", "getaddrinfo", "local_hostname"]
