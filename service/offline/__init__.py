"""The tablet's offline kit: the service worker, the data a device keeps, the outbox page."""
