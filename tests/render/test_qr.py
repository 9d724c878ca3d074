"""The QR encoder (zxing-cpp) against the design's encoder (qrcode), and the vector path."""

import re

import pytest
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode import constants
from qrcode.base import rs_blocks
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, MODE_NUMBER, QRData, mask_func

from codegen.render import qr
from zhenma.codes.alphabet import ALPHABET

EC = {
    "L": constants.ERROR_CORRECT_L,
    "M": constants.ERROR_CORRECT_M,
    "Q": constants.ERROR_CORRECT_Q,
    "H": constants.ERROR_CORRECT_H,
}
BASES = ["https://v.zhenma.test", "https://verify.zhenma.example", "http://10.0.0.7:8080/zm"]
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
COUNT_BITS = {MODE_NUMBER: 10, MODE_ALPHA_NUM: 9, MODE_8BIT_BYTE: 8}  # versions 1 to 9
serials = st.text(ALPHABET, min_size=19, max_size=19).map(lambda s: "3" + s)


def blank(side: int, ec: str) -> qrcode.QRCode:
    """A ``qrcode`` symbol with only its finder, alignment and timing patterns set."""
    code = qrcode.QRCode(version=qr.version(side), error_correction=EC[ec], border=0)
    code.modules_count = side
    code.modules = [[None] * side for _ in range(side)]
    for row, col in ((0, 0), (side - 7, 0), (0, side - 7)):
        code.setup_position_probe_pattern(row, col)
    code.setup_position_adjust_pattern()
    code.setup_timing_pattern()
    if code.version >= 7:
        code.setup_type_number(False)
    return code


def format_matches(side: int, dark: list[list[bool]], ec: str, mask: int) -> bool:
    code = blank(side, ec)
    code.setup_type_info(False, mask)
    return all(
        code.modules[r][c] == dark[r][c]
        for r in range(side)
        for c in range(side)
        if code.modules[r][c] is not None
    )


def read_back(side: int, dark: list[list[bool]], ec: str) -> tuple[int, list[QRData]]:
    """The mask and the segments in a symbol, read with ``qrcode``'s own layout tables.

    The mask is the one whose format information (as ``qrcode`` writes it) the symbol
    carries; the data codewords are read in ``qrcode``'s placement order, unmasked and
    de-interleaved with its block table, then parsed into segments.
    """
    assert qr.version(side) <= 9  # COUNT_BITS holds for versions 1 to 9
    (mask,) = [m for m in range(8) if format_matches(side, dark, ec, m)]
    code = blank(side, ec)
    code.setup_type_info(False, mask)
    unmask = mask_func(mask)
    bits = []
    row, step = side - 1, -1
    for right in range(side - 1, 0, -2):
        col = right - 1 if right <= 6 else right  # the vertical timing pattern is skipped
        while 0 <= row < side:
            bits.extend(
                dark[row][c] != unmask(row, c)
                for c in (col, col - 1)
                if code.modules[row][c] is None
            )
            row += step
        row, step = row - step, -step
    codewords = [
        int("".join("1" if b else "0" for b in bits[i : i + 8]), 2)
        for i in range(0, len(bits) - 7, 8)
    ]
    blocks = rs_blocks(qr.version(side), EC[ec])
    data: list[list[int]] = [[] for _ in blocks]
    position = 0
    for i in range(max(b.data_count for b in blocks)):
        for block, out in zip(blocks, data, strict=True):
            if i < block.data_count:
                out.append(codewords[position])
                position += 1
    return mask, segments("".join(f"{byte:08b}" for out in data for byte in out))


def segments(stream: str) -> list[QRData]:
    out, pos = [], 0

    def take(n: int) -> int:
        nonlocal pos
        pos += n
        return int(stream[pos - n : pos], 2)

    while pos + 4 <= len(stream) and (mode := take(4)) != 0:
        count = take(COUNT_BITS[mode])
        if mode == MODE_NUMBER:
            text = "".join(f"{take(10):03d}" for _ in range(count // 3))
            if count % 3:
                text += f"{take(3 * (count % 3) + 1):0{count % 3}d}"
            data = text.encode()
        elif mode == MODE_ALPHA_NUM:
            pairs = [take(11) for _ in range(count // 2)]
            text = "".join(ALNUM[v // 45] + ALNUM[v % 45] for v in pairs)
            if count % 2:
                text += ALNUM[take(6)]
            data = text.encode()
        else:
            data = bytes(take(8) for _ in range(count))
        out.append(QRData(data, mode, check_data=False))
    return out


@settings(max_examples=40, deadline=None)
@given(serial=serials, base=st.sampled_from(BASES), ec=st.sampled_from("MQH"))
def test_zxing_modules_agree_with_qrcode(serial, base, ec):
    """``qrcode``, given the segments and mask zxing-cpp chose, makes the very same symbol.

    Segmenting and masking are an encoder's free choices (zxing-cpp splits a Digital
    Link into byte, numeric and alphanumeric segments, and scores masks a little
    differently); everything else (error correction codewords, interleaving, placement,
    format information) is fixed by ISO/IEC 18004 and must agree module for module.
    """
    url = f"{base}/01/06901234567892/21/{serial}"
    side, modules = qr.matrix(url, ec)
    dark = [[modules[r * side + c] == 0 for c in range(side)] for r in range(side)]
    mask, found = read_back(side, dark, ec)
    assert b"".join(s.data for s in found).decode() == url
    assert len({s.mode for s in found}) > 1  # mixed modes: smaller than byte mode alone
    code = qrcode.QRCode(
        version=qr.version(side), error_correction=EC[ec], border=0, mask_pattern=mask
    )
    for segment in found:
        code.add_data(segment)
    code.make(fit=False)
    assert code.get_matrix() == dark


def test_a_digital_link_is_one_version_smaller_than_byte_mode():
    url = "https://v.zhenma.test/01/06901234567892/21/3WWWWWWWWWWWWWWWWWWW"
    side, _ = qr.matrix(url, "Q")
    code = qrcode.QRCode(error_correction=constants.ERROR_CORRECT_Q, border=0)
    code.add_data(QRData(url.encode(), MODE_8BIT_BYTE, check_data=False))
    code.make(fit=True)
    assert (qr.version(side), code.version) == (5, 6)


@pytest.mark.parametrize("text", ["3ABCDEFGHJKLMNPQRSTU", "https://v.zhenma.test/01/1/21/x"])
def test_the_path_fills_exactly_the_dark_modules(text):
    side, modules = qr.matrix(text, "Q")
    ops = qr.operators(side, modules, 12.5, 300.25, 1.2)
    head, *body, tail = ops.split("\n")
    assert head == "q 0 0 0 1 k 1.2000 0 0 -1.2000 12.500 300.250 cm"
    assert tail == "f Q"
    filled: set[tuple[int, int]] = set()
    for line in body:
        col, row, length = map(int, re.fullmatch(r"(\d+) (\d+) (\d+) 1 re", line).groups())
        assert col + length <= side
        cells = {(row, c) for c in range(col, col + length)}
        assert not cells & filled  # runs never overlap
        filled |= cells
    dark = {(r, c) for r in range(side) for c in range(side) if modules[r * side + c] == 0}
    assert filled == dark
    starts = {(r, c) for r, c in dark if c == 0 or (r, c - 1) not in dark}
    assert len(body) == len(starts)  # one rectangle per horizontal run, not per module
