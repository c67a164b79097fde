"""The e-mail templates (bokmål in ``nb/``, nynorsk in ``nn/``) and the agreement texts.

A package so that `jinja2.PackageLoader("tasks.mail", "templates")` finds them wherever sio is
installed; the files are package data.
"""
