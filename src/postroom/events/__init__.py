"""Provider webhooks: signed endpoints under /events/<provider>/ that tell what happened after
the 250 (delivered, deferred, bounced, complained) for each recipient."""
