"""The notebook front end's kernel side: the anywidget ``widget`` (traits and message routing),
``actions`` (browser actions as client calls), ``changebatch`` (merging changes into one
message per flush) and the live ``table``. Their front ends are in ``js/src``.
"""
