"""The whole stack on one machine: one environment, one Procfile, one runner (honcho).

`make run` calls `python -m devstack`; the end-to-end test and the
record-to-live benchmark start the very same Procfile with other ports.
"""
