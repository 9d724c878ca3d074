"""The batch generator: turns a batch (one database row and a key) into files for printers.

* ``codegen.derive``: a batch's codes, derived in ranges (the generator's hot loop).
* ``codegen.batches``: products and batches in the database (create, resume, revoke).
* ``codegen.files``: streams ``items.csv``, ``cartons.csv`` and ``manifest.json``,
  in parallel chunks, crash-safe and byte-for-byte reproducible.
* ``codegen.cli``: the ``zhenma product`` and ``zhenma batch`` commands.

The code format itself lives in ``zhenma.codes``; this package never imports Flask.
"""
