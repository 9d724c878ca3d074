"""Alerts for HQ: diverted goods, cloned codes, unsold stock scanned (docs/alerts.md).

* ``rules``: the decisions, plain functions over facts (no database);
* ``analyst``: the worker's loop that places each new scan (``zhenma.places``),
  applies the rules and stores alerts, flags cloned codes as suspect and puts new
  alerts in the outbox for HQ's webhook;
* ``queries``: what HQ reads and does: filters, counts, acknowledge, resolve, CSV.
"""
