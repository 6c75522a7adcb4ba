import pytest

from service.payments.images import cache_control, not_modified

TAG = '"0123456789abcdef0123456789abcdef"'


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        (TAG, True),
        (f"W/{TAG}", True),
        (f'"a", {TAG}', True),
        ("*", True),
        ('"other"', False),
        (TAG[1:-1], False),  # unquoted is not the same tag
    ],
)
def test_if_none_match_uses_weak_comparison(header, matches):
    assert not_modified(header, TAG) is matches


def test_cache_lifetimes():
    assert cache_control(public=True, immutable=True) == "public, max-age=31536000, immutable"
    assert cache_control(public=False, immutable=False) == "private, no-cache"
