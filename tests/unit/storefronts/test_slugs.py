from service.storefronts.slugs import MAX_LENGTH, base_slug, unique_slug


def test_slug_is_the_folded_name_and_place() -> None:
    assert base_slug("Bún bò Cô Ba", "Chợ Đông Ba") == "bun-bo-co-ba-cho-dong-ba"


def test_a_place_already_in_the_name_is_not_repeated_and_punctuation_goes() -> None:
    assert base_slug("Bún bò – chợ Đông Ba!", "Chợ Đông Ba", "Phú Xuân") == "bun-bo-cho-dong-ba-phu-xuan"


def test_nfc_and_nfd_give_the_same_slug() -> None:
    import unicodedata

    name = "Cửa hàng Bà Tư"
    assert base_slug(unicodedata.normalize("NFD", name)) == base_slug(name) == "cua-hang-ba-tu"


def test_long_names_are_cut_at_a_word_boundary() -> None:
    slug = base_slug("Bánh " * 10 + "ngọt thượng hạng Hương Giang đặc sản cố đô " * 3, "Chợ Bến Ngự")
    assert len(slug) <= MAX_LENGTH
    assert not slug.endswith("-")


def test_empty_names_still_get_an_address() -> None:
    assert base_slug("!!!", None) == "gian-hang"


def test_taken_slugs_get_a_number() -> None:
    taken = {"bun-bo", "bun-bo-2"}
    assert unique_slug("bun-bo", taken.__contains__) == "bun-bo-3"
    assert unique_slug("pho", taken.__contains__) == "pho"
