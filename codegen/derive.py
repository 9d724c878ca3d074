"""A batch's codes, derived range by range from its spec and secrets.

``BatchSpec`` is everything (besides the keys) that decides a batch's files, so a
file re-derived years later from the same spec is the same to the byte.
"""

from dataclasses import asdict, dataclass

from zhenma.codes import BatchSecrets, FastSigner, Gtin, Kind, Sscc, hidden
from zhenma.codes.digital_link import url_prefix


@dataclass(frozen=True)
class BatchSpec:
    batch: int
    gtin: str
    product_name: str
    item_count: int
    carton_size: int
    verify_base: str
    key_id: str
    created: str
    company_prefix: str | None = None
    sscc_first: int | None = None

    @property
    def carton_count(self) -> int:
        return -(-self.item_count // self.carton_size)

    def carton_of(self, index: int) -> int:
        return (index - 1) // self.carton_size + 1

    def carton_items(self, carton: int) -> tuple[int, int]:
        """First and last item index of a carton under the default packing."""
        first = (carton - 1) * self.carton_size + 1
        return first, min(carton * self.carton_size, self.item_count)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Item:
    index: int
    serial: str
    hidden_code: str
    url: str
    carton: int
    carton_code: str


@dataclass(frozen=True)
class Carton:
    index: int
    code: str
    sscc: str | None
    item_first: int
    item_last: int
    first_serial: str
    last_serial: str

    @property
    def item_count(self) -> int:
        return self.item_last - self.item_first + 1


class BatchCodes:
    def __init__(self, spec: BatchSpec, secrets: BatchSecrets):
        self.spec = spec
        self.secrets = secrets
        self._items = FastSigner(secrets.item_tag, Kind.ITEM, spec.batch)
        self._cartons = FastSigner(secrets.carton_tag, Kind.CARTON, spec.batch)
        self.url_prefix = url_prefix(spec.verify_base, Gtin.parse(spec.gtin))

    @property
    def line_length(self) -> int:
        """Bytes of every line of ``items.csv``: all its fields are fixed-width."""
        return len(self.item_csv(1, 2))

    def _check(self, start: int, stop: int, limit: int) -> None:
        if not 1 <= start <= stop <= limit + 1:
            raise ValueError(f"range {start}..{stop - 1} outside 1..{limit}")

    def item_csv(self, start: int, stop: int) -> str:
        """Lines of ``items.csv`` for items ``start`` to ``stop - 1`` (the hot loop)."""
        self._check(start, stop, self.spec.item_count)
        if start == stop:
            return ""
        serials = self._items.render_range(start, stop)
        hiddens = hidden.derive_range(self.secrets.hidden, self.spec.batch, start, stop)
        size, url = self.spec.carton_size, self.url_prefix
        c_first = (start - 1) // size + 1
        c_last = (stop - 2) // size + 1
        out = []
        pos = 0
        for carton, code in zip(
            range(c_first, c_last + 1),
            self._cartons.render_range(c_first, c_last + 1),
            strict=True,
        ):
            end = min(carton * size + 1, stop) - start
            tail = "," + code + "\n"
            out.extend(
                [
                    f"{s},{h},{url}{s}{tail}"
                    for s, h in zip(serials[pos:end], hiddens[pos:end], strict=True)
                ]
            )
            pos = end
        return "".join(out)

    def items(self, start: int, stop: int) -> list[Item]:
        self._check(start, stop, self.spec.item_count)
        if start == stop:
            return []
        serials = self._items.render_range(start, stop)
        hiddens = hidden.derive_range(self.secrets.hidden, self.spec.batch, start, stop)
        c_first = self.spec.carton_of(start)
        cartons = self._cartons.render_range(c_first, self.spec.carton_of(stop - 1) + 1)
        return [
            Item(
                i,
                s,
                h,
                self.url_prefix + s,
                self.spec.carton_of(i),
                cartons[self.spec.carton_of(i) - c_first],
            )
            for i, s, h in zip(range(start, stop), serials, hiddens, strict=True)
        ]

    def cartons(self, start: int, stop: int) -> list[Carton]:
        self._check(start, stop, self.spec.carton_count)
        numbers = range(start, stop)
        bounds = [self.spec.carton_items(c) for c in numbers]
        firsts = self._items.render_many(first for first, _ in bounds)
        lasts = self._items.render_many(last for _, last in bounds)
        codes = self._cartons.render_range(start, stop)
        return [
            Carton(c, code, self.sscc(c), first, last, first_serial, last_serial)
            for c, code, (first, last), first_serial, last_serial in zip(
                numbers, codes, bounds, firsts, lasts, strict=True
            )
        ]

    def sscc(self, carton: int) -> str | None:
        if self.spec.company_prefix is None or self.spec.sscc_first is None:
            return None
        return Sscc.build(self.spec.company_prefix, self.spec.sscc_first + carton - 1).value
