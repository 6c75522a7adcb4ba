"""What an upload may be and cost: the one place for the limits of photos and spreadsheets.

Each limit is checked before the work it bounds (the file's size before it is read, an image's
pixels from its header before any pixel is decoded, the size of every part of an XLSX before it is
parsed), and the message that refuses an upload names the limit that was actually exceeded.
"""

MB = 1024 * 1024

# Photos (product photos, QR photos).
IMAGE_MAX_BYTES = 10 * MB
IMAGE_MAX_PIXELS = 40_000_000
# Memory of the decoded pixels of a format that cannot be decoded at a reduced size (PNG, WebP, GIF,
# BMP): width × height × bytes per pixel. A 16 MP RGBA screenshot or a 21 MP RGB PNG fits; a 154 KB
# PNG of 6300×6300 RGBA zeros (160 MB once decoded) does not. JPEG photos are decoded reduced
# (libjpeg's 1/2, 1/4, 1/8 scales) or in grayscale, within the same order of memory.
IMAGE_MAX_DECODED_BYTES = 64_000_000

# Spreadsheets for bulk import (CSV, XLSX).
SHEET_MAX_BYTES = 20 * MB
SHEET_MAX_ROWS = 200_000  # rows with data
# The last spreadsheet row an XLSX may use: the data rows plus room for a title, a header and
# blank rows between. A sheet that claims or reaches further is refused before it is read through.
SHEET_MAX_ROW_NUMBER = SHEET_MAX_ROWS + 1_000
SHEET_MAX_COLUMNS = 100  # cells beyond this column are not read
# An XLSX is a zip of XML parts: each part's uncompressed size is bounded before any is parsed.
# A worksheet of 200,000 rows × 15 columns is ~150 MB of XML; it is read as a stream. The shared
# strings are held in memory whole. Styles, workbook and the rest are small in any real file.
XLSX_MAX_SHEET_BYTES = 256 * MB
XLSX_MAX_STRINGS_BYTES = 64 * MB
XLSX_MAX_OTHER_PART_BYTES = 16 * MB
XLSX_MAX_UNCOMPRESSED = 512 * MB  # all parts together
# Spreadsheet XML compresses 5 to 30 times; a part that expands more than this (over 1 MB) is
# padding made to expand (spaces, repeated tags), not a list of traders.
XLSX_MAX_RATIO = 200
XLSX_RATIO_FROM_BYTES = 1 * MB
