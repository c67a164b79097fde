"""Mail: the outbox, delivery (SMTP or .eml files), the letter templates in bokmål and nynorsk, and
composing a due letter.
"""
