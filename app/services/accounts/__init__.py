"""Accounts: registration and e-mail verification, sign-in and tokens, password resets,
the profile, and creating platform admins.
"""
