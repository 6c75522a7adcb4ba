"""Other areas' changes told as sentences on the timeline, never as field names or codes."""

from service.onboarding.sentences import Entry, Sentence, last_four, tell

BANKS = {"970436": "Vietcombank", "970405": "Agribank"}


def told(*entries: Entry) -> list[list[Sentence]]:
    return tell(entries, bank_name=lambda b: BANKS.get(b, b), field_label=lambda f: f"<{f}>")


def said(sentences: list[Sentence]) -> str:
    return ". ".join(s.text.format(**s.params) for s in sentences)


def test_an_account_is_named_by_its_bank_and_last_four_digits_even_after_it_is_removed():
    account = {
        "payment_account_id": [None, "a1"],
        "bank_bin": [None, "970436"],
        "account": [None, "0011004567"],
    }
    result = told(
        Entry("payment_account", "create", account),
        Entry("payment_account", "update", {"payment_account_id": ["a1", "a1"], "is_primary": [False, True]}),
        Entry(
            "payment_account",
            "print_poster",
            {"payment_account_id": ["a1", "a1"], "poster_code": [None, "X"]},
        ),
        Entry("payment_account", "delete", {"payment_account_id": ["a1", "a1"], "removed_at": [None, "t"]}),
    )
    assert [said(r) for r in result] == [
        "Thêm tài khoản Vietcombank •••• 4567",
        "Chọn tài khoản Vietcombank •••• 4567 làm tài khoản chính",
        "In biển QR cho tài khoản Vietcombank •••• 4567",
        "Gỡ tài khoản Vietcombank •••• 4567",
    ]
    assert "0011004567" not in repr(result)


def test_a_product_is_named_and_priced_and_later_changes_say_what_changed():
    result = told(
        Entry("storefront", "create", {"slug": [None, "ca-thu"]}),
        Entry(
            "storefront",
            "create",
            {
                "product_id": [None, "p1"],
                "name": [None, "Cá thu tươi"],
                "price": [None, 85000],
                "available": [None, True],
            },
        ),
        Entry(
            "storefront",
            "update",
            {
                "product_id": ["p1", "p1"],
                "price": [85000, 90000],
                "available": [True, False],
                "via": [None, "link"],
            },
        ),
        Entry("storefront", "update", {"published": [False, True]}),
        Entry("storefront", "update", {"hours_mon": [None, "06:00-10:00"], "headline": ["", "Cá tươi"]}),
        Entry("storefront", "delete", {"product_id": ["p1", None], "name": ["Cá thu tươi", None]}),
    )
    assert [said(r) for r in result] == [
        "Tạo gian hàng trực tuyến",
        "Đăng sản phẩm Cá thu tươi 85.000\u00a0₫",
        "Đổi giá Cá thu tươi: 85.000\u00a0₫ → 90.000\u00a0₫. Báo Cá thu tươi hết hàng. "
        "(tiểu thương tự sửa qua liên kết)",
        "Công khai gian hàng",
        "Sửa giờ mở cửa. Sửa thông tin gian hàng",
        "Xóa sản phẩm Cá thu tươi",
    ]


def test_a_profile_change_names_its_fields_in_words():
    (result,) = told(Entry("merchant", "update", {"owner_name": ["A", "B"], "version": [1, 2]}))
    assert said(result) == "Sửa hồ sơ: <owner_name>"


def test_last_four_shows_only_the_end_of_a_number():
    assert last_four("0011004567") == "•••• 4567"
    assert last_four(None) == "" and last_four("12") == ""
