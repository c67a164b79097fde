"""Recording facts from outside: applications, decisions, contacts, municipalities, signatures,
replies, activities, meetings, replanning, ledger entries.
"""
