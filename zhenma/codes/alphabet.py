"""The 32-character alphabet of serials and carton codes, and their check character.

Alphabet: the digits 2-9 and the capital letters without I and O. Every character
is in the GS1 AI 21 character set (GS1 General Specifications, figure 7.11-1), is
safe in a URL path without escaping, and none can be read as another (no 0/O,
no 1/I). 32 symbols give exactly 5 bits a character.

Check character: the Damm algorithm over a totally anti-symmetric quasigroup of
order 32, ``x * y = a . (x XOR y)`` in GF(2^5) with ``a = 2`` (the polynomial x,
reduction polynomial x^5 + x^2 + 1). The quasigroup has a zero diagonal, so the
check character is simply the running state, and every string with a correct
check character runs the state back to zero. Total anti-symmetry means that
(c*x)*y == (c*y)*x only when x == y, hence every swap of two different adjacent
characters changes the result; the Latin-square property means every single
substitution does. ``tests/codes/test_alphabet.py`` proves both exhaustively.

Because ``x * y`` is linear over GF(2), the check of a string is the XOR of one
contribution per (position, character): the generator uses that to compute
check characters from precomputed tables (see ``position_table``).
"""

from functools import cache

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BITS_PER_CHAR = 5
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_POLY = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)
_A = 2


def gf_mul(x: int, y: int) -> int:
    """Multiply two elements of GF(2^5)."""
    product = 0
    while y:
        if y & 1:
            product ^= x
        y >>= 1
        x <<= 1
        if x & 0b100000:
            x ^= _POLY
    return product


# _STEP[state][value]: the Damm table.
_STEP = tuple(tuple(gf_mul(_A, s ^ v) for v in range(32)) for s in range(32))
# _POW[k] = a^k, for the contribution of a character k steps before the end.
_POW = [1]
for _ in range(64):
    _POW.append(gf_mul(_POW[-1], _A))


def value_of(char: str) -> int:
    """The 5-bit value of one alphabet character (KeyError if not in it)."""
    return _VALUE[char]


def is_alphabet(text: str) -> bool:
    return all(c in _VALUE for c in text)


def encode_int(number: int, width: int) -> str:
    """``number`` as exactly ``width`` characters, most significant first."""
    if number < 0 or number >> (BITS_PER_CHAR * width):
        raise ValueError(f"{number} does not fit in {width} characters")
    chars = []
    for shift in range(BITS_PER_CHAR * (width - 1), -1, -BITS_PER_CHAR):
        chars.append(ALPHABET[(number >> shift) & 31])
    return "".join(chars)


def decode_int(text: str) -> int:
    number = 0
    for c in text:
        number = (number << BITS_PER_CHAR) | _VALUE[c]
    return number


def check_state(text: str) -> int:
    """Run the Damm state machine over ``text`` (all characters in the alphabet)."""
    state = 0
    for c in text:
        state = _STEP[state][_VALUE[c]]
    return state


def check_char(payload: str) -> str:
    """The check character to append to ``payload``."""
    return ALPHABET[check_state(payload)]


def carry(state: int, steps: int) -> int:
    """The check state after ``steps`` more characters of value 0."""
    return gf_mul(_POW[steps], state)


@cache
def position_table(position: int, length: int, chars: int = 1) -> tuple[int, ...]:
    """Check contributions of a group of ``chars`` characters starting at ``position``.

    For a payload of ``length`` characters, entry ``v`` is what the group, holding
    the ``5 * chars``-bit value ``v``, XORs into the check state. The check of a
    payload is the XOR of the contributions of its groups.
    """
    table = []
    for v in range(1 << (BITS_PER_CHAR * chars)):
        acc = 0
        for k in range(chars):
            digit = (v >> (BITS_PER_CHAR * (chars - 1 - k))) & 31
            acc ^= gf_mul(_POW[length - (position + k)], digit)
        table.append(acc)
    return tuple(table)
