import xml.etree.ElementTree as ET

from service.reports.charts import bar_chart, funnel, trend

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))


def test_bar_chart_is_an_accessible_image_stating_every_number() -> None:
    root = _parse(bar_chart([("Phú Xuân", 1234), ("Kim Long", 56)], title="Tiểu thương theo xã"))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Tiểu thương theo xã"
    assert root.find(f"{SVG}desc").text == "Phú Xuân: 1.234; Kim Long: 56"
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] > widths[1] > 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "1.234" in texts and "56" in texts


def test_labels_are_escaped() -> None:
    root = _parse(bar_chart([("<script>alert(1)</script>", 3)], title="a & b"))
    assert root.find(f"{SVG}title").text == "a & b"
    assert "<script>alert(1)</script>" in [t.text for t in root.iter(f"{SVG}text")]


def test_funnel_prints_counts_and_shares() -> None:
    root = _parse(funnel([("Đã đăng ký", 200), ("Đã có mã QR", 50)], total=200, title="Phễu"))
    assert root.find(f"{SVG}desc").text == "Đã đăng ký: 200 (100%); Đã có mã QR: 50 (25%)"
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 4 * widths[1]


def test_trend_marks_each_month() -> None:
    points = [("01/2026", 3), ("02/2026", 10), ("03/2026", 0)]
    root = _parse(trend(points, title="Tiểu thương mới theo tháng"))
    assert len(list(root.iter(f"{SVG}circle"))) == 3
    assert root.find(f"{SVG}desc").text == "01/2026: 3; 02/2026: 10; 03/2026: 0"


def test_empty_charts_still_render() -> None:
    for svg in (bar_chart([], title="x"), funnel([], total=0, title="x"), trend([], title="x")):
        assert _parse(svg).get("role") == "img"
