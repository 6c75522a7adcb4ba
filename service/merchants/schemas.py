import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from service.audit import AuditOut
from service.i18n import N_
from service.merchants.spreadsheet import CATEGORIES, CONSENT_PURPOSES, KINDS

KIND_NAMES = {
    "street_vendor": N_("Bán hàng rong"),
    "market_stall": N_("Sạp chợ"),
    "household_business": N_("Hộ kinh doanh"),
    "micro_enterprise": N_("Doanh nghiệp siêu nhỏ"),
    "cooperative": N_("Hợp tác xã"),
}
CATEGORY_NAMES = {
    "food_drink": N_("ăn uống"),
    "fresh_produce": N_("nông sản tươi sống"),
    "groceries": N_("tạp hóa"),
    "clothing_textiles": N_("quần áo và vải vóc"),
    "household_goods": N_("đồ gia dụng"),
    "services": N_("dịch vụ"),
    "crafts_ocop": N_("thủ công mỹ nghệ và OCOP"),
    "other": N_("khác"),
}
CONSENT_NAMES = {
    "storefront": N_("Đăng thông tin gian hàng công khai"),
    "contact": N_("Được tổ công nghệ số liên hệ hỗ trợ"),
    "statistics": N_("Dùng cho thống kê chuyển đổi số"),
}
# The steps of the digital value chain a merchant's `current_stage` names, in order. The merchant
# record carries the code; the rules over the stages are onboarding's (onboarding/stages.py).
STAGE_NAMES = {
    "registered": N_("Đã đăng ký"),
    "identity": N_("Định danh điện tử"),
    "bank_account": N_("Có tài khoản nhận tiền"),
    "qr_issued": N_("Đã có mã QR"),
    "qr_active": N_("Dùng QR thường xuyên"),
    "listed": N_("Có gian hàng trực tuyến"),
    "ecommerce": N_("Bán trên sàn, mạng xã hội"),
    "digital_ops": N_("Vận hành số"),
}
assert set(KIND_NAMES) == set(KINDS) and set(CATEGORY_NAMES) == set(CATEGORIES)
assert set(CONSENT_NAMES) == set(CONSENT_PURPOSES)

_doc = Meta  # field documentation for the OpenAPI schema

# Input fields are loosely typed on purpose: the service checks every field and reports every
# problem at once (msgspec would stop at the first). Types that cannot be read at all (a list
# where a string belongs) are still refused by msgspec with a 422.
_Kind = Annotated[str | None, _doc(description="One of: " + ", ".join(KINDS))]
_Category = Annotated[str | None, _doc(description="One of: " + ", ".join(CATEGORIES))]
_Purposes = Annotated[list[str] | None, _doc(description="Non-empty, from: " + ", ".join(CONSENT_PURPOSES))]


class MerchantIn(Struct, kw_only=True, forbid_unknown_fields=True):
    """Registration. Required: kind, business_name, category, owner_name, owner_phone,
    commune_code, consent_purposes; team_id defaults to the caller's team."""

    id: Annotated[uuid.UUID | None, _doc(description="Client-generated id; a retry with it replays")] = None
    kind: _Kind = None
    business_name: str | None = None
    category: _Category = None
    owner_name: str | None = None
    owner_phone: str | None = None
    owner_id_number: str | None = None
    tax_code: str | None = None
    commune_code: str | None = None
    village_id: Annotated[str | None, _doc(description="UUID of a village of the commune")] = None
    market: str | None = None
    stall: str | None = None
    lat: float | str | None = None
    lon: float | str | None = None
    team_id: Annotated[str | None, _doc(description="UUID; defaults to the caller's team")] = None
    notes: str | None = None
    consent_purposes: _Purposes = None
    not_duplicate_of: list[uuid.UUID] = []
    registered_at: Annotated[
        datetime | None,
        _doc(
            description="When the trader was registered (and consented) on the tablet, for a "
            "registration sent later from an offline tablet; at most 60 days ago. Default: now."
        ),
    ] = None


class MerchantPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    """An edit: `version` as last read, and only the fields that change (null clears an optional one)."""

    version: int
    kind: str | UnsetType = UNSET
    business_name: str | UnsetType = UNSET
    category: str | UnsetType = UNSET
    owner_name: str | UnsetType = UNSET
    owner_phone: str | UnsetType = UNSET
    owner_id_number: str | UnsetType | None = UNSET
    tax_code: str | UnsetType | None = UNSET
    commune_code: str | UnsetType = UNSET
    village_id: str | UnsetType | None = UNSET
    market: str | UnsetType | None = UNSET
    stall: str | UnsetType | None = UNSET
    lat: float | str | UnsetType | None = UNSET
    lon: float | str | UnsetType | None = UNSET
    team_id: str | UnsetType = UNSET
    notes: str | UnsetType | None = UNSET
    consent_purposes: list[str] | UnsetType = UNSET
    not_duplicate_of: list[uuid.UUID] = []

    def changes(self) -> dict[str, Any]:
        skip = {"version", "not_duplicate_of"}
        return {
            f: getattr(self, f)
            for f in self.__struct_fields__
            if f not in skip and getattr(self, f) is not UNSET
        }


class MerchantOut(Struct, kw_only=True):
    id: uuid.UUID
    version: int
    kind: str
    business_name: str
    category: str
    owner_name: str
    owner_phone: Annotated[
        str, _doc(description="E.164, or masked (•••• 5678) for roles that may not see it")
    ]
    owner_id_number: str | None
    tax_code: str | None
    province_code: str
    commune_code: str
    village_id: uuid.UUID | None
    market: str | None
    stall: str | None
    lat: float | None
    lon: float | None
    team_id: uuid.UUID
    notes: str | None
    consent_purposes: list[str]
    consent_at: datetime
    consent_by_id: uuid.UUID
    current_stage: str
    stage_reached_at: datetime
    last_visit_at: datetime | None
    next_follow_up: date | None
    created_at: datetime
    updated_at: datetime
    created_by_id: uuid.UUID
    masked: Annotated[list[str], _doc(description="Fields masked for this reader")]


class MerchantPage(Struct):
    items: list[MerchantOut]
    total: int
    next_cursor: str | None


class Duplicate(Struct):
    """What a caller may learn about a possible duplicate, wherever it is: no personal data."""

    id: uuid.UUID
    business_name: str
    commune_code: str
    reason: Literal["owner_phone", "tax_code", "owner_id_number", "business_name"]


class DuplicateView(Struct, kw_only=True):
    """A possible duplicate as the registration page shows it: enough to tell the same trader from
    another, with the owner's name masked for a record outside the reader's scope."""

    id: uuid.UUID
    business_name: str
    commune_name: str
    reason: str  # a msgid, see DUPLICATE_REASONS
    owner_name: str
    market: str | None
    stall: str | None
    registered_at: datetime
    registered_by: str  # who registered it (a person in scope, else their team)
    linked: bool  # the reader may open the record


DUPLICATE_REASONS = {
    "owner_phone": N_("trùng số điện thoại"),
    "tax_code": N_("trùng mã số thuế"),
    "owner_id_number": N_("trùng số căn cước"),
    "business_name": N_("tên gần giống, cùng xã"),
}


class DuplicatesOut(Struct):
    detail: str
    duplicates: list[Duplicate]


class ConflictOut(Struct):
    detail: str
    current: MerchantOut


class MerchantFilters(Struct, kw_only=True, frozen=True):
    q: str = ""
    province_code: str | None = None
    commune_code: str | None = None
    village_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    kind: str | None = None
    category: str | None = None
    stage: str | None = None
    sort: Literal["recent", "name"] = "recent"


class MerchantDetail(Struct, kw_only=True):
    """The merchant page: the masked merchant, names for its codes, and the audit when allowed."""

    merchant: MerchantOut
    owner_phone_display: str  # 0912 345 678, or •••• 5678
    province_name: str
    commune_name: str
    village_name: str | None
    team_name: str
    consent_by_name: str | None
    created_by_name: str | None
    audit: list[AuditOut] | None
    can_edit: bool
    can_delete: bool
    can_merge: bool = False
    can_erase: bool = False
    erased: bool = False


class MergeIn(Struct, kw_only=True, forbid_unknown_fields=True):
    """Merge `duplicate_id` into the record of the path, which survives with its own values."""

    duplicate_id: uuid.UUID
    version: Annotated[int | None, _doc(description="The survivor's version as last read")] = None
    duplicate_version: int | None = None


class MergeOut(Struct, kw_only=True):
    survivor: MerchantOut
    merged_id: uuid.UUID
    moved: Annotated[dict[str, int], _doc(description="table.column: rows re-pointed to the survivor")]
    left_behind: Annotated[dict[str, int], _doc(description="table.column: rows left with the tombstone")]


class MergedOut(Struct, kw_only=True):
    """Answer for the id of a merged record: GET gets 301 to the survivor with this body, writes 409."""

    status_code: int
    detail: str
    merged_into_id: uuid.UUID


class SubjectIn(Struct, kw_only=True, forbid_unknown_fields=True):
    """Whose data: the owner's phone or CCCD (in the body, never in a URL)."""

    phone: Annotated[str, Meta(max_length=32)] | None = None
    id_number: Annotated[str, Meta(max_length=32)] | None = None


class ErasureIn(Struct, kw_only=True, forbid_unknown_fields=True):
    version: int | None = None


def to_json(value: object) -> bytes:
    return msgspec.json.encode(value)


FIELD_LABELS = {
    "kind": N_("Loại hình"),
    "business_name": N_("Tên cơ sở kinh doanh"),
    "category": N_("Ngành hàng"),
    "owner_name": N_("Họ tên chủ hộ"),
    "owner_phone": N_("Số điện thoại di động"),
    "owner_id_number": N_("Số CCCD (không bắt buộc)"),
    "tax_code": N_("Mã số thuế (không bắt buộc)"),
    "province_code": N_("Tỉnh/thành phố"),
    "commune_code": N_("Xã/phường"),
    "village_id": N_("Thôn/tổ dân phố"),
    "market": N_("Chợ"),
    "stall": N_("Số sạp/quầy"),
    "lat": N_("Vĩ độ"),
    "lon": N_("Kinh độ"),
    "team_id": N_("Tổ phụ trách"),
    "notes": N_("Ghi chú"),
    "consent_purposes": N_("Người bán đồng ý cho"),
    "deleted_at": N_("Đã xóa lúc"),
    "merged_from": N_("Gộp từ bản ghi"),
    "merged_into_id": N_("Đã gộp vào bản ghi"),
    "moved": N_("Dữ liệu đã chuyển"),
    "left_behind": N_("Dữ liệu ở lại bản ghi cũ"),
    "source": N_("Nguồn"),
    "erased": N_("Trường đã xóa"),
}
# The format each identifier takes, shown under its label before anything is typed.
FIELD_HINTS = {
    "owner_phone": N_("10 chữ số, bắt đầu bằng 0, ví dụ 0912 345 678."),
    "owner_id_number": N_("12 chữ số trên thẻ căn cước."),
    "tax_code": N_("10 hoặc 13 chữ số; hộ kinh doanh có thể dùng số căn cước 12 chữ số."),
}
AUDIT_ACTIONS = {
    "create": N_("Tạo mới"),
    "update": N_("Sửa"),
    "delete": N_("Xóa"),
    "merge": N_("Gộp bản ghi"),
    "import": N_("Nhập từ tệp"),
    "erase": N_("Đã xóa dữ liệu cá nhân"),
    "subject_export": N_("Xuất dữ liệu cho chủ hộ"),
}
