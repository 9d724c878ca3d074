"""Goods moving down the distributor chain: who holds what, and who must be told.

Plain Python on the database, no Flask: the HQ API (``verify_api.dispatch``,
``verify_api.hq``), the ``zhenma`` commands and the worker all call it.

* ``distributors``: the chain (levels, parents, territories) and API tokens.
* ``goods``: from a scanned code to an authenticated item or carton of a batch.
* ``packing``: which items are in which carton, default or explicit (大小码关联).
* ``custody``: who holds an item or a carton, from dispatches and packing.
* ``dispatch``: the rules of a dispatch scan (扫码出库) and its idempotent record.
* ``outbox``: events for the order system, stored with what they report.
* ``delivery``: the worker's signed HTTP delivery with retries and dead letters.
* ``epcis``: the history as an EPCIS 2.0 JSON-LD document.
* ``cli``: ``zhenma distributor``, ``zhenma hq``, ``zhenma outbox``, ``zhenma epcis``,
  ``zhenma custody``.
"""
