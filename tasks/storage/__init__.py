"""The application database: engine and migrations, tables, the audit log, loading the trial's
state and the unit of work that applies an agenda.
"""
