"""What a tablet needs to keep working without a connection.

- `/sw.js`: the service worker, served from the site root so that it controls the staff pages.
- `POST /device/token`: a bearer token for the signed-in page session; the outbox sends with it
  (the API refuses the session cookie for writes, which carry no CSRF token).
- `GET /api/v1/device/data`: the reference lists and the team's traders, for search and forms on
  the device; scoped like every list, without ID numbers, phones only where the role sees them.
- `/outbox`: the list of what waits on the device (drawn by the page's script from IndexedDB).
- `/offline/forms/…`: the visit, stage, payment account and QR photo forms without a trader, which the
  service worker shows for a trader the tablet has not opened online (one registered offline).
"""
