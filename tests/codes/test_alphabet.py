"""The check character: proofs by exhaustion over the 32-symbol quasigroup."""

import itertools

from zhenma.codes import alphabet

A = range(32)
step = alphabet._STEP


def test_alphabet_has_32_unambiguous_gs1_characters():
    assert len(set(alphabet.ALPHABET)) == 32
    assert not set(alphabet.ALPHABET) & set("01IO")
    assert alphabet.ALPHABET.isalnum() and alphabet.ALPHABET.isupper()


def test_table_is_a_latin_square_so_every_substitution_is_caught():
    for s in A:
        assert sorted(step[s][v] for v in A) == list(A)  # row: new char -> new state
        assert sorted(step[v][s] for v in A) == list(A)  # column: changed state stays changed


def test_table_is_totally_antisymmetric_so_every_adjacent_swap_is_caught():
    for c, x, y in itertools.product(A, A, A):
        if x != y:
            assert step[step[c][x]][y] != step[step[c][y]][x]


def test_zero_diagonal_lets_the_check_char_be_the_state():
    assert all(step[s][s] == 0 for s in A)
    for payload in ("3", "32E3T", "ZZZZZZZZZZZZZZZZZZZ"):
        assert alphabet.check_state(payload + alphabet.check_char(payload)) == 0


def test_position_tables_add_up_to_the_state_machine():
    payload = "3ABCDEFGHJKLMNPQRST"
    for pos in range(0, 18, 2):
        table = alphabet.position_table(pos, len(payload), 2)
        rest = payload[:pos] + "22" + payload[pos + 2 :]  # "2" is value 0
        pair = alphabet.decode_int(payload[pos : pos + 2])
        assert alphabet.check_state(rest) ^ table[pair] == alphabet.check_state(payload)


def test_encode_decode_round_trip_and_width_limit():
    for n in (0, 1, 31, 32, 1023, (1 << 40) - 1):
        assert alphabet.decode_int(alphabet.encode_int(n, 8)) == n
    try:
        alphabet.encode_int(1 << 40, 8)
    except ValueError as exc:
        assert str(exc) == f"{1 << 40} does not fit in 8 characters"
    else:
        raise AssertionError("a too large number was encoded")
