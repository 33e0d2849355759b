"""One small module per provider: each checks its provider's documented signature scheme."""
