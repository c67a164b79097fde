"""Documents sent or exported: calendar files, the cooperation agreement, ledger files and payout
statements.
"""
