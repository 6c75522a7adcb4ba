import json
import re
from importlib import resources

import pytest

from service.payments import banks
from service.payments.banks import all_banks, by_bin, by_short_name


def raw_file() -> dict:
    return json.loads(resources.files("service.payments").joinpath("data/napas_banks.json").read_text())


def test_directory_holds_66_banks():
    assert len(all_banks()) == 66


def test_file_invariants_hold():
    # What a refresh of the data file must keep true (see service/payments/data/README.md).
    raw = raw_file()
    bins = [bank["bin"] for bank in raw["banks"]]
    assert raw["count"] == len(bins)
    assert len(set(bins)) == len(bins)
    assert all(re.fullmatch(r"[0-9]{6}", b) for b in bins)
    assert {bank["vietqr_status"] for bank in raw["banks"]} <= {
        "transfer_supported",
        "receive_only",
        "not_in_vietqr_list",
    }
    assert (
        sum(bank["vietqr_status"] != "not_in_vietqr_list" for bank in raw["banks"])
        == raw["count_in_vietqr_list"]
    )


def test_directory_is_loaded_lazily_and_once():
    banks._directory.cache_clear()
    assert banks._directory.cache_info().currsize == 0
    first = all_banks()
    assert all_banks() is first
    assert banks._directory.cache_info().misses == 1


def test_970436_is_vietcombank():
    bank = by_bin("970436")
    assert bank is not None
    assert bank.short_name == "Vietcombank"
    assert bank.full_name == "Ngân hàng TMCP Ngoại Thương Việt Nam"
    assert bank.swift == "BFTVVNVX"
    assert bank.receives_transfers and bank.app_pays_vietqr


def test_unknown_bin_is_none():
    assert by_bin("123456") is None


@pytest.mark.parametrize(
    "name", ["vietcombank", "Vietcombank", "VCB", "vcb", "Ngân hàng TMCP Ngoại thương Việt Nam"]
)
def test_vietcombank_is_found_by_name_or_code(name):
    assert by_short_name(name).bin == "970436"


@pytest.mark.parametrize(
    ("name", "bin"),
    [
        ("LienVietPostBank", "970449"),
        ("lienvietpostbank", "970449"),
        ("Ngân hàng TMCP Bưu Điện Liên Việt", "970449"),
        ("ngan hang tmcp buu dien lien viet", "970449"),
        ("DongA Bank", "970406"),
        ("Ocean Bank", "970414"),
        ("OceanBank", "970414"),
    ],
)
def test_rebranded_banks_are_found_by_former_name(name, bin):
    assert by_short_name(name).bin == bin


def test_970449_is_lpbank_with_its_former_name_kept():
    bank = by_bin("970449")
    assert bank.short_name == "LPBank"
    assert bank.former_names == ("LienVietPostBank (Ngân hàng TMCP Bưu Điện Liên Việt)",)


@pytest.mark.parametrize(("name", "bin"), [("MB Bank", "970422"), ("MBBank", "970422"), ("mb", "970422")])
def test_spacing_and_case_do_not_matter(name, bin):
    assert by_short_name(name).bin == bin


def test_napas_code_finds_its_bank():
    assert by_short_name("ICB").bin == "970415"  # VietinBank's NAPAS code
    assert by_short_name("SGICB").bin == "970400"


def test_a_short_name_beats_another_banks_napas_code():
    # "BVB" is BVBank's VietQR code and BaoViet Bank's NAPAS code: the VietQR code wins.
    assert by_short_name("BVB").bin == "970454"


def test_colliding_names_prefer_the_bin_that_receives_vietqr():
    # "CIMB Bank" (VietQR, 422589) and "CIMBBank" (SBV card BIN 970459) fold to the same key.
    assert by_short_name("CIMB").bin == "422589"
    assert by_short_name("CIMBBank").bin == "422589"


@pytest.mark.parametrize("name", ["", "   ", "no such bank", "Vietcom"])
def test_unknown_name_is_none(name):
    assert by_short_name(name) is None


def test_receive_only_banks_receive_but_their_apps_do_not_pay():
    hsbc = by_bin("458761")
    assert hsbc.vietqr_status == "receive_only"
    assert hsbc.receives_transfers
    assert not hsbc.app_pays_vietqr


def test_banks_outside_the_vietqr_list_cannot_receive():
    outside = [bank for bank in all_banks() if not bank.receives_transfers]
    assert {bank.bin for bank in outside} == {
        "970459",
        "970460",
        "970464",
        "970465",
        "970466",
        "970467",
        "970468",
        "970470",
    }
    assert all(bank.vietqr_status == "not_in_vietqr_list" and not bank.app_pays_vietqr for bank in outside)


def test_status_counts_match_the_source():
    statuses = [bank.vietqr_status for bank in all_banks()]
    assert statuses.count("transfer_supported") == 41
    assert statuses.count("receive_only") == 17
    assert statuses.count("not_in_vietqr_list") == 8


def test_bins_outside_9704_are_real_participants():
    for bin in (
        "963388",
        "546034",
        "546035",
        "422589",
        "458761",
        "796500",
        "668888",
        "801011",
        "963369",
        "971025",
    ):
        assert by_bin(bin).receives_transfers, bin


def test_wallet_bin_for_momo_and_zalopay_accounts_is_bvbank():
    assert by_bin("970454").short_name == "BVBank"
