"""Both languages are complete: the catalogues, their compiled files, and the pages in each language.

Two catalogues (docs/translations.md): page texts are written in Chinese and ``en`` translates them; service
and API messages are written in English and ``zh_Hans`` translates them.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import PASSWORD, make_user
from tenderhall.core.codes import region_name
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import make_entity, make_operator

ROOT = Path(settings.BASE_DIR)
LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ("en", "zh_Hans")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
LANGUAGE_NAMES = frozenset({"中文"})  # the switch names the other language in that language
TRANSLATING_CALLS = frozenset(
    {"gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext", "_"}
)


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())


def read_catalogue(path: Path) -> list[Entry]:
    """The entries of a .po file, header excluded: enough of the format for what msgmerge writes."""
    entries: list[Entry] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry, keyword = Entry(), ""
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry.flags = frozenset(flag.strip() for flag in line[2:].split(","))
            elif line.startswith('"'):
                _store(entry, keyword, _current(entry, keyword) + ast.literal_eval(line))
            elif line and not line.startswith("#"):
                keyword, _, text = line.partition(" ")
                _store(entry, keyword, ast.literal_eval(text))
        if entry.msgid:
            entries.append(entry)
    return entries


def _current(entry: Entry, keyword: str) -> str:
    if keyword == "msgid":
        return entry.msgid
    if keyword == "msgid_plural":
        return entry.msgid_plural or ""
    return entry.msgstr.get(_form(keyword), "")


def _store(entry: Entry, keyword: str, value: str) -> None:
    if keyword == "msgid":
        entry.msgid = value
    elif keyword == "msgid_plural":
        entry.msgid_plural = value
    else:
        entry.msgstr[_form(keyword)] = value


def _form(keyword: str) -> int:
    return int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0


def catalogue(language: str) -> list[Entry]:
    return read_catalogue(LOCALE / language / "LC_MESSAGES" / "django.po")


def is_english_prose(text: str) -> bool:
    return text.isascii() and re.search(r"[A-Za-z]{2,}", text) is not None


# --- the catalogues ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_files_are_compiled_from_the_po_files(language, tmp_path):
    # given
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext's msgfmt is not installed (scripts/system-deps installs it)")
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    compiled = tmp_path / "django.mo"

    # when
    subprocess.run([msgfmt, "--check-format", "-o", str(compiled), str(po)], check=True)

    # then
    assert compiled.read_bytes() == po.with_suffix(".mo").read_bytes(), "run `make messages` and commit"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalogue_entry_is_fuzzy(language):
    assert [entry.msgid for entry in catalogue(language) if "fuzzy" in entry.flags] == []


def test_every_chinese_text_has_its_english_translation():
    # when
    untranslated = [
        entry.msgid for entry in catalogue("en") if CJK.search(entry.msgid) and not entry.translated
    ]

    # then
    assert untranslated == []


def test_every_english_message_has_its_chinese_translation():
    # given
    english = [entry for entry in catalogue("zh_Hans") if is_english_prose(entry.msgid)]

    # then
    assert len(english) > 100
    assert [entry.msgid for entry in english if not entry.translated] == []
    assert [entry.msgid for entry in english if not all(CJK.search(s) for s in entry.msgstr.values())] == []


def test_the_english_catalogue_translates_chinese_texts_into_english():
    assert [
        entry.msgid
        for entry in catalogue("en")
        if entry.translated and any(CJK.search(text) for text in entry.msgstr.values())
    ] == []


def _source_msgids() -> set[str]:
    """The texts the Python sources and templates mark for translation."""
    msgids: set[str] = set()
    python_files = [*ROOT.glob("config/*.py"), *ROOT.glob("tenderhall/**/*.py")]
    for path in python_files:
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0]
            if name in TRANSLATING_CALLS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                msgids.add(first.value)
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("tenderhall/*/templates/**/*.html")]:
        text = path.read_text(encoding="utf-8")
        msgids.update(re.findall(r'{%\s*(?:translate|trans)\s+"([^"]*)"', text))
        msgids.update(
            re.findall(r"{%\s*blocktranslate\s*%}(.*?){%\s*endblocktranslate\s*%}", text, re.DOTALL)
        )
    return msgids


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_marked_in_the_sources_is_in_the_catalogue(language):
    # given
    marked = _source_msgids()

    # then
    assert len(marked) > 250
    assert sorted(marked - {entry.msgid for entry in catalogue(language)}) == [], "run `make messages`"


# --- the pages -------------------------------------------------------------------------------------------


def _english_client(user: User | None = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def _chinese_left(html: str, data: set[str]) -> list[str]:
    """CJK text of a page once the data on it (names, regions) is taken out."""
    for value in sorted(data, key=len, reverse=True):
        html = html.replace(value, "")
    return [text for text in CJK.findall(html) if text not in LANGUAGE_NAMES]


def _data() -> set[str]:
    names = {user.full_name for user in User.objects.all()}
    for entity in MarketEntity.objects.all():
        names |= {entity.name, entity.legal_representative, region_name(entity.region_code) or ""}
    return {name for name in names if name}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/accounts/register/", "/registry/", "/registry/register/", "/nowhere/"]
)
def test_a_page_in_english_has_no_chinese_text(path):
    # given
    client = _english_client()

    # when
    html = client.get(path, follow=True).content.decode()

    # then
    assert 'lang="en"' in html
    assert _chinese_left(html, set()) == []


@pytest.mark.django_db
def test_the_sign_in_page_in_english_says_sign_in():
    html = _english_client().get("/accounts/login/").content.decode()
    assert "登录" not in html
    assert "Sign in" in html


@pytest.mark.django_db
def test_pages_for_signed_in_users_in_english_have_no_chinese_text_but_their_data():
    # given: an operator, and an entity pending review with its version history
    operator = make_operator()
    entity = make_entity()
    client = _english_client(operator)

    # when
    pages = {
        path: client.get(path)
        for path in ("/accounts/me/", "/registry/review/", f"/registry/{entity.pk}/", "/audit/", "/registry/")
    }

    # then
    assert {path: response.status_code for path, response in pages.items()} == dict.fromkeys(pages, 200)
    data = _data()
    leftovers = {path: _chinese_left(response.content.decode(), data) for path, response in pages.items()}
    assert leftovers == {path: [] for path in pages}
    assert "Pending review" in pages[f"/registry/{entity.pk}/"].content.decode()


@pytest.mark.django_db
def test_the_two_factor_setup_page_in_english_has_no_chinese_text():
    # given
    user = make_user(role="expert", two_factor=False)
    client = _english_client(user)

    # when
    html = client.get("/accounts/2fa/setup/").content.decode()

    # then
    assert "Set up two-factor sign-in" in html
    assert _chinese_left(html, _data()) == []


BAD_REGISTRATION = {
    "username": "newbie",
    "password": PASSWORD,
    "full_name": "新人",
    "id_type": "resident_id",
    "id_number": "360426199101010072",
    "phone": "123",
    "email": "n@example.invalid",
}


@pytest.mark.django_db
def test_registration_errors_on_the_chinese_page_are_chinese():
    # when
    html = Client().post("/accounts/register/", BAD_REGISTRATION).content.decode()

    # then
    assert (
        'data-field="phone">请填写中国大陆手机号码（以1开头的11位数字），或国际号码（如+4420……）。</p>'
        in html
    )
    assert 'data-field="id_number">校验码为2，应为1</p>' in html
    assert "Enter a mainland mobile number" not in html


@pytest.mark.django_db
def test_registration_errors_on_the_english_page_are_english():
    # when
    html = _english_client().post("/accounts/register/", BAD_REGISTRATION).content.decode()

    # then
    assert (
        'data-field="phone">Enter a mainland mobile number (11 digits, starting with 1) '
        "or an international number such as +4420...</p>" in html
    )
    assert 'data-field="id_number">check character is 2, expected 1</p>' in html


@pytest.mark.django_db
def test_a_too_short_password_is_refused_in_chinese_on_the_chinese_page():
    # when
    html = Client().post("/accounts/register/", {**BAD_REGISTRATION, "password": "short"}).content.decode()

    # then: Django's own zh_Hans catalogue lacks this message since Django 5.2; ours has it
    assert "密码太短，至少需要包含10个字符。" in html


@pytest.mark.django_db
def test_the_api_answers_in_english_unless_asked_for_chinese():
    # when
    english = Client().post("/api/v1/accounts/users", BAD_REGISTRATION, content_type="application/json")
    chinese = Client().post(
        "/api/v1/accounts/users",
        BAD_REGISTRATION,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )

    # then
    assert (english.status_code, chinese.status_code) == (422, 422)
    assert english.json()["message"] == "check character is 2, expected 1"
    assert chinese.json()["message"] == "校验码为2，应为1"
    assert chinese.json()["details"]["fields"]["phone"].startswith("请填写中国大陆手机号码")
