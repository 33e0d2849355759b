"""What every part of Postroom shares: permissions, one rate limiter, chores, request helpers.

It sits just above the configuration and below everything else: it imports no feature app.
"""
