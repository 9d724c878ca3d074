"""Reading template files: every shipped one loads; anything else is refused by key name."""

import copy
import json
import tomllib

import pytest

from codegen.render import templates
from codegen.render.model import QrField, RegistrationField, ScratchField, TextField
from tests.helpers import exactly
from zhenma.errors import Invalid

A4 = templates.SHIPPED / "a4-item-sheet.toml"


def variant(tmp_path, change, name="t.json"):
    """The A4 sheet, changed by ``change(data)``, written as JSON (the other format)."""
    data = copy.deepcopy(tomllib.loads(A4.read_text("utf-8")))
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def refused(path) -> str:
    with pytest.raises(Invalid) as caught:
        templates.load(path)
    return str(caught.value).removeprefix(f"{path}: ")


def test_shipped_templates_load_with_their_names():
    names = {p.stem: templates.load(p) for p in templates.shipped()}
    assert set(names) == {"a4-item-sheet", "item-roll", "hidden-code-sheet", "carton-100x150"}
    for stem, t in names.items():
        assert t.name == stem
        assert len(t.sha256) == 64
    hidden = names["hidden-code-sheet"]
    kinds = {type(f) for f in hidden.fields}
    assert {QrField, TextField, ScratchField, RegistrationField} <= kinds
    assert names["carton-100x150"].kind == "carton"
    assert templates.find("item-roll") == names["item-roll"]


def test_json_and_toml_say_the_same(tmp_path):
    loaded = templates.load(variant(tmp_path, lambda d: None))
    shipped = templates.load(A4)
    assert loaded.fields == shipped.fields
    assert (loaded.page, loaded.label, loaded.marks, loaded.slug) == (
        shipped.page, shipped.label, shipped.marks, shipped.slug,
    )  # fmt: skip


def test_junk_is_not_a_template(tmp_path):
    junk = tmp_path / "junk.toml"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert refused(junk).startswith("not a TOML template: ")
    text = tmp_path / "text.toml"
    text.write_text("name = [unclosed\n", "utf-8")
    assert refused(text).startswith("not a TOML template: ")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", "utf-8")
    assert refused(listed) == "a template is a table of keys"
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(
        Invalid, match=exactly(f"cannot read template {missing}: No such file or directory")
    ):
        templates.load(missing)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["label"].pop("width_mm"), "[label].width_mm is missing (a number > 0)"),
        (lambda d: d["label"].update(colums=5), "unknown key [label].colums"),
        (lambda d: d.update(colour="red"), "unknown key colour"),
        (
            lambda d: d["label"].update(columns="5"),
            "[label].columns must be a whole number ≥ 1, not '5'",
        ),
        (
            lambda d: d["page"].update(width_mm=-210),
            "[page].width_mm must be a number > 0, not -210",
        ),
        (lambda d: d["marks"].update(crop="yes"), "[marks].crop must be true or false, not 'yes'"),
        (lambda d: d.update(kind="pallet"), "kind must be one of item, carton, not 'pallet'"),
        (lambda d: d.update(page=3), "[page] must be a table"),
        (lambda d: d.update(fields=[]), "a template needs [[fields]], at least one"),
        (
            lambda d: d["fields"][0].update(type="datamatrix"),
            "fields[1].type must be one of qr, text, gs1-128, scratch, registration, "
            "not 'datamatrix'",
        ),
        (
            lambda d: d["fields"][0].update(quiet_modules=2),
            "fields[1].quiet_modules must be a whole number ≥ 4, not 2",
        ),
        (
            lambda d: d["fields"][0].update(ec_level="X"),
            "fields[1].ec_level must be one of L, M, Q, H, not 'X'",
        ),
        (lambda d: d["fields"][1].pop("font_pt"), "fields[2].font_pt is missing (a number > 0)"),
        (
            lambda d: d["fields"][1].update(value="{serail}"),
            "fields[2].value uses {serail}, which item labels do not have (they have batch, "
            "carton, carton_code, gtin, hidden_code, hidden_code_spaced, index, product_name, "
            "serial, url)",
        ),
        (
            lambda d: d["fields"][1].update(value="{serial!r}"),
            "fields[2].value: write placeholders as {name}, plainly",
        ),
        (
            lambda d: d["fields"][1].update(value="{serial"),
            "fields[2].value '{serial': expected '}' before end of string",
        ),
        (lambda d: d["fields"][2].update(name="qr"), "two fields are called 'qr'"),
    ],
)
def test_a_bad_key_is_named(tmp_path, change, message):
    assert refused(variant(tmp_path, change)) == message


def test_carton_labels_have_carton_values(tmp_path):
    def to_carton(d):
        d["kind"] = "carton"

    message = refused(variant(tmp_path, to_carton))
    assert message.startswith("fields[1].value uses {url}, which carton labels do not have")


def test_an_unknown_template_name_lists_the_shipped_ones():
    with pytest.raises(Invalid, match=exactly(
        "no template called 'a5' (shipped: a4-item-sheet, carton-100x150, "
        "hidden-code-sheet, item-roll)"
    )):  # fmt: skip
        templates.find("a5")
