import pytest

from service.payments import codes


def test_new_codes_are_eight_crockford_characters():
    made = {codes.new_code() for _ in range(2000)}
    assert len(made) == 2000  # 40 random bits: no collision expected in 2000 draws
    for code in made:
        assert len(code) == 8
        assert set(code) <= set(codes.ALPHABET)
        assert not set(code) & set("ILOU")


def test_every_symbol_is_used():
    assert set("".join(codes.new_code() for _ in range(500))) == set(codes.ALPHABET)


@pytest.mark.parametrize(
    "typed",
    ["7K3M-Q9TX", "7k3mq9tx", " 7K3M Q9TX ", "7K3M.Q9TX", "7k3m-q9tx"],
)
def test_typed_codes_normalize(typed):
    assert codes.normalize(typed) == "7K3MQ9TX"


def test_letters_people_confuse_with_digits_are_read_as_digits():
    assert codes.normalize("AB0L-IO1Z") == "AB01101Z"


@pytest.mark.parametrize("bad", ["", "7K3M", "7K3MQ9TXX", "7K3M-Q9TU", "ĐK3M-Q9TX", "<script>", "7" * 200])
def test_impossible_codes_are_none(bad):
    assert codes.normalize(bad) is None


def test_display_groups_in_fours_and_reads_back():
    code = codes.new_code()
    shown = codes.display(code)
    assert shown[4] == "-" and shown.replace("-", "") == code
    assert codes.normalize(shown) == code
