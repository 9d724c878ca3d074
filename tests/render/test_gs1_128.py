"""GS1-128 for SSCCs: FNC1 first, code set C, the core's check of the SSCC."""

import itertools

import pytest
from reportlab.graphics.barcode.code128 import Code128

from codegen.render import gs1_128
from tests.helpers import exactly
from zhenma.codes import Sscc, TypoCode

SSCC = Sscc.build("6901234", 1).value
START_C, FNC1, STOP = 105, 102, 106


def test_fnc1_follows_the_start_character_and_digits_go_in_pairs():
    code = Code128(gs1_128.FNC1 + "00" + SSCC, quiet=0)
    code.validate()
    encoded = code.encode()
    pairs = [int(("00" + SSCC)[i : i + 2]) for i in range(0, 20, 2)]
    assert encoded[:2] == [START_C, FNC1]
    assert encoded[2:12] == pairs
    assert encoded[-1] == STOP


def test_bars_cover_the_whole_symbol_and_nothing_else():
    width, bars = gs1_128.bars("00", SSCC)
    # start, FNC1, ten digit pairs and the check character are 11 modules each; stop is 13
    assert width == 13 * 11 + 13
    assert bars[0][0] == 0 and sum(w for _, w in bars) < width
    assert bars[-1][0] + bars[-1][1] == width  # the stop character ends with a bar
    assert all(a + wa < b for (a, wa), (b, _) in itertools.pairwise(bars))


def test_the_sscc_is_checked_by_the_code_core():
    wrong = SSCC[:-1] + str((int(SSCC[-1]) + 1) % 10)
    with pytest.raises(TypoCode, match=exactly(
        f"SSCC {wrong} has check digit {wrong[-1]}, expected {SSCC[-1]}: check for a typo"
    )):  # fmt: skip
        gs1_128.check_data("00", wrong)
    assert gs1_128.check_data("00", SSCC) == SSCC


def test_what_label_software_and_people_read():
    assert gs1_128.element_string("00", SSCC) == f"(00){SSCC}"
    assert gs1_128.human_readable("00", SSCC) == f"(00) {SSCC}"
    ops = gs1_128.operators("00", SSCC, 10.0, 20.0, 1.4173, 90.0)
    assert ops.startswith("q 0 0 0 1 k 1.4173 0 0 90.000 10.000 20.000 cm\n0 0 2 1 re\n")
    assert ops.endswith("\nf Q")
