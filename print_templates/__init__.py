"""Label layouts as data: one TOML file per template, read by ``codegen.render.templates``.

A package only so that the files install with Zhenma (package data); there is no code here.
"""
