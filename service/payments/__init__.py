"""Payments: VietQR codec, bank directory, QR rendering and stall posters."""
