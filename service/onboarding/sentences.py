"""Other areas' changes on a trader's timeline, told as sentences ("Thêm tài khoản Vietcombank
•••• 4567", "Đăng sản phẩm Cá thu tươi 85.000 ₫"), never as field names or codes.

Pure: reads audit entries (`{field: [before, after]}`) oldest first, remembering what earlier
entries said about each account and product, since a later entry names only the id. Account
numbers are always shown as their last four digits; nothing personal beyond that is told.
Each sentence is a msgid and its parameters, translated when the page is drawn.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from service.i18n import N_
from service.money import format_vnd

Changes = Mapping[str, list[Any]]

PRODUCT_FIELDS = {"name", "price", "unit", "available", "image_id", "position"}
HOURS_PREFIX = "hours"
MERCHANT_ACTIONS = {
    "update": N_("Sửa hồ sơ: {fields}"),
    "delete": N_("Xóa hồ sơ tiểu thương"),
    "merge": N_("Gộp bản ghi trùng vào hồ sơ này"),
    "import": N_("Nhập hồ sơ từ tệp"),
    "erase": N_("Xóa dữ liệu cá nhân theo yêu cầu của chủ hộ"),
    "subject_export": N_("Xuất dữ liệu cho chủ hộ"),
}


class Sentence(msgspec.Struct, frozen=True):
    text: str  # msgid
    params: dict[str, str] = {}


class Entry(msgspec.Struct, frozen=True):
    entity_type: str
    action: str
    changes: dict[str, list[Any]]


def _after(changes: Changes, field: str) -> Any:
    pair = changes.get(field)
    return pair[1] if pair else None


def _before(changes: Changes, field: str) -> Any:
    pair = changes.get(field)
    return pair[0] if pair else None


def last_four(account: object) -> str:
    digits = str(account or "")
    return f"•••• {digits[-4:]}" if len(digits) >= 4 else ""


def tell(
    entries: Iterable[Entry],
    *,
    bank_name: Callable[[str], str],
    field_label: Callable[[str], str],
) -> list[list[Sentence]]:
    """The sentences for each entry (in the order given, which must be oldest first)."""
    accounts: dict[str, tuple[str, str]] = {}  # payment_account_id -> (bank, "•••• 4567")
    products: dict[str, dict[str, Any]] = {}  # product_id -> name, price, ...
    told = []
    for entry in entries:
        if entry.entity_type == "payment_account":
            told.append(_account(entry, accounts, bank_name))
        elif entry.entity_type == "storefront":
            told.append(_storefront(entry, products))
        elif entry.entity_type == "merchant":
            told.append(_merchant(entry, field_label))
        else:
            told.append([Sentence(N_("Thay đổi khác"))])
    return told


def _account(
    entry: Entry, accounts: dict[str, tuple[str, str]], bank_name: Callable[[str], str]
) -> list[Sentence]:
    changes = entry.changes
    account_id = str(_after(changes, "payment_account_id") or _before(changes, "payment_account_id"))
    if entry.action == "create":
        bin_ = _after(changes, "bank_bin")
        accounts[account_id] = (bank_name(str(bin_)) if bin_ else "", last_four(_after(changes, "account")))
    bank, digits = accounts.get(account_id, ("", ""))
    params = {"account": " ".join(p for p in (bank, digits) if p) or "—"}
    if entry.action == "create":
        return [Sentence(N_("Thêm tài khoản {account}"), params)]
    if entry.action == "delete":
        return [Sentence(N_("Gỡ tài khoản {account}"), params)]
    if entry.action == "print_poster":
        return [Sentence(N_("In biển QR cho tài khoản {account}"), params)]
    if "is_primary" in changes:
        if _after(changes, "is_primary"):
            return [Sentence(N_("Chọn tài khoản {account} làm tài khoản chính"), params)]
        return [Sentence(N_("Tài khoản {account} không còn là tài khoản chính"), params)]
    return [Sentence(N_("Sửa tài khoản {account}"), params)]


def _price(value: Any) -> str:
    return format_vnd(value) if isinstance(value, int) and not isinstance(value, bool) else str(value or "")


def _storefront(entry: Entry, products: dict[str, dict[str, Any]]) -> list[Sentence]:
    changes = entry.changes
    via_link = "via" in changes
    sentences = _storefront_sentences(entry, products)
    if via_link:
        sentences.append(Sentence(N_("(tiểu thương tự sửa qua liên kết)")))
    return sentences


def _storefront_sentences(entry: Entry, products: dict[str, dict[str, Any]]) -> list[Sentence]:
    changes = entry.changes
    product_id = _after(changes, "product_id") or _before(changes, "product_id")
    if product_id:
        known = products.setdefault(str(product_id), {})
        name = _after(changes, "name") or _before(changes, "name") or known.get("name") or "—"
        if entry.action == "create":
            known.update({f: _after(changes, f) for f in ("name", "price")})
            return [
                Sentence(
                    N_("Đăng sản phẩm {name} {price}"),
                    {"name": name, "price": _price(_after(changes, "price"))},
                )
            ]
        if entry.action == "delete":
            return [Sentence(N_("Xóa sản phẩm {name}"), {"name": name})]
        out = []
        if "name" in changes:
            old = _before(changes, "name") or known.get("name") or "—"
            out.append(Sentence(N_("Đổi tên sản phẩm {old} thành {new}"), {"old": old, "new": name}))
        if "price" in changes:
            out.append(
                Sentence(
                    N_("Đổi giá {name}: {old} → {new}"),
                    {
                        "name": name,
                        "old": _price(_before(changes, "price")),
                        "new": _price(_after(changes, "price")),
                    },
                )
            )
        if "available" in changes:
            text = N_("Báo {name} còn hàng") if _after(changes, "available") else N_("Báo {name} hết hàng")
            out.append(Sentence(text, {"name": name}))
        if "unit" in changes:
            out.append(Sentence(N_("Đổi đơn vị của {name}"), {"name": name}))
        if "image_id" in changes:
            text = (
                N_("Đổi ảnh sản phẩm {name}") if _after(changes, "image_id") else N_("Bỏ ảnh sản phẩm {name}")
            )
            out.append(Sentence(text, {"name": name}))
        if "position" in changes:
            out.append(Sentence(N_("Đổi thứ tự sản phẩm {name}"), {"name": name}))
        known["name"] = name
        if "price" in changes:
            known["price"] = _after(changes, "price")
        return out or [Sentence(N_("Sửa sản phẩm {name}"), {"name": name})]
    if "edit_link_id" in changes:
        if entry.action == "create":
            return [Sentence(N_("Tạo liên kết cho tiểu thương tự sửa gian hàng"))]
        return [Sentence(N_("Thu hồi liên kết tự sửa gian hàng"))]
    if entry.action == "create":
        return [Sentence(N_("Tạo gian hàng trực tuyến"))]
    out = []
    if "published" in changes:
        out.append(
            Sentence(N_("Công khai gian hàng") if _after(changes, "published") else N_("Ẩn gian hàng"))
        )
    if any(f.startswith(HOURS_PREFIX) for f in changes):
        out.append(Sentence(N_("Sửa giờ mở cửa")))
    if any(f.startswith("cover") for f in changes):
        out.append(Sentence(N_("Đổi ảnh bìa khi chia sẻ")))
    if "slug" in changes and entry.action != "create":
        out.append(Sentence(N_("Đổi địa chỉ trang gian hàng")))
    rest = [
        f
        for f in changes
        if f not in ("published", "slug", "via") and not f.startswith((HOURS_PREFIX, "cover"))
    ]
    if rest:
        out.append(Sentence(N_("Sửa thông tin gian hàng")))
    return out or [Sentence(N_("Sửa gian hàng"))]


def _merchant(entry: Entry, field_label: Callable[[str], str]) -> list[Sentence]:
    text = MERCHANT_ACTIONS.get(entry.action, N_("Thay đổi hồ sơ"))
    if "{fields}" in text:
        labels = [
            field_label(f) for f in sorted(entry.changes) if f not in ("version", "folded", "updated_at")
        ]
        return [Sentence(text, {"fields": ", ".join(labels) or "—"})]
    return [Sentence(text)]
