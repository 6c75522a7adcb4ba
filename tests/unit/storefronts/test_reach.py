"""What counts as a person opening a storefront page or its QR."""

from service.storefronts.reach import counted, is_crawler

PHONE = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"


def test_browsers_count_and_zalos_in_app_browser_too() -> None:
    assert counted("GET", PHONE)
    assert counted("GET", f"{PHONE} Zalo android/12100 ZaloTheme/light ZaloLanguage/vi")
    assert counted(
        "GET", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Safari"
    )
    assert counted("GET", "Mozilla/5.0 (Linux; Android 10; CUBOT X30) Chrome/120.0 Mobile Safari/537.36")


def test_crawlers_tools_headless_browsers_and_head_requests_do_not() -> None:
    for agent in (
        "",
        "   ",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "AdsBot-Google (+http://www.google.com/adsbot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Zalo link preview)",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "python-httpx/0.28.1",
        "Go-http-client/1.1",
        "okhttp/4.12.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36",
    ):
        assert is_crawler(agent), agent
        assert not counted("GET", agent), agent
    assert not counted("GET", None)
    assert not counted("HEAD", PHONE)
    assert not counted("POST", PHONE)
