from service.accounts import codes


def test_codes_are_eight_unambiguous_characters_shown_in_two_groups():
    code = codes.new_code()
    assert len(code) == 8 and set(code) <= set(codes.ALPHABET)
    assert not set("ILOU") & set(code)
    assert codes.display("7K3MQ9TX") == "7K3M-Q9TX"


def test_reading_a_code_forgives_case_separators_and_look_alike_letters():
    assert codes.normalize(" 7k3m-q9tx ") == "7K3MQ9TX"
    assert codes.normalize("7K3M Q9TX") == "7K3MQ9TX"
    assert codes.normalize("OI3M-Q9TL") == "013MQ9T1"
    assert codes.normalize("7K3M-Q9T") is None
    assert codes.normalize("7K3M-Q9TU") is None
    assert codes.normalize("x" * 100) is None
