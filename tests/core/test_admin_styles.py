"""The project's admin stylesheets take every colour from Django admin's CSS variables, which
base.css and dark_mode.css define for the light and the dark theme: a colour written out
would stay the same in both (a light-blue tag on the dark theme's black, for one).

The admin's look is Django's own, applied consistently (README "Admin look")."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STYLESHEETS = sorted([*ROOT.glob("static/admin_board/*.css"), *ROOT.glob("static/admin_ops/*.css")])
# Hex, functional and the named colours a hand might type; `transparent`, `inherit`,
# `currentColor` and `none` follow the theme and are fine.
LITERAL = re.compile(
    r"#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch)\(|"
    r":\s*(?:white|black|red|green|blue|gray|grey|silver|yellow|orange)\b",
    re.IGNORECASE,
)
ADMIN_VARIABLES = re.compile(r"var\((--[a-z-]+)([^)]*)\)")


def _admin_variables() -> set[str]:
    import django

    base = Path(django.__file__).parent / "contrib/admin/static/admin/css/base.css"
    return set(re.findall(r"^\s*(--[a-z-]+):", base.read_text(), re.MULTILINE))


def test_there_are_stylesheets_to_check():
    assert {p.name for p in STYLESHEETS} >= {"board.css", "ops.css"}


@pytest.mark.parametrize("sheet", STYLESHEETS, ids=lambda p: p.name)
def test_every_colour_is_one_of_the_admins_variables(sheet):
    text = re.sub(r"/\*.*?\*/", "", sheet.read_text(), flags=re.DOTALL)
    literals = [
        f"{sheet.name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for m in LITERAL.finditer(text)
    ]
    assert literals == []
    known = _admin_variables()
    used = ADMIN_VARIABLES.findall(text)
    assert [name for name, _ in used if name not in known] == []
    # No fallback: the admin defines each of them, in both themes.
    assert [name for name, fallback in used if fallback.strip()] == []
