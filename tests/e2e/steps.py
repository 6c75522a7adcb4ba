"""Steps the browser tests share: filling the registration form, pressing Enter in every field of a
form, checking which button a form's Enter presses, and checking a page fits its screen."""

from playwright.sync_api import Page, expect

# --- the registration form -------------------------------------------------------------------------


def fill_registration(
    page: Page,
    name: str,
    phone: str,
    *,
    owner: str | None = None,
    kind: str = "market_stall",
    category: str | None = None,
    market: str | None = "Chợ Đông Ba",
    consent: str | None = None,
) -> None:
    """Fill /merchants/new as a volunteer does (the page is open). Without a category or consent,
    the first one offered is taken."""
    page.select_option("#kind", kind)
    page.fill("#business_name", name)
    if category is None:
        page.select_option("#category", index=1)
    else:
        page.select_option("#category", category)
    page.fill("#owner_name", owner or f"Chủ {name}")
    page.fill("#owner_phone", phone)
    if market is not None:
        page.fill("#market", market)
    if consent is None:
        page.check("input[name=consent_purposes] >> nth=0")
    else:
        page.check(f"input[name=consent_purposes][value={consent}]")


# --- Enter in every field ----------------------------------------------------------------------------

# Every field where Enter submits (text-like inputs, checkboxes and radios), visible and enabled.
FIELDS = "input:not([type=hidden]):not([type=file]):not([type=submit]):not([type=button]):not([disabled])"

# Fields where Enter deliberately does nothing: the bank search filters the list as one types.
QUIET = {"bank_q"}

# Records which button each submission used, and stops it, so every field can be tried in turn.
RECORD = """(form) => {
  window.__submits = [];
  form.addEventListener("submit", (e) => {
    const b = e.submitter;
    window.__submits.push(b ? {text: b.textContent.trim(), visible: b.checkVisibility()} : null);
    e.preventDefault();
  }, true);
}"""


def enter_everywhere(page: Page, form_selector: str) -> list[tuple[str, str, object]]:
    """Press Enter in each field of the form; (field name, type, the button it submitted with)."""
    form = page.locator(form_selector)
    expect(form).to_have_count(1)
    page.evaluate(RECORD, form.element_handle())
    fields = form.locator(FIELDS)
    seen = []
    for n in range(fields.count()):
        field = fields.nth(n)
        if not field.is_visible():
            continue
        before = page.evaluate("window.__submits.length")
        field.press("Enter")
        page.wait_for_timeout(50)
        submits = page.evaluate("window.__submits")
        kind = field.get_attribute("type") or "text"
        seen.append((field.get_attribute("name"), kind, submits[before] if len(submits) > before else None))
    assert seen, (page.url, form_selector)
    return seen


def assert_enter_saves(page: Page, form_selector: str, button: str) -> None:
    """Enter in any field of the form submits it with its visible save button, and that button is
    also what Enter would press in a form where every field is a checkbox or a radio."""
    for name, kind, submit in enter_everywhere(page, form_selector):
        if submit is None and (kind in ("checkbox", "radio") or name in QUIET):
            continue  # Chromium does not submit from a checkbox or radio; QUIET fields filter a list
        assert submit == {"text": button, "visible": True}, (form_selector, name, submit)
    assert default_button(page, form_selector) == {"text": button, "visible": True}, form_selector


# --- which button Enter presses ----------------------------------------------------------------------

# A form's default button, the one implicit submission (Enter) uses: its first submit button in tree
# order, wherever it sits (form= included).
DEFAULT_BUTTON = """(form) => {
  const b = [...form.elements].find((el) => el.type === "submit" || el.type === "image");
  return b ? {text: (b.textContent || b.value).trim(), visible: b.checkVisibility() && !b.disabled} : null;
}"""


def default_button(page: Page, form_selector: str) -> dict | None:
    form = page.locator(form_selector)
    expect(form).to_have_count(1)
    return page.evaluate(DEFAULT_BUTTON, form.element_handle())


# Every form shown on the page whose Enter would press a hidden button, or a secondary one while the
# form's main (primary) button comes later.
WRONG_DEFAULT_BUTTONS = """() => [...document.forms]
  .filter((form) => form.checkVisibility()).flatMap((form) => {
  const buttons = [...form.elements].filter((el) => el.type === "submit" || el.type === "image");
  if (!buttons.length) return [];
  const [first] = buttons;
  const shown = (b) => b.checkVisibility() && !b.disabled;
  const primary = buttons.find((b) => shown(b) && b.classList.contains("primary"));
  if (shown(first) && (!primary || primary === first || first.classList.contains("primary"))) return [];
  return [`${form.getAttribute("action")}: ${first.outerHTML.slice(0, 120)}`];
})"""


def wrong_default_buttons(page: Page) -> list[str]:
    return page.evaluate(WRONG_DEFAULT_BUTTONS)


# --- no sideways scrolling ---------------------------------------------------------------------------

SIZES = [{"width": 360, "height": 740}, {"width": 800, "height": 1280}]
SIZE_IDS = ["phone-360", "tablet-800"]

# Against the width the page was opened at, not innerWidth: a phone (Chromium's mobile emulation
# too) zooms out to show a page wider than its screen, and innerWidth grows with it.
WIDEST = """(width) => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > width + 1)
  .slice(0, 3).map((el) => el.tagName + '.' + el.className + '#' + el.id)"""


def fits(page: Page) -> bool:
    """Nothing sticks out to the side: the page is no wider than the screen."""
    page.wait_for_load_state()
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def widest(page: Page) -> list[str]:
    """The first elements that stick out, to tell what to fix."""
    return page.evaluate(WIDEST, page.viewport_size["width"])


def assert_fits(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, (url, response and response.status)
    assert fits(page), (url, page.viewport_size, widest(page))
