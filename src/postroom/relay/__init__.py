"""The SMTP relay: the sites' own applications hand Postroom their mail (see ``server``)."""
